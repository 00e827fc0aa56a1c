//! Returning an object: reset policy → private stack → own shared list →
//! drop, counted.

use crate::inner::Inner;
use crate::shard::{Owner, entry};
use crate::stats::Event;
use crate::unwind::Dropper;
use std::panic::{AssertUnwindSafe, catch_unwind};

impl<T: Send + 'static> Inner<T> {
    /// Returns an object from a guard's `Drop`.
    #[inline(always)]
    pub(crate) fn put_from_guard(&self, value: Box<T>) {
        self.put_checked(value, true);
    }

    /// Returns an object handed in by `Pool::put`.
    #[inline(always)]
    pub(crate) fn put(&self, value: Box<T>) {
        self.put_checked(value, false);
    }

    /// The return path: reset policy → private stack (the fast path) →
    /// shared list → drop, counted.
    ///
    /// A guard dropped while its thread unwinds may hold a half-updated
    /// object: it is kept only if the reset policy runs to completion and
    /// accepts it. With a policy that is what always happens, so only a pool
    /// without one asks whether the thread is panicking. The policy runs
    /// under `catch_unwind` either way: a panic in it drops the object
    /// (counted), then propagates, or is contained if the thread was already
    /// unwinding (a second panic escaping a drop would abort).
    #[inline(always)]
    fn put_checked(&self, mut value: Box<T>, from_guard: bool) {
        match &self.reset {
            Some(reset) => match catch_unwind(AssertUnwindSafe(|| reset(&mut value))) {
                Ok(true) => {}
                Ok(false) => return self.reject(value, Event::dropped_by_policy, None),
                Err(panic) => return self.reject(value, Event::dropped_by_panic, Some(panic)),
            },
            None => {
                if from_guard && std::thread::panicking() {
                    return self.reject(value, Event::dropped_by_panic, None);
                }
            }
        }
        self.store(value);
    }

    /// Stores an object the policy accepted.
    #[inline(always)]
    fn store(&self, value: Box<T>) {
        match self.cached() {
            Some(owner) => {
                if let Err(back) = owner.push(value, self.epoch()) {
                    self.put_overflow(owner, back);
                }
            }
            None => self.put_slow(value),
        }
    }

    /// The private stack is full (or the owner must catch up with a trim):
    /// without a budget, try the shared list directly, still with no
    /// read-modify-write. Out of line so that the fast path stays small.
    #[inline(never)]
    fn put_overflow(&self, owner: Owner<'_, T>, value: Box<T>) {
        let epoch = self.epoch();
        if self.budget.is_some() || owner.seen_epoch() != epoch {
            return self.put_slow(value);
        }
        self.fit_limit(owner);
        let value = match owner.push(value, epoch) {
            Ok(()) => return,
            Err(back) => back,
        };
        let shard = owner.shard();
        shard.counters.returned_elsewhere.bump();
        if owner.height() + shard.ring.len() >= self.config.shard_capacity {
            shard.counters.dropped_by_cap.bump();
            let mut drops = Dropper::default();
            drops.drop(value);
            return drops.finish();
        }
        owner.ring().push(entry(value, epoch, 0));
        self.fit_limit(owner);
    }

    /// Counts a return the pool will not keep, then drops it (and re-raises
    /// `panic`, the reset policy's, if the thread can unwind).
    #[cold]
    #[inline(never)]
    fn reject(&self, value: Box<T>, why: Event, panic: Option<Box<dyn std::any::Any + Send>>) {
        self.count(Event::returned_elsewhere, 1);
        self.count(why, 1);
        let mut drops = Dropper::default();
        if let Some(panic) = panic {
            drops.keep(panic);
        }
        drops.drop(value);
        drops.finish();
    }

    #[cold]
    #[inline(never)]
    fn put_slow(&self, value: Box<T>) {
        if !self.config.pooling {
            return self.reject(value, Event::dropped_by_passthrough, None);
        }
        self.maybe_auto_trim();
        let Some(owner) = self.local() else {
            // No shard to keep this in (the thread is exiting, or its id's
            // shard is still being released by an exited thread).
            return self.reject(value, Event::dropped_by_exit, None);
        };
        let mut drops = Dropper::default();
        let (owner, _) = self.catch_up(owner, &mut drops);
        // Read afresh: catching up may have run user code.
        let epoch = self.epoch();
        self.fit_limit(owner);
        if let Err(back) = owner.push(value, epoch) {
            owner.shard().counters.returned_elsewhere.bump();
            self.store_shared(owner, back, epoch, &mut drops);
        }
        drops.finish();
    }

    /// Puts an object (already counted as returned) on the calling thread's
    /// shared list, or drops it, counted, if the shard is full, the budget
    /// would be exceeded, or `weigh` panics.
    pub(crate) fn store_shared(
        &self,
        owner: Owner<'_, T>,
        value: Box<T>,
        stamp: u64,
        drops: &mut Dropper,
    ) {
        let counters = &owner.shard().counters;
        let mut weight = 0;
        if let Some(budget) = &self.budget {
            if budget.limit() == 0 {
                // Nothing is kept in shared lists under a zero budget, not
                // even objects that weigh nothing.
                counters.dropped_by_budget.bump();
                return drops.drop(value);
            }
            // User code; nothing is held while it runs.
            let weighed = match &self.weigh {
                Some(weigh) => drops.call(|| weigh(&value)),
                None => Some(std::mem::size_of::<T>()),
            };
            let Some(weighed) = weighed else {
                counters.dropped_by_panic.bump();
                return drops.drop(value);
            };
            weight = weighed;
        }
        // Checked after `weigh`, which may have used the pool.
        if owner.height() + owner.shard().ring.len() >= self.config.shard_capacity {
            counters.dropped_by_cap.bump();
            return drops.drop(value);
        }
        if let Some(budget) = &self.budget
            && !budget.try_charge(weight)
        {
            counters.dropped_by_budget.bump();
            return drops.drop(value);
        }
        owner.ring().push(entry(value, stamp, weight));
        // The ring grew: lower the private limit if the bound needs it.
        self.fit_limit(owner);
    }

    /// Moves the calling thread's private objects to its shared list, where
    /// other threads' trims and steals can reach them (oldest first, so the
    /// list keeps roughly the order they went idle in).
    pub(crate) fn flush_private(&self, owner: Owner<'_, T>, drops: &mut Dropper) {
        while let Some((value, stamp)) = owner.remove_bottom() {
            self.store_shared(owner, value, stamp, drops);
        }
    }
}
