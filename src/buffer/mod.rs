//! Variable-size byte buffers: power-of-two size classes over the sharded
//! core, with one retained-bytes budget across all classes.
//!
//! ```text
//! BufferPool
//!  ├─ classes   Pool<Vec<u8>> per power of two: 256 B, 512 B, … 4 MiB
//!  │             each an ordinary pool: per-thread shards, private stack,
//!  │             shared ring, trim, stats, registered for trim_all
//!  ├─ budget    one Arc<Budget>, charged by every class's shared lists
//!  └─ counters  oversize requests, buffers that changed class or were dropped
//! ```
//!
//! * `get(n)`: class = ⌈log₂ n⌉ (one `leading_zeros`), then that class's
//!   `get`: private stack → own shared list → steal → allocate. Above the top
//!   class: `Vec::with_capacity(n)`, never kept.
//! * return: if the capacity is still the class's, that class's return path
//!   (reset = `clear`); otherwise the class it now fits (largest class ≤ its
//!   capacity), counted as detached from one class and adopted by the other,
//!   or dropped if it fits none.
//! * small classes let each thread keep up to 16 KiB of buffers (at most 8)
//!   in the private stack, uncharged: the budget's slack. Large classes
//!   (above 64 KiB) are flushed from the private stack to
//!   the shared list after each return, so their idle buffers are always
//!   charged to the budget and reachable by every trim.
//!
//! Why one pool per class instead of one pool of `Vec<u8>`: a single pool
//! keeps, in every object, the largest size it ever served (Go's
//! golang/go#23199); a reset cap only trades that for reallocation. Classes
//! keep each buffer at the size it was made for, and the budget bounds what
//! they keep together.
//!
//! # Choices, and the measurements behind them
//!
//! `benches/buffers.rs`, mixed sizes (80% ≤ 4 KiB, 15% ≤ 64 KiB, 5% ≤ 1 MiB),
//! per-thread CPU time, on a 2-vCPU KVM guest (Xeon, glibc 2.36), 2026-11:
//!
//! * **Private stack under the budget.** A budgeted `Pool` keeps one object
//!   per thread outside the budget. With one buffer per class, a thread with
//!   eight mixed buffers in flight (`window8`) missed the private stack on
//!   39% of gets and ran at 90–93 ns/op (zeropool: 69–70). Letting each
//!   small class keep 16 KiB worth (at most 8 buffers) cut misses to 10% and
//!   the time to 60–69 ns/op, for a slack of 174 KiB per thread
//!   (16 KiB a class).
//! * **Flushing large classes.** Returns to classes above 64 KiB go to the
//!   shared list at once, so the budget covers every large buffer exactly
//!   and any trim reaches it. Cost: 52 → 56 ns/op on `hold1` (one buffer
//!   at a time, 5% of them large).
//! * **Guards hold the `Vec` and a class index**, not a class's `Pooled`: a
//!   buffer whose capacity changed must reach another class, which needs the
//!   whole pool; the unchanged case is one compare before the class's own
//!   return path.
//! * **Many pools on a thread.** The core's shard cache has 64 lines,
//!   indexed by a process-wide sequence number given to each pool when it is
//!   built, so pools built together (a buffer pool's classes) land on
//!   different lines. Pools that share a line still work: a miss costs a
//!   thread-local lookup. zeropool drops its thread-local buffers whenever a
//!   thread switches pools.

// A `Box<Vec<u8>>` is the pool's one-word handle to a buffer that never
// moves while pooled or lent (see `implementation`), not a redundant box.
#![allow(clippy::box_collection)]

mod builder;
mod classes;
mod guard;
mod stats;

pub use builder::{BufferBuildError, BufferPoolBuilder};
pub use guard::{OwnedPooledBuf, PooledBuf};
pub use stats::{BufferStats, ClassStats};

