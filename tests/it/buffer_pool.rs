//! `BufferPool`: size classes over the sharded core, one budget across them.
//!
//! Every test here takes `SERIAL`, one at a time, so that their large
//! buffers are not all alive at once. The one that calls `trim_all` (which
//! trims every pool in the process) runs in a child process.

use proptest::prelude::*;
use shardpool::{BufferBuildError, BufferPool, BufferStats, OwnedPooledBuf, PooledBuf, Stats};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Largest request the range tests make: every class boundary of the
/// default pool natively; under Miri, up to 16 KiB.
const MAX_REQUEST: usize = if cfg!(miri) { 16 * KIB } else { 8 * MIB };

/// The budget test's budget and largest class (smaller under Miri, with
/// proportionally smaller requests).
const TEST_BUDGET: usize = if cfg!(miri) { 32 * KIB } else { 512 * KIB };

/// Scales iteration counts down under Miri.
const fn scaled(n: usize) -> usize {
    if cfg!(miri) { n.div_ceil(50) } else { n }
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 2 } else { n },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The class the default pool serves a request from.
fn class_of(n: usize) -> usize {
    n.next_power_of_two()
        .max(BufferPool::DEFAULT_MIN_CLASS_SIZE)
}

fn class(stats: &BufferStats, capacity: usize) -> &Stats {
    &stats
        .classes
        .iter()
        .find(|c| c.capacity == capacity)
        .unwrap_or_else(|| panic!("no class of {capacity} bytes"))
        .stats
}

/// The accounting identity of `Stats`, which must hold in every class and in
/// the total once the pool is quiet and no buffer is out.
fn assert_balanced(stats: &BufferStats) {
    for c in stats.classes.iter().map(|c| &c.stats).chain([&stats.total]) {
        assert_eq!(
            c.created + c.adopted,
            c.detached + c.dropped() + c.idle,
            "{c:?}"
        );
        assert_eq!(
            c.gets,
            c.private_hits + c.shared_hits + c.steals + c.created,
            "{c:?}"
        );
    }
}

/// The guards and the pool can go where servers need them: owned guards into
/// spawned threads and tasks, borrowed guards across scoped threads.
#[test]
fn thread_safety_of_the_public_types() {
    fn send_sync<T: Send + Sync>() {}
    fn send_static<T: Send + 'static>() {}
    send_sync::<BufferPool>();
    send_sync::<PooledBuf<'static>>();
    send_sync::<OwnedPooledBuf>();
    send_static::<OwnedPooledBuf>();
}

