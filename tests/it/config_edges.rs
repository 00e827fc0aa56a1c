//! Configuration edge cases, each with its documented outcome: a zero
//! per-thread cap keeps one private object per thread, a zero byte budget
//! keeps nothing in the shared lists (not even objects that weigh nothing),
//! and an invalid configuration is refused with an error that names it. The
//! limits are I4 (bounded retention) at its edges. (Pass-through, which turns
//! pooling off, is tested in `tests/production.rs`: its environment variable
//! is read once per process.)

use crate::common::{Ledger, Obj, assert_accounted};
use shardpool::Pool;
use std::panic::catch_unwind;
use std::sync::Arc;
use std::thread;

/// `max_idle_per_thread(0)`: each thread keeps exactly its one private
/// object; everything else is dropped and counted.
#[test]
fn zero_cap_keeps_only_the_private_slot() {
    let ledger = Ledger::new();
    let pool = {
        let ledger = Arc::clone(&ledger);
        Pool::builder()
            .max_idle_per_thread(0)
            .build(move || ledger.make())
    };
    let held: Vec<_> = (0..5).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.dropped_by_cap), (1, 4), "{stats:?}");
    assert_eq!(ledger.alive(), 1);
}

/// A zero byte budget keeps nothing in shared lists, only the documented
/// slack of one object per thread.
#[test]
fn zero_budget_keeps_only_the_slack() {
    let pool = Pool::builder()
        .max_idle_bytes(0)
        .recycle(1 << 20)
        .build(|| vec![0u8; 64]);
    let held: Vec<_> = (0..5).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!(
        (stats.idle, stats.dropped_by_budget, stats.idle_bytes),
        (1, 4, 0),
        "{stats:?}"
    );
}

/// `max_idle_bytes(0)` keeps nothing in shared lists, not even objects that
/// weigh nothing. Threads that return objects and exit leave nothing idle
/// (their exit hooks move their private objects to shared lists, which keep
/// none).
///
/// Catches a budget check that lets objects that weigh nothing through:
/// they stay in the exited threads' shared lists (`idle` = one per thread).
#[test]
fn zero_budget_keeps_nothing_shared_even_weightless() {
    let ledger = Ledger::new();
    let pool = {
        let ledger = Arc::clone(&ledger);
        Pool::builder()
            .max_idle_bytes(0)
            .weigh(|_: &Obj| 0)
            .build(move || ledger.make())
    };
    thread::scope(|s| {
        let threads: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
                    drop(held);
                })
            })
            .collect();
        // Explicit joins wait for the exit hooks (thread-local destructors).
        for t in threads {
            t.join().unwrap();
        }
    });
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.idle_bytes), (0, 0), "{stats:#?}");
    assert_accounted(&stats, 0);
    assert_eq!(ledger.alive(), 0);
}

/// Invalid configurations are refused with a clear error by `try_build` and
/// a panic naming the problem by `build`.
#[test]
fn invalid_configuration_is_refused() {
    let err = Pool::<u8>::builder()
        .max_idle_per_thread(usize::MAX)
        .try_build(|| 0)
        .unwrap_err();
    assert!(err.to_string().contains("max_idle_per_thread"), "{err}");
    let err = Pool::<u8>::builder()
        .trim_interval(std::time::Duration::ZERO)
        .try_build(|| 0)
        .unwrap_err();
    assert!(err.to_string().contains("trim_interval"), "{err}");
    let panic = catch_unwind(|| {
        Pool::<u8>::builder()
            .max_idle_per_thread(1 << 20)
            .build(|| 0)
    });
    let message = *panic.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("max_idle_per_thread"), "{message}");
}