use crate::budget::Budget;
use crate::pool::Pool;
use crate::stats::Event;
use classes::SizeClasses;
use stats::BufferCounters;
use std::fmt;
use std::sync::Arc;

/// Guard class index of an oversize buffer (allocated exactly, never kept).
/// It is above every class index, so the guards' fast check sends it to the
/// slow path without a test of its own.
pub(crate) const OVERSIZE: usize = usize::MAX;

/// Classes up to this size keep a few buffers per thread in the class's
/// private stack (the fast path, outside the budget); larger classes are
/// flushed to the shared list on every return, so they are charged in full.
///
/// Without this, every class's private slot would be slack, and a thread
/// that once used every class would pin 8 MiB outside the budget with the
/// default classes. Flushing costs a large return about three atomic
/// read-modify-writes (budget charge, claim, budget release); the module
/// docs give what that measured. 64 KiB is also where Go's `fmt` stops
/// pooling buffers at all.
pub(crate) const PRIVATE_CLASS_LIMIT: usize = 64 * 1024;

/// Bytes one thread may keep privately in each class up to
/// [`PRIVATE_CLASS_LIMIT`]: `16 KiB / class size` buffers, at least one and
/// at most [`PRIVATE_MAX_BUFFERS`].
///
/// A private stack of one (what a budgeted `Pool` has by default) sent a
/// thread with several buffers of a class out at once through the shared
/// list on most operations; the module docs give the measurement that chose
/// this sizing instead.
pub(crate) const PRIVATE_CLASS_BYTES: usize = 16 * 1024;

/// Most buffers one thread keeps privately in one class.
pub(crate) const PRIVATE_MAX_BUFFERS: usize = 8;

/// Buffers one thread keeps in its private stack in a class of `size` bytes
/// (the budget's slack). Classes above [`PRIVATE_CLASS_LIMIT`] have one slot,
/// which every return empties again (see `flush_if_large`).
pub(crate) fn private_slots(size: usize) -> usize {
    (PRIVATE_CLASS_BYTES / size).clamp(1, PRIVATE_MAX_BUFFERS)
}

