//! `Stats`: each counter counts what its name says: the paths of a get,
//! returns and drops by cause, detach and put, shards and hit rate. (The
//! accounting identity that ties them together is checked wherever objects
//! move: `invariants.rs`, `model.rs`, `callbacks/`.)

use shardpool::Pool;
use std::sync::Arc;
use std::thread;

/// The paths of a get, one by one: private hit, own shared list, steal, create.
#[test]
fn each_get_path_is_counted() {
    let pool = Arc::new(
        Pool::builder()
            .max_idle_per_thread(64)
            .build(|| vec![0u8; 16]),
    );
    drop(pool.get()); // created, returned to the private stack
    drop(pool.get()); // private hit
    let s = pool.stats();
    assert_eq!(
        (s.gets, s.created, s.private_hits, s.returned),
        (2, 1, 1, 2),
        "{s:?}"
    );

    // 40 returns: 32 private, 8 shared. Taking 40 back: 32 private hits, then
    // a refill from our own shared list.
    let held: Vec<_> = (0..40).map(|_| pool.get()).collect();
    drop(held);
    let before = pool.stats();
    let held: Vec<_> = (0..40).map(|_| pool.get()).collect();
    let after = pool.stats();
    assert_eq!(after.created, before.created, "all reused");
    assert_eq!(
        after.private_hits - before.private_hits + after.shared_hits - before.shared_hits,
        40
    );
    assert!(after.shared_hits > before.shared_hits, "{after:?}");
    drop(held);

    // Another thread with nothing of its own steals a batch.
    let other = Arc::clone(&pool);
    let stole = thread::spawn(move || {
        let g = other.get();
        drop(g);
        other.stats()
    })
    .join()
    .unwrap();
    assert_eq!(stole.steals, 1, "{stole:?}");
    assert!(stole.stolen > 1, "a steal takes a batch: {stole:?}");
    assert_eq!(stole.created, after.created);
}

/// `returned` counts every hand-back; drops are split by cause.
#[test]
fn returns_and_drops_by_cause() {
    let pool = Pool::builder()
        .max_idle_per_thread(0)
        .reset(|v: &mut Vec<u8>| v.len() < 10)
        .build(Vec::new);
    let mut big = pool.get();
    big.resize(20, 0);
    drop(big); // policy
    drop(pool.get()); // kept (private)
    let (a, b) = (pool.get(), pool.get());
    drop((a, b)); // one kept, one over the cap
    let s = pool.stats();
    assert_eq!(s.returned, 4, "{s:?}");
    assert_eq!(
        (s.dropped_by_policy, s.dropped_by_cap, s.idle),
        (1, 1, 1),
        "{s:?}"
    );
    assert_eq!(s.dropped(), 2);
    assert_eq!(s.in_use(), 0);
}

/// `shards` counts threads that used the pool; `hit_rate` is reuse per get.
/// The second thread cannot reach the first one's private stack, so it
/// creates: 2 of 4 gets reused.
#[test]
fn shards_and_hit_rate() {
    let pool = Arc::new(Pool::new(|| 0u32));
    for _ in 0..3 {
        drop(pool.get());
    }
    let other = Arc::clone(&pool);
    thread::spawn(move || drop(other.get())).join().unwrap();
    let s = pool.stats();
    assert_eq!(s.shards, 2, "{s:?}");
    assert!(
        (s.hit_rate() - 0.5).abs() < 1e-9,
        "2 of 4 gets reused: {s:?}"
    );
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
