//! A guard dropped while its thread unwinds from a panic in user code: the
//! object may be half-updated, so it is dropped unless a reset policy
//! accepts it (I7, no half-updated object kept behind the policy's back),
//! and no callback that panics during the unwind can abort the process (I9,
//! no callback can make the pool abort).

use super::{assert_idle_is_truthful, summary, weigh_panicking_when};
use crate::child::isolated;
use crate::common::{Ledger, Obj};
use shardpool::Pool;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// A guard dropped while its thread unwinds from a panic in user code: with
/// no reset policy, the possibly half-updated object is dropped, counted in
/// `dropped_by_panic`.
#[test]
fn guard_dropped_during_unwind_without_policy_is_dropped() {
    let pool = Pool::new(|| vec![1u8, 2, 3]);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut buf = pool.get();
        buf.push(4); // half-way through an update...
        panic!("user code failed");
    }));
    assert!(result.is_err());
    let stats = pool.stats();
    assert_eq!((stats.dropped_by_panic, stats.idle), (1, 0), "{stats:?}");
}

/// A guard dropped during an unwind, with a reset policy: the policy runs and,
/// if it accepts, the (now reset) object is kept; if the policy itself panics
/// during the unwind, the panic is contained (no abort) and the object dropped.
#[test]
fn guard_dropped_during_unwind_goes_through_policy() {
    let pool = Pool::builder()
        .reset(|b: &mut Vec<u8>| {
            assert!(b.len() < 100, "policy panics on huge buffers");
            b.clear();
            true
        })
        .build(Vec::new);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut buf = pool.get();
        buf.push(1);
        panic!("user code failed");
    }));
    let stats = pool.stats();
    assert_eq!(
        (stats.idle, stats.dropped_by_panic),
        (1, 0),
        "accepted and kept: {stats:?}"
    );
    assert!(pool.get().is_empty(), "kept object was reset");

    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut buf = pool.get();
        buf.resize(1000, 0);
        panic!("user code failed");
    }));
    let stats = pool.stats();
    assert_eq!(
        stats.dropped_by_panic, 1,
        "policy panic contained, object dropped: {stats:?}"
    );
}

/// A guard dropped while its thread unwinds, with a reset policy that
/// accepts it and a `weigh` that panics (the private slot is taken, so the
/// return goes to the shared list, which weighs it): the `weigh` panic is
/// contained, the user's panic is the one that surfaces, and every object is
/// accounted for.
///
/// Catches a return that contains only `reset`'s panic during an unwind: the
/// `weigh` panic is then a panic while panicking, and the process aborts.
#[test]
fn weigh_panic_while_unwinding_is_contained() {
    isolated(
        module_path!(),
        "weigh_panic_while_unwinding_is_contained",
        || {
            let ledger = Ledger::new();
            let panic = Arc::new(AtomicBool::new(false));
            let pool = {
                let ledger = Arc::clone(&ledger);
                Pool::builder()
                    .max_idle_bytes(1 << 20)
                    .reset(|_: &mut Obj| true)
                    .weigh(weigh_panicking_when(&panic))
                    .build(move || ledger.make())
            };
            let (a, b) = (pool.get(), pool.get());
            drop(a); // the private slot
            panic.store(true, SeqCst);
            let result = catch_unwind(AssertUnwindSafe(|| {
                let _b = b;
                panic!("user code failed");
            }));
            panic.store(false, SeqCst);
            let message = *result.unwrap_err().downcast::<&str>().unwrap();
            assert_eq!(message, "user code failed", "the user's panic surfaces");
            let stats = pool.stats();
            assert_eq!(stats.created, 2);
            assert_eq!(
                stats.dropped_by_panic, 1,
                "the return weighed it: {stats:#?}"
            );
            assert_idle_is_truthful(&pool, &ledger);
            summary(&stats, &ledger)
        },
    );
}
