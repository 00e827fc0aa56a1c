//! Where a return goes when the private stack is full: the shared list, one
//! object at a time for a thread that also gets, half the stack at once for
//! a thread that only returns. Either way nothing moves back and forth: a
//! thread that holds a few more objects than its stack has room for settles
//! with the extras in its shared list (I3's fast path stays the common
//! case), and what a consumer returns stays reachable from other threads.

use shardpool::Pool;
use std::sync::Arc;
use std::thread;

/// Private stack of a pool with `max_idle_per_thread(256)`.
const STACK: usize = 32;

fn pool() -> Pool<Vec<u8>> {
    Pool::builder()
        .reset(|b: &mut Vec<u8>| {
            b.clear();
            true
        })
        .max_idle_per_thread(256)
        .build(|| Vec::with_capacity(64))
}

/// Held `STACK + extra` once, then `STACK` at a time: after the first round
/// every get is a private hit. (Spilling half the stack whenever it filled
/// made each round refill and spill the same half: a shared-list hit per
/// round for any `extra` above 1.)
#[test]
fn a_thread_holding_a_few_more_than_a_stack_settles() {
    for extra in [1, 2, 8, 16, 17, 31, 64, 200] {
        let pool = pool();
        let warm: Vec<_> = (0..STACK + extra).map(|_| pool.get()).collect();
        drop(warm);
        let mut held = Vec::with_capacity(STACK);
        // One round to settle.
        held.extend((0..STACK).map(|_| pool.get()));
        held.clear();
        let before = pool.stats();
        for _ in 0..50 {
            held.extend((0..STACK).map(|_| pool.get()));
            held.clear();
        }
        let after = pool.stats();
        assert_eq!(after.created, before.created, "extra {extra}: {after:?}");
        assert_eq!(
            after.private_hits - before.private_hits,
            50 * STACK as u64,
            "extra {extra}: every get a private hit; before {before:?}, after {after:?}"
        );
        assert_eq!(after.dropped_by_cap, 0, "extra {extra}: {after:?}");
    }
}

/// A consumer returns what a producer got: its stack fills, then overflows
/// to the shared list, and the producer reuses all but what the consumer's
/// stack holds.
#[test]
fn what_a_consumer_returns_stays_reachable() {
    let pool = Arc::new(pool());
    let n = 200;
    let guards: Vec<_> = (0..n).map(|_| pool.get_owned()).collect();
    let consumer = thread::spawn(move || drop(guards));
    consumer.join().unwrap();
    let created = pool.stats().created;
    assert_eq!(created, n as u64);
    // The consumer's shard is vacant now (its thread exited and flushed it
    // to the shared list), so all of it is reachable; but first from a
    // consumer that is still alive:
    let guards: Vec<_> = (0..n).map(|_| pool.get_owned()).collect();
    assert_eq!(pool.stats().created, created, "all reused");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let consumer = thread::spawn(move || {
        drop(guards);
        done_tx.send(()).unwrap();
        // Stay alive (owning the shard) while the producer takes.
        go_rx.recv().unwrap();
    });
    done_rx.recv().unwrap();
    let reused: Vec<_> = (0..n - STACK).map(|_| pool.get()).collect();
    let stats = pool.stats();
    go_tx.send(()).unwrap();
    consumer.join().unwrap();
    assert_eq!(stats.created, created, "{stats:?}");
    assert_eq!(reused.len(), n - STACK);
}