/// Every request size from 0 through the smallest classes, and around every
/// class boundary up to the top, gets an empty buffer from the smallest class
/// that fits; requests above the top get exactly what they asked for. Holds
/// for fresh and for reused buffers.
#[test]
fn every_size_gets_an_empty_buffer_of_its_class() {
    let _serial = serial();
    let pool = BufferPool::new();
    let mut sizes: Vec<usize> = (0..=scaled(20 * KIB))
        .step_by(if cfg!(miri) { 7 } else { 1 })
        .collect();
    for shift in (8..usize::BITS).take_while(|&s| 1usize << s <= MAX_REQUEST) {
        let s = 1usize << shift;
        sizes.extend([s - 1, s, s + 1]);
    }
    for n in sizes {
        for _ in 0..2 {
            let buf = pool.get(n);
            assert_eq!(buf.len(), 0, "request {n}");
            assert!(
                buf.capacity() >= n,
                "request {n}: capacity {}",
                buf.capacity()
            );
            let want = if n <= 4 * MIB { class_of(n) } else { n };
            assert_eq!(buf.capacity(), want, "request {n}");
        }
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// For any class range and any request, `get` returns an empty buffer
    /// with at least the requested capacity, rounded to the smallest class
    /// (or exact above the top), and a dirty reused buffer comes back empty.
    #[test]
    fn capacity_guarantee_for_any_range(
        min_shift in 0u32..12,
        span in 0u32..10,
        requests in prop::collection::vec(0..MAX_REQUEST, 1..40),
    ) {
        let _serial = serial();
        let (min, max) = (1usize << min_shift, 1usize << (min_shift + span));
        let pool = BufferPool::builder().min_class_size(min).max_class_size(max).build();
        prop_assert_eq!(pool.class_sizes().collect::<Vec<_>>().len(), span as usize + 1);
        for n in requests {
            let mut buf = pool.get(n);
            prop_assert_eq!(buf.len(), 0);
            prop_assert!(buf.capacity() >= n);
            let want = if n <= max { n.next_power_of_two().max(min) } else { n };
            prop_assert_eq!(buf.capacity(), want);
            buf.push(0xAB); // dirty it; the next get of this class must not see it
        }
        prop_assert_eq!(pool.stats().total.in_use(), 0);
    }
}

proptest! {
    #![proptest_config(cases(12))]

    /// The budget is never exceeded: under random sizes on several threads
    /// that hold and release batches of buffers, the bytes charged to the
    /// budget never pass it, and once the threads are done (but still alive,
    /// holding their private stacks) the idle bytes are within the budget
    /// plus the documented slack per thread (`max_private_bytes_per_thread`:
    /// 16 KiB per class up to 64 KiB). Each thread ends with a burst of four
    /// top-class buffers, so the budget always binds (returns are dropped by
    /// it) and the bound is tested at its limit.
    #[test]
    fn budget_is_never_exceeded(
        sizes in prop::collection::vec(1..TEST_BUDGET, scaled(64)..scaled(256)),
        hold in 2usize..24,
    ) {
        let _serial = serial();
        const THREADS: usize = 3;
        const BUDGET: usize = TEST_BUDGET;
        let pool = Arc::new(
            BufferPool::builder()
                .max_class_size(TEST_BUDGET)
                .max_idle_bytes(BUDGET)
                .build(),
        );
        let sizes = Arc::new(sizes);
        let quiet = Arc::new(Barrier::new(THREADS + 1));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, sizes) = (Arc::clone(&pool), Arc::clone(&sizes));
                let quiet = Arc::clone(&quiet);
                thread::spawn(move || {
                    let mut held = Vec::new();
                    let mut worst = 0;
                    for (i, &n) in sizes.iter().cycle().skip(t * 7).take(sizes.len() * 2).enumerate() {
                        held.push(pool.get(n));
                        if i % hold == 0 {
                            held.clear();
                            worst = worst.max(pool.stats().charged_bytes);
                        }
                    }
                    held.clear();
                    held.extend((0..4).map(|_| pool.get(TEST_BUDGET)));
                    held.clear();
                    let worst = worst.max(pool.stats().charged_bytes);
                    quiet.wait(); // done; main checks while we still hold our slots
                    quiet.wait();
                    worst
                })
            })
            .collect();
        let mut worst = 0;
        for _ in 0..scaled(200) {
            worst = worst.max(pool.stats().charged_bytes);
            thread::yield_now();
        }
        quiet.wait();
        let stats = pool.stats();
        quiet.wait();
        for w in workers {
            worst = worst.max(w.join().unwrap());
        }
        prop_assert!(worst <= BUDGET as u64, "charged {worst} > budget {BUDGET}");
        let slack = pool.max_private_bytes_per_thread() * THREADS;
        prop_assert!(stats.charged_bytes <= BUDGET as u64);
        prop_assert!(
            stats.total.idle_bytes <= (BUDGET + slack) as u64,
            "idle {} > budget {BUDGET} + slack {slack}", stats.total.idle_bytes
        );
        assert_balanced(&stats);
        prop_assert!(stats.total.dropped_by_budget > 0, "{stats:?}");
    }
}

