//! I7: misuse and faults leave the pool consistent, and each has a defined,
//! documented outcome in which nothing is lost silently.

use crate::common::{Ledger, Obj};
use shardpool::Pool;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};

/// A `create` that panics: the panic reaches the caller of `get`, nothing is
/// counted as created, and the pool keeps working afterwards.
#[test]
fn create_panics() {
    let fail = Arc::new(AtomicBool::new(true));
    let pool = {
        let fail = Arc::clone(&fail);
        Pool::new(move || {
            if fail.load(SeqCst) {
                panic!("create failed");
            }
            vec![0u8; 8]
        })
    };
    assert!(catch_unwind(AssertUnwindSafe(|| drop(pool.get()))).is_err());
    assert_eq!(pool.stats().created, 0);
    fail.store(false, SeqCst);
    drop(pool.get());
    let stats = pool.stats();
    assert_eq!((stats.created, stats.idle), (1, 1), "{stats:?}");
}

/// A `reset` that panics when a guard drops: the object is dropped (not kept
/// half-reset) and counted in `dropped_by_panic`, the panic stays inside the
/// drop (a drop that unwinds aborts the process in a thread-local
/// destructor), and the pool stays consistent. Through `Pool::put`, an
/// explicit call, the same panic propagates to the caller.
#[test]
fn reset_panics() {
    let ledger = Ledger::new();
    let pool = {
        let ledger = Arc::clone(&ledger);
        Pool::builder()
            .reset(|o: &mut Obj| {
                if o.id.is_multiple_of(2) {
                    panic!("reset failed")
                } else {
                    true
                }
            })
            .build(move || ledger.make())
    };
    let first = pool.get();
    assert!(catch_unwind(AssertUnwindSafe(|| drop(first))).is_ok());
    let stats = pool.stats();
    assert_eq!(
        (stats.returned, stats.dropped_by_panic, stats.idle),
        (1, 1, 0),
        "{stats:?}"
    );
    assert_eq!(ledger.alive(), 0, "the object was dropped, not leaked");
    drop(pool.get()); // id 1: reset accepts it
    assert_eq!(pool.stats().idle, 1);
    // Handed in by a call, an even object's panic reaches the caller.
    let two = ledger.make();
    assert!(catch_unwind(AssertUnwindSafe(|| pool.put(two))).is_err());
    let stats = pool.stats();
    assert_eq!(
        (stats.adopted, stats.dropped_by_panic, stats.idle),
        (1, 2, 1),
        "{stats:?}"
    );
    assert_eq!(ledger.alive(), 1, "only the idle object is alive");
}

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

static REENTRANT: OnceLock<Pool<Vec<u32>>> = OnceLock::new();
static NESTED_GETS: AtomicUsize = AtomicUsize::new(0);

/// Re-entrant use from `create` and `reset`: they may call `get` and `put` on
/// the same pool without deadlock or corruption.
#[test]
fn reentrant_create_and_reset() {
    let pool = REENTRANT.get_or_init(|| {
        Pool::builder()
            .reset(|v: &mut Vec<u32>| {
                // Returning a `[1]` hands another object in (a `[7]`, which
                // does not recurse further).
                if v.first() == Some(&1) {
                    let pool = REENTRANT.get().unwrap();
                    pool.put(vec![7]);
                }
                v.clear();
                true
            })
            .build(|| {
                // Creating one object first uses the pool itself, once.
                if NESTED_GETS.fetch_add(1, SeqCst) == 0 {
                    let pool = REENTRANT.get().unwrap();
                    let mut inner = pool.get();
                    inner.push(1);
                }
                Vec::with_capacity(4)
            })
    });
    let mut a = pool.get();
    a.push(1);
    drop(a);
    let stats = pool.stats();
    assert_eq!(stats.in_use(), 0, "{stats:?}");
    assert_eq!(
        stats.created + stats.adopted,
        stats.dropped() + stats.idle + stats.detached
    );
    let held: Vec<_> = (0..4).map(|_| pool.get()).collect();
    assert_eq!(held.len(), 4);
}

static DROP_POOL: OnceLock<Pool<Noisy>> = OnceLock::new();
static NOISY_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Re-enters the pool from its own `Drop`.
struct Noisy(u32);

