//! Returning an object: reset policy → private stack → own shared list →
//! drop, counted.

use crate::inner::Inner;
use crate::ring::Slot;
use crate::shard::Shard;
use crate::stats::Event;
use std::panic::{AssertUnwindSafe, catch_unwind};

impl<T: Send + 'static> Inner<T> {
    /// Returns an object from a guard's `Drop`.
    #[inline(always)]
    pub(crate) fn give_from_guard(&self, value: T) {
        if std::thread::panicking() {
            self.give_unwinding(value);
        } else {
            self.give(value);
        }
    }

    /// Returns an object (guard drop or `put`). The fast path ends on the
    /// calling thread's private stack.
    #[inline(always)]
    pub(crate) fn give(&self, mut value: T) {
        if let Some(reset) = &self.reset {
            // If `reset` panics, `value` is dropped by the unwind and the guard
            // counts it, so the panic loses nothing silently.
            let counted = CountOnUnwind(self);
            let keep = reset(&mut value);
            std::mem::forget(counted);
            if !keep {
                return self.reject(value, Event::DroppedByPolicy);
            }
        }
        if let Some(shard) = self.cached_shard() {
            let epoch = self.epoch();
            // SAFETY: a cached shard is owned by the calling thread.
            match unsafe { shard.push_private(value, epoch) } {
                Ok(()) => shard.counters.returned.bump(),
                Err(back) => self.give_overflow(shard, back, epoch),
            }
        } else {
            self.give_slow(value);
        }
    }

    /// The private stack is full (or the owner must catch up with a trim):
    /// try the shared list directly, still with no read-modify-write; only
    /// budgeted pools need the slow path's accounting. Out of line so that the
    /// fast path above stays a small leaf.
    #[inline(never)]
    fn give_overflow(&self, shard: &Shard<T>, value: T, epoch: u64) {
        let value = if self.budget.is_none() {
            let (most, total) = (self.config.private_capacity, self.config.shard_capacity);
            // SAFETY: `shard` is the calling thread's own (from `give`).
            match unsafe { shard.push_overflow(value, epoch, most, total) } {
                Ok(()) => return shard.counters.returned.bump(),
                Err(back) => back,
            }
        } else {
            value
        };
        self.give_slow(value);
    }

    /// A guard dropped during a panic: the object may be half-updated, so it is
    /// kept only if the reset policy runs to completion and accepts it.
    #[cold]
    fn give_unwinding(&self, mut value: T) {
        let accepted = match &self.reset {
            // A panic in `reset` here would abort the process (a panic while
            // panicking), so it is caught and treated as a rejection.
            Some(reset) => catch_unwind(AssertUnwindSafe(|| reset(&mut value))).unwrap_or(false),
            None => false,
        };
        if accepted {
            // The policy has already run; store without running it again.
            match self.owned_shard() {
                // SAFETY: `owned_shard` returns a shard the calling thread owns.
                Some(shard) => match unsafe { shard.push_private(value, self.epoch()) } {
                    Ok(()) => shard.counters.returned.bump(),
                    Err(back) => self.give_slow(back),
                },
                None => self.give_slow(value),
            }
        } else {
            self.reject(value, Event::DroppedByPanic);
        }
    }

    /// Counts a return the pool will not keep, then drops it.
    #[cold]
    fn reject(&self, value: T, why: Event) {
        self.count(Event::Returned, 1);
        self.count(why, 1);
        drop(value);
    }

    #[cold]
    #[inline(never)]
    fn give_slow(&self, value: T) {
        self.maybe_auto_trim();
        let Some(shard) = self.local_shard() else {
            // No shard to keep this in (the thread is exiting, or its id's
            // shard is still being released by an exited thread).
            return self.reject(value, Event::DroppedByExit);
        };
        let epoch = self.catch_up(shard);
        // SAFETY: `shard` is the calling thread's own.
        let value = match unsafe { shard.push_private(value, epoch) } {
            Ok(()) => {
                shard.counters.returned.bump();
                return;
            }
            Err(back) => back,
        };
        shard.counters.returned.bump();
        self.store_shared(shard, value, epoch);
    }

    /// Puts an object (already counted as returned) on the calling thread's
    /// shared list, or drops it, counted, if the shard is full or the budget
    /// would be exceeded.
    pub(crate) fn store_shared(&self, shard: &Shard<T>, value: T, stamp: u64) {
        // Weigh first: it is user code, and nothing may run between the cap
        // check and the push.
        let weight = match (&self.budget, &self.weigh) {
            (Some(_), Some(weigh)) => weigh(&value),
            (Some(_), None) => std::mem::size_of::<T>(),
            (None, _) => 0,
        };
        // SAFETY: `shard` is the calling thread's own; no user code runs.
        let private = unsafe { shard.with_local(|local| local.stack.len()) };
        if private + shard.ring.len() >= self.config.shard_capacity {
            shard.counters.dropped_by_cap.bump();
            return drop(value);
        }
        if let Some(budget) = &self.budget
            && !budget.try_charge(weight)
        {
            shard.counters.dropped_by_budget.bump();
            return drop(value);
        }
        let slot = Slot {
            value,
            stamp,
            weight,
        };
        // SAFETY: `shard` is the calling thread's own, so we are its ring's owner.
        if let Err(slot) = unsafe { shard.ring.push(slot) } {
            self.release_budget_of(slot.weight);
            shard.counters.dropped_by_cap.bump();
            drop(slot.value);
        }
        // The ring grew: lower the private limit if the bound needs it.
        // SAFETY: `shard` is the calling thread's own.
        unsafe { self.fit_limit(shard) };
    }

    fn release_budget_of(&self, weight: usize) {
        if let Some(budget) = &self.budget {
            budget.release(weight);
        }
    }
}

/// Counts a return as dropped-by-panic if dropped while `reset` unwinds.
struct CountOnUnwind<'a, T: Send + 'static>(&'a Inner<T>);

impl<T: Send + 'static> Drop for CountOnUnwind<'_, T> {
    fn drop(&mut self) {
        self.0.count(Event::Returned, 1);
        self.0.count(Event::DroppedByPanic, 1);
    }
}
