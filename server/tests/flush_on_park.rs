//! The `on_thread_park` recipe: a multi-thread tokio runtime whose workers
//! call `shardpool::flush_local_all` when they park. A trim from another
//! thread cannot reach a live worker's private stack; after the flush it
//! does not need to, so once the workers have parked, two trims from the
//! test thread leave nothing idle.
//!
//! It lives in this package because it needs tokio, which the `shardpool`
//! crate's own tests do without.

use shardpool::Pool;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// Builds the runtime: two workers; with `flush`, each calls
/// `flush_local_all` when it parks. Either way a parking worker then
/// removes itself from `dirty`, the set of workers that used the pool since
/// they last parked.
fn runtime(flush: bool, dirty: &Arc<Mutex<HashSet<ThreadId>>>) -> tokio::runtime::Runtime {
    let dirty = Arc::clone(dirty);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_park(move || {
            if flush {
                shardpool::flush_local_all();
            }
            dirty.lock().unwrap().remove(&thread::current().id());
        })
        .build()
        .unwrap()
}

/// Runs 64 tasks that each hold three buffers across an await on the
/// runtime's workers, waits until every worker that touched the pool has
/// parked since, then trims twice from this thread. Returns what is left
/// idle.
fn idle_after_park_and_two_trims(flush: bool) -> u64 {
    let dirty = Arc::new(Mutex::new(HashSet::new()));
    let rt = runtime(flush, &dirty);
    let pool = Pool::builder()
        .name(format!("flush-on-park/{flush}"))
        .build(|| Vec::<u8>::with_capacity(256));
    rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (pool, dirty) = (pool.clone(), Arc::clone(&dirty));
                tokio::spawn(async move {
                    let held = [pool.get_owned(), pool.get_owned(), pool.get_owned()];
                    tokio::task::yield_now().await;
                    drop(held);
                    // Before this task ends, so before the worker can park.
                    dirty.lock().unwrap().insert(thread::current().id());
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dirty.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "workers did not park within 10 s"
        );
        thread::sleep(Duration::from_millis(1));
    }
    // Read once quiet: a flush moving objects while `stats` adds up could
    // make the snapshot a step off.
    let before = pool.stats();
    assert!(before.idle > 0 && before.in_use() == 0, "{before:?}");
    pool.trim();
    pool.trim();
    let idle = pool.stats().idle;
    drop(rt);
    idle
}

/// With the recipe, nothing stays idle after the workers park and two trims.
#[test]
fn flush_on_park_lets_two_trims_free_everything() {
    assert_eq!(idle_after_park_and_two_trims(true), 0);
}

/// Without it the workers' private stacks keep their objects through any
/// number of trims from another thread (this is what the recipe fixes, and
/// what makes the test above able to fail).
#[test]
fn without_flush_workers_keep_their_private_objects() {
    assert!(idle_after_park_and_two_trims(false) > 0);
}
