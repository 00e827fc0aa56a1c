//! The pool: its public face, the state behind it, and a value's round trip.
//!
//! ```text
//! get      Pool::get ─▶ Inner::acquire ─▶ Owner::pop (this thread's private stack)
//!                        └ cold: acquire_slow ─▶ catch up with trims ─▶ Owner::refill
//!                                (own shared list) ─▶ steal ─▶ create
//! return   guard drop, Pool::put ─▶ Inner::release ─▶ reset policy ─▶ Owner::push
//!                        └ cold: release_slow ─▶ catch up ─▶ Owner::keep (private
//!                                stack; a thread that only returns spills its
//!                                older half) ─▶ keep_shared (the shared list,
//!                                charged to the budget if any) ─▶ else drop, counted
//! ```
//!
//! Both trips are in this file; the owner-only operations they call, each of
//! which keeps the shard's bound, are in `shard/mod.rs`. Trimming (the victim
//! rule) is in `trim/mod.rs`. The design essay is the
//! [`implementation`](crate::implementation) page.

use crate::budget::Budget;
use crate::builder::{Builder, WithCreate};
use crate::config::Config;
use crate::guard::{OwnedPooled, Pooled};
use crate::shard::directory::{Directory, Set};
use crate::shard::exit::{self, ExitFlush};
use crate::shard::hot::HotOwner;
use crate::shard::{Batch, Owner, Shard, cache};
use crate::stats::{Event, Flows, PoolCounters, Stats, Tally};
use crate::sync::{AtomicU64, Ordering};
use crate::trim::interval::AutoTrim;
use crate::trim::registry::Registered;
use crate::unwind::Dropper;
use std::fmt;
use std::panic::{AssertUnwindSafe, RefUnwindSafe, UnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

/// A concurrent pool of reusable `T`s, sharded per thread.
///
/// `get` hands out a guard that returns the object when dropped. Each thread
/// that uses the pool gets a shard: a small private stack only it touches
/// (the fast path: no atomic read-modify-write, no fence, no lock) and a
/// shared list that other threads steal from in batches when their own runs
/// dry. Retention is bounded per thread, optionally by bytes, and trimmed by
/// generations (see [`Pool::trim`]).
///
/// `Pool<T>` is `Send + Sync` exactly when `T: Send`; `T` need not be `Sync`,
/// because no object is ever visible to two threads at once. It is a cheap
/// handle: `clone` shares the same pool (one reference count), so there is
/// no need to wrap it in an `Arc`.
///
/// ```
/// use shardpool::Pool;
///
/// let pool: Pool<Vec<u8>> = Pool::builder()
///     .reset(|b: &mut Vec<u8>| { b.clear(); b.capacity() <= 64 * 1024 })
///     .max_idle_per_thread(64)
///     .build(|| Vec::with_capacity(4096));
/// let mut buf = pool.get();
/// buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
/// drop(buf); // back to this thread's private stack
/// assert_eq!(pool.stats().idle, 1);
/// ```
pub struct Pool<T: Send + 'static> {
    inner: Arc<Inner<T>>,
}

pub(crate) type CreateFn<T> = Box<dyn Fn() -> T + Send + Sync>;
pub(crate) type ResetFn<T> = Box<dyn Fn(&mut T) -> bool + Send + Sync>;
pub(crate) type WeighFn<T> = Box<dyn Fn(&T) -> usize + Send + Sync>;

/// The state behind a [`Pool`], shared by its handles and its owned guards,
/// and held weakly by the thread-exit hooks and the process-wide registry
/// (which upgrade for the length of one call, and skip a pool dropped
/// meanwhile).
pub(crate) struct Inner<T: Send + 'static> {
    /// Every shard, by index, with the stealable and vacant sets. The owner
    /// thread of each is recorded in the shard (`shard/mod.rs`).
    pub(crate) shards: Directory<T>,
    /// The trim generation. Advanced only by `trim`/`clear` (fetch_add); read
    /// with a relaxed load by owners on every get and return, which compare
    /// it with the epoch they last caught up with and stamp returns with it.
    /// Relaxed is enough: it guards no memory, and a stale read only delays
    /// the owner's catch-up to its next operation.
    pub(crate) epoch: AtomicU64,
    create: CreateFn<T>,
    /// Runs on every return; `false` drops the object.
    reset: Option<ResetFn<T>>,
    /// Measures objects for the budget.
    weigh: Option<WeighFn<T>>,
    pub(crate) config: Config,
    /// Retained-bytes budget, possibly shared with other pools (size classes).
    pub(crate) budget: Option<Arc<Budget>>,
    /// Counts for events with no owning shard.
    pub(crate) orphan: PoolCounters,
    /// Automatic trimming, if configured.
    pub(crate) auto_trim: Option<AutoTrim>,
    /// Ourselves, weakly: what exit hooks and the registry hold.
    weak_self: Weak<Inner<T>>,
    /// Unique for the life of the process: the key in the registry, the
    /// shard cache and each thread's list of adopted shards.
    key: u64,
    /// One thread's shortcut to its shard, ahead of the shard cache
    /// (`shard/hot.rs`). Written once per claim: read-mostly, like `key`.
    hot: HotOwner,
}

