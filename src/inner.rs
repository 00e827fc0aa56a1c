//! The state behind a [`Pool`](crate::Pool), shared by its handles, its owned
//! guards, the thread-exit hooks and the process-wide registry.
//!
//! It lives in an `Arc` so that those last two can hold it weakly: a thread
//! that exits, or `trim_all`, upgrades for the length of one call, and a pool
//! dropped meanwhile is simply skipped.

use crate::budget::Budget;
use crate::config::Config;
use crate::shard::exit::ExitFlush;
use crate::shard::{Adoption, Owner, Shard, cache, exit};
use crate::stats::{Event, Flows, PoolCounters, Stats, Tally};
use crate::sync::{AtomicU64, Ordering, ThreadLocal};
use crate::trim::interval::AutoTrim;
use crate::trim::registry::Registered;
use crate::unwind::Dropper;
use std::panic::{AssertUnwindSafe, RefUnwindSafe, UnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

pub(crate) type CreateFn<T> = Box<dyn Fn() -> T + Send + Sync>;
pub(crate) type ResetFn<T> = Box<dyn Fn(&mut T) -> bool + Send + Sync>;
pub(crate) type WeighFn<T> = Box<dyn Fn(&T) -> usize + Send + Sync>;

pub(crate) struct Inner<T: Send + 'static> {
    /// One shard per thread that has used the pool; see `shard/mod.rs` for
    /// who may touch what inside one.
    pub(crate) shards: ThreadLocal<Shard<T>>,
    /// The trim generation. Advanced only by `trim`/`clear` (fetch_add); read
    /// with a relaxed load by owners on every get and put, which compare it
    /// with the epoch they last caught up with and stamp returns with it.
    /// Relaxed is enough: it guards no memory, and a stale read only delays
    /// the owner's catch-up to its next operation.
    pub(crate) epoch: AtomicU64,
    pub(crate) create: CreateFn<T>,
    /// Runs on every return; `false` drops the object.
    pub(crate) reset: Option<ResetFn<T>>,
    /// Measures objects for the budget.
    pub(crate) weigh: Option<WeighFn<T>>,
    pub(crate) config: Config,
    /// Retained-bytes budget, possibly shared with other pools (size classes).
    pub(crate) budget: Option<Arc<Budget>>,
    /// Counts for events with no owning shard.
    pub(crate) orphan: PoolCounters,
    /// Automatic trimming, if configured.
    pub(crate) auto_trim: Option<AutoTrim>,
    /// Ourselves, weakly: what exit hooks and the registry hold.
    pub(crate) weak_self: Weak<Inner<T>>,
    /// Key in the process-wide registry and the shard cache.
    pub(crate) registry_key: u64,
}

// The pool's own state stays consistent whatever a callback does, panics
// included (I7, I9; `unwind.rs`), so observing it after a caught panic is
// fine. The boxed callbacks would make these auto traits fail for every `T`;
// what a user's closure captures is the user's to reason about, as with any
// closure passed to `catch_unwind`.
impl<T: Send + 'static> UnwindSafe for Inner<T> {}
impl<T: Send + 'static> RefUnwindSafe for Inner<T> {}

