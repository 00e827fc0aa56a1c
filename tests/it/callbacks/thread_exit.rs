//! What a thread's exit runs: its exit hook, which moves the thread's private
//! objects to its shared list, and returns from `thread_local!` destructors,
//! which may run before or after that hook. A panic escaping either aborts
//! the process, so every callback panic there is contained and counted (I9,
//! no callback can make the pool abort), and an object returned there stays
//! reachable (I6, a thread that exits strands nothing).

use super::{assert_idle_is_truthful, drop_last, summary, weigh_panicking_when};
use crate::child::{isolated, isolated_with_stderr};
use crate::common::{Ledger, Obj, assert_accounted};
use shardpool::{OwnedPooled, Pool};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;

/// `weigh` panics while a thread's exit hook moves its private objects to
/// its shared list: the panic is contained, the object dropped and counted
/// in `dropped_by_panic`.
///
/// Catches an exit hook that lets the panic out: a panic escaping a
/// thread-local destructor aborts the process ("thread local panicked on
/// drop").
#[test]
fn weigh_panic_in_the_exit_flush_is_contained() {
    isolated(
        module_path!(),
        "weigh_panic_in_the_exit_flush_is_contained",
        || {
            let ledger = Ledger::new();
            let panic = Arc::new(AtomicBool::new(false));
            let pool = {
                let ledger = Arc::clone(&ledger);
                Pool::builder()
                    .max_idle_bytes(1 << 20)
                    .weigh(weigh_panicking_when(&panic))
                    .build(move || ledger.make())
            };
            thread::scope(|s| {
                s.spawn(|| {
                    drop(pool.get()); // to the private slot, unweighed
                    panic.store(true, SeqCst); // the exit flush weighs it
                })
                .join()
                .unwrap();
            });
            panic.store(false, SeqCst);
            let stats = pool.stats();
            assert_eq!(stats.created, 1);
            assert_eq!(
                stats.dropped_by_panic, 1,
                "the flush weighed it: {stats:#?}"
            );
            assert_idle_is_truthful(&pool, &ledger);
            summary(&stats, &ledger)
        },
    );
}

/// An object whose `Drop` panics (once) while `panic` is set.
struct Brittle {
    _obj: Obj,
    panic: Arc<AtomicBool>,
}

impl Drop for Brittle {
    fn drop(&mut self) {
        if self.panic.swap(false, SeqCst) {
            panic!("T::drop failed");
        }
    }
}

/// `T::drop` panics while a thread's exit hook drops what it cannot keep (a
/// zero byte budget keeps nothing shared): the panic is contained and the
/// object counted as dropped.
///
/// Catches an exit hook that lets the panic out: a panic escaping a
/// thread-local destructor aborts the process.
#[test]
fn drop_panic_in_the_exit_flush_is_contained() {
    isolated(
        module_path!(),
        "drop_panic_in_the_exit_flush_is_contained",
        || {
            let ledger = Ledger::new();
            let panic = Arc::new(AtomicBool::new(false));
            let pool = {
                let (ledger, panic) = (Arc::clone(&ledger), Arc::clone(&panic));
                Pool::builder().max_idle_bytes(0).build(move || Brittle {
                    _obj: ledger.make(),
                    panic: Arc::clone(&panic),
                })
            };
            thread::scope(|s| {
                s.spawn(|| {
                    drop(pool.get()); // to the private slot
                    panic.store(true, SeqCst); // the exit hook drops it
                })
                .join()
                .unwrap();
            });
            let stats = pool.stats();
            assert_eq!(
                (stats.created, stats.dropped(), stats.idle),
                (1, 1, 0),
                "{stats:#?}"
            );
            assert_eq!(ledger.alive(), 0);
            summary(&stats, &ledger)
        },
    );
}

thread_local! {
    /// Holds a guard until the thread's thread-locals are destroyed.
    static HELD: RefCell<Option<OwnedPooled<Obj>>> = const { RefCell::new(None) };
}

