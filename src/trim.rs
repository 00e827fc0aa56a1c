//! Trimming: Go's victim rule without a garbage collector.
//!
//! Every idle object carries the trim epoch it went idle in. `trim` advances
//! the epoch and drops every object whose stamp is two or more epochs old,
//! so an object survives one trim and not two unless it is used in between
//! (a use gives it a fresh stamp when it comes back).
//!
//! What a trim reaches, called on any thread:
//! - every shard's shared list, immediately;
//! - the calling thread's own private stack, immediately;
//! - every other live thread's private stack at that thread's next get or
//!   put on this pool (or its `flush_local`, or its exit). Taking objects out
//!   of another thread's private stack would need an atomic read-modify-write
//!   or a fence on the fast path; we keep the fast path free of both and
//!   bound the rest instead: at most `PRIVATE_STACK` objects per live thread
//!   that has not touched the pool since.
//! - exited threads hold nothing private: their exit hook moved it to their
//!   shared list, where trims and steals reach it.

use crate::inner::Inner;
use crate::ring::Slot;
use crate::shard::Shard;
use crate::stats::Event;
use crate::sync::Ordering;

/// Whether an object stamped `stamp` has been idle through two trims by `epoch`.
/// (`stamp` may exceed `epoch` when the caller's view of the epoch is older
/// than the thread that stamped; such an object is fresh.)
pub(crate) fn is_stale(stamp: u64, epoch: u64) -> bool {
    epoch.saturating_sub(stamp) >= 2
}

impl<T: Send + 'static> Inner<T> {
    /// One trim: advance the epoch, then drop what has been idle through two.
    /// Returns the number of objects dropped here (other threads' private
    /// stacks catch up later and are not included).
    pub(crate) fn trim(&self) -> u64 {
        // Relaxed: the epoch guards no memory. A return that happens after this
        // trim (happens-before) reads this value or a later one by coherence,
        // which is all the victim rule needs.
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        let mut dropped = 0;
        if let Some(shard) = self.owned_shard() {
            dropped += self.drop_stale_private(shard, epoch);
        }
        let mut stale = Vec::new();
        for shard in self.shards.iter() {
            let mut claim = shard.ring.claim();
            claim.extract_if(|slot| is_stale(slot.stamp, epoch), &mut stale);
            drop(claim);
            dropped += self.discard(&mut stale);
        }
        dropped
    }

    /// Drops slots removed from a shared list by trim, releasing their budget
    /// and counting them. Runs user code (`T::drop`), so never under a claim.
    fn discard(&self, slots: &mut Vec<Slot<T>>) -> u64 {
        let n = slots.len() as u64;
        if let Some(budget) = &self.budget {
            budget.release(slots.iter().map(|s| s.weight).sum());
        }
        // Counted before dropping, so a `stats()` from `T::drop` sees them gone.
        self.orphan.of(Event::DroppedByTrim).add(n);
        slots.clear();
        n
    }

    /// Applies the victim rule to the calling thread's private stack and marks
    /// it caught up with `epoch`. Returns how many objects it dropped.
    pub(crate) fn drop_stale_private(&self, shard: &Shard<T>, epoch: u64) -> u64 {
        let mut dropped = 0;
        // One at a time, each dropped outside the borrow: `T::drop` may re-enter.
        // SAFETY: callers pass a shard the calling thread owns; the closure
        // runs no user code.
        while let Some(value) = unsafe { shard.with_local(|local| local.remove_stale(epoch)) } {
            shard.counters.dropped_by_trim.bump();
            dropped += 1;
            drop(value);
        }
        // SAFETY: as above.
        unsafe { shard.with_local(|local| local.seen_epoch = local.seen_epoch.max(epoch)) };
        dropped
    }

    /// Moves the calling thread's private objects to its shared list, where
    /// other threads' trims and steals can reach them.
    pub(crate) fn flush_private(&self, shard: &Shard<T>) {
        // Oldest first, so the shared list keeps roughly the order they went idle in.
        // SAFETY: `shard` is the calling thread's; the closure runs no user code.
        while let Some((value, stamp)) = unsafe { shard.with_local(|local| local.remove_bottom()) }
        {
            self.store_shared(shard, value, stamp);
        }
    }
}
