//! The design's invariants I1 (one holder at a time), I2 (every object
//! dropped exactly once), I4 (bounded retention) and I6 (a thread that exits
//! strands nothing), each proven by a test that would fail if it broke.
//!
//! The others live with what they are about: I3 (the fast path does no
//! atomic read-modify-write) is a performance property, checked by
//! `benches/` and `scripts/fast_path_instructions.sh`; I5 (two trims release
//! everything idle) in `trim.rs`; I7 (consistent after panics and re-entry)
//! and I9 (no callback can abort, double-drop or lose an object) in
//! `callbacks/` and, systematically, `fault_injection.rs`; I8 (the auto
//! traits) in `auto_traits.rs`; I10 (bookkeeping bounded by use) in
//! `tests/memory.rs`; I11 (cost independent of idle threads) in `scale.rs`.

use crate::common::{Ledger, Obj, iters};
use shardpool::{Pool, Stats};
use std::sync::{Arc, Barrier};
use std::thread;

fn tracked_pool(ledger: &Arc<Ledger>, max_idle: usize) -> Arc<Pool<Obj>> {
    let ledger = Arc::clone(ledger);
    Arc::new(
        Pool::builder()
            .max_idle_per_thread(max_idle)
            .build(move || ledger.make()),
    )
}

/// The accounting identity of `Stats` at quiescence.
fn assert_accounted(stats: &Stats, in_use: u64) {
    assert_eq!(
        stats.created + stats.adopted,
        stats.detached + stats.dropped() + stats.idle + in_use,
        "accounting identity: {stats:#?}"
    );
    assert_eq!(
        stats.gets,
        stats.private_hits + stats.shared_hits + stats.steals + stats.created
    );
}

/// I1: with four threads getting, holding a few, and returning (objects
/// cross threads through steals), no object is ever held by two holders:
/// `Obj::acquire` panics if it is.
#[test]
fn i1_no_object_handed_out_twice() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 4);
    let barrier = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (pool, barrier) = (Arc::clone(&pool), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for i in 0..iters(5_000) {
                    let held: Vec<_> = (0..(i + t) % 7 + 1).map(|_| pool.get()).collect();
                    held.iter().for_each(|o| o.acquire());
                    held.iter().for_each(|o| o.release());
                }
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert_accounted(&pool.stats(), 0);
}

/// I1 across threads with owned guards: a producer hands objects to a
/// consumer, which returns them (to its own shard); the producer then reuses
/// them by stealing. Each object is held by one side at a time.
#[test]
fn i1_owned_guards_cross_threads() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 8);
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    let consumer = thread::spawn(move || {
        for guard in rx {
            let guard: shardpool::OwnedPooled<Obj> = guard;
            guard.release();
        }
    });
    for _ in 0..iters(5_000) {
        let guard = pool.get_owned();
        guard.acquire();
        tx.send(guard).unwrap();
    }
    drop(tx);
    consumer.join().unwrap();
    let stats = pool.stats();
    assert!(
        stats.steals > 0,
        "the producer reused returned objects: {stats:?}"
    );
    assert!(stats.stolen >= stats.steals);
    assert_accounted(&stats, 0);
}

/// I2: every object created is dropped exactly once by the end of the pool's
/// life, across threads that exit while holding idle objects, steal, and
/// return objects taken elsewhere. `Obj::drop` panics on a double drop.
#[test]
fn i2_every_object_dropped_exactly_once() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 3);
    for round in 0..iters(40) {
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let held: Vec<_> = (0..(round + t) % 6).map(|_| pool.get()).collect();
                    drop(held);
                    if t == 0 {
                        pool.trim();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
    assert_accounted(&pool.stats(), 0);
    let created = ledger.created();
    assert!(created > 0);
    drop(pool);
    assert_eq!(
        ledger.dropped(),
        created,
        "I2: created == dropped after the pool is gone"
    );
}

/// I2 when the last handle to the pool is dropped while other threads still
/// run and hold owned guards: the pool lives until the last guard returns,
/// then every object is dropped exactly once.
#[test]
fn i2_pool_dropped_while_threads_hold_owned_guards() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 2);
    let weak = Arc::downgrade(&pool);
    let start = Arc::new(Barrier::new(4));
    let holders: Vec<_> = (0..3)
        .map(|_| {
            let guards: Vec<_> = (0..3).map(|_| pool.get_owned()).collect();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                // The main thread has dropped its handle by now (or will
                // soon); the guards keep the pool alive.
                drop(guards);
            })
        })
        .collect();
    drop(pool);
    start.wait();
    holders.into_iter().for_each(|h| h.join().unwrap());
    assert!(weak.upgrade().is_none(), "the last guard dropped the pool");
    assert_eq!(ledger.alive(), 0, "I2: every object dropped with the pool");
}

