//! Getting an object: private stack → own shared list → steal → create.

use crate::inner::Inner;
use crate::shard::Shard;
use crate::stats::Event;

impl<T: Send + 'static> Inner<T> {
    /// The fast path: the calling thread's private stack. `None` means "go
    /// to [`take_slow`](Inner::take_slow)"; callers keep the two apart so the
    /// value of the fast path can stay in registers (merging it with the slow
    /// path's return slot made the compiler spill it, and cost a stalled
    /// store-to-load forward on every get).
    #[inline(always)]
    pub(crate) fn take_fast(&self) -> Option<T> {
        let shard = self.cached_shard()?;
        // SAFETY: a cached shard is owned by the calling thread.
        let value = unsafe { shard.pop_private(self.epoch()) }?;
        shard.counters.private_hits.bump();
        Some(value)
    }

    /// Everything but the fast path.
    #[cold]
    #[inline(never)]
    pub(crate) fn take_slow(&self) -> T {
        self.maybe_auto_trim();
        let Some(shard) = self.local_shard() else {
            // No shard (the thread is exiting, or its id's shard is still being
            // released by an exited thread): make one object.
            let value = (self.create)();
            self.orphan.of(Event::Created).add(1);
            return value;
        };
        let epoch = self.catch_up(shard);
        // SAFETY: `local_shard` returns a shard the calling thread owns.
        if let Some(value) = unsafe { shard.pop_private(epoch) } {
            shard.counters.private_hits.bump();
            return value;
        }
        if let Some(value) = self.refill(shard) {
            shard.counters.shared_hits.bump();
            return value;
        }
        if let Some(value) = self.steal(shard) {
            shard.counters.steals.bump();
            return value;
        }
        self.try_take_none_left(shard)
    }

    /// Reuse only: like `take` but `None` instead of creating.
    pub(crate) fn try_take(&self) -> Option<T> {
        if let Some(shard) = self.cached_shard() {
            // SAFETY: a cached shard is owned by the calling thread.
            if let Some(value) = unsafe { shard.pop_private(self.epoch()) } {
                shard.counters.private_hits.bump();
                return Some(value);
            }
        }
        let shard = self.local_shard()?;
        let epoch = self.catch_up(shard);
        // SAFETY: `shard` is the calling thread's own.
        if let Some(value) = unsafe { shard.pop_private(epoch) } {
            shard.counters.private_hits.bump();
            return Some(value);
        }
        if let Some(value) = self.refill(shard) {
            shard.counters.shared_hits.bump();
            return Some(value);
        }
        let value = self.steal(shard)?;
        shard.counters.steals.bump();
        Some(value)
    }

    /// Nothing to reuse anywhere: make a new object.
    fn try_take_none_left(&self, shard: &Shard<T>) -> T {
        // `create` may panic or re-enter the pool; no borrow or claim is held.
        let value = (self.create)();
        shard.counters.created.bump();
        value
    }

    /// Moves a batch of the newest objects from the calling thread's own
    /// shared list into its (empty) private stack and returns the newest.
    fn refill(&self, shard: &Shard<T>) -> Option<T> {
        let shared = shard.ring.len();
        if shared == 0 {
            return None;
        }
        // Busy means a stealer is mid-batch on our list: rather than wait, try
        // the other shards; the objects stay reachable.
        let mut claim = shard.ring.try_claim()?;
        let (most, total) = (self.config.private_capacity, self.config.shard_capacity);
        // One object for the caller plus as many as the private stack holds.
        let take = claim.len().min(most + 1);
        let mut weight = 0;
        // Never used while the limits hold; if they ever did not, a refused
        // object must leave the owner-only borrow before anything drops it.
        let mut spill = Vec::new();
        // SAFETY: `shard` is the calling thread's own, so it may move its ring's
        // tail (`pop_newest`) and touch its private stack; no user code runs.
        let value = unsafe {
            shard.with_local(|local| {
                // Moving objects from our ring to our stack keeps the shard's
                // total; only the limit must admit them (`Local::limit`).
                let left = claim.len() - take;
                local.limit = most.min(total.saturating_sub(left));
                let mut newest = None;
                claim.pop_newest(take, |slot| {
                    weight += slot.weight;
                    // Oldest first: each earlier one goes on the stack, the
                    // last (newest) goes to the caller.
                    if let Some(previous) = newest.replace(slot)
                        && let Err(value) = local.push(previous.value, previous.stamp)
                    {
                        debug_assert!(false, "take - 1 <= limit");
                        spill.push((value, previous.stamp));
                    }
                });
                newest.map(|slot| slot.value)
            })
        };
        drop(claim);
        self.release_budget(weight);
        self.store_spill(shard, spill);
        value
    }

    /// Takes up to half of another shard's shared list (one for the caller,
    /// the rest as far as the private stack's limit allows), starting at the
    /// shard we last stole from.
    fn steal(&self, shard: &Shard<T>) -> Option<T> {
        // Our own ring may have shrunk since the limit was set.
        // SAFETY: `shard` is the calling thread's own.
        unsafe { self.fit_limit(shard) };
        // SAFETY: `shard` is the calling thread's own; no user code runs.
        let (start, room) = unsafe { shard.with_local(|local| (local.steal_cursor, local.room())) };
        // Visit `start..` then `..start`, skipping ourselves and empty lists
        // without touching their claim flag.
        let wrapped = self.shards.iter().enumerate().take(start);
        let order = (self.shards.iter().enumerate().skip(start))
            .chain(wrapped)
            .filter(|(_, victim)| !std::ptr::eq(*victim, shard) && victim.ring.len() != 0);
        for (index, victim) in order {
            let Some(mut claim) = victim.ring.try_claim() else {
                continue;
            };
            let batch = claim.len().div_ceil(2).min(room + 1);
            if batch == 0 {
                continue;
            }
            let mut weight = 0;
            let mut spill = Vec::new(); // as in `refill`
            // SAFETY: `shard` is the calling thread's own; no user code runs
            // (moving a `T` is a copy).
            let value = unsafe {
                shard.with_local(|local| {
                    let mut newest = None;
                    for _ in 0..batch {
                        let slot = claim.pop_oldest().expect("batch <= claim.len()");
                        weight += slot.weight;
                        if let Some(previous) = newest.replace(slot)
                            && let Err(value) = local.push(previous.value, previous.stamp)
                        {
                            debug_assert!(false, "batch - 1 <= room");
                            spill.push((value, previous.stamp));
                        }
                    }
                    // Come back here first next time: a victim with a backlog
                    // (a consumer returning what a producer takes) likely has more.
                    local.steal_cursor = index;
                    newest.map(|slot| slot.value)
                })
            };
            drop(claim);
            self.release_budget(weight);
            self.store_spill(shard, spill);
            shard.counters.stolen.add(batch as u64);
            return value;
        }
        None
    }

    /// Objects a refill or steal could not fit in the private stack (see
    /// there): onto the shared list, or dropped and counted.
    fn store_spill(&self, shard: &Shard<T>, spill: Vec<(T, u64)>) {
        for (value, stamp) in spill {
            self.store_shared(shard, value, stamp);
        }
    }

    fn release_budget(&self, weight: usize) {
        if let Some(budget) = &self.budget {
            budget.release(weight);
        }
    }

    /// Trims if automatic trimming is on and an interval has passed.
    #[inline]
    pub(crate) fn maybe_auto_trim(&self) {
        if let Some(auto) = &self.auto_trim
            && auto.claim_due(crate::auto_trim::now_nanos())
        {
            self.trim();
        }
    }
}