/// A pool of byte buffers (`Vec<u8>`) in power-of-two size classes, with one
/// retained-bytes budget across all classes.
///
/// [`get(n)`](BufferPool::get) hands out an empty `Vec<u8>` with capacity at
/// least `n` from the smallest class that fits; dropping the guard returns
/// it. Each class is an ordinary sharded [`Pool`]: a thread reuses its own
/// buffers without atomic read-modify-writes or locks, and steals from other
/// threads' shared lists when it runs dry. Unlike a single pool of
/// `Vec<u8>`, a small request never receives (and pins) a huge buffer, and a
/// huge one is never kept beyond the budget.
///
/// ```
/// use shardpool::{BufferPool, PooledBuf};
/// use std::io::Write;
///
/// let pool = BufferPool::new(); // classes 256 B ..= 4 MiB, 32 MiB budget
/// let mut buf = pool.get(1500);
/// assert!(buf.is_empty() && buf.capacity() >= 1500); // the 2 KiB class
/// write!(buf, "HTTP/1.1 200 OK\r\n").unwrap();
/// drop(buf); // cleared, back to this thread's 2 KiB class
///
/// let again = pool.get(2000); // the same buffer, no allocation
/// assert_eq!(pool.stats().total.created, 1);
/// let kept: Vec<u8> = PooledBuf::detach(again); // ours now
/// pool.put(kept); // and back (any Vec<u8>; it goes to the class it fits)
///
/// let huge = pool.get(5 << 20); // above the top class: exact, never kept
/// assert_eq!(huge.capacity(), 5 << 20);
/// drop(huge);
/// assert_eq!(pool.stats().dropped_oversize, 1);
///
/// // Owned guards for tasks and threads; the pool is a cheap `Clone` handle.
/// let owned = pool.get_owned(100);
/// std::thread::spawn(move || drop(owned)).join().unwrap();
/// let handle = pool.clone(); // the same classes, budget and statistics
/// assert_eq!(handle.stats().total.gets, pool.stats().total.gets);
/// ```
///
/// # Classes
///
/// Class `i` holds buffers of `min_class_size << i` bytes, up to
/// `max_class_size` (defaults 256 B and 4 MiB: 15 classes). A request for `n`
/// bytes gets the smallest class of at least `n`, so at most half of a
/// buffer's capacity is unused. A request above the top class is allocated at
/// exactly `n` and dropped when returned (counted in
/// [`BufferStats::oversize_gets`] and [`BufferStats::dropped_oversize`]).
///
/// A buffer comes back to the class of its capacity *now*: one that grew
/// while out (a `Vec` doubles when pushed past its capacity) goes to the
/// largest class not above its new capacity, or is dropped if that is above
/// the top class. So a class only ever holds buffers of at least its size
/// and less than twice it (the top class: exactly its size).
///
/// # The budget
///
/// One byte budget, [`max_idle_bytes`](BufferPoolBuilder::max_idle_bytes),
/// covers the idle buffers of all classes, measured by capacity. It is
/// charged when a buffer enters a shared list and released when it leaves;
/// a return that would exceed it is dropped (counted in the class's
/// `dropped_by_budget`), so the buffers in shared lists never hold more than
/// the budget ([`BufferStats::charged_bytes`]).
///
/// The slack: in each class of at most 64 KiB, each thread keeps a few
/// buffers in its private stack that are not charged, because charging them
/// would put a shared atomic on the fast path: 16 KiB worth (one buffer in
/// the 16, 32 and 64 KiB classes, at most 8 in the smallest).
/// Larger classes have no slack: their returns go straight to the shared
/// list, charged. So the pool holds at most
///
/// ```text
/// max_idle_bytes + threads × max_private_bytes_per_thread()
/// ```
///
/// which with the default classes is `max_idle_bytes` + 174 KiB per thread
/// that has used every small class (twice that if buffers grew within their
/// class, which only `put` and regrown buffers do).
///
/// The default budget, 32 MiB, holds for example 8 buffers of the top class,
/// 128 of 256 KiB, or 8,192 of 4 KiB: enough for the buffers of a few hundred
/// requests in flight, and small next to the memory of any machine that
/// runs a server (3% of a 1 GiB container). Idle buffers beyond a burst are
/// returned to the allocator by trimming, not by the budget; see below.
///
/// # Trimming and statistics
///
/// [`trim`](BufferPool::trim) trims every class once, with the pool's victim
/// rule (a buffer idle through two trims is dropped);
/// [`trim_all`](crate::trim_all) and
/// [`BackgroundTrimmer`](crate::BackgroundTrimmer) reach the classes too,
/// since each is a registered pool. [`stats`](BufferPool::stats) returns each
/// class's [`Stats`](crate::Stats) and their total.
///
/// # Many pools on one thread
///
/// Each class keeps its fast path through the calling thread's shard cache,
/// like any pool, and nothing in a thread's shards is thrown away when it
/// switches between pools (zeropool's single thread-local slot is rebound,
/// and its cached buffers dropped, when a thread alternates pools). The
/// cache has 64 lines and a `BufferPool` has a pool per class, so a thread
/// that uses many pools may share lines between them: a miss costs a
/// thread-local lookup, never a buffer.
#[derive(Clone)]
pub struct BufferPool {
    /// One reference count: `clone` shares the classes, the budget and the
    /// statistics, as [`Pool`]'s `clone` does.
    inner: Arc<Inner>,
}

/// The state behind a [`BufferPool`], shared by its handles and its owned
/// guards.
pub(crate) struct Inner {
    /// `classes[i]` hands out buffers of `sizes.size(i)` bytes. Built once;
    /// each is a whole sharded pool, charging `budget`.
    classes: Box<[Pool<Vec<u8>>]>,
    sizes: SizeClasses,
    /// Classes from this index up are above [`PRIVATE_CLASS_LIMIT`] and
    /// flushed to the shared list after every return.
    first_flushed: usize,
    /// The budget all classes charge (shared with each class's state).
    budget: Arc<Budget>,
    counters: BufferCounters,
}