impl<T: Send + 'static> Inner<T> {
    pub(crate) fn new(
        create: CreateFn<T>,
        reset: Option<ResetFn<T>>,
        weigh: Option<WeighFn<T>>,
        config: Config,
        budget: Option<Arc<Budget>>,
    ) -> Arc<Self> {
        let auto_trim = config.trim_interval.map(AutoTrim::new);
        let inner = Arc::new_cyclic(|weak_self| Inner {
            shards: ThreadLocal::new(),
            epoch: AtomicU64::new(0),
            create,
            reset,
            weigh,
            config,
            budget,
            orphan: PoolCounters::default(),
            auto_trim,
            weak_self: weak_self.clone(),
            registry_key: crate::sync::unique_id(),
        });
        crate::trim::registry::register(inner.registry_key, inner.weak_self.clone());
        inner
    }

    /// The current trim epoch (see the field docs for why relaxed).
    #[inline(always)]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The calling thread's shard, from its cache: the fast path's lookup.
    #[inline(always)]
    pub(crate) fn cached(&self) -> Option<Owner<'_, T>> {
        let shard = cache::lookup(self.registry_key)?;
        // SAFETY: by the rules in `shard/cache.rs`, a line for our key was
        // filled by this thread with a shard of ours that it owns and still
        // owns; shards live as long as the pool, which `&self` keeps alive.
        Some(unsafe { Owner::new(shard.cast::<Shard<T>>().as_ref()) })
    }

    /// The calling thread's shard if it owns one here; never creates.
    pub(crate) fn owned(&self) -> Option<Owner<'_, T>> {
        if let Some(owner) = self.cached() {
            return Some(owner);
        }
        let token = exit::thread_token()?;
        let shard = self.shards.get()?;
        // SAFETY: the token check proves ownership, and only this thread's
        // exit hook can end it.
        shard
            .is_owned_by(token)
            .then(|| self.remember(unsafe { Owner::new(shard) }))
    }

    /// The calling thread's shard, creating and adopting it on first use.
    /// `None` on a thread that is exiting (nothing would flush a new shard)
    /// or, transiently, when the shard for this thread's id still belongs to
    /// an exited thread whose exit hook has not run yet.
    #[cold]
    pub(crate) fn local(&self) -> Option<Owner<'_, T>> {
        if let Some(owner) = self.cached() {
            return Some(owner);
        }
        let token = exit::thread_token()?;
        let shard = match self.shards.get() {
            Some(shard) => shard,
            None => self.create_shard()?,
        };
        match shard.adopt(token) {
            Adoption::Owned => {}
            Adoption::Adopted => {
                let address = (shard as *const Shard<T>).cast::<()>();
                let pool: Weak<dyn ExitFlush> = self.weak_self.clone();
                if !exit::register(pool, address) {
                    // The hook is gone: the thread is exiting. Give the shard back.
                    // SAFETY: we adopted it a moment ago and touch it no more.
                    unsafe { Owner::new(shard) }.release();
                    return None;
                }
            }
            Adoption::Refused => return None,
        }
        // SAFETY: adopted or already owned by this thread, just checked.
        Some(self.remember(unsafe { Owner::new(shard) }))
    }

    /// Inserts this thread's shard. `thread_local` panics if the thread's
    /// id was already freed (its own thread-local destructor ran: we are in
    /// another thread-local's destructor, issue 12). That panic is caught
    /// here and the thread treated as exiting, so nothing aborts.
    #[cold]
    fn create_shard(&self) -> Option<&Shard<T>> {
        let config = &self.config;
        let made = catch_unwind(AssertUnwindSafe(|| {
            self.shards
                .get_or(|| Shard::new(config.private_capacity, self.epoch()))
        }));
        if made.is_err() {
            exit::mark_exiting();
            return None;
        }
        // On first insertion `get_or` returns a reference derived from a `&mut`
        // inside `thread_local` (its `insert`); Stacked and Tree Borrows end it
        // at the next access through another path (a stealer's `iter`), yet we
        // cache it. `get`'s reference derives from the shared entry: use that.
        self.shards.get()
    }

    /// Caches the calling thread's shard (rule 1 of `shard/cache.rs`:
    /// callers hold an `Owner` and the thread is not exiting).
    fn remember<'a>(&'a self, owner: Owner<'a, T>) -> Owner<'a, T> {
        cache::fill(self.registry_key, NonNull::from(owner.shard()).cast());
        owner
    }

    /// Sets the private stack's limit as high as the shard's bound allows
    /// now (`Private::limit`).
    pub(crate) fn fit_limit(&self, owner: Owner<'_, T>) {
        let shared = owner.shard().ring.len();
        let most = self.config.private_capacity;
        owner.set_limit(most.min(self.config.shard_capacity.saturating_sub(shared)));
    }

    /// Counts `event` in the calling thread's shard if it has one, else in
    /// the pool-wide counters.
    pub(crate) fn count(&self, event: Event, n: u64) {
        match self.owned() {
            Some(owner) => owner.shard().counters.of(event).add(n),
            None => self.orphan.of(event).add(n),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut tally = Tally::default();
        let mut flows = Flows::default();
        for shard in self.shards.iter() {
            // The private stack's flows before the counters: the pool counts
            // its own moves (`moved_in`, `moved_out`) before making them, so
            // in this order a move in flight can only make `idle` read low.
            let (pushes, pops) = shard.private_flows();
            shard.counters.add_to(&mut tally);
            flows.pushes += pushes;
            flows.pops += pops;
            flows.shards += 1;
        }
        self.orphan.add_to(&mut tally);
        let mut stats = crate::stats::finish(&tally, &flows);
        stats.idle_bytes = self.budget.as_ref().map_or(0, |b| b.used() as u64);
        stats
    }

    /// Moves the calling thread's private objects to its shared list
    /// (`Pool::flush_local`), after catching up with any trim.
    pub(crate) fn flush_local(&self) {
        if let Some(owner) = self.owned() {
            let mut drops = Dropper::default();
            let (owner, _) = self.catch_up(owner, &mut drops);
            self.flush_private(owner, &mut drops);
            drops.finish();
        }
    }
}