/// What `reuse` found: an object and the calling thread's shard, or nothing
/// (and that shard, if the thread has one, to count what happens next on).
type Reuse<'a, T> = Result<(Box<T>, Owner<'a, T>), Option<Owner<'a, T>>>;

/// Who hands an object back, which decides what happens to a panic from
/// user code on the way (a `reset`, a `weigh`, a stale object's `Drop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returner {
    /// A guard's `Drop`: the panic is contained (the object is dropped and
    /// counted, the panic hook has reported it). A drop must not unwind: it
    /// may run in a thread-local destructor, where unwinding aborts, and no
    /// code can tell that it does.
    Guard,
    /// An explicit call ([`Pool::put`]): the panic propagates once the pool is
    /// consistent, unless the thread cannot unwind.
    Call,
}

// A panic in user code leaves the pool consistent (I7 and I9 on the
// implementation page), so a pool may be used across `catch_unwind`. The
// boxed callbacks would make these auto traits fail for every `T`; what a
// user's closure captures is the user's to
// reason about, as with any closure passed to `catch_unwind`.
impl<T: Send + 'static> UnwindSafe for Pool<T> {}
impl<T: Send + 'static> RefUnwindSafe for Pool<T> {}
impl<T: Send + 'static> UnwindSafe for Inner<T> {}
impl<T: Send + 'static> RefUnwindSafe for Inner<T> {}

impl<T: Send + 'static> Clone for Pool<T> {
    /// Another handle to the same pool.
    fn clone(&self) -> Self {
        Pool::from_inner(Arc::clone(&self.inner))
    }
}