/// A request above the top class is allocated at exactly its size, handed
/// out, and dropped on return: nothing idle, nothing charged, nothing created
/// in any class.
#[test]
fn oversize_requests_are_not_retained() {
    let _serial = serial();
    let pool = BufferPool::builder().max_class_size(64 * KIB).build();
    for n in [64 * KIB + 1, 100 * KIB, 3 * MIB] {
        let buf = pool.get(n);
        assert_eq!((buf.len(), buf.capacity()), (0, n));
        drop(buf);
    }
    let arc = Arc::new(pool);
    drop(arc.get_owned(128 * KIB));
    let stats = arc.stats();
    assert_eq!(
        (stats.oversize_gets, stats.dropped_oversize),
        (4, 4),
        "{stats:?}"
    );
    assert_eq!((stats.total.created, stats.total.idle), (0, 0), "{stats:?}");
    assert_eq!(stats.charged_bytes, 0);
}

/// A size no `Vec<u8>` can have panics with a message that says so, before
/// anything is counted: a get that produced nothing is not an oversize get
/// (it used to panic inside `Vec::with_capacity` and stay counted).
#[test]
fn an_impossible_size_panics_clearly_and_counts_nothing() {
    let _serial = serial();
    let pool = BufferPool::builder().max_class_size(64 * KIB).build();
    drop(pool.get(100 * KIB));
    for n in [usize::MAX, isize::MAX as usize + 1] {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.get(n)))
            .expect_err("no Vec<u8> can hold that many bytes");
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(message.contains("isize::MAX"), "unclear panic: {message:?}");
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.oversize_gets, stats.dropped_oversize),
        (1, 1),
        "{stats:?}"
    );
    assert_balanced(&stats);
}

/// A buffer that grows while out goes back to the class it now fits (the
/// largest class not above its capacity), counted as detached from its old
/// class and adopted by the new one, and is reused from there; one that grows
/// past the top class is dropped.
#[test]
fn grown_buffers_move_to_the_class_they_fit() {
    let _serial = serial();
    let pool = BufferPool::builder().max_class_size(16 * KIB).build();
    let mut buf = pool.get(1000);
    assert_eq!(buf.capacity(), 1024);
    buf.reserve_exact(3000); // capacity 3000: the 2 KiB class
    assert_eq!(buf.capacity(), 3000);
    drop(buf);
    let stats = pool.stats();
    assert_eq!(class(&stats, 1024).detached, 1);
    assert_eq!(
        (class(&stats, 2048).adopted, class(&stats, 2048).idle),
        (1, 1)
    );
    assert_eq!(stats.reclassified, 1);
    let again = pool.get(2048);
    assert_eq!(again.capacity(), 3000, "the regrown buffer is reused");
    drop(again);

    let mut big = pool.get(16 * KIB);
    big.reserve_exact(32 * KIB); // past the top class
    drop(big);
    let stats = pool.stats();
    assert_eq!(stats.dropped_oversize, 1);
    assert_eq!(class(&stats, 16 * KIB).idle, 0);
    assert_eq!(stats.total.created, 2);
    assert_balanced(&stats);
}

/// Buffers taken on one thread and dropped on another land in the dropping
/// thread's shard of the right class; after that thread exits, its buffers are
/// reused by the first (stolen, not created anew), and the stats say so.
#[test]
fn cross_thread_returns_are_reused() {
    let _serial = serial();
    let pool = Arc::new(BufferPool::new());
    let sizes = [300, 5000, 5000, 70 * KIB, 70 * KIB, MIB];
    let out: Vec<OwnedPooledBuf> = sizes.iter().map(|&n| pool.get_owned(n)).collect();
    let created = pool.stats().total.created;
    assert_eq!(created, sizes.len() as u64);
    thread::spawn(move || drop(out)).join().unwrap();

    let stats = pool.stats();
    assert_eq!(stats.total.returned, sizes.len() as u64);
    assert_eq!(stats.total.idle, sizes.len() as u64, "{stats:?}");
    assert_eq!(class(&stats, 8 * KIB).idle, 2);
    assert_eq!(class(&stats, 128 * KIB).idle, 2);

    let back: Vec<PooledBuf<'_>> = sizes.iter().map(|&n| pool.get(n)).collect();
    let stats = pool.stats();
    assert_eq!(
        stats.total.created, created,
        "every buffer was reused: {stats:?}"
    );
    assert!(stats.total.steals > 0 && stats.total.stolen == sizes.len() as u64);
    drop(back);
    assert_balanced(&pool.stats());
}

