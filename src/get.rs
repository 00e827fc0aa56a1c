//! Getting an object: private stack → own shared list → steal → create.
//!
//! Objects travel as boxes: the fast path pops one pointer off the private
//! stack, and a refill or steal moves pointers, never a `T`.

use crate::config::PRIVATE_STACK;
use crate::inner::Inner;
use crate::shard::Owner;
use crate::shard::ring::Entry;
use crate::stats::Event;
use crate::unwind::Dropper;

impl<T: Send + 'static> Inner<T> {
    /// The fast path: the calling thread's private stack. `None` means "go
    /// to [`get_slow`](Inner::get_slow)"; callers keep the two apart so the
    /// fast path stays a small leaf.
    #[inline(always)]
    pub(crate) fn get_fast(&self) -> Option<Box<T>> {
        self.cached()?.pop(self.epoch())
    }

    /// Everything but the fast path: an idle object from anywhere, else a new one.
    #[cold]
    #[inline(never)]
    pub(crate) fn get_slow(&self) -> Box<T> {
        match self.find() {
            Some(value) => value,
            None => self.create_one(),
        }
    }

    /// Reuse only: like `get` but `None` instead of creating.
    pub(crate) fn try_get(&self) -> Option<Box<T>> {
        self.get_fast().or_else(|| self.find())
    }

    /// Nothing to reuse: make a new object. `create` may panic or re-enter
    /// the pool; nothing is held while it runs, and it is counted only once
    /// it returned.
    fn create_one(&self) -> Box<T> {
        let value = Box::new((self.create)());
        self.count(Event::created, 1);
        value
    }

    /// The search behind `get` and `try_get`: private stack (after catching
    /// up with trims), own shared list, other threads' shared lists.
    fn find(&self) -> Option<Box<T>> {
        if !self.config.pooling {
            return None;
        }
        self.maybe_auto_trim();
        let owner = self.local()?;
        let mut drops = Dropper::default();
        let (owner, _) = self.catch_up(owner, &mut drops);
        // User code may have run (stale objects' `Drop`), moving the epoch or
        // the private stack: everything below reads its state afresh.
        let found = owner
            .pop(self.epoch())
            .or_else(|| self.refill(owner))
            .or_else(|| self.steal(owner));
        drops.finish();
        found
    }

    /// Moves a batch of the newest objects from the calling thread's own
    /// shared list to its private stack and returns the newest.
    fn refill(&self, owner: Owner<'_, T>) -> Option<Box<T>> {
        if owner.shard().ring.len() == 0 {
            return None;
        }
        // Busy means a stealer is mid-batch on our list: rather than wait, try
        // the other shards; the objects stay reachable.
        let mut claim = owner.shard().ring.try_claim()?;
        let most = self.config.private_capacity;
        let listed = claim.len();
        // Moving objects from our ring to our stack keeps the shard's total,
        // so only the stack's own room limits the batch: one for the caller
        // plus what fits on top of what the stack holds now.
        let take = listed.min(most.saturating_sub(owner.height()) + 1);
        owner.set_limit(most.min(self.config.shard_capacity.saturating_sub(listed - take)));
        // Newest first out of the ring; onto the stack oldest first, so its
        // top stays the most recently returned. On the stack, not the heap:
        // a refill after every park must not allocate.
        let mut newest_first: [Option<Entry<T>>; PRIVATE_STACK + 1] = [const { None }; _];
        let mut taken = 0;
        owner.ring().pop_newest(&mut claim, take, |entry| {
            newest_first[taken] = Some(entry);
            taken += 1;
        });
        drop(claim);
        let mut batch = Batch::new(owner);
        for entry in newest_first[..taken].iter_mut().rev() {
            batch.add(entry.take().expect("filled above"));
        }
        let newest = self.finish_batch(owner, batch)?;
        owner.shard().counters.shared_hits.bump();
        Some(newest)
    }

    /// Takes up to half of another shard's shared list (one for the caller,
    /// the rest as far as the private stack's limit allows), starting at the
    /// shard we last stole from.
    fn steal(&self, owner: Owner<'_, T>) -> Option<Box<T>> {
        self.fit_limit(owner);
        let room = owner.room();
        let start = owner.steal_cursor();
        // Visit `start..` then `..start`, skipping ourselves and empty lists
        // without touching their claim flag.
        let wrapped = self.shards.iter().enumerate().take(start);
        let order = (self.shards.iter().enumerate().skip(start))
            .chain(wrapped)
            .filter(|(_, victim)| !std::ptr::eq(*victim, owner.shard()) && victim.ring.len() != 0);
        for (index, victim) in order {
            let Some(mut claim) = victim.ring.try_claim() else {
                continue;
            };
            let take = claim.len().div_ceil(2).min(room + 1);
            let mut batch = Batch::new(owner);
            for _ in 0..take {
                if let Some(entry) = claim.pop_oldest() {
                    batch.add(entry);
                }
            }
            drop(claim);
            let stolen = batch.len;
            let Some(newest) = self.finish_batch(owner, batch) else {
                continue;
            };
            // Come back here first next time: a victim with a backlog (a
            // consumer returning what a producer takes) likely has more.
            owner.set_steal_cursor(index);
            let counters = &owner.shard().counters;
            counters.stolen.add(stolen);
            counters.steals.bump();
            return Some(newest);
        }
        None
    }

    /// Ends a batch: gives back the budget its entries were charged (the
    /// private stack is not charged) and stores what did not fit.
    fn finish_batch(&self, owner: Owner<'_, T>, batch: Batch<'_, T>) -> Option<Box<T>> {
        if let Some(budget) = &self.budget {
            budget.release(batch.weight);
        }
        if !batch.spill.is_empty() {
            let mut drops = Dropper::default();
            for (value, stamp) in batch.spill {
                self.store_shared(owner, value, stamp, &mut drops);
            }
            drops.finish();
        }
        batch.newest.map(|entry| entry.value)
    }
}

/// A batch moving from a shared list to the private stack, oldest first:
/// each entry goes onto the stack as the next one arrives, and the last (the
/// newest) is kept for the caller. Nothing is allocated; the sizes are
/// computed so that everything fits, and `spill` (which would allocate)
/// only catches the case where that reasoning were wrong.
struct Batch<'a, T> {
    owner: Owner<'a, T>,
    newest: Option<Entry<T>>,
    weight: usize,
    len: u64,
    spill: Vec<(Box<T>, u64)>,
}

impl<'a, T> Batch<'a, T> {
    fn new(owner: Owner<'a, T>) -> Self {
        Batch {
            owner,
            newest: None,
            weight: 0,
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Runs under a claim: no user code.
    fn add(&mut self, entry: Entry<T>) {
        self.weight += entry.weight;
        self.len += 1;
        let Some(previous) = self.newest.replace(entry) else {
            return;
        };
        let counters = &self.owner.shard().counters;
        // Counted first, so a concurrent `stats` never sees the object both
        // in a shared list's flow and as a private return.
        counters.moved_in.bump();
        if let Err(value) = self.owner.place(previous.value, previous.stamp) {
            counters.moved_in.set(counters.moved_in.get() - 1);
            self.spill.push((value, previous.stamp));
        }
    }
}
