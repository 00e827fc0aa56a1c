//! Callbacks that use the pool that runs them, or another pool: `create` and
//! `reset` calling `get` and `put`, `T::drop` getting, putting and trimming
//! while the pool drops objects, a dropped object returning pooled children
//! while another thread trims, and `weigh` using a pool new to the thread
//! during `flush_local_all`. I7 (re-entry neither deadlocks nor corrupts
//! the pool) and I9 (every object accounted for and dropped exactly once).

use super::{assert_idle_is_truthful, drop_last, summary};
use crate::child::isolated;
use crate::common::{Ledger, Obj, assert_accounted};
use shardpool::{OwnedPooled, Pool};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::thread;

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

/// A `T::drop` run by the pool (the victim rule, applied when a `get`
/// catches its thread up with trims) that trims and then puts 70 objects:
/// the `get` goes on from the state the drop left, every object is
/// accounted for, and each is dropped exactly once.
///
/// Catches a `get` that goes on with the epoch it read before the drop: it
/// refills its private stack on top of the objects the drop put there,
/// breaking the shard's bound (in a debug build, the assertion
/// `take - 1 <= limit` inside a claim), and the unwind drops objects already
/// moved out of the ring a second time (glibc: "free(): double free
/// detected", SIGABRT; under Miri, undefined behavior).
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

/// The same without any pool call in user code: an idle `Node` holding four
/// pooled children (`max_idle_per_thread(3)`) goes stale, and a trim from
/// another thread lands while the `get` that catches up drops it (a
/// `BackgroundTrimmer` tick is such a trim; here the node's `Drop` waits for
/// one on another thread, to make the timing certain). The children come
/// back, every object is accounted for and dropped exactly once.
///
/// Catches a `get` that goes on with the older epoch after the children's
/// returns caught the shard up with the new trim: it refills its private
/// stack on top of them (`take - 1 <= limit` fails in a debug build), and
/// the unwind drops objects twice (SIGABRT).
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

/// `flush_local_all` reaches every pool the thread has a shard in even when
/// a callback it runs changes the thread's list of pools: here `b`'s `weigh`
/// takes from a pool the thread had never used (adding it to the list)
/// while the entry of a dropped pool is purged from it. Each of `c`'s three
/// private objects is flushed to its shared list, where two trims from
/// another thread drop them.
///
/// Catches a walk by index over the thread's list of pools: the re-entry
/// shifts the list under it, `c` is skipped, and the trims drop none of its
/// objects.
#[test]
fn flush_local_all_survives_callbacks_that_change_the_list() {
    let a: Pool<Vec<u8>> = Pool::new(Vec::new);
    let late: Pool<Vec<u8>> = Pool::new(Vec::new);
    let b: Pool<Vec<u8>> = {
        let late = late.clone();
        Pool::builder()
            .max_idle_bytes(1 << 20)
            .weigh(move |v: &Vec<u8>| {
                drop(late.get());
                v.capacity()
            })
            .build(Vec::new)
    };
    let c: Pool<Vec<u8>> = Pool::new(Vec::new);
    drop(a.get());
    drop(b.get());
    let held: Vec<_> = (0..3).map(|_| c.get()).collect();
    drop(held);
    drop(a);
    assert_eq!(
        late.stats().shards,
        0,
        "`late` is not used before the flush"
    );

    shardpool::flush_local_all();

    assert_eq!(
        late.stats().shards,
        1,
        "`b`'s weigh used `late` during the flush"
    );
    let dropped = thread::scope(|s| s.spawn(|| c.trim() + c.trim()).join().unwrap());
    assert_eq!(dropped, 3, "{:?}", c.stats());
    assert_eq!(c.stats().idle, 0);
}
