//! User code that runs inside the pool: the callbacks (`create`, `reset`,
//! `weigh`, and `T::drop`, which may own other pooled objects) and code that
//! panics while it holds a guard. Proves I7 (a panic or a re-entrant call
//! leaves the pool consistent) and I9 (no callback can make the pool abort,
//! drop an object twice, or lose one uncounted), case by case; the
//! fault-injection proptest (`fault_injection.rs`) proves I9 systematically.
//!
//! Every panicking callback has one outcome, decided by what ran it: an
//! explicit call (`get` running `create`, `put` running `reset`, `trim`
//! running `T::drop`) propagates the panic to its caller once the pool is
//! consistent again (unless the thread cannot unwind); a drop (a guard's,
//! the pool's, a thread's exit) contains it, since a panic escaping a drop
//! aborts the process in a thread-local destructor or while unwinding.
//! Either way the object the callback was about is dropped and counted
//! (`reset` and `weigh` panics in `dropped_by_panic`).
//!
//! - [`panics`]: each callback panicking where a call or a guard's drop ran it;
//! - [`unwinding`]: guards dropped while their thread unwinds;
//! - [`thread_exit`]: a thread's exit hook and returns from thread-local
//!   destructors;
//! - [`reentry`]: callbacks that use this pool or another one.
//!
//! Scenarios that abort the process on a pool with the bug they guard against
//! run in a child process ([`isolated`](crate::child::isolated)), so that they
//! fail as a test instead of killing the test binary.

mod panics;
mod reentry;
mod thread_exit;
mod unwinding;

use crate::common::{Ledger, Obj, assert_accounted};
use shardpool::{Pool, Stats};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// Takes every idle object the calling thread can reach (its own and other
/// threads' shared lists) and returns them; the count is what `idle` should
/// have said, when no other live thread holds private objects.
fn reachable_idle<T: Send>(pool: &Pool<T>) -> u64 {
    let mut taken = Vec::new();
    while let Some(guard) = pool.try_get() {
        taken.push(guard);
    }
    taken.len() as u64
}

/// `idle` is the truth: exactly that many objects can be taken again, and
/// exactly that many are alive (nothing is out in a guard).
pub(super) fn assert_idle_is_truthful<T: Send>(pool: &Pool<T>, ledger: &Ledger) {
    let stats = pool.stats();
    assert_accounted(&stats, 0);
    assert_eq!(
        ledger.alive() as u64,
        stats.idle,
        "objects alive vs idle: an object was dropped uncounted, or leaked: {stats:#?}"
    );
    let reachable = reachable_idle(pool);
    let after = pool.stats();
    // A take may catch its shard up with a trim and drop stale objects first.
    let trimmed = after.dropped_by_trim - stats.dropped_by_trim;
    assert_eq!(
        reachable + trimmed,
        stats.idle,
        "objects that can be taken again vs idle: {stats:#?}"
    );
}

/// Drops the last handle on `pool` and checks that every object the ledger
/// made was dropped exactly once (`Obj` panics on a second drop).
pub(super) fn drop_last<T: Send>(pool: Arc<Pool<T>>, ledger: &Ledger) {
    let pool = Arc::try_unwrap(pool).unwrap_or_else(|_| panic!("a handle on the pool leaked"));
    drop(pool);
    assert_eq!(ledger.alive(), 0, "every object dropped by the pool's end");
}

/// One line of counts for a child process to print and its parent to check.
pub(super) fn summary(stats: &Stats, ledger: &Ledger) -> String {
    format!(
        "created={} adopted={} dropped()={} idle={} objects made={} dropped={}",
        stats.created,
        stats.adopted,
        stats.dropped(),
        stats.idle,
        ledger.created(),
        ledger.dropped()
    )
}

/// A `weigh` that panics while `panic` is set.
pub(super) fn weigh_panicking_when(
    panic: &Arc<AtomicBool>,
) -> impl Fn(&Obj) -> usize + Send + Sync + 'static {
    let panic = Arc::clone(panic);
    move |_: &Obj| {
        if panic.load(SeqCst) {
            panic!("weigh failed");
        }
        8
    }
}