impl Drop for Noisy {
    fn drop(&mut self) {
        NOISY_DROPS.fetch_add(1, SeqCst);
        if self.0 == 1 {
            let pool = DROP_POOL.get().unwrap();
            // Get and return from inside a drop the pool itself triggered.
            let g = pool.get();
            drop(g);
            pool.put(Noisy(2));
            pool.trim();
        }
    }
}

/// Re-entrant use from `T::drop`, while the pool is dropping objects (by
/// policy, by cap and by trim): no deadlock, no corruption, counts consistent.
#[test]
fn reentrant_drop() {
    let pool = DROP_POOL.get_or_init(|| {
        Pool::builder()
            .max_idle_per_thread(1)
            // The policy rejects `Noisy(1)`, so the pool drops it, and its
            // `Drop` re-enters the pool.
            .reset(|n: &mut Noisy| n.0 != 1)
            .build(|| Noisy(0))
    });
    // Dropped by cap: the third return does not fit (private 1 + shared 1).
    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    drop(held);
    pool.put(Noisy(1)); // rejected by the policy, dropped, re-enters
    pool.trim();
    pool.trim();
    let stats = pool.stats();
    assert_eq!(stats.in_use(), 0, "{stats:?}");
    assert_eq!(stats.dropped_by_policy, 1);
    assert!(stats.idle <= 2, "{stats:?}");
    assert_eq!(
        stats.created + stats.adopted,
        stats.dropped() + stats.idle + stats.detached
    );
}

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

/// `detach` takes an object out of the pool's care and `put` hands it back;
/// both are counted.
#[test]
fn detach_and_put_are_counted() {
    let pool = Pool::new(|| String::from("x"));
    let s = shardpool::Pooled::detach(pool.get());
    assert_eq!(pool.stats().detached, 1);
    pool.put(s);
    pool.put(String::from("foreign"));
    let stats = pool.stats();
    assert_eq!(
        (stats.adopted, stats.returned, stats.idle),
        (2, 2, 2),
        "{stats:?}"
    );
    assert_eq!(
        stats.created + stats.adopted,
        stats.detached + stats.dropped() + stats.idle
    );
}

/// Counts drops of [`Bomb`]s.
static BOMB_DROPS: AtomicUsize = AtomicUsize::new(0);

/// An object whose `Drop` always panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        BOMB_DROPS.fetch_add(1, SeqCst);
        if !std::thread::panicking() {
            panic!("Bomb dropped");
        }
    }
}

/// `T::drop` panics for every object a trim drops: the trim still drops
/// (and counts) every stale object, then re-raises the first panic; a
/// second panic never meets the first (which would abort), and the pool is
/// consistent afterwards. Dropping the pool, a drop, contains the panic.
#[test]
fn panicking_drops_during_a_trim_are_all_counted() {
    let pool = Pool::builder().max_idle_per_thread(8).build(|| Bomb);
    // Three idle objects in an exited thread's shared list.
    let other = pool.clone();
    std::thread::spawn(move || drop((0..3).map(|_| other.get()).collect::<Vec<_>>()))
        .join()
        .unwrap();
    assert_eq!(pool.stats().idle, 3);
    pool.trim(); // marks them
    let before = BOMB_DROPS.load(SeqCst);
    let second = catch_unwind(AssertUnwindSafe(|| pool.trim()));
    let message = second.unwrap_err();
    assert_eq!(message.downcast_ref::<&str>(), Some(&"Bomb dropped"));
    assert_eq!(BOMB_DROPS.load(SeqCst) - before, 3, "all three dropped");
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.dropped_by_trim), (0, 3), "{stats:?}");
    assert_eq!(stats.in_use(), 0, "{stats:?}");
    // And the pool keeps working; dropping it drops the last Bomb, whose
    // panic stays inside the pool's drop.
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1);
    let before = BOMB_DROPS.load(SeqCst);
    assert!(catch_unwind(AssertUnwindSafe(|| drop(pool))).is_ok());
    assert_eq!(BOMB_DROPS.load(SeqCst) - before, 1);
}