/// A `thread_local!` whose destructor drops an `OwnedPooled` of a pool the
/// thread never used, on a thread where another user of
/// `thread_local::ThreadLocal` (a tracing subscriber, say) registered after
/// it, so that crate's per-thread state is destroyed first. The pool finds
/// its shards through its own per-thread list, not through any other crate's
/// thread-local, so the thread adopts a shard, its exit hook (registered
/// during the destructors) flushes the object to the shared list, and
/// another thread can take it (I6). Nothing is printed: no panic is raised
/// and caught on the way.
///
/// Catches a return that looks its shard up through another crate's
/// thread-local: that access panics once the other crate's state is gone;
/// caught, the panic still prints a message and backtrace through the panic
/// hook, which reads as a crash in a server's logs, and the object is
/// dropped instead of kept.
#[test]
fn guard_returned_by_a_thread_local_destructor_stays_reachable() {
    let (_, stderr) = isolated_with_stderr(
        module_path!(),
        "guard_returned_by_a_thread_local_destructor_stays_reachable",
        || {
            let ledger = Ledger::new();
            let pool = Arc::new({
                let ledger = Arc::clone(&ledger);
                Pool::new(move || ledger.make())
            });
            let guard = pool.get_owned();
            let other_user = thread_local::ThreadLocal::<u8>::new();
            thread::scope(|s| {
                s.spawn(|| {
                    // Registered first, so destroyed last.
                    HELD.with(|held| *held.borrow_mut() = Some(guard));
                    other_user.get_or(|| 1);
                })
                // An explicit join waits for the thread-local destructors too
                // (the end of the scope would not).
                .join()
                .unwrap();
            });
            let stats = pool.stats();
            assert_eq!(
                (stats.created, stats.returned, stats.dropped(), stats.idle),
                (1, 1, 0, 1),
                "{stats:#?}"
            );
            assert_accounted(&stats, 0);
            let again = pool.try_get().expect("the object is reachable");
            assert_eq!(again.id, 0);
            drop(again);
            let line = summary(&pool.stats(), &ledger);
            drop_last(pool, &ledger);
            line
        },
    );
    assert!(!stderr.contains("panicked"), "printed a panic:\n{stderr}");
}

thread_local! {
    /// Holds a guard whose return panics, destroyed before the pool's exit hook.
    static LATE: RefCell<Option<OwnedPooled<Obj>>> = const { RefCell::new(None) };
}

/// A reset policy that panics, on a return made by a thread-local
/// destructor that runs *before* the pool's exit hook (the thread used the
/// pool first, registering the hook, then parked a guard in a thread-local
/// registered after it). A drop cannot tell it runs in a thread-local
/// destructor, where a panic escaping aborts the process, so a guard's drop
/// never lets a callback's panic out: the object is dropped and counted in
/// `dropped_by_panic`, whatever order the destructors run in.
///
/// Catches a guard's drop that contains callback panics only once the
/// thread's exit hook has started: here the destructor runs before the
/// hook, so the panic escapes it and the process aborts ("thread local
/// panicked on drop").
#[test]
fn reset_panic_in_a_thread_local_destructor_is_contained() {
    let (summary, _) = isolated_with_stderr(
        module_path!(),
        "reset_panic_in_a_thread_local_destructor_is_contained",
        || {
            let ledger = Ledger::new();
            let pool = Arc::new({
                let ledger = Arc::clone(&ledger);
                Pool::builder()
                    .reset(|o: &mut Obj| {
                        if o.id == 1 {
                            panic!("reset failed")
                        } else {
                            true
                        }
                    })
                    .build(move || ledger.make())
            });
            thread::scope(|s| {
                s.spawn(|| {
                    let first = pool.get(); // id 0: registers the exit hook first
                    let late = pool.get_owned(); // id 1: its reset panics
                    drop(first);
                    LATE.with(|slot| *slot.borrow_mut() = Some(late));
                })
                .join()
                .unwrap();
            });
            let stats = pool.stats();
            assert_eq!(
                (stats.created, stats.dropped_by_panic, stats.idle),
                (2, 1, 1),
                "{stats:#?}"
            );
            assert_accounted(&stats, 0);
            let line = summary(&stats, &ledger);
            drop_last(pool, &ledger);
            line
        },
    );
    assert!(summary.starts_with("created=2 "), "{summary}");
}
