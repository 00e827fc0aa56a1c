//! One thread's share of a pool.
//!
//! ```text
//! Shard<T>
//!  ├─ local     UnsafeCell<Local<T>>  owner thread only: private stack, epoch, cursor
//!  ├─ counters  ShardCounters         written by the owner only, read by stats()
//!  └─ ring      Ring<T>               owner pushes; anyone removes under a claim
//! ```
//!
//! **Who owns a shard.** `thread_local::ThreadLocal` maps the calling
//! thread's id to its shard; ids are reused after a thread exits. Ownership
//! is not inferred from that mapping but recorded in `owner`: a thread
//! *adopts* a shard with a CAS from 0 to its token, and only its exit hook
//! gives it up, with a release store of 0 after its last access. The next
//! adopter's acquire CAS orders it after everything the previous owner did.
//! So at any moment at most one thread owns a shard, whatever order thread
//! exits and thread-local destructors happen in, and only the owner creates
//! a `&mut Local` or pushes to the ring.

use crate::local::Local;
use crate::ring::Ring;
use crate::stats::ShardCounters;
use crate::sync::{AtomicU64, Ordering, UnsafeCell};

pub(crate) struct Shard<T> {
    local: UnsafeCell<Local<T>>,
    /// Token of the owning thread, 0 if none. CAS 0 → token (acquire) to
    /// adopt; store 0 (release) by the owner's exit hook to give up.
    owner: AtomicU64,
    pub(crate) counters: ShardCounters,
    pub(crate) ring: Ring<T>,
}

/// Outcome of [`Shard::adopt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adoption {
    /// The caller already owned the shard.
    Owned,
    /// The caller owns it from now on.
    Adopted,
    /// Another thread still owns it (it has released its thread id but its
    /// exit hook has not run yet); try again later.
    Refused,
}

// SAFETY: `Shard<T>` is shared between threads only through `ThreadLocal`
// (iteration by stealers, trim and `stats`, and the owner's own lookup).
// - `local` is the only field that is not thread-safe by itself. It is
//   reached only through `with_local`, an `unsafe fn` whose contract is that
//   the caller owns the shard (module docs): so it is never accessed from two
//   threads at once, ownership changes hands with release/acquire, and the
//   owner never keeps a borrow across user code, so it never aliases itself.
// - `ring` is built for concurrent use (see `ring.rs`): its one owner-only
//   operation, `push`, is again `unsafe` with the same ownership contract.
// - `counters` are atomics.
// Values of `T` cross threads (pushed by one, stolen by another), which is why
// this requires `T: Send`; no `&T` is ever shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Shard<T> {}

impl<T> Shard<T> {
    pub(crate) fn new(private_capacity: usize, ring_capacity: usize, epoch: u64) -> Self {
        Shard {
            local: UnsafeCell::new(Local::new(private_capacity, epoch)),
            owner: AtomicU64::new(0),
            counters: ShardCounters::default(),
            ring: Ring::with_capacity(ring_capacity),
        }
    }

    /// Makes the thread with `token` the owner, unless another thread is.
    pub(crate) fn adopt(&self, token: u64) -> Adoption {
        // Acquire: pairs with the release store in `release`; the previous
        // owner's accesses to `local` and the ring happen before ours.
        let current = self.owner.load(Ordering::Acquire);
        if current == token {
            return Adoption::Owned;
        }
        let free = current == 0
            && self
                .owner
                .compare_exchange(0, token, Ordering::Acquire, Ordering::Acquire)
                .is_ok();
        if free {
            Adoption::Adopted
        } else {
            Adoption::Refused
        }
    }

    /// Whether the thread with `token` owns this shard.
    pub(crate) fn is_owned_by(&self, token: u64) -> bool {
        // Acquire: as in `adopt` (only the owner can observe its own token,
        // and then it synchronizes with nothing new).
        self.owner.load(Ordering::Acquire) == token
    }