/// Two trims with no use in between drop every idle buffer of every class:
/// the shared lists of all threads (here: exited ones, whose private stacks
/// were flushed to them) and the calling thread's private stacks.
#[test]
fn two_trims_empty_every_class() {
    let _serial = serial();
    // A budget large enough for everything `fill` returns (about 16 MiB a thread).
    let pool = Arc::new(BufferPool::builder().max_idle_bytes(128 * MIB).build());
    let fill = |pool: &BufferPool| {
        let held: Vec<_> = (0..15)
            .flat_map(|c| [pool.get(256 << c), pool.get(256 << c)])
            .collect();
        drop(held);
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let pool = Arc::clone(&pool);
            thread::spawn(move || fill(&pool))
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    fill(&pool);
    let before = pool.stats();
    assert!(
        before.classes.iter().all(|c| c.stats.idle >= 2),
        "{before:?}"
    );
    assert!(before.charged_bytes > 0);

    pool.trim();
    assert_eq!(
        pool.stats().total.idle,
        before.total.idle,
        "one trim keeps everything"
    );
    let dropped = pool.trim();
    let after = pool.stats();
    assert_eq!(dropped, before.total.idle);
    assert!(after.classes.iter().all(|c| c.stats.idle == 0), "{after:?}");
    assert_eq!((after.total.idle_bytes, after.charged_bytes), (0, 0));
    assert_balanced(&after);
}

/// `trim_all` reaches a `BufferPool`'s classes: each is a registered pool.
/// (In a child process: `trim_all` trims every pool in the process.)
#[test]
fn trim_all_reaches_every_class() {
    crate::child::isolated(module_path!(), "trim_all_reaches_every_class", || {
        let _serial = serial();
        let pool = BufferPool::new();
        for c in 0..15 {
            drop(pool.get(256 << c));
        }
        assert_eq!(pool.stats().total.idle, 15);
        shardpool::trim_all();
        shardpool::trim_all();
        let stats = pool.stats();
        assert_eq!(
            (stats.total.idle, stats.total.dropped_by_trim),
            (0, 15),
            "{stats:?}"
        );
        assert_eq!(stats.charged_bytes, 0);
        format!("{:?}", stats.total)
    });
}

/// `detach` takes a buffer out of the pool's care (counted); `put` hands any
/// `Vec<u8>` in, to the class its capacity fits, cleared, or drops it
/// (counted) if it fits no class.
#[test]
fn detach_and_put() {
    let _serial = serial();
    let pool = BufferPool::new();
    let mut buf = pool.get(4000);
    buf.extend_from_slice(b"keep me");
    let kept = PooledBuf::detach(buf);
    assert_eq!(&kept[..], b"keep me");
    assert_eq!(class(&pool.stats(), 4096).detached, 1);

    pool.put(kept);
    let reused = pool.get(4096);
    assert!(reused.is_empty(), "put clears");
    assert_eq!(class(&pool.stats(), 4096).adopted, 1);
    assert_eq!(class(&pool.stats(), 4096).created, 1, "reused, not created");
    drop(reused);

    pool.put(Vec::with_capacity(3000)); // not a power of two: the 2 KiB class
    assert_eq!(pool.get(2048).capacity(), 3000);
    pool.put(Vec::with_capacity(100)); // below the smallest class
    pool.put(Vec::with_capacity(8 * MIB)); // above the largest
    let arc = Arc::new(pool);
    let owned = arc.get_owned(10);
    assert_eq!(OwnedPooledBuf::detach(owned).capacity(), 256);
    let stats = arc.stats();
    assert_eq!((stats.dropped_undersize, stats.dropped_oversize), (1, 1));
    assert_eq!(class(&stats, 256).detached, 1);
    assert_balanced(&stats);
}

/// A guard dropped during a panic returns its buffer cleared (the class
/// policy is `clear`, which accepts any buffer), and the pool stays usable.
#[test]
fn panic_while_holding_a_buffer() {
    let _serial = serial();
    let pool = BufferPool::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut buf = pool.get(100);
        buf.extend_from_slice(b"half-written");
        panic!("handler failed");
    }));
    assert!(result.is_err());
    let buf = pool.get(100);
    assert!(buf.is_empty());
    assert_eq!(class(&pool.stats(), 256).created, 1);
}