/// I4: however many objects come back, a shard keeps at most
/// `1 + max_idle_per_thread`, so the pool holds at most
/// `shards × (1 + max_idle_per_thread)`; the rest are dropped and counted.
#[test]
fn i4_retention_is_bounded_per_thread() {
    for cap in [0, 1, 5, 40] {
        let ledger = Ledger::new();
        let pool = tracked_pool(&ledger, cap);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let held: Vec<_> = (0..100).map(|_| pool.get()).collect();
                    drop(held);
                    // A snapshot while other threads are mid-return may count
                    // one object per thread that `returned` has seen and the
                    // cap drop has not yet: allow that in-flight slack.
                    let stats = pool.stats();
                    let slack = stats.shards;
                    assert!(
                        stats.idle <= stats.shards * (1 + cap as u64) + slack,
                        "{stats:?}"
                    );
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let stats = pool.stats();
        assert!(
            stats.idle <= stats.shards * (1 + cap as u64),
            "cap {cap}: {stats:?}"
        );
        assert!(
            stats.dropped_by_cap > 0,
            "cap {cap}: excess returns were dropped: {stats:?}"
        );
        assert_eq!(
            ledger.alive() as u64,
            stats.idle,
            "nothing held besides idle objects"
        );
        assert_accounted(&stats, 0);
    }
}

/// I4 on one thread, exactly: with `max_idle_per_thread(n)`, returning many
/// objects leaves exactly `n + 1` idle.
#[test]
fn i4_exact_bound_on_one_thread() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 10);
    let held: Vec<_> = (0..50).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!(stats.idle, 11, "{stats:?}");
    assert_eq!(stats.dropped_by_cap, 39);
    assert_eq!(ledger.alive(), 11);
}

/// I6: a thread that exits strands nothing. Its idle objects (private stack
/// included) become reachable: another thread can take every one of them
/// without creating, and two trims drop them all.
#[test]
fn i6_exited_thread_strands_nothing() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 20);
    {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            let held: Vec<_> = (0..15).map(|_| pool.get()).collect();
            drop(held);
        })
        .join()
        .unwrap();
    }
    assert_eq!(pool.stats().idle, 15);
    let taken: Vec<_> = (0..15)
        .map(|_| pool.try_get().expect("reachable"))
        .collect();
    assert!(pool.try_get().is_none());
    assert_eq!(pool.stats().created, 15, "all reused, none created");
    drop(taken);
    // And they can be trimmed away once idle (they are on this thread now).
    pool.trim();
    pool.trim();
    assert_eq!(pool.stats().idle, 0);
    assert_eq!(ledger.alive(), 0);
}

/// I6 for trimming: objects an exited thread left behind are released by two
/// trims run from another thread, without anyone taking them.
#[test]
fn i6_exited_thread_objects_trimmed_from_elsewhere() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 20);
    let trimmer = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
            drop(held);
        })
    };
    trimmer.join().unwrap();
    assert_eq!(ledger.alive(), 10);
    let other = Arc::clone(&pool);
    thread::spawn(move || {
        other.trim();
        other.trim();
    })
    .join()
    .unwrap();
    assert_eq!(ledger.alive(), 0, "trims from another thread reached them");
    assert_eq!(pool.stats().dropped_by_trim, 10);
}

/// Thread churn: many short-lived threads in sequence, each using the pool
/// once. Each one finds the object the previous one left (its exit hook put
/// it where others can steal it), so one object serves them all; and each
/// adopts the shard the previous one gave up at exit, so one shard serves
/// them all too.
#[test]
fn short_lived_threads_reuse_objects_and_shards() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 4);
    for _ in 0..iters(200) {
        let pool = Arc::clone(&pool);
        thread::spawn(move || drop(pool.get())).join().unwrap();
    }
    let stats = pool.stats();
    assert_eq!(
        stats.created, 1,
        "every later thread reused the first object: {stats:?}"
    );
    assert_eq!(
        stats.shards, 1,
        "one shard, adopted by each thread in turn: {stats:?}"
    );
    assert_accounted(&stats, 0);
}

/// I1 and I6 for ownership: a guard taken on a thread that has since exited
/// (its shard given up, vacant), dropped by a thread that never used the
/// pool. The returning thread must adopt a shard like any other (so its exit
/// hook flushes what it keeps), not take the vacant shard for its own: a
/// thread with no token yet once compared equal to a shard with no owner,
/// and used it without adopting it, so two threads could own one shard and
/// the object stayed where no flush or trim reached it.
#[test]
fn a_fresh_thread_returning_a_guard_home_to_a_vacant_shard_adopts_properly() {
    let ledger = Ledger::new();
    let pool = tracked_pool(&ledger, 4);
    let taken = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || pool.get_owned()).join().unwrap()
    };
    // The taking thread has exited: its shard is vacant. A new thread, whose
    // first touch of any pool is this drop, returns the guard.
    thread::spawn(move || drop(taken)).join().unwrap();
    let stats = pool.stats();
    assert_accounted(&stats, 0);
    pool.trim();
    pool.trim();
    let stats = pool.stats();
    assert_eq!(
        (stats.idle, stats.dropped_by_trim),
        (0, 1),
        "the returned object was flushed at its thread's exit and trimmed: {stats:?}"
    );
    assert_eq!(ledger.alive(), 0);
}
