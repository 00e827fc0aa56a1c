//! The pool's public face. The machinery is in `inner.rs` (state), `get.rs`,
//! `put.rs`, `shard/` (private stack, shared ring, thread cache, exit hook)
//! and `trim/`; the design essay is the [`implementation`](crate::implementation) page.

use crate::builder::Builder;
use crate::guard::{OwnedPooled, Pooled};
use crate::inner::Inner;
use crate::stats::{Event, Stats};
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

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

impl<T: Send + 'static> Clone for Pool<T> {
    /// Another handle to the same pool.
    fn clone(&self) -> Self {
        Pool::from_inner(Arc::clone(&self.inner))
    }
}

// A panic in user code leaves the pool consistent (I7, I9), so a pool may be
// used across `catch_unwind`; see `Inner`'s impls for the reasoning.
impl<T: Send + 'static> UnwindSafe for Pool<T> {}
impl<T: Send + 'static> RefUnwindSafe for Pool<T> {}

impl<T: Send + 'static> Pool<T> {
    /// A pool with default limits that makes objects with `create`.
    pub fn new<F>(create: F) -> Pool<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        Builder::new().build(create)
    }

    /// Starts configuring a pool.
    pub fn builder() -> Builder<T> {
        Builder::new()
    }

    pub(crate) fn from_inner(inner: Arc<Inner<T>>) -> Self {
        Pool { inner }
    }

    pub(crate) fn inner(&self) -> &Inner<T> {
        &self.inner
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
    #[inline(always)]
    pub fn get(&self) -> Pooled<'_, T> {
        let value = match self.inner.get_fast() {
            Some(value) => value,
            None => self.inner.get_slow(),
        };
        Pooled::new(&self.inner, value)
    }

    /// An idle object if there is one anywhere in the pool; never creates.
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        let value = self.inner.try_get()?;
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
        let value = match self.inner.get_fast() {
            Some(value) => value,
            None => self.inner.get_slow(),
        };
        OwnedPooled::new(Arc::clone(&self.inner), value)
    }

    /// Like [`try_get`](Pool::try_get), returning an owned guard.
    pub fn try_get_owned(&self) -> Option<OwnedPooled<T>> {
        let value = self.inner.try_get()?;
        Some(OwnedPooled::new(Arc::clone(&self.inner), value))
    }

    /// Hands a value to the pool (one it did not create, or one detached from
    /// it). The reset policy applies as to any return; the value is counted in
    /// [`Stats::adopted`]. The pool keeps objects in boxes, so this allocates
    /// one; [`put_boxed`](Pool::put_boxed) does not.
    pub fn put(&self, value: T) {
        self.put_boxed(Box::new(value));
    }

    /// Like [`put`](Pool::put), for a value already in a box (for example
    /// from [`Pooled::detach_boxed`]): the box itself is kept, nothing moves.
    pub fn put_boxed(&self, value: Box<T>) {
        self.inner.count(Event::adopted, 1);
        self.inner.put(value);
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
    pub fn trim(&self) -> u64 {
        self.inner.trim()
    }

    /// Drops every idle object any thread can reach now (shared lists,
    /// exited threads' objects, the calling thread's private stack) and makes
    /// every other live thread's private stack drop what it holds at its next
    /// touch of the pool. Returns the number dropped by this call (counted in
    /// [`Stats::dropped_by_trim`]). Use it on a configuration reload, or
    /// before a known quiet period.
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

    /// A snapshot of the pool's counters and of what it holds now.
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