/// Several buffer pools and a plain pool used in turn on one thread keep
/// each other's buffers: after the first round, nothing is created again.
/// (zeropool's thread-local cache drops its buffers when a thread switches
/// pools; here a switch can at worst cost a lookup.)
#[test]
fn many_pools_on_one_thread_keep_their_buffers() {
    let _serial = serial();
    let pools: Vec<BufferPool> = (0..3).map(|_| BufferPool::new()).collect();
    let plain = shardpool::Pool::new(|| Vec::<u8>::with_capacity(512));
    let sizes = [100, 3000, 20 * KIB, 200 * KIB];
    for round in 0..scaled(50) {
        for pool in &pools {
            for &n in &sizes {
                let _buf = pool.get(n);
                let _other = plain.get();
            }
        }
        if round == 0 {
            continue;
        }
        for pool in &pools {
            assert_eq!(pool.stats().total.created, sizes.len() as u64);
        }
        assert_eq!(plain.stats().created, 1);
    }
}

/// Invalid configurations are refused with a reason, and sizes round up to
/// powers of two.
#[test]
fn builder_validation() {
    let _serial = serial();
    let err = BufferPool::builder()
        .min_class_size(4096)
        .max_class_size(1000)
        .try_build()
        .unwrap_err();
    assert_eq!(
        err,
        BufferBuildError::EmptyClassRange {
            min: 4096,
            max: 1024
        }
    );
    assert!(matches!(
        BufferPool::builder().max_class_size(usize::MAX).try_build(),
        Err(BufferBuildError::ClassTooLarge { .. })
    ));
    assert!(matches!(
        BufferPool::builder()
            .max_idle_per_thread(usize::MAX)
            .try_build(),
        Err(BufferBuildError::Pool(_))
    ));
    let pool = BufferPool::builder()
        .min_class_size(300)
        .max_class_size(5000)
        .max_idle_bytes(1 << 20)
        .build();
    assert_eq!(
        pool.class_sizes().collect::<Vec<_>>(),
        [512, 1024, 2048, 4096, 8192]
    );
    assert_eq!(
        (pool.max_idle_bytes(), pool.max_idle_per_thread()),
        (1 << 20, 31)
    );
    let defaults = BufferPool::new();
    assert_eq!(
        (defaults.min_class_size(), defaults.max_class_size()),
        (256, 4 * MIB)
    );
    assert_eq!(
        defaults.max_idle_bytes(),
        BufferPool::DEFAULT_MAX_IDLE_BYTES
    );
}

