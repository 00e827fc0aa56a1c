//! Loom models of this crate's own code, with a `shardpool::Pool` inside.
//! Built only with `RUSTFLAGS="--cfg loom --cfg shardpool_loom"`.
//!
//! - `two_threads_share_the_pool`: two loom threads handle a request each
//!   while stealing the buffers the main thread warmed; every interleaving
//!   must count both requests and leave the pool's statistics consistent.
//! - `lost_update_is_found`: the same model over the handler's deliberately
//!   racy counter; loom must find the interleaving that loses a request (the
//!   test passes only if the model fails with that message).
//! - `crate_docs_example`: the example of shardpool's crate documentation
//!   ("Loom: model-checking code that uses a pool"), as written there.
//! - `an_ended_threads_private_objects_stay`,
//!   `flush_local_before_a_thread_ends`: what those docs say of a loom
//!   thread's end (no exit hook flushes its private stack) and advise.
#![cfg(all(loom, shardpool_loom))]

use loom::sync::Arc;
use loom::thread;
use loom_downstream::Handler;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

const RESPONSE_LEN: usize = "HTTP/1.1 200 OK\r\n\r\n/".len();

/// Runs `model` under loom with a preemption bound (`LOOM_MAX_PREEMPTIONS`,
/// default 2) and returns how many interleavings it explored.
fn explore(model: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(2);
    builder.check(move || {
        counter.fetch_add(1, SeqCst);
        model();
    });
    runs.load(SeqCst)
}

/// Two threads each handle one request with `handle`, then the main thread
/// checks the count and the pool's statistics.
fn two_requests(handle: fn(&Handler, &str) -> usize) {
    let handler = Arc::new(Handler::new());
    // Two idle buffers in the main thread's shared list: both workers miss
    // their own (new) shards and steal, racing each other's claims.
    handler.warm(2);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let handler = Arc::clone(&handler);
            thread::spawn(move || handle(&handler, "/"))
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), RESPONSE_LEN);
    }
    assert_eq!(handler.served(), 2, "lost update: a request went uncounted");
    let stats = handler.pool_stats();
    assert_eq!(stats.gets, 4, "{stats:?}"); // 2 to warm, 1 per worker
    assert_eq!(stats.in_use(), 0, "{stats:?}");
    assert_eq!(
        stats.created + stats.adopted,
        stats.idle + stats.dropped() + stats.detached,
        "every object accounted for: {stats:?}"
    );
}

#[test]
fn two_threads_share_the_pool() {
    let runs = explore(|| two_requests(Handler::handle));
    eprintln!("two_threads_share_the_pool: {runs} interleavings");
    // A model that explores one interleaving races nothing.
    assert!(runs > 1, "only {runs} interleaving explored");
}

#[test]
#[should_panic(expected = "lost update")]
fn lost_update_is_found() {
    explore(|| two_requests(Handler::handle_with_lost_update));
}

#[test]
fn crate_docs_example() {
    loom::model(|| {
        let pool = shardpool::Pool::new(Vec::<u8>::new);
        let other = pool.clone();
        let t = loom::thread::spawn(move || other.get().push(1));
        pool.get().push(2);
        t.join().unwrap();
        assert_eq!(pool.stats().in_use(), 0);
    });
}

/// A thread that returns an object and ends, then the main thread looks for
/// idle objects. One interleaving (the thread is joined before the main
/// thread touches the pool): these two check what the crate docs say about
/// a loom thread's end, so they fail if that changes.
fn object_left_by_an_ended_thread(flush_first: bool) -> Option<Vec<u8>> {
    let pool = shardpool::Pool::new(Vec::<u8>::new);
    let other = pool.clone();
    thread::spawn(move || {
        drop(other.get());
        if flush_first {
            other.flush_local();
        }
    })
    .join()
    .unwrap();
    assert_eq!(pool.stats().idle, 1);
    pool.try_get().map(shardpool::Pooled::detach)
}

#[test]
fn an_ended_threads_private_objects_stay() {
    loom::model(|| assert_eq!(object_left_by_an_ended_thread(false), None));
}

#[test]
fn flush_local_before_a_thread_ends() {
    loom::model(|| assert!(object_left_by_an_ended_thread(true).is_some()));
}