impl<T: Send + 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        crate::trim::registry::unregister(self.registry_key);
        // Drop every idle object here, each under containment, and give back
        // what the shared lists had charged to a budget that other pools (size
        // classes) may still be using.
        let mut drops = Dropper::default();
        let mut charged = 0;
        for shard in self.shards.iter_mut() {
            // SAFETY: `&mut self`: no thread can be using the pool, so no
            // other `Owner` of this shard exists.
            let owner = unsafe { Owner::new(&*shard) };
            while let Some((value, _)) = owner.remove_bottom() {
                drops.drop(value);
            }
            let mut entries = Vec::new();
            let mut claim = shard.ring.claim();
            while let Some(entry) = claim.pop_oldest() {
                entries.push(entry);
            }
            drop(claim);
            for entry in entries {
                charged += entry.weight;
                drops.drop(entry.value);
            }
        }
        if let Some(budget) = &self.budget {
            budget.release(charged);
        }
        drops.finish();
    }
}

impl<T: Send + 'static> ExitFlush for Inner<T> {
    unsafe fn flush_exiting_thread(&self, shard: *const ()) {
        // SAFETY: the caller guarantees `shard` is one of our shards, which live
        // as long as we do (we are alive: the caller upgraded a `Weak`).
        let shard = unsafe { &*shard.cast::<Shard<T>>() };
        // SAFETY: this thread adopted the shard (caller contract) and only
        // this hook releases it, right below.
        let owner = unsafe { Owner::new(shard) };
        let mut drops = Dropper::default();
        self.flush_private(owner, &mut drops);
        // Marked as exiting, this thread never touches the shard again
        // without adopting it anew.
        owner.release();
        // Exiting: a panic from user code here is forgotten, not re-raised.
        drops.finish();
    }

    fn flush_local(&self) {
        Inner::flush_local(self);
    }
}

impl<T: Send + 'static> Registered for Inner<T> {
    fn trim_now(&self) -> u64 {
        self.trim()
    }

    fn auto_trim_due(&self) -> Option<(u64, u64)> {
        self.auto_trim
            .as_ref()
            .map(|a| (a.next_due(), a.interval().as_nanos() as u64))
    }

    fn auto_trim_if_due(&self, now: u64) -> bool {
        let due = self.auto_trim.as_ref().is_some_and(|a| a.claim_due(now));
        if due {
            self.trim();
        }
        due
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn stats(&self) -> Stats {
        Inner::stats(self)
    }
}
