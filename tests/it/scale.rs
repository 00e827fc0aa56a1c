//! I11 (cost independent of idle threads): what a get costs does not grow
//! with threads that have nothing to give, and what a pool keeps per thread
//! is bounded by the threads alive at once. Timing lives in the `scale` benchmark; these tests prove the
//! behaviour it times: with many idle shards a miss still creates (finding
//! nothing), a steal still finds the one shard that has objects, and shards
//! are reused, not accumulated, across thread churn, including churn whose
//! returns come from thread-local destructors.

use crate::common::iters;
use shardpool::{OwnedPooled, Pool, Pooled};
use std::cell::RefCell;
use std::sync::{Arc, Barrier};
use std::thread;

/// `idle` threads that each took one object and detached it (so each has a
/// shard with nothing in it) and now wait, alive, until the returned
/// barrier is passed by the caller too.
fn park_idle_threads(
    pool: &Pool<Vec<u8>>,
    idle: usize,
) -> (Arc<Barrier>, Vec<thread::JoinHandle<()>>) {
    let ready = Arc::new(Barrier::new(idle + 1));
    let done = Arc::new(Barrier::new(idle + 1));
    let threads = (0..idle)
        .map(|_| {
            let (pool, ready, done) = (pool.clone(), Arc::clone(&ready), Arc::clone(&done));
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    drop(Pooled::detach(pool.get()));
                    ready.wait();
                    done.wait();
                })
                .expect("spawning an idle thread")
        })
        .collect();
    ready.wait();
    (done, threads)
}

/// With many live threads holding empty shards, a get on an empty pool
/// creates, and gets served by one other thread's shared list steal from it:
/// the empty shards are neither a source nor an obstacle.
#[test]
fn many_idle_shards_neither_hide_nor_fake_objects() {
    let idle = if cfg!(miri) { 3 } else { 256 };
    let pool: Pool<Vec<u8>> = Pool::builder()
        .max_idle_per_thread(4096)
        .build(|| Vec::with_capacity(64));
    let (done, threads) = park_idle_threads(&pool, idle);
    assert_eq!(pool.stats().shards, idle as u64);

    // A miss: nothing anywhere, so it creates.
    let before = pool.stats();
    drop(Pooled::detach(pool.get()));
    let after = pool.stats();
    assert_eq!(after.created, before.created + 1, "{after:?}");

    // One more thread fills its shared list; the main thread's gets steal.
    let filled = iters(1000);
    let filler = pool.clone();
    thread::spawn(move || {
        let held: Vec<_> = (0..filled).map(|_| filler.get()).collect();
        drop(held);
        filler.flush_local();
    })
    .join()
    .unwrap();
    let before = pool.stats();
    let taken: Vec<_> = (0..filled).map(|_| pool.get()).collect();
    let after = pool.stats();
    assert_eq!(after.created, before.created, "every get reused: {after:?}");
    assert!(after.steals > before.steals, "{after:?}");
    drop(taken);

    done.wait();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

/// Threads that exit give their shard up; the next thread adopts it. With
/// two threads alive at a time, hundreds of them leave two shards.
#[test]
fn shards_follow_threads_alive_at_once() {
    let pool: Pool<Vec<u8>> = Pool::new(Vec::new);
    for _ in 0..iters(200) {
        let pair: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || drop(pool.get()))
            })
            .collect();
        pair.into_iter().for_each(|t| t.join().unwrap());
    }
    let stats = pool.stats();
    assert!(stats.shards <= 2, "{stats:?}");
}

thread_local! {
    /// Holds a guard until the thread's thread-locals are destroyed.
    static PARKED: RefCell<Option<OwnedPooled<Vec<u8>>>> = const { RefCell::new(None) };
}

/// Threads that return a guard from a thread-local destructor after another
/// crate's thread-local state (a `thread_local::ThreadLocal`'s thread id) is
/// gone, each followed by a thread that uses an unrelated pool: neither pool
/// gains a shard per thread. (The pool consults no other crate's
/// thread-local, so such a return cannot take, and leak, a fresh thread id
/// that would push every later thread onto a new shard.)
#[test]
fn returns_from_thread_local_destructors_leak_no_shards() {
    let parked: Pool<Vec<u8>> = Pool::new(Vec::new);
    let unrelated: Pool<Vec<u8>> = Pool::new(Vec::new);
    for _ in 0..iters(200) {
        let guard = parked.get_owned();
        thread::spawn(move || {
            // Registered first, so destroyed last.
            PARKED.with(|slot| *slot.borrow_mut() = Some(guard));
            let other_user = thread_local::ThreadLocal::<u8>::new();
            other_user.get_or(|| 1);
        })
        .join()
        .unwrap();
        let unrelated = unrelated.clone();
        thread::spawn(move || drop(unrelated.get())).join().unwrap();
    }
    let (parked, unrelated) = (parked.stats(), unrelated.stats());
    assert_eq!(unrelated.shards, 1, "{unrelated:?}");
    // The main thread's shard, and one each returning thread adopts in turn.
    assert_eq!(parked.shards, 2, "{parked:?}");
    assert_eq!(
        parked.returned, parked.gets,
        "every parked guard came back: {parked:?}"
    );
    assert_eq!(parked.dropped(), 0, "and was kept: {parked:?}");
}
