//! Trimming: Go's victim rule without a garbage collector.
//!
//! Every idle object carries the trim epoch it went idle in. `trim` advances
//! the epoch and drops every object whose stamp is two or more epochs old,
//! so an object survives one trim and not two unless it is used in between
//! (a use gives it a fresh stamp when it comes back). `clear` advances the
//! epoch by two, which makes every idle object stale at once.
//!
//! What one trim reaches is stated once, at [`Pool::trim`](crate::Pool::trim).
//!
//! ```text
//! trim/
//!   mod.rs         the victim rule, trim and clear, an owner catching up
//!   interval.rs    at most one automatic trim per interval
//!   background.rs  the one background trimmer thread
//!   pressure.rs    opt-in trimming on memory pressure, on that thread
//!   registry.rs    every live pool, weakly (trim_all, stats_all)
//! ```

pub(crate) mod background;
pub(crate) mod interval;
#[cfg(feature = "pressure")]
pub(crate) mod pressure;
pub(crate) mod registry;

use crate::pool::Inner;
use crate::shard::directory::Set;
use crate::shard::ring::Entry;
use crate::shard::{Owner, SharedClaim, is_stale};
use crate::sync::Ordering;
use crate::unwind::Dropper;

impl<T: Send + 'static> Inner<T> {
    /// One trim: advance the epoch, then drop what has been idle through two.
    /// Returns the number of objects dropped here (other threads' private
    /// stacks catch up later and are not included).
    pub(crate) fn trim(&self) -> u64 {
        // Relaxed: the epoch guards no memory. A return that happens after this
        // trim (happens-before) reads this value or a later one by coherence,
        // which is all the victim rule needs.
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        self.orphan.trims.add(1);
        self.sweep(epoch)
    }

    /// Drops every idle object any thread can reach now, and makes every
    /// other live thread drop its private objects at its next touch.
    pub(crate) fn clear(&self) -> u64 {
        // Relaxed: as in `trim`. Two epochs at once make every stamp stale.
        let epoch = self.epoch.fetch_add(2, Ordering::Relaxed) + 2;
        self.sweep(epoch)
    }

    /// Applies the victim rule for `epoch` to the caller's private stack and
    /// to every shared list that holds anything: the members of the
    /// stealable set, so its cost follows the lists with objects, not the
    /// shards (a ring that holds objects is in the set once the thread that
    /// filled it has published; one filled during the sweep may wait for
    /// the next trim, as it would behind a claim).
    fn sweep(&self, epoch: u64) -> u64 {
        let mut drops = Dropper::default();
        let mut dropped = 0;
        if let Some(owner) = self.owned_shard() {
            dropped += self.catch_up(&owner, &mut drops);
        }
        let mut stale = Vec::new();
        self.shards.find(Set::Stealable, 0, |index| {
            let Some(shard) = self.shards.get(index) else {
                return false;
            };
            let mut claim = SharedClaim::wait(shard, &self.shards);
            claim
                .claim
                .extract_if(|entry| is_stale(entry.stamp, epoch), &mut stale);
            drop(claim);
            // User code (`T::drop`), outside the claim; it may add members
            // to the set as the walk goes on, which is fine.
            dropped += self.discard(&mut stale, &mut drops);
            false
        });
        drops.finish();
        dropped
    }

    /// Drops entries removed from a shared list by a sweep, releasing their
    /// budget and counting them first (so a `stats()` from `T::drop` sees
    /// them gone). Runs user code, so never under a claim.
    fn discard(&self, entries: &mut Vec<Entry<T>>, drops: &mut Dropper) -> u64 {
        let n = entries.len() as u64;
        if let Some(budget) = &self.budget {
            budget.release(entries.iter().map(|e| e.weight).sum());
        }
        self.orphan.dropped_by_trim.add(n);
        for entry in entries.drain(..) {
            drops.drop(entry.value);
        }
        n
    }

    /// Brings the calling thread's shard up to date with every trim so far:
    /// drops its stale private objects and, when the epoch moved, frees its
    /// shared list's storage if the list is empty. Returns the number of
    /// objects dropped.
    ///
    /// Each object is dropped outside any borrow, and the epoch is read again
    /// after each: `T::drop` may use the pool, even trim it, and code that
    /// kept an epoch read before such a drop would act on a stale one.
    #[inline]
    pub(crate) fn catch_up(&self, owner: &Owner<'_, T>, drops: &mut Dropper) -> u64 {
        if owner.seen_epoch() >= self.epoch() {
            return 0;
        }
        self.catch_up_slow(owner, drops)
    }

    #[cold]
    fn catch_up_slow(&self, owner: &Owner<'_, T>, drops: &mut Dropper) -> u64 {
        let mut dropped = 0;
        let mut moved = false;
        loop {
            let epoch = self.epoch();
            if owner.seen_epoch() >= epoch {
                break;
            }
            moved = true;
            while let Some(value) = owner.take_stale(epoch) {
                owner.counters().dropped_by_trim.bump();
                dropped += 1;
                drops.drop(value);
            }
            owner.caught_up_with(epoch);
        }
        if moved {
            owner.release_storage_if_empty();
        }
        dropped
    }

    /// Trims if automatic trimming is on and an interval has passed.
    #[inline]
    pub(crate) fn maybe_auto_trim(&self) {
        if let Some(auto) = &self.auto_trim
            && auto.claim_due(interval::now_nanos())
        {
            self.trim();
        }
    }
}
