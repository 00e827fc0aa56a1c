//! Every live pool in the process, held weakly, for [`trim_all`],
//! [`stats_all`] and the background trimmer: the stand-in for Go clearing
//! every pool at each GC.
//!
//! Pools register when built and unregister when dropped; both take this
//! mutex, as do `trim_all`, `stats_all` and the trimmer, but `get` and `put`
//! never do. The registry calls nobody: the trimmer asks it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// What the registry needs from a pool, whatever its `T`.
pub(crate) trait Registered: Send + Sync {
    /// One trim; returns the objects it dropped.
    fn trim_now(&self) -> u64;
    /// Automatic-trim schedule, if the pool has one: `(next due, interval)`
    /// in `now_nanos` units.
    fn auto_trim_due(&self) -> Option<(u64, u64)>;
    /// Trims if an automatic trim is due (claims it first).
    fn auto_trim_if_due(&self, now: u64) -> bool;
    /// The name given at build time.
    fn name(&self) -> Option<&str>;
    /// The pool's statistics.
    fn stats(&self) -> crate::Stats;
}

static POOLS: Mutex<BTreeMap<u64, Weak<dyn Registered>>> = Mutex::new(BTreeMap::new());

fn pools() -> MutexGuard<'static, BTreeMap<u64, Weak<dyn Registered>>> {
    // No user code runs under this lock, so it cannot be poisoned by a user
    // panic; recover anyway rather than propagate a panic forever.
    POOLS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn register(key: u64, pool: Weak<dyn Registered>) {
    pools().insert(key, pool);
}

pub(crate) fn unregister(key: u64) {
    pools().remove(&key);
}

/// Strong handles to every live pool. Taken under the lock, used after it:
/// dropping the last handle runs the pool's `Drop`, which takes the lock.
pub(crate) fn live_pools() -> Vec<Arc<dyn Registered>> {
    pools().values().filter_map(Weak::upgrade).collect()
}

/// Trims every live pool in the process once, from the calling thread, and
/// returns the number of objects dropped.
///
/// This is the stand-in for Go clearing every `sync.Pool` at each garbage
/// collection: call it from a timer, on memory pressure, or after a burst.
/// What one trim reaches is described at [`Pool::trim`](crate::Pool::trim).
/// It never blocks `get` or `put` on any pool. Cost: one `Pool::trim` per
/// pool (the shared lists that hold objects, not every shard).
///
/// If a `T::drop` panics in one pool's trim, every other pool is still
/// trimmed; the first panic is re-raised at the end.
pub fn trim_all() -> u64 {
    let mut panics = crate::unwind::Dropper::default();
    let dropped = live_pools()
        .iter()
        .filter_map(|pool| panics.call(|| pool.trim_now()))
        .sum();
    panics.finish();
    dropped
}

/// The statistics of every live pool in the process, with their names, in
/// the order they were built (a [`BufferPool`](crate::BufferPool) gives one
/// entry per size class, named `<name>/<class size>`).
///
/// Built on the same registry as [`trim_all`]; it takes a lock that `get`
/// and `put` never take, and costs each pool one [`Pool::stats`](crate::Pool::stats).
/// Feed it to your metrics system, or see the `metrics` feature.
pub fn stats_all() -> Vec<crate::PoolStats> {
    live_pools()
        .iter()
        .map(|pool| crate::PoolStats {
            name: pool.name().map(str::to_owned),
            stats: pool.stats(),
        })
        .collect()
}
