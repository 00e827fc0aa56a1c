//! The state behind a [`Pool`](crate::Pool), shared by its handles, its owned
//! guards, the thread-exit hooks and the process-wide registry.
//!
//! It lives in an `Arc` so that those last two can hold it weakly: a thread
//! that exits, or `trim_all`, upgrades for the length of one call, and a pool
//! dropped meanwhile is simply skipped.

use crate::budget::Budget;
use crate::config::Config;
use crate::shard::{Adoption, Shard};
use crate::stats::{Event, PoolCounters, Stats};
use crate::sync::{AtomicU64, Ordering, ThreadLocal};
use std::sync::{Arc, Weak};

pub(crate) type CreateFn<T> = Box<dyn Fn() -> T + Send + Sync>;
pub(crate) type ResetFn<T> = Box<dyn Fn(&mut T) -> bool + Send + Sync>;
pub(crate) type WeighFn<T> = Box<dyn Fn(&T) -> usize + Send + Sync>;

pub(crate) struct Inner<T: Send + 'static> {
    /// One shard per thread that has used the pool; see `shard.rs` for who
    /// may touch what inside one.
    pub(crate) shards: ThreadLocal<Shard<T>>,
    /// The trim generation. Advanced only by `trim` (fetch_add); read with a
    /// relaxed load by owners on every get and put, which compare it with the
    /// epoch they last caught up with and stamp returns with it. Relaxed is
    /// enough: it guards no memory, and a stale read only delays the owner's
    /// catch-up to its next operation.
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
    pub(crate) auto_trim: Option<crate::auto_trim::AutoTrim>,
    /// Ourselves, weakly: what exit hooks and the registry hold.
    pub(crate) weak_self: Weak<Inner<T>>,
    /// Key in the process-wide registry (for `trim_all`).
    pub(crate) registry_key: u64,
}

impl<T: Send + 'static> Inner<T> {
    pub(crate) fn new(
        create: CreateFn<T>,
        reset: Option<ResetFn<T>>,
        weigh: Option<WeighFn<T>>,
        config: Config,
        budget: Option<Arc<Budget>>,
    ) -> Arc<Self> {
        let auto_trim = config.trim_interval.map(crate::auto_trim::AutoTrim::new);
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
            registry_key: crate::registry::next_key(),
        });
        crate::registry::register(inner.registry_key, inner.weak_self.clone());
        inner
    }

    /// The current trim epoch (see the field docs for why relaxed).
    #[inline(always)]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The calling thread's shard, from its cache: the fast path's lookup.
    #[inline(always)]
    pub(crate) fn cached_shard(&self) -> Option<&Shard<T>> {
        let shard = crate::cache::lookup(self.registry_key)?;
        // SAFETY: by the rules in `cache.rs`, a line for our key was filled by
        // this thread with a shard of ours that it owns and still owns; shards
        // live as long as the pool, which `&self` keeps alive.
        Some(unsafe { &*shard.cast::<Shard<T>>() })
    }

    /// The calling thread's shard if it owns one here; never creates.
    pub(crate) fn owned_shard(&self) -> Option<&Shard<T>> {
        if let Some(shard) = self.cached_shard() {
            return Some(shard);
        }
        let token = crate::exit::thread_token()?;
        let shard = self.shards.get()?;
        shard.is_owned_by(token).then(|| self.remember(shard))
    }

    /// The calling thread's shard, creating and adopting it on first use.
    /// `None` on a thread that is exiting (nothing would flush a new shard)
    /// or, transiently, when the shard for this thread's id still belongs to
    /// an exited thread whose exit hook has not run yet.
    #[cold]
    pub(crate) fn local_shard(&self) -> Option<&Shard<T>> {
        if let Some(shard) = self.cached_shard() {
            return Some(shard);
        }
        let token = crate::exit::thread_token()?;
        let config = &self.config;
        let shard = self
            .shards
            .get_or(|| Shard::new(config.private_capacity, config.shard_capacity, self.epoch()));
        // On first insertion `get_or` returns a reference derived from a `&mut`
        // inside `thread_local` (its `insert`); Stacked and Tree Borrows end it
        // at the next access through another path (a stealer's `iter`), yet we
        // cache it. `get`'s reference derives from the shared entry: cache that.
        let shard = self.shards.get().unwrap_or(shard);
        match shard.adopt(token) {
            Adoption::Owned => {}
            Adoption::Adopted => {
                let address = (shard as *const Shard<T>).cast::<()>();
                if !crate::exit::register(self.weak_self.clone(), address) {
                    // Cannot happen while `thread_token` is `Some`; stay safe.
                    // SAFETY: we adopted it a moment ago and touch it no more.
                    unsafe { shard.release() };
                    return None;
                }
            }
            Adoption::Refused => return None,
        }
        Some(self.remember(shard))
    }

    /// Caches `shard`, which the calling thread owns (rule 1 of `cache.rs`:
    /// callers check ownership and that the thread is not exiting).
    fn remember<'a>(&'a self, shard: &'a Shard<T>) -> &'a Shard<T> {
        crate::cache::fill(self.registry_key, (shard as *const Shard<T>).cast());
        shard
    }

    /// Brings the calling thread's shard up to date before a slow-path
    /// operation: applies the victim rule to the private stack if a trim has
    /// happened since the owner last looked. Returns the epoch now current.
    #[cold]
    pub(crate) fn catch_up(&self, shard: &Shard<T>) -> u64 {
        let epoch = self.epoch();
        // SAFETY: `shard` is owned by the calling thread (all callers got it
        // from `owned_shard`/`local_shard`); the closure runs no user code.
        let stale = unsafe { shard.with_local(|local| local.seen_epoch != epoch) };
        if stale {
            self.drop_stale_private(shard, epoch);
        }
        epoch
    }

    /// Sets the private stack's limit as high as the shard's bound allows now
    /// (see `Local::limit`). Returns the ring's length it used.
    ///
    /// # Safety
    /// The calling thread must own `shard`.
    pub(crate) unsafe fn fit_limit(&self, shard: &Shard<T>) -> usize {
        let shared = shard.ring.len();
        let most = self.config.private_capacity;
        let total = self.config.shard_capacity;
        // SAFETY: the caller owns the shard; the closure runs no user code.
        unsafe { shard.with_local(|local| local.limit = most.min(total.saturating_sub(shared))) };
        shared
    }

    /// Counts `event` in the calling thread's shard if it has one, else in
    /// the pool-wide counters.
    pub(crate) fn count(&self, event: Event, n: u64) {
        if let Some(counter) = self.owned_shard().and_then(|s| s.counters.of(event)) {
            counter.add(n);
        } else {
            self.orphan.of(event).add(n);
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        for shard in self.shards.iter() {
            shard.counters.add_to(&mut stats);
            stats.shards += 1;
        }
        self.orphan.add_to(&mut stats);
        crate::stats::finish(&mut stats);
        stats.idle_bytes = self.budget.as_ref().map_or(0, |b| b.used() as u64);
        stats.trims = self.epoch();
        stats
    }
}

impl<T: Send + 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        crate::registry::unregister(self.registry_key);
        // Give back what the shared lists had charged to a budget that other
        // pools (size classes) may still be using. The objects themselves are
        // dropped with the shards, right after this.
        if let Some(budget) = &self.budget {
            let charged: usize = self
                .shards
                .iter_mut()
                .map(|s| s.ring.charged_weight())
                .sum();
            budget.release(charged);
        }
    }
}