impl BufferPool {
    /// Default capacity of the smallest class: 256 bytes. Smaller buffers
    /// cost the allocator little, and at 256 bytes the class's own overhead
    /// (a shared-list entry per idle buffer: a pointer, a stamp and a weight)
    /// stays small next to it.
    pub const DEFAULT_MIN_CLASS_SIZE: usize = 256;
    /// Default capacity of the largest class: 4 MiB. Larger requests are
    /// allocated exactly and not kept; at that size the allocator maps fresh
    /// pages anyway, and one idle buffer is already an eighth of the default
    /// budget.
    pub const DEFAULT_MAX_CLASS_SIZE: usize = 4 << 20;
    /// Default [`max_idle_bytes`](BufferPoolBuilder::max_idle_bytes): 32 MiB
    /// (see [the budget](BufferPool#the-budget) for why).
    pub const DEFAULT_MAX_IDLE_BYTES: usize = 32 << 20;
    /// Default [`max_idle_per_thread`](BufferPoolBuilder::max_idle_per_thread),
    /// per class: 31, so that a thread keeps at most 32 buffers of a class,
    /// private and shared together.
    pub const DEFAULT_MAX_IDLE_PER_THREAD: usize = 31;
    /// Largest accepted class size: 2⁶² bytes on 64-bit targets (a `Vec`
    /// cannot hold more than `isize::MAX` bytes).
    pub const MAX_CLASS_SIZE_LIMIT: usize = 1 << (usize::BITS - 2);

    /// A pool with the default classes (256 B to 4 MiB) and budget (32 MiB).
    pub fn new() -> BufferPool {
        BufferPoolBuilder::new().build()
    }

    /// Starts configuring a pool.
    pub fn builder() -> BufferPoolBuilder {
        BufferPoolBuilder::new()
    }