    /// Gives up ownership (the owner's exit hook, after its last access).
    ///
    /// # Safety
    /// The calling thread must own this shard and must not touch its owner-only
    /// state again unless it adopts it anew.
    pub(crate) unsafe fn release(&self) {
        // Release: pairs with the acquire in `adopt`; every access we made
        // happens before the next owner's.
        self.owner.store(0, Ordering::Release);
    }

    /// Runs `f` with the owner-only state.
    ///
    /// # Safety
    /// - The calling thread must own this shard (it got it from
    ///   `ThreadLocal::get`/`get_or` on this thread).
    /// - `f` must not run user code (`create`, `reset`, a weigher, `T::drop`)
    ///   or otherwise re-enter the pool, so no second `&mut Local` can exist.
    #[inline(always)]
    pub(crate) unsafe fn with_local<R>(&self, f: impl FnOnce(&mut Local<T>) -> R) -> R {
        self.local.with_mut(|local| {
            // SAFETY: the caller owns the shard and `f` cannot re-enter, so this
            // is the only reference to `Local` for its whole life.
            f(unsafe { &mut *local })
        })
    }

    /// The fast path of `get`: the newest private object, if the owner is up
    /// to date with `epoch`.
    ///
    /// # Safety
    /// The calling thread must own this shard.
    #[inline(always)]
    pub(crate) unsafe fn pop_private(&self, epoch: u64) -> Option<T> {
        // SAFETY: ownership is the caller's contract; the closure runs no user code.
        unsafe {
            self.with_local(|local| {
                if local.seen_epoch == epoch {
                    local.pop()
                } else {
                    None
                }
            })
        }
    }

    /// The fast path of a return: onto the private stack if there is room and
    /// the owner is up to date with `epoch`; otherwise the value comes back.
    ///
    /// # Safety
    /// The calling thread must own this shard.
    #[inline(always)]
    pub(crate) unsafe fn push_private(&self, value: T, epoch: u64) -> Result<(), T> {
        // SAFETY: ownership is the caller's contract; the closure runs no user code.
        unsafe {
            self.with_local(|local| {
                if local.seen_epoch != epoch {
                    return Err(value);
                }
                local.push(value, epoch)
            })
        }
    }

    /// The return path when the private stack is full: raise the private
    /// limit if the ring has shrunk since it was set, else onto the ring if the
    /// shard holds fewer than `shard_capacity` in all. No budget is charged
    /// (weight 0): only for pools without a budget, whose private capacity is
    /// `most_private`.
    ///
    /// # Safety
    /// The calling thread must own this shard.
    #[inline]
    pub(crate) unsafe fn push_overflow(
        &self,
        value: T,
        epoch: u64,
        most_private: usize,
        shard_capacity: usize,
    ) -> Result<(), T> {
        let shared = self.ring.len();
        // SAFETY: ownership is the caller's contract; the closure runs no user code.
        let spill = unsafe {
            self.with_local(|local| {
                if local.seen_epoch != epoch {
                    return Err(value);
                }
                // Keep `stack.len() + ring.len() <= shard_capacity` (`Local::limit`).
                local.limit = most_private.min(shard_capacity.saturating_sub(shared));
                match local.push(value, epoch) {
                    Ok(()) => Ok(None),
                    Err(value) if local.stack.len() + shared < shard_capacity => Ok(Some(value)),
                    Err(value) => Err(value),
                }
            })
        }?;
        let Some(value) = spill else {
            return Ok(());
        };
        let slot = crate::ring::Slot {
            value,
            stamp: epoch,
            weight: 0,
        };
        // SAFETY: we own the shard, hence its ring.
        unsafe { self.ring.push(slot) }.map_err(|slot| slot.value)?;
        // SAFETY: as above. The ring grew by one; the stack was full at its
        // limit, so the limit may have to come down by one.
        unsafe {
            self.with_local(|local| {
                local.limit = local.limit.min(shard_capacity.saturating_sub(shared + 1));
            })
        };
        Ok(())
    }
}