impl<T: Send + 'static> Pool<T> {
    /// A pool with default limits that makes objects with `create`.
    pub fn new<F>(create: F) -> Pool<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        Builder::new().build(create)
    }

    /// Starts configuring a pool; [`Builder::build`] takes the `create`
    /// function at the end.
    pub fn builder() -> Builder<T> {
        Builder::new()
    }

    /// Starts configuring a pool that makes objects with `create`, given
    /// first so that the closures of later settings need no type
    /// annotations; finish with `.build()`.
    ///
    /// ```
    /// use shardpool::Pool;
    ///
    /// let pool = Pool::builder_with(|| Vec::<u8>::with_capacity(4096))
    ///     .reset(|b| { b.clear(); b.capacity() <= 64 * 1024 })
    ///     .max_idle_per_thread(64)
    ///     .build();
    /// drop(pool.get());
    /// ```
    pub fn builder_with<F>(create: F) -> Builder<T, WithCreate<F>>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        Builder::new().create(create)
    }

    pub(crate) fn from_inner(inner: Arc<Inner<T>>) -> Self {
        Pool { inner }
    }

    /// The pool's name, if it was given one with [`Builder::name`].
    pub fn name(&self) -> Option<&str> {
        self.inner.config.name.as_deref()
    }

    /// An object from the pool, or a new one from `create` if none is idle.
    ///
    /// Looks in this thread's private stack, then its shared list, then
    /// steals a batch from another thread's shared list, and only then creates.
    /// If `create` panics, the panic propagates and the pool is unchanged.
    ///
    /// A get that creates although objects are idle somewhere found them in
    /// one of these places, and only these (stealing is best effort, never
    /// a wait):
    /// - another live thread's private stack, which only its owner takes
    ///   from (as in Go);
    /// - a shared list whose claim another thread held when the search got
    ///   to it (a thief, its owner refilling, a trim): passed over, not
    ///   waited for;
    /// - a shared list its owner is still filling (the owner's return has
    ///   not finished), or one filled after the search went past it.
    ///
    /// Any other shared list that holds objects for the whole search is
    /// found: the search visits every list that holds something, and only
    /// those, so its cost does not grow with idle threads.
    #[inline(always)]
    pub fn get(&self) -> Pooled<'_, T> {
        Pooled::new(&self.inner, self.inner.acquire())
    }

    /// An idle object if there is one anywhere in the pool; never creates.
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        let value = self.inner.try_acquire()?;
        Some(Pooled::new(&self.inner, value))
    }

    /// Like [`get`](Pool::get), but the guard holds the pool's state, so it is
    /// `'static` and can move to other threads and tasks. Works on a `Pool`
    /// and, through `Deref`, on an `Arc<Pool<T>>`.
    ///
    /// The guard holds a reference count, so an owned get and its return
    /// cost one shared atomic increment and decrement on top of the fast
    /// path. Prefer [`get`](Pool::get) for objects that live within one
    /// request or one scope, and owned guards for those that travel (a
    /// connection's buffer moving into a spawned task).
    #[inline]
    pub fn get_owned(&self) -> OwnedPooled<T> {
        OwnedPooled::new(Arc::clone(&self.inner), self.inner.acquire())
    }

    /// Like [`try_get`](Pool::try_get), returning an owned guard.
    pub fn try_get_owned(&self) -> Option<OwnedPooled<T>> {
        let value = self.inner.try_acquire()?;
        Some(OwnedPooled::new(Arc::clone(&self.inner), value))
    }

    /// Hands a value to the pool (one it did not create, or one detached from
    /// it). The reset policy applies as to any return; the value is counted in
    /// [`Stats::adopted`]. The pool keeps objects in boxes, so this allocates
    /// one; [`put_boxed`](Pool::put_boxed) does not.
    ///
    /// A panic in the reset policy (or in `weigh`, or in the `Drop` of an
    /// object the pool lets go on the way) propagates from here, after the
    /// object is dropped and counted.
    pub fn put(&self, value: T) {
        self.put_boxed(Box::new(value));
    }

    /// Like [`put`](Pool::put), for a value already in a box (for example
    /// from [`Pooled::detach_boxed`]): the box itself is kept, nothing moves.
    pub fn put_boxed(&self, value: Box<T>) {
        self.inner.count(Event::adopted, 1);
        self.inner.release(value, Returner::Call);
    }

    /// An object for a [`BufferPool`](crate::BufferPool) class: `get`
    /// without the guard.
    #[inline(always)]
    pub(crate) fn acquire(&self) -> Box<T> {
        self.inner.acquire()
    }

    /// Returns an object taken with [`acquire`](Pool::acquire), as a guard's
    /// drop does.
    #[inline(always)]
    pub(crate) fn release(&self, value: Box<T>) {
        self.inner.release(value, Returner::Guard);
    }

    /// Counts an event in the calling thread's shard (or the pool's).
    pub(crate) fn count(&self, event: Event, n: u64) {
        self.inner.count(event, n);
    }

    /// One epoch of trimming, with Go's victim rule: every idle object that
    /// was idle through this trim and the previous one is dropped; an object
    /// used in between survives. Returns the number of objects this call
    /// dropped.
    ///
    /// What one call reaches, from any thread (this is the one place the
    /// rule is written; everything else links here):
    /// - every thread's shared list, and every exited thread's objects (its
    ///   exit hook moved them to its shared list), at once;
    /// - the calling thread's own private stack, at once;
    /// - another **live** thread's private stack only at that thread's next
    ///   get or return on this pool, its [`flush_local`](Pool::flush_local)
    ///   (or [`flush_local_all`](crate::flush_local_all)), or its exit. Until
    ///   then it keeps what it has: at most `min(32, (max_idle_per_thread +
    ///   2) / 2)` objects (1 with a byte budget). Reaching into it from
    ///   another thread would need an atomic read-modify-write or a fence on
    ///   the fast path.
    ///
    /// So after two trims with no use in between, everything idle is gone
    /// except what sits in the private stacks of live threads that have not
    /// touched the pool since. Each thread's shared list keeps at most one
    /// empty storage segment (a few hundred bytes) once drained.
    ///
    /// Cost: the calling thread's private stack, and the shared lists that
    /// hold objects (the stealable set, read a word per 4,096 shards), not
    /// every shard.
    pub fn trim(&self) -> u64 {
        self.inner.trim()
    }

    /// Drops every idle object any thread can reach now (shared lists,
    /// exited threads' objects, the calling thread's private stack) and makes
    /// every other live thread's private stack drop what it holds at its next
    /// touch of the pool. Returns the number dropped by this call (counted in
    /// [`Stats::dropped_by_trim`]). Use it on a configuration reload, or
    /// before a known quiet period. Costs what `trim` does.
    pub fn clear(&self) -> u64 {
        self.inner.clear()
    }

    /// Moves the calling thread's private objects to its shared list, where
    /// other threads can steal them and any thread's trim can reach them.
    /// Call it before parking a thread that may stay idle for long;
    /// [`flush_local_all`](crate::flush_local_all) does it for every pool.
    pub fn flush_local(&self) {
        self.inner.flush_local();
    }

    /// A snapshot of the pool's counters and of what it holds now. Visits
    /// every shard.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Most idle objects one thread's shard keeps in its shared list, plus
    /// its private slot (the `1 +` of the design's bound).
    pub fn max_idle_per_thread(&self) -> usize {
        self.inner.config.shard_capacity - 1
    }

    /// The retained-bytes budget, if one was set.
    pub fn max_idle_bytes(&self) -> Option<usize> {
        self.inner.budget.as_ref().map(|b| b.limit())
    }

    /// Whether the pool reuses objects (`false`: pass-through, see
    /// [`Builder::pooling`]).
    pub fn is_pooling(&self) -> bool {
        self.inner.config.pooling
    }

    /// How many objects each thread's private stack holds at most.
    pub(crate) fn private_capacity(&self) -> usize {
        self.inner.config.private_capacity
    }

    /// The state behind the handle (the loom models look inside).
    #[cfg(all(test, shardpool_loom))]
    pub(crate) fn inner(&self) -> &Arc<Inner<T>> {
        &self.inner
    }
}