    pub(crate) fn from_parts(
        classes: Box<[Pool<Vec<u8>>]>,
        sizes: SizeClasses,
        budget: Arc<Budget>,
    ) -> BufferPool {
        let first_flushed = (0..sizes.len())
            .find(|&class| sizes.size(class) > PRIVATE_CLASS_LIMIT)
            .unwrap_or(sizes.len());
        let inner = Inner {
            classes,
            sizes,
            first_flushed,
            budget,
            counters: BufferCounters::default(),
        };
        BufferPool {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// An empty buffer (`len() == 0`) with capacity at least `min_capacity`:
    /// from the smallest class that fits, reused if one is idle; above the
    /// top class, freshly allocated at exactly `min_capacity`.
    ///
    /// # Panics
    /// If `min_capacity` is above `isize::MAX` (no `Vec<u8>` can be that
    /// large); nothing is counted then.
    ///
    /// The fast path (a buffer of that class in this thread's private stack)
    /// is the class lookup plus a pool's fast path: no atomic
    /// read-modify-write, no lock.
    #[inline]
    pub fn get(&self, min_capacity: usize) -> PooledBuf<'_> {
        let (buf, class) = self.inner.take(min_capacity);
        PooledBuf::new(&self.inner, buf, class)
    }

    /// Like [`get`](BufferPool::get), but the guard holds a handle to the
    /// pool, so it is `'static` and can move to other threads and tasks.
    #[inline]
    pub fn get_owned(&self, min_capacity: usize) -> OwnedPooledBuf {
        let (buf, class) = self.inner.take(min_capacity);
        OwnedPooledBuf::new(self.clone(), buf, class)
    }

    /// Hands a buffer to the pool: it is cleared and kept in the class its
    /// capacity fits (the largest class not above it), subject to the budget,
    /// and counted in that class's [`Stats::adopted`](crate::Stats::adopted).
    /// A buffer below the smallest class or above the largest is dropped
    /// (counted in [`BufferStats::dropped_undersize`] or
    /// [`BufferStats::dropped_oversize`]).
    pub fn put(&self, buf: Vec<u8>) {
        self.inner.put(buf);
    }

    /// One epoch of trimming in every class (see [`Pool::trim`] for exactly
    /// what one trim reaches): a buffer idle through two trims is dropped.
    /// Returns the number of buffers this call dropped.
    pub fn trim(&self) -> u64 {
        self.inner.classes.iter().map(Pool::trim).sum()
    }

    /// Drops every idle buffer any thread can reach now, in every class (see
    /// [`Pool::clear`]). Returns the number dropped by this call.
    pub fn clear(&self) -> u64 {
        self.inner.classes.iter().map(Pool::clear).sum()
    }

    /// The pool's name, if it was given one
    /// ([`BufferPoolBuilder::name`]); its classes are named `<name>/<size>`.
    pub fn name(&self) -> Option<&str> {
        let class = self.inner.classes.first()?.name()?;
        class.rsplit_once('/').map(|(name, _)| name)
    }

    /// Moves the calling thread's private buffers, in every class, to the
    /// shared lists (see [`Pool::flush_local`]).
    pub fn flush_local(&self) {
        self.inner.classes.iter().for_each(Pool::flush_local);
    }

    /// A snapshot of every class's counters, their total, and the pool's own
    /// (see [`BufferStats`]).
    pub fn stats(&self) -> BufferStats {
        let mut stats = BufferStats {
            charged_bytes: self.inner.budget.used() as u64,
            oversize_gets: self.inner.counters.oversize_gets.get(),
            dropped_oversize: self.inner.counters.dropped_oversize.get(),
            dropped_undersize: self.inner.counters.dropped_undersize.get(),
            reclassified: self.inner.counters.reclassified.get(),
            ..BufferStats::default()
        };
        for (class, pool) in self.inner.classes.iter().enumerate() {
            let capacity = self.inner.sizes.size(class);
            let mut class_stats = pool.stats();
            class_stats.idle_bytes = class_stats.idle.saturating_mul(capacity as u64);
            stats::add_class(&mut stats.total, &class_stats);
            stats.classes.push(ClassStats {
                capacity,
                stats: class_stats,
            });
        }
        stats
    }

    /// The budget shared by all classes, in bytes.
    pub fn max_idle_bytes(&self) -> usize {
        self.inner.budget.limit()
    }

    /// The budget's slack: the most bytes of idle buffers one thread can keep
    /// outside the budget, in its private stacks (counting each buffer at its
    /// class capacity; a buffer that grew within its class can hold up to
    /// twice that). 174 KiB with the default classes.
    pub fn max_private_bytes_per_thread(&self) -> usize {
        // What each class's pool was configured with: `private_slots`,
        // lowered by the core if the shard is small (`max_idle_per_thread`).
        (0..self.inner.first_flushed)
            .map(|class| {
                self.inner.sizes.size(class) * self.inner.classes[class].private_capacity()
            })
            .sum()
    }

    /// Most idle buffers a thread keeps in one class's shared list.
    pub fn max_idle_per_thread(&self) -> usize {
        self.inner.classes[0].max_idle_per_thread()
    }

    /// Capacity of the smallest class.
    pub fn min_class_size(&self) -> usize {
        self.inner.sizes.min_size()
    }

    /// Capacity of the largest class; larger requests are not pooled.
    pub fn max_class_size(&self) -> usize {
        self.inner.sizes.max_size()
    }

    /// The class capacities, smallest first.
    pub fn class_sizes(&self) -> impl ExactSizeIterator<Item = usize> + use<> {
        let sizes = self.inner.sizes;
        (0..sizes.len()).map(move |class| sizes.size(class))
    }
}

impl Inner {
    /// A buffer for a request of `min_capacity` bytes: its class's `acquire`,
    /// or an exact allocation above the top class.
    #[inline(always)]
    fn take(&self, min_capacity: usize) -> (Box<Vec<u8>>, usize) {
        let class = self.sizes.for_request(min_capacity);
        match self.classes.get(class) {
            Some(pool) => (pool.acquire(), class),
            None => (self.allocate_oversize(min_capacity), OVERSIZE),
        }
    }

