//! I9, issue 12: user code that runs inside the pool (`create`, `reset`,
//! `weigh`, `T::drop`, which may own other pooled objects) cannot make the
//! pool abort, double-drop, or lose an object uncounted.
//!
//! Each test is one reproduction from the fault audit, named for what it
//! does; its doc comment says how it failed before the fix. The ones that
//! aborted the process run in a child process ([`isolated`]), so that on a
//! pool with the bug they fail as a test instead of killing the test binary.
//! The systematic version of all of them is `fault_injection.rs`.

use crate::child::{isolated, isolated_with_stderr};
use crate::common::{Ledger, Obj};
use shardpool::{OwnedPooled, Pool, Stats};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;

/// The accounting identity at a quiet moment, with `in_use` objects out.
fn assert_accounted(stats: &Stats, in_use: u64) {
    assert_eq!(
        stats.created + stats.adopted,
        stats.idle + stats.dropped() + stats.detached + in_use,
        "created + adopted == idle + dropped() + detached + in_use: {stats:#?}"
    );
}

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
fn assert_idle_is_truthful<T: Send>(pool: &Pool<T>, ledger: &Ledger) {
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
fn drop_last<T: Send>(pool: Arc<Pool<T>>, ledger: &Ledger) {
    let pool = Arc::try_unwrap(pool).unwrap_or_else(|_| panic!("a handle on the pool leaked"));
    drop(pool);
    assert_eq!(ledger.alive(), 0, "every object dropped by the pool's end");
}

fn summary(stats: &Stats, ledger: &Ledger) -> String {
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

/// An `Obj` whose `Drop` first runs a hook (once): user code in `T::drop`.
struct Hooked {
    _obj: Obj,
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl Hooked {
    fn new(obj: Obj) -> Self {
        Hooked {
            _obj: obj,
            on_drop: None,
        }
    }
}

impl Drop for Hooked {
    fn drop(&mut self) {
        if let Some(hook) = self.on_drop.take() {
            hook();
        }
    }
}

/// Issue 12, reproduction 1: a `T::drop` run by the pool (the victim rule,
/// applied when a `get` catches its thread up with trims) that trims and
/// then puts 70 objects.
///
/// Before the fix, in a debug build: `get` went on with the epoch it read
/// before the drop, refilled its private stack on top of the objects the
/// drop had put there, failed `debug_assert!(false, "take - 1 <= limit")`
/// inside a claim, and the unwind dropped objects already moved out of the
/// ring a second time (glibc: "free(): double free detected", SIGABRT; under
/// Miri, undefined behavior).
#[test]
fn drop_that_trims_and_puts_during_get() {
    isolated(
        module_path!(),
        "drop_that_trims_and_puts_during_get",
        || {
            let ledger = Ledger::new();
            let pool = Arc::new({
                let ledger = Arc::clone(&ledger);
                Pool::new(move || Hooked::new(ledger.make()))
            });
            let mut marked = Hooked::new(ledger.make());
            marked.on_drop = Some(Box::new({
                let (pool, ledger) = (Arc::clone(&pool), Arc::clone(&ledger));
                move || {
                    pool.trim();
                    for _ in 0..70 {
                        pool.put(Hooked::new(ledger.make()));
                    }
                }
            }));
            pool.put(marked);
            let other = Arc::clone(&pool);
            thread::spawn(move || {
                other.trim();
                other.trim();
            })
            .join()
            .unwrap();
            // The marked object is stale: this get drops it, and its drop re-enters.
            drop(pool.get());
            let stats = pool.stats();
            assert_accounted(&stats, 0);
            assert_eq!(stats.adopted, 71, "{stats:#?}");
            assert_idle_is_truthful(&pool, &ledger);
            let line = summary(&pool.stats(), &ledger);
            drop_last(pool, &ledger);
            line
        },
    );
}

/// A tree of pooled objects: a node owns guards of its children.
struct Node {
    _obj: Obj,
    children: Vec<OwnedPooled<Node>>,
    /// Runs when the node is dropped, before its children are returned.
    before_children: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(hook) = self.before_children.take() {
            hook();
        }
        // `children` drop after this: each returns to the pool.
    }
}

/// Issue 12, reproduction 1, without any pool call in user code: an idle
/// `Node` holding four pooled children (`max_idle_per_thread(3)`) goes stale,
/// and a trim from another thread lands while the `get` that catches up drops
/// it (a `BackgroundTrimmer` tick is such a trim; here the node's `Drop`
/// waits for one on another thread, to make the timing certain).
///
/// Before the fix: the children's returns caught the shard up with the new
/// trim, `get` went on with the older epoch and refilled its private stack on
/// top of them: `take - 1 <= limit` panicked in a debug build, and the
/// unwind double-dropped (SIGABRT).
#[test]
fn stale_parent_dropped_while_another_thread_trims() {
    isolated(
        module_path!(),
        "stale_parent_dropped_while_another_thread_trims",
        || {
            let ledger = Ledger::new();
            let pool = Arc::new({
                let ledger = Arc::clone(&ledger);
                Pool::builder().max_idle_per_thread(3).build(move || Node {
                    _obj: ledger.make(),
                    children: Vec::new(),
                    before_children: None,
                })
            });
            let mut parent = pool.get_owned();
            parent.children = (0..4).map(|_| pool.get_owned()).collect();
            parent.before_children = Some(Box::new({
                let pool = Arc::clone(&pool);
                move || {
                    thread::spawn(move || {
                        pool.trim();
                    })
                    .join()
                    .unwrap();
                }
            }));
            drop(parent); // idle, on this thread's private stack, with its children out
            let other = Arc::clone(&pool);
            thread::spawn(move || {
                other.trim();
                other.trim();
            })
            .join()
            .unwrap();
            drop(pool.get()); // drops the stale parent; its children come back
            let stats = pool.stats();
            assert_accounted(&stats, 0);
            assert_eq!(stats.created, 5, "{stats:#?}");
            assert_idle_is_truthful(&pool, &ledger);
            let line = summary(&pool.stats(), &ledger);
            drop_last(pool, &ledger);
            line
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
/// another thread can take it. Nothing is printed: no panic is raised and
/// caught on the way.
#[test]
fn guard_dropped_by_a_thread_local_destructor() {
    let (_, stderr) = isolated_with_stderr(
        module_path!(),
        "guard_dropped_by_a_thread_local_destructor",
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
#[test]
fn reset_panics_in_a_thread_local_destructor() {
    let (summary, _) = isolated_with_stderr(
        module_path!(),
        "reset_panics_in_a_thread_local_destructor",
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

/// A `weigh` that panics while `panic` is set.
fn weigh_panicking_when(panic: &Arc<AtomicBool>) -> impl Fn(&Obj) -> usize + Send + Sync + 'static {
    let panic = Arc::clone(panic);
    move |_: &Obj| {
        if panic.load(SeqCst) {
            panic!("weigh failed");
        }
        8
    }
}

/// Issue 12, reproduction 3: a budgeted pool, two guards; drop one (to the
/// private slot), then the other with `weigh` panicking, inside
/// `catch_unwind`.
///
/// Before the fix the second object was counted as returned and idle but
/// dropped by the unwind: `created=2 dropped()=0 idle=2`, with one object
/// alive and one that could be taken again.
#[test]
fn weigh_panics_on_return() {
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
    let _ = catch_unwind(AssertUnwindSafe(|| drop(b)));
    panic.store(false, SeqCst);
    assert_eq!(pool.stats().created, 2);
    assert_idle_is_truthful(&pool, &ledger);
}

/// Issue 12, reproduction 4a: `weigh` panics while a thread's exit hook moves
/// its private objects to its shared list.
///
/// Before the fix: a panic in a thread-local destructor, so the process
/// aborted ("thread local panicked on drop").
#[test]
fn weigh_panics_in_exit_flush() {
    isolated(module_path!(), "weigh_panics_in_exit_flush", || {
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
        assert_idle_is_truthful(&pool, &ledger);
        summary(&stats, &ledger)
    });
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

/// Issue 12, reproduction 4b: `T::drop` panics while a thread's exit hook
/// drops what it cannot keep (a zero byte budget keeps nothing shared).
///
/// Before the fix: a panic in a thread-local destructor, so the process
/// aborted.
#[test]
fn drop_panics_in_exit_flush() {
    isolated(module_path!(), "drop_panics_in_exit_flush", || {
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
    });
}

/// Issue 12, reproduction 4c: a guard dropped while its thread unwinds, with
/// a reset policy that accepts it and a `weigh` that panics (the private
/// slot is taken, so the return goes to the shared list, which weighs it).
///
/// Before the fix only `reset` was wrapped on this path: the `weigh` panic
/// was a panic while panicking, and the process aborted.
#[test]
fn weigh_panics_while_unwinding() {
    isolated(module_path!(), "weigh_panics_while_unwinding", || {
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
        assert_idle_is_truthful(&pool, &ledger);
        summary(&stats, &ledger)
    });
}

/// Issue 12, reproduction 5: `max_idle_bytes(0)` keeps nothing in shared
/// lists, not even objects that weigh nothing. Threads that return objects
/// and exit leave nothing idle (their exit hooks move their private objects
/// to shared lists, which keep none).
///
/// Before the fix zero-weight objects passed the budget check and stayed in
/// the exited threads' shared lists (`idle` = one per thread).
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
