//! What a [`BufferPool`](crate::BufferPool) has done, per class and in total.

use crate::stats::Stats;
use crate::sync::SharedCounter;

/// A snapshot of a [`BufferPool`](crate::BufferPool): each size class's
/// [`Stats`], their sum, and what happened outside the classes.
///
/// Each class obeys the identities documented at [`Stats`]. A buffer that
/// comes back to a different class than it left (its capacity changed while
/// it was out) counts as `detached` from the first and `adopted` by the
/// second, so the identities hold per class and in `total`.
///
/// ```
/// use shardpool::BufferPool;
///
/// let pool = BufferPool::new();
/// drop(pool.get(3000));
/// let stats = pool.stats();
/// let class = stats.classes.iter().find(|c| c.capacity == 4096).unwrap();
/// assert_eq!((class.stats.created, class.stats.idle), (1, 1));
/// assert_eq!(stats.total.idle_bytes, 4096);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStats {
    /// One entry per size class, smallest first.
    pub classes: Vec<ClassStats>,
    /// The classes' statistics summed; `shards` and `trims` are the largest
    /// of any class instead (threads that used the pool; trims so far).
    /// `idle_bytes` is the sum of the classes' `idle_bytes`.
    pub total: Stats,
    /// Bytes charged to the pool's budget right now: the buffers in shared
    /// lists, at their exact capacity. Never above
    /// [`max_idle_bytes`](crate::BufferPool::max_idle_bytes). The rest of
    /// `total.idle_bytes` is the budget's slack (see
    /// [`BufferPool`](crate::BufferPool#the-budget)).
    pub charged_bytes: u64,
    /// Requests above the largest class: allocated at exactly the requested
    /// capacity, and never kept.
    pub oversize_gets: u64,
    /// Buffers that came back (guard drop or `put`) with a capacity above
    /// the largest class, and were dropped: the oversize requests, and
    /// buffers that grew past the largest class while out.
    pub dropped_oversize: u64,
    /// Buffers that came back with a capacity below the smallest class (a
    /// small `put`, or a buffer shrunk or swapped out while on loan), and
    /// were dropped.
    pub dropped_undersize: u64,
    /// Buffers a guard brought back to a different class than they left,
    /// because their capacity changed while out (usually: grew).
    pub reclassified: u64,
}

/// One size class in [`BufferStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// Capacity of the buffers this class hands out, in bytes. It keeps
    /// buffers with a capacity from this up to (not including) twice this.
    pub capacity: usize,
    /// The class's counters. Unlike a plain [`Pool`](crate::Pool)'s,
    /// `idle_bytes` counts every idle buffer, private stacks included, each at
    /// the class capacity (`idle × capacity`): the budget is one counter for
    /// all classes, so a class's exact share is not tracked. A buffer handed
    /// in with `put` or regrown can be up to twice the class capacity.
    pub stats: Stats,
}

/// Events that happen outside any class. Rare (an oversize request, a buffer
/// whose capacity changed), hence shared `fetch_add` counters.
#[derive(Debug, Default)]
pub(crate) struct BufferCounters {
    pub(crate) oversize_gets: SharedCounter,
    pub(crate) dropped_oversize: SharedCounter,
    pub(crate) dropped_undersize: SharedCounter,
    pub(crate) reclassified: SharedCounter,
}

/// Adds one class's statistics into the running total (see
/// [`BufferStats::total`] for the two fields that are not sums).
pub(crate) fn add_class(total: &mut Stats, class: &Stats) {
    total.merge(class);
}
