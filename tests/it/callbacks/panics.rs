//! Each callback that panics where an explicit call or a guard's drop ran
//! it: the call propagates the panic, the drop contains it, and either way
//! the object is dropped and counted, nothing else changes, and the pool
//! keeps working. I7 (consistent after a panic) and I9 (no callback can make
//! the pool abort, double-drop or lose an object), one callback at a time.

use super::{assert_idle_is_truthful, weigh_panicking_when};
use crate::common::{Ledger, Obj};
use shardpool::Pool;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

/// A `create` that panics: the panic reaches the caller of `get`, nothing is
/// counted as created, and the pool keeps working afterwards.
#[test]
fn create_panic_reaches_get_and_counts_nothing() {
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
fn reset_panic_is_contained_by_a_drop_and_reaches_put() {
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

/// A `weigh` that panics on a guard's return: a budgeted pool, two guards;
/// one goes back to the private slot (unweighed), the other, with `weigh`
/// panicking, to the shared list, which weighs it. The object is dropped and
/// counted, and `idle` says exactly what can be taken again.
///
/// Catches a return that counts the object as returned and idle before
/// weighing it: the unwind then drops it, and the books say
/// `created=2 dropped()=0 idle=2` with one object alive.
#[test]
fn weigh_panic_on_return_drops_and_counts_the_object() {
    let ledger = Ledger::new();
    let panic = Arc::new(AtomicBool::new(false));
    let pool = {
        let ledger = Arc::clone(&ledger);
        Pool::builder()
            .max_idle_bytes(1 << 20)
            .weigh(weigh_panicking_when(&panic))
            .build(move || ledger.make())
    };
    let (a, b) = (pool.get(), pool.get());
    drop(a);
    panic.store(true, SeqCst);
    let returned = catch_unwind(AssertUnwindSafe(|| drop(b)));
    panic.store(false, SeqCst);
    assert!(returned.is_ok(), "a guard's drop contains the panic");
    let stats = pool.stats();
    assert_eq!(
        (stats.created, stats.dropped_by_panic),
        (2, 1),
        "{stats:#?}"
    );
    assert_idle_is_truthful(&pool, &ledger);
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

/// `T::drop` panics for every object a trim drops: the trim, an explicit
/// call, still drops (and counts) every stale object, then re-raises the
/// first panic; a second panic never meets the first (which would abort),
/// and the pool is consistent afterwards. Dropping the pool, a drop,
/// contains the panic.
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
