//! Trimming: I5 (after two trims with no use in between, every idle object
//! is dropped), Go's victim rule behind it, what one trim reaches and what
//! waits for its owner thread, `flush_local`, and `trim_all`. What trimming
//! gives back in bytes, and I10 (bookkeeping bounded by use, not by caps),
//! are measured in `tests/memory.rs`, which counts the heap.

use crate::common::Ledger;
use shardpool::Pool;
use std::sync::Arc;
use std::thread;

/// The victim rule on one thread: an object used between two trims survives
/// the second; one not used does not.
#[test]
fn used_between_trims_survives_unused_does_not() {
    let pool = Pool::new(|| Vec::<u8>::with_capacity(64));
    let (a, b) = (pool.get(), pool.get());
    let (a_ptr, b_ptr) = (a.as_ptr(), b.as_ptr());
    drop(b);
    drop(a); // `a` on top of the private stack
    pool.trim();
    let a = pool.get(); // use `a` between the trims
    assert_eq!(a.as_ptr(), a_ptr);
    drop(a);
    pool.trim();
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.dropped_by_trim), (1, 1), "{stats:?}");
    let survivor = pool.get();
    assert_eq!(survivor.as_ptr(), a_ptr, "the used object survived");
    assert_ne!(survivor.as_ptr(), b_ptr);
}

/// I5: after two trims with no use in between, every idle object is dropped:
/// in this thread's private stack, in its shared list, and in the shared
/// lists of exited threads.
#[test]
fn two_idle_trims_drop_everything_reachable() {
    let ledger = Ledger::new();
    let pool = {
        let ledger = Arc::clone(&ledger);
        Arc::new(
            Pool::builder()
                .max_idle_per_thread(50)
                .build(move || ledger.make()),
        )
    };
    let held: Vec<_> = (0..40).map(|_| pool.get()).collect(); // private 26 + shared 14
    drop(held);
    {
        // Steals part of our shared list, creates the rest, and exits.
        let pool = Arc::clone(&pool);
        thread::spawn(move || drop((0..30).map(|_| pool.get()).collect::<Vec<_>>()))
            .join()
            .unwrap();
    }
    let alive = ledger.alive() as u64;
    assert!(alive > 40, "the other thread created some: {alive}");
    assert_eq!(pool.stats().idle, alive);
    let first = pool.trim();
    assert_eq!(
        first, 0,
        "one trim drops nothing: everything survives one clearing"
    );
    assert_eq!(pool.trim(), alive);
    assert_eq!(ledger.alive(), 0);
    assert_eq!(pool.stats().idle, 0);
}

/// What a trim cannot reach: another live thread's private stack. The bound
/// is documented (at most 32 objects per such thread) and those objects go
/// at that thread's next operation on the pool, or its `flush_local`.
#[test]
fn other_live_threads_private_stacks_wait_for_their_owner() {
    let ledger = Ledger::new();
    let pool = {
        let ledger = Arc::clone(&ledger);
        Arc::new(Pool::builder().build(move || ledger.make()))
    };
    let (to_worker, worker_rx) = std::sync::mpsc::channel::<&'static str>();
    let (to_main, main_rx) = std::sync::mpsc::channel::<usize>();
    let worker = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            drop((0..5).map(|_| pool.get()).collect::<Vec<_>>()); // 5 private
            to_main.send(0).unwrap();
            for command in worker_rx {
                match command {
                    "touch" => drop(pool.get()),
                    "flush" => pool.flush_local(),
                    _ => break,
                }
                to_main.send(0).unwrap();
            }
        })
    };
    main_rx.recv().unwrap();
    pool.trim();
    pool.trim();
    assert_eq!(
        ledger.alive(),
        5,
        "a live thread's private stack is out of reach"
    );
    // Its next operation applies the victim rule: the four untouched objects
    // go; the one it uses now survives.
    to_worker.send("touch").unwrap();
    main_rx.recv().unwrap();
    assert_eq!(ledger.alive(), 1);
    // `flush_local` moves the rest to where any thread's trims reach it.
    to_worker.send("flush").unwrap();
    main_rx.recv().unwrap();
    pool.trim();
    pool.trim();
    assert_eq!(ledger.alive(), 0);
    to_worker.send("stop").unwrap();
    worker.join().unwrap();
}

/// `trim_all` trims every live pool in the process, whatever its type. (In a
/// child process: it trims every pool in the process.)
#[test]
fn trim_all_reaches_every_pool() {
    crate::child::isolated(module_path!(), "trim_all_reaches_every_pool", || {
        let strings = Pool::new(String::new);
        let vecs = Pool::new(Vec::<u64>::new);
        drop(strings.get());
        drop(vecs.get());
        shardpool::trim_all();
        shardpool::trim_all();
        assert_eq!(strings.stats().idle, 0);
        assert_eq!(vecs.stats().idle, 0);
        assert!(strings.stats().trims >= 2);
        format!("{:?}", strings.stats())
    });
}

/// Trimming an empty pool, and trimming often, is harmless.
#[test]
fn trimming_empty_and_repeatedly() {
    let pool = Pool::new(|| 0u64);
    for _ in 0..10 {
        assert_eq!(pool.trim(), 0);
    }
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1);
    assert_eq!(pool.stats().trims, 10);
}