impl<T: Send + Default + 'static> Default for Pool<T> {
    /// A pool with default limits that creates objects with `T::default`.
    fn default() -> Self {
        Pool::new(T::default)
    }
}

impl<T: Send + 'static> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name())
            .field("max_idle_per_thread", &self.max_idle_per_thread())
            .field("max_idle_bytes", &self.max_idle_bytes())
            .field("stats", &self.stats())
            .finish()
    }
}

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
            shards: Directory::new(),
            epoch: AtomicU64::new(0),
            create,
            reset,
            weigh,
            config,
            budget,
            orphan: PoolCounters::default(),
            auto_trim,
            weak_self: weak_self.clone(),
            key: crate::sync::unique_id(),
            hot: HotOwner::new(),
        });
        let registered: Weak<dyn Registered> = inner.weak_self.clone();
        crate::trim::registry::register(inner.key, registered);
        inner
    }

    /// The current trim epoch (see the field docs for why relaxed).
    #[inline(always)]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    // ---- Finding the calling thread's shard -------------------------------

    /// The calling thread's shard, if its shard cache has it: the fast
    /// path's lookup.
    #[inline(always)]
    fn cached_shard(&self) -> Option<Owner<'_, T>> {
        let shard = match self.hot.lookup() {
            Some(shard) => shard,
            None => cache::lookup(self.key)?,
        };
        // SAFETY: by the rules in `shard/hot.rs` and `shard/cache.rs`, the
        // shortcut we hold, or a line for our key, was filled by this thread
        // with a shard of ours that it owns and still owns; shards live as
        // long as the pool, which `&self` keeps alive.
        Some(unsafe { Owner::new(shard.cast::<Shard<T>>().as_ref(), &self.shards) })
    }

    /// The calling thread's shard if it owns one here; never adopts.
    pub(crate) fn owned_shard(&self) -> Option<Owner<'_, T>> {
        if let Some(owner) = self.cached_shard() {
            return Some(owner);
        }
        let shard = exit::find(self.key)?;
        // SAFETY: the thread's list holds only shards it adopted and still
        // owns (the exit hook empties it before giving any up), in pools that
        // are alive when `&self` is.
        let owner = unsafe { Owner::new(shard.cast::<Shard<T>>().as_ref(), &self.shards) };
        Some(self.remember(owner))
    }

    /// The calling thread's shard, adopting a vacant one or creating one on
    /// first use. `None` on a thread that is exiting: nothing would flush a
    /// new shard.
    #[cold]
    fn shard_or_adopt(&self) -> Option<Owner<'_, T>> {
        if let Some(owner) = self.owned_shard() {
            return Some(owner);
        }
        let token = exit::thread_token()?;
        let mut adopted = None;
        self.shards.find(Set::Vacant, token as usize, |index| {
            let shard = self.shards.get(index);
            if let Some(shard) = shard.filter(|shard| shard.try_adopt(token)) {
                self.shards.remove(Set::Vacant, index);
                adopted = Some(shard);
            }
            adopted.is_some()
        });
        let shard = adopted.unwrap_or_else(|| {
            let config = &self.config;
            self.shards.insert(|index| {
                let private = config.private_capacity;
                Shard::new(index, token, private, config.shard_capacity, self.epoch())
            })
        });
        // SAFETY: adopted or created owned by this thread, just above.
        let owner = unsafe { Owner::new(shard, &self.shards) };
        let pool: Weak<dyn ExitFlush> = self.weak_self.clone();
        if !exit::register(self.key, pool, NonNull::from(shard).cast()) {
            // The hook is gone: the thread is exiting. Give the shard back.
            owner.give_up();
            return None;
        }
        Some(self.remember(owner))
    }

    /// Caches the calling thread's shard (rule 1 of `shard/cache.rs`: the
    /// caller holds an `Owner`, and `exit::register` succeeded, so the thread
    /// is not exiting).
    fn remember<'a>(&'a self, owner: Owner<'a, T>) -> Owner<'a, T> {
        cache::fill(self.key, NonNull::from(owner.shard()).cast());
        owner
    }

    /// Counts `event` in the calling thread's shard if it has one, else in
    /// the pool-wide counters.
    pub(crate) fn count(&self, event: Event, n: u64) {
        match self.owned_shard() {
            Some(owner) => owner.counters().of(event).add(n),
            None => self.orphan.of(event).add(n),
        }
    }

    // ---- get ---------------------------------------------------------------

    /// An object: from the calling thread's private stack, else the slow path.
    #[inline(always)]
    pub(crate) fn acquire(&self) -> Box<T> {
        if let Some(owner) = self.cached_shard()
            && let Some(value) = owner.pop(self.epoch())
        {
            return value;
        }
        self.acquire_slow()
    }

    /// Everything but the fast path: an idle object from anywhere, else a new
    /// one. (The fast path's shard is looked up again here rather than passed
    /// in: keeping it live through the fast path cost `hold32` about 8%.)
    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) -> Box<T> {
        let owner = match self.reuse() {
            Ok((value, _)) => return value,
            Err(owner) => owner,
        };
        let value = Box::new((self.create)());
        match owner {
            // Still ours: only this thread's exit hook could give it up.
            Some(owner) => owner.counters().created.bump(),
            None => self.count(Event::created, 1),
        }
        value
    }

    /// Reuse only (`try_get`): `None` instead of creating.
    pub(crate) fn try_acquire(&self) -> Option<Box<T>> {
        if let Some(owner) = self.cached_shard()
            && let Some(value) = owner.pop(self.epoch())
        {
            return Some(value);
        }
        self.reuse().ok().map(|(value, _)| value)
    }

    /// The search behind `get` and `try_get`: private stack (after catching
    /// up with trims), own shared list, other threads' shared lists. Returns
    /// the calling thread's shard with the object, or (`Err`) for counting
    /// what the caller does next, if the thread has one.
    fn reuse(&self) -> Reuse<'_, T> {
        if !self.config.pooling {
            return Err(None);
        }
        self.maybe_auto_trim();
        let Some(owner) = self.shard_or_adopt() else {
            return Err(None);
        };
        // The first thread to get here takes the pool's shortcut.
        self.hot
            .claim(owner.token(), NonNull::from(owner.shard()).cast());
        let mut drops = Dropper::default();
        self.catch_up(&owner, &mut drops);
        // A stale object's `Drop` that panicked is re-raised here, before an
        // object is taken: afterwards the object would unwind out of the
        // caller's hands, counted as handed out but never returned.
        drops.finish();
        // User code may have run (stale objects' `Drop`), moving the epoch or
        // the private stack: everything below reads its state afresh.
        if let Some(value) = owner.pop(self.epoch()) {
            return Ok((value, owner));
        }
        if let Some(batch) = owner.refill() {
            owner.counters().shared_hits.bump();
            return Ok((self.uncharge(batch), owner));
        }
        if self.shards.is_empty(Set::Stealable) {
            return Err(Some(owner));
        }
        match self.steal(&owner) {
            Some(value) => Ok((value, owner)),
            None => Err(Some(owner)),
        }
    }

    /// The newest object of a batch moved from a shared list to the private
    /// stack, which is not charged to the budget: release what the batch
    /// was charged in the list.
    fn uncharge(&self, batch: Batch<T>) -> Box<T> {
        if let Some(budget) = &self.budget {
            budget.release(batch.weight);
        }
        batch.newest
    }

    /// Takes a batch from another thread's shared list. Only shards in the
    /// stealable set are visited, starting past our own, so the cost follows
    /// what there is to steal, not how many threads have shards (I11), and
    /// threads that miss at once start at different victims. A list whose
    /// claim another thread holds is passed over, not waited for.
    fn steal(&self, owner: &Owner<'_, T>) -> Option<Box<T>> {
        let me = owner.shard().index();
        let mut stolen = None;
        self.shards
            .find(Set::Stealable, owner.steal_start(), |index| {
                stolen = (index != me)
                    .then(|| self.shards.get(index))
                    .flatten()
                    .and_then(|victim| owner.steal_from(victim));
                stolen.is_some()
            });
        let stolen = stolen?;
        let counters = owner.counters();
        counters.stolen.add(stolen.count);
        counters.steals.bump();
        Some(self.uncharge(stolen))
    }

    // ---- return ------------------------------------------------------------

    /// Takes an object back: reset policy → private stack (the fast path) →
    /// the slow path.
    ///
    /// A guard dropped while its thread unwinds may hold a half-updated
    /// object: it is kept only if the reset policy runs to completion and
    /// accepts it. With a policy that is what always happens, so only a pool
    /// without one asks whether the thread is panicking. The policy runs
    /// under `catch_unwind` either way: a panic in it drops the object,
    /// counted, and then propagates or is contained (see [`Returner`]).
    #[inline(always)]
    pub(crate) fn release(&self, mut value: Box<T>, returner: Returner) {
        let verdict = match &self.reset {
            Some(reset) => match catch_unwind(AssertUnwindSafe(|| reset(&mut value))) {
                Ok(true) => Ok(()),
                Ok(false) => Err((Event::dropped_by_policy, None)),
                Err(panic) => Err((Event::dropped_by_panic, Some(panic))),
            },
            None if returner == Returner::Guard && std::thread::panicking() => {
                Err((Event::dropped_by_panic, None))
            }
            None => Ok(()),
        };
        if let Err((why, panic)) = verdict {
            return self.reject(value, why, panic, returner);
        }
        if let Some(owner) = self.cached_shard() {
            match owner.push(value, self.epoch()) {
                Ok(()) => return,
                Err(back) => value = back,
            }
        }
        self.release_slow(value, returner);
    }

    /// The private stack was full, the owner must catch up with a trim, or
    /// the thread's shard is not cached.
    #[cold]
    #[inline(never)]
    fn release_slow(&self, value: Box<T>, returner: Returner) {
        if !self.config.pooling {
            return self.reject(value, Event::dropped_by_passthrough, None, returner);
        }
        self.maybe_auto_trim();
        let Some(owner) = self.shard_or_adopt() else {
            // No shard to keep this in: the thread is exiting.
            return self.reject(value, Event::dropped_by_exit, None, returner);
        };
        let mut drops = Dropper::default();
        self.catch_up(&owner, &mut drops);
        // Read afresh: catching up may have run user code.
        let epoch = self.epoch();
        let kept = match &self.budget {
            // A thread that only returns spills half its stack at once.
            None => owner.keep(value, epoch),
            // The shared list charges what enters it: nothing is moved there
            // but the object being returned.
            Some(_) => owner.keep_private(value, epoch),
        };
        if let Err(value) = kept {
            // The private stack is full (or the bound keeps it short): the
            // shared list, where thieves find it, if the shard has room.
            owner.counters().returned_elsewhere.bump();
            self.keep_shared(&owner, value, epoch, &mut drops);
        }
        drops.settle(returner);
    }

    /// Puts an object (already counted as returned) on the calling thread's
    /// shared list, charged to the budget if there is one, or drops it,
    /// counted, if the shard is full, the budget would be exceeded, or
    /// `weigh` panics.
    fn keep_shared(&self, owner: &Owner<'_, T>, value: Box<T>, stamp: u64, drops: &mut Dropper) {
        let counters = owner.counters();
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
            if !budget.try_charge(weighed) {
                counters.dropped_by_budget.bump();
                return drops.drop(value);
            }
            weight = weighed;
        }
        // Checked after `weigh`, which may have used the pool.
        if let Err(full) = owner.shared_batch().push(value, stamp, weight) {
            if let Some(budget) = &self.budget {
                budget.release(weight);
            }
            counters.dropped_by_cap.bump();
            drops.drop(full);
        }
    }

    /// Counts a return the pool will not keep, then drops it; a panic (the
    /// reset policy's, or the object's `Drop`) propagates only from a call.
    #[cold]
    #[inline(never)]
    fn reject(
        &self,
        value: Box<T>,
        why: Event,
        panic: Option<Box<dyn std::any::Any + Send>>,
        returner: Returner,
    ) {
        self.count(Event::returned_elsewhere, 1);
        self.count(why, 1);
        let mut drops = Dropper::default();
        if let Some(panic) = panic {
            drops.keep(panic);
        }
        drops.drop(value);
        drops.settle(returner);
    }

    // ---- the rest: flush, stats, teardown ---------------------------------

    /// Moves the calling thread's private objects to its shared list
    /// (`Pool::flush_local`), after catching up with any trim.
    pub(crate) fn flush_local(&self) {
        if let Some(owner) = self.owned_shard() {
            let mut drops = Dropper::default();
            self.catch_up(&owner, &mut drops);
            self.flush_private(&owner, &mut drops);
            drops.finish();
        }
    }

    /// Moves the owner's private objects to its shared list, oldest first (so
    /// the list keeps roughly the order they went idle in): one publication
    /// for the whole batch without a budget; with one, each is weighed and
    /// charged.
    fn flush_private(&self, owner: &Owner<'_, T>, drops: &mut Dropper) {
        if self.budget.is_some() {
            while let Some((value, stamp)) = owner.take_oldest() {
                self.keep_shared(owner, value, stamp, drops);
            }
            return;
        }
        let mut batch = owner.shared_batch();
        while let Some((value, stamp)) = owner.take_oldest() {
            if let Err(full) = batch.push(value, stamp, 0) {
                owner.counters().dropped_by_cap.bump();
                drops.drop(full);
            }
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
}

impl<T: Send + 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        crate::trim::registry::unregister(self.key);
        // Drop every idle object here, each under containment, and give back
        // what the shared lists had charged to a budget that other pools (size
        // classes) may still be using.
        let mut drops = Dropper::default();
        let mut charged = 0;
        for shard in self.shards.iter() {
            // SAFETY: `&mut self`: no thread can be using the pool, so no
            // other `Owner` of this shard exists.
            let owner = unsafe { Owner::new(shard, &self.shards) };
            while let Some((value, _)) = owner.take_oldest() {
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
        // A drop: contained, whatever the thread is doing.
        drops.settle(Returner::Guard);
    }
}

impl<T: Send + 'static> ExitFlush for Inner<T> {
    unsafe fn flush_exiting_thread(&self, shard: NonNull<()>) {
        // SAFETY: the caller guarantees `shard` is one of our shards, which
        // live as long as we do (we are alive: the caller upgraded a `Weak`),
        // and that this thread adopted it; only this hook gives it up, below.
        let owner = unsafe { Owner::new(shard.cast::<Shard<T>>().as_ref(), &self.shards) };
        // Rule 2 of `shard/hot.rs`: the shortcut goes before the shard does.
        self.hot.give_up(owner.token());
        let mut drops = Dropper::default();
        self.flush_private(&owner, &mut drops);
        // Marked as exiting, this thread never touches the shard again.
        owner.give_up();
        // Exiting: a panic from user code here is contained.
        drops.settle(Returner::Guard);
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
