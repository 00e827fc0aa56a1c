//! A shard's private stack: the objects only its owner thread may touch.
//!
//! This is the fast path. Reaching it costs the shard-cache lookup, a
//! relaxed load of the pool's trim epoch and a push or pop: no atomic
//! read-modify-write, no fence, no lock (invariant I3).
//!
//! It holds several objects, not one, so that a thread holding several at
//! once (a request with a read buffer, a parse buffer and a write buffer)
//! still reuses without touching shared state; the shared ring behind it is
//! refilled from and stolen from in batches.
//!
//! Values and their trim stamps live in two parallel arrays rather than one
//! array of `(value, stamp)` pairs. With pairs, a put followed by a get moved
//! the same 32-byte entry through memory with mismatched store and load
//! widths, and the failed store-to-load forwarding cost a third of the fast
//! path; a bare value array is laid out exactly like the floor's free list.

/// Owner-only state of a shard. Every field is read and written only by the
/// thread that currently owns the shard (see `shard.rs`).
pub(crate) struct Local<T> {
    /// Idle objects; the top is the most recently returned. Its capacity is
    /// `limit` and never changes (the fast path writes into it unchecked).
    pub(crate) stack: Vec<T>,
    /// `stamps[i]` is the trim epoch in which `stack[i]` went idle.
    pub(crate) stamps: Box<[u64]>,
    /// How many objects `stack` may hold now: the pool's private capacity,
    /// lowered while the shared ring is full enough that the shard's total
    /// (`stack.len() + ring.len() <= shard_capacity`, invariant I4) needs it.
    /// Only the owner adds to the ring and it lowers the limit when it does;
    /// other threads only take from the ring, which cannot break the bound, so
    /// the owner raises the limit again on its slow paths (`Inner::fit_limit`).
    /// (Found by `tests/model.rs`: an exit flush filled the ring, and the next
    /// owner filled the private stack on top of it.)
    pub(crate) limit: usize,
    /// The trim epoch the owner last applied the victim rule for. The fast
    /// paths only run while it equals the pool's epoch.
    pub(crate) seen_epoch: u64,
    /// Index among all shards where the next steal starts looking.
    pub(crate) steal_cursor: usize,
}

impl<T> Local<T> {
    pub(crate) fn new(capacity: usize, epoch: u64) -> Self {
        // At least 1: refills and steals always park at least one object
        // here, and that must not allocate (`with_local` closures run no user
        // code, and a global allocator could be some).
        let limit = capacity.max(1);
        Local {
            stack: Vec::with_capacity(limit),
            stamps: vec![0; limit].into_boxed_slice(),
            limit,
            seen_epoch: epoch,
            steal_cursor: 0,
        }
    }

    /// Room left in the stack.
    pub(crate) fn room(&self) -> usize {
        self.limit - self.stack.len()
    }

    /// Pushes `value` idle since `stamp`, if there is room.
    #[inline(always)]
    pub(crate) fn push(&mut self, value: T, stamp: u64) -> Result<(), T> {
        let len = self.stack.len();
        if len >= self.limit {
            return Err(value);
        }
        self.stamps[len] = stamp;
        // SAFETY: `len < limit == capacity`, so the slot exists; writing it
        // and bumping the length is `Vec::push` without its grow branch.
        unsafe {
            self.stack.as_mut_ptr().add(len).write(value);
            self.stack.set_len(len + 1);
        }
        Ok(())
    }

    /// Pops the most recently returned object.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.stack.pop()
    }

    /// Removes one object whose stamp is stale for `epoch`, if any.
    pub(crate) fn remove_stale(&mut self, epoch: u64) -> Option<T> {
        let len = self.stack.len();
        let i = self.stamps[..len]
            .iter()
            .position(|&stamp| crate::trim::is_stale(stamp, epoch))?;
        self.stamps.copy_within(i + 1..len, i);
        Some(self.stack.remove(i))
    }

    /// Removes the oldest-returned object with its stamp (flushing).
    pub(crate) fn remove_bottom(&mut self) -> Option<(T, u64)> {
        let len = self.stack.len();
        if len == 0 {
            return None;
        }
        let stamp = self.stamps[0];
        self.stamps.copy_within(1..len, 0);
        Some((self.stack.remove(0), stamp))
    }
}