/// Small classes keep up to 16 KiB of buffers per thread (at most 8) in the
/// private stack, uncharged; the next one goes to the shared list, charged.
/// That slack is what `max_private_bytes_per_thread` reports.
#[test]
fn small_classes_keep_a_few_buffers_outside_the_budget() {
    let _serial = serial();
    let pool = BufferPool::new();
    for (size, private) in [
        (256, 8),
        (2 * KIB, 8),
        (4 * KIB, 4),
        (8 * KIB, 2),
        (64 * KIB, 1),
    ] {
        let held: Vec<_> = (0..=private).map(|_| pool.get(size)).collect();
        drop(held);
        let stats = pool.stats();
        assert_eq!(class(&stats, size).idle, private as u64 + 1);
        assert_eq!(stats.charged_bytes, size as u64, "all but one are private");
        pool.trim();
        pool.trim();
    }
    let per_class = [
        256 * 8,
        512 * 8,
        KIB * 8,
        2 * KIB * 8,
        4 * KIB * 4,
        8 * KIB * 2,
    ]
    .iter()
    .sum::<usize>()
        + 16 * KIB
        + 32 * KIB
        + 64 * KIB;
    assert_eq!(pool.max_private_bytes_per_thread(), per_class);
    assert_eq!(per_class, 174 * KIB);

    // A shard that may hold only one buffer holds it privately: one per class.
    let one = BufferPool::builder().max_idle_per_thread(0).build();
    let held: Vec<_> = (0..2).map(|_| one.get(256)).collect();
    drop(held);
    assert_eq!(class(&one.stats(), 256).idle, 1);
    assert_eq!(class(&one.stats(), 256).dropped_by_cap, 1);
    assert_eq!(one.max_private_bytes_per_thread(), 128 * KIB - 256);
}

/// Large classes (above 64 KiB) keep nothing private: a returned large buffer
/// is charged to the budget at once, so the budget covers it exactly; with a
/// budget too small for it, it is dropped rather than kept as slack.
#[test]
fn large_classes_are_charged_in_full() {
    let _serial = serial();
    let pool = BufferPool::builder().max_idle_bytes(200 * KIB).build();
    drop(pool.get(100 * KIB));
    let stats = pool.stats();
    assert_eq!(stats.charged_bytes, 128 * KIB as u64);
    assert_eq!(class(&stats, 128 * KIB).idle, 1);
    drop(pool.get(MIB)); // over the budget: not kept
    let stats = pool.stats();
    assert_eq!(class(&stats, MIB).dropped_by_budget, 1);
    assert_eq!(stats.charged_bytes, 128 * KIB as u64);
    drop(pool.get(4 * KIB)); // small: the private slot, uncharged
    assert_eq!(pool.stats().charged_bytes, 128 * KIB as u64);

    // Concurrent holders share what the budget allows.
    let pool = Arc::new(BufferPool::builder().max_idle_bytes(MIB).build());
    let barrier = Arc::new(Barrier::new(2));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, barrier) = (Arc::clone(&pool), Arc::clone(&barrier));
            thread::spawn(move || {
                let held: Vec<_> = (0..4).map(|_| pool.get(256 * KIB)).collect();
                barrier.wait();
                drop(held);
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    let stats = pool.stats();
    assert_eq!(stats.charged_bytes, MIB as u64);
    assert_eq!(class(&stats, 256 * KIB).idle, 4);
    assert_eq!(class(&stats, 256 * KIB).dropped_by_budget, 4);
}

/// `BufferPool` is a cheap `Clone` handle, like `Pool`: clones share the
/// classes, budget and statistics; `get_owned` takes `&self`; an owned
/// guard's `pool` is a handle to the same pool; `detach_boxed` keeps the box
/// and counts the buffer as detached.
#[test]
fn clone_handles_share_one_pool() {
    let pool = BufferPool::new();
    let handle = pool.clone();
    drop(handle.get(1000)); // into this thread's 1 KiB class
    let owned = pool.get_owned(1000); // the same buffer, through the other handle
    assert_eq!(pool.stats().total.created, 1);
    let back = OwnedPooledBuf::pool(&owned);
    assert_eq!(back.stats(), handle.stats());
    drop(owned);
    let boxed: Box<Vec<u8>> = PooledBuf::detach_boxed(pool.get(1000));
    assert_eq!(boxed.capacity(), 1024);
    let stats = pool.stats().total;
    assert_eq!((stats.detached, stats.idle), (1, 0), "{stats:?}");
    pool.put(*boxed);
    assert_eq!(handle.stats().total.adopted, 1);
}