    /// A buffer of exactly `min_capacity` bytes, counted once it exists (a
    /// request that produced nothing is not an oversize get).
    ///
    /// # Panics
    /// If `min_capacity` exceeds `isize::MAX` bytes, which no `Vec<u8>` can
    /// hold; an allocation failure aborts, as for any `Vec`.
    fn allocate_oversize(&self, min_capacity: usize) -> Box<Vec<u8>> {
        assert!(
            min_capacity <= isize::MAX as usize,
            "BufferPool::get({min_capacity}): no Vec<u8> can hold more than isize::MAX bytes"
        );
        let buf = Box::new(Vec::with_capacity(min_capacity));
        self.counters.oversize_gets.add(1);
        buf
    }

    /// See [`BufferPool::put`].
    fn put(&self, buf: Vec<u8>) {
        match self.sizes.for_capacity(buf.capacity()) {
            Some(class) => {
                self.classes[class].put(buf);
                self.flush_if_large(class);
            }
            None => self.discard(buf),
        }
    }

    /// Returns a guard's buffer, which left class `from` (or is `OVERSIZE`). The fast path: a small class, capacity unchanged.
    #[inline(always)]
    pub(crate) fn give_back(&self, buf: Box<Vec<u8>>, from: usize) {
        // `from < first_flushed` also rules out `OVERSIZE`.
        if from < self.first_flushed && buf.capacity() == self.sizes.size(from) {
            self.classes[from].release(buf);
        } else {
            self.give_back_slow(buf, from);
        }
    }

    /// A large class, a changed capacity, an oversize or detached guard.
    #[cold]
    #[inline(never)]
    fn give_back_slow(&self, buf: Box<Vec<u8>>, from: usize) {
        let to = self.sizes.for_capacity(buf.capacity());
        if from != OVERSIZE && to != Some(from) {
            // Leaves its class for another, or for the allocator.
            self.classes[from].count(Event::detached, 1);
            if to.is_some() {
                self.counters.reclassified.add(1);
            }
        }
        let Some(to) = to else {
            return self.discard(*buf);
        };
        let pool = &self.classes[to];
        if to != from {
            pool.count(Event::adopted, 1);
        }
        pool.release(buf);
        self.flush_if_large(to);
    }

    /// After a return to `class`: a large class's buffer moves from the
    /// private stack to the shared list, where the budget charges it.
    #[inline]
    fn flush_if_large(&self, class: usize) {
        if class >= self.first_flushed {
            self.classes[class].flush_local();
        }
    }

    /// Drops a buffer no class fits, counted.
    fn discard(&self, buf: Vec<u8>) {
        if buf.capacity() > self.sizes.max_size() {
            self.counters.dropped_oversize.add(1);
        } else {
            self.counters.dropped_undersize.add(1);
        }
        drop(buf);
    }

    /// A guard from class `from` is being detached.
    pub(crate) fn note_detached(&self, from: usize) {
        if let Some(pool) = self.classes.get(from) {
            pool.count(Event::detached, 1);
        }
    }
}

impl Default for BufferPool {
    /// [`BufferPool::new`].
    fn default() -> Self {
        BufferPool::new()
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("min_class_size", &self.min_class_size())
            .field("max_class_size", &self.max_class_size())
            .field("max_idle_bytes", &self.max_idle_bytes())
            .field("charged_bytes", &self.inner.budget.used())
            .finish_non_exhaustive()
    }
}
