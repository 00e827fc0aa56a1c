//! Idle memory comes back: I5 (two trims release everything idle) and I10
//! (bookkeeping bounded by use, not by caps), measured with a counting global
//! allocator, so "back to the pre-burst level" means live heap bytes.
//!
//! Tests here measure the whole process's heap, so they take a lock and run
//! one at a time.

mod common;

use common::iters;
use proptest::prelude::*;
use shardpool::{BackgroundTrimmer, Pool};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(SeqCst)
}

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const BUF: usize = 64 * 1024;

fn buffer_pool() -> Arc<Pool<Vec<u8>>> {
    Arc::new(
        Pool::builder()
            .recycle(1 << 20)
            .build(|| Vec::with_capacity(BUF)),
    )
}

/// 4 threads each take 256 buffers and return them, then exit. All four
/// reach their peak before any returns, so nothing is reused mid-burst:
/// 1024 buffers exist at once.
fn burst(pool: &Arc<Pool<Vec<u8>>>) {
    let peak = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (pool, peak) = (Arc::clone(pool), Arc::clone(&peak));
            thread::spawn(move || {
                let held: Vec<_> = (0..iters(256)).map(|_| pool.get()).collect();
                peak.wait();
                drop(held);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

/// The burst: 4 threads each take 256 buffers of 64 KiB and return them, then
/// exit. Two trims later, live heap bytes are back to the pre-burst level
/// except for the pool's own bookkeeping (shards and their rings, well under
/// 64 KiB — less than one buffer), and nothing is idle.
#[test]
fn burst_is_released_by_two_trims() {
    let _serial = serial();
    let pool = buffer_pool();
    let before = live();
    burst(&pool);
    let after_burst = live() - before;
    let idle = pool.stats().idle;
    assert!(idle > 0 && after_burst >= idle as isize * BUF as isize);
    pool.trim();
    let after_one = live() - before;
    assert!(
        after_one >= after_burst - BUF as isize,
        "one trim keeps the victims"
    );
    pool.trim();
    let after_two = live() - before;
    let stats = pool.stats();
    assert_eq!(stats.idle, 0, "{stats:?}");
    assert!(
        after_two < BUF as isize,
        "bookkeeping only: {after_two} bytes"
    );
    eprintln!("burst: +{after_burst} B, one trim: +{after_one} B, two trims: +{after_two} B");
}

/// I10 (bookkeeping bounded by use): a shard's shared-list storage grows
/// with what it holds and is freed by trimming, so the burst above leaves
/// the same small bookkeeping whatever `max_idle_per_thread` is.
///
/// Catches shared-list storage allocated up front at the cap: 337 KB live
/// after two trims with a cap of 1024, 1.5 MiB per shard with a cap of
/// 65,535.
#[test]
fn burst_leaves_bookkeeping_independent_of_the_cap() {
    let _serial = serial();
    for cap in [64, 1024, 65_535] {
        let pool = Arc::new(
            Pool::builder()
                .recycle(1 << 20)
                .max_idle_per_thread(cap)
                .build(|| Vec::<u8>::with_capacity(BUF)),
        );
        let before = live();
        burst(&pool);
        let after_burst = live() - before;
        pool.trim();
        pool.trim();
        let after_two = live() - before;
        let stats = pool.stats();
        assert_eq!(stats.idle, 0, "cap {cap}: {stats:?}");
        assert!(
            after_two < 64 * 1024,
            "cap {cap}: {after_two} bytes left after two trims (burst: {after_burst})"
        );
        eprintln!("cap {cap}: burst +{after_burst} B, two trims +{after_two} B");
    }
}

/// I4 and I10 with a byte budget: with a high count cap and a budget (the
/// documented way to bound by bytes), what the pool keeps with nothing
/// checked out stays within the budget plus the documented slack: per
/// thread, one private object (uncharged) and the bookkeeping outside the
/// budget (its shard and its place in the pool's shard directory, a few KiB,
/// and 24 bytes of shared-list storage per idle entry, in segments of 32).
/// The counter sees the whole process, so the harness's own allocations
/// meanwhile count too.
///
/// Catches storage sized by the count cap instead of by use: 2.36 MB live
/// for a 1 MiB budget (16,384 shared-list slots per shard).
#[test]
fn budget_bounds_bytes_with_a_high_cap() {
    let _serial = serial();
    const SIZE: usize = 4096;
    const BUDGET: usize = 1 << 20;
    for threads_used in 2..=4 {
        let pool = Arc::new(
            Pool::builder()
                .recycle(1 << 20)
                .max_idle_per_thread(10_000)
                .max_idle_bytes(BUDGET)
                .build(|| Vec::<u8>::with_capacity(SIZE)),
        );
        let before = live();
        let threads: Vec<_> = (0..threads_used)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let held: Vec<_> = (0..iters(600)).map(|_| pool.get()).collect();
                    drop(held);
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let stats = pool.stats();
        assert!(stats.idle_bytes <= BUDGET as u64, "{stats:?}");
        let kept = live() - before;
        // Idle entries in shared lists are at most BUDGET / SIZE in all.
        let entries = BUDGET / SIZE;
        let storage = 24 * (entries + 2 * 32 * threads_used) + 16 * 1024 * threads_used;
        let slack = threads_used * SIZE + storage;
        assert!(
            kept <= (BUDGET + slack) as isize,
            "{threads_used} threads: {kept} bytes kept > budget {BUDGET} + slack {slack}"
        );
        eprintln!("{threads_used} threads: {kept} B kept for a {BUDGET} B budget");
    }
}

/// The victim rule, in bytes: a buffer used between two trims survives the
/// second (its 64 KiB stay), one not used does not.
#[test]
fn victim_rule_in_bytes() {
    let _serial = serial();
    let pool = buffer_pool();
    let (a, b) = (pool.get(), pool.get());
    drop(b);
    drop(a);
    let with_two = live();
    pool.trim();
    drop(pool.get()); // use one between the trims
    pool.trim();
    let freed = with_two - live();
    // The counter is process-wide, and the test harness (proptest generating
    // its next case between locked cases) allocates small amounts meanwhile,
    // so allow half a buffer either way: freeing 0, 1 or 2 buffers stays
    // unambiguous.
    let half = BUF as isize / 2;
    assert!(
        (BUF as isize - half..BUF as isize + half).contains(&freed),
        "exactly one buffer freed: {freed} bytes"
    );
    assert_eq!(pool.stats().idle, 1);
}

/// `trim_interval` with the background trimmer: a pool that goes completely
/// quiet (its objects idle in an exited thread's shard) is trimmed on
/// schedule. Checked by trim count, not by wall time: once the trimmer has
/// run two trims after the pool went quiet, its idle bytes are zero. A trim
/// is counted when it starts, so the second has surely finished once a third
/// is counted (the trimmer runs one trim at a time). The deadline only
/// bounds the wait; at most one trim per interval is checked against elapsed
/// time (a lower bound, robust to a slow machine).
#[test]
#[cfg_attr(miri, ignore)] // real time
fn background_trimmer_trims_a_quiet_pool() {
    let _serial = serial();
    let interval = Duration::from_millis(20);
    let pool = Arc::new(
        Pool::builder()
            .recycle(1 << 20)
            .max_idle_bytes(1 << 30)
            .trim_interval(interval)
            .build(|| Vec::<u8>::with_capacity(BUF)),
    );
    let created_at = Instant::now();
    {
        let pool = Arc::clone(&pool);
        thread::spawn(move || drop((0..10).map(|_| pool.get()).collect::<Vec<_>>()))
            .join()
            .unwrap();
    }
    let quiet = pool.stats();
    assert!(quiet.idle_bytes >= 9 * BUF as u64, "{quiet:?}");
    let trimmer = BackgroundTrimmer::start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while pool.stats().trims < quiet.trims + 3 {
        assert!(
            Instant::now() < deadline,
            "trimmer did not trim within 20 s"
        );
        thread::sleep(Duration::from_millis(2));
    }
    let stats = pool.stats();
    assert_eq!(stats.idle_bytes, 0, "{stats:?}");
    assert_eq!(stats.idle, 0, "{stats:?}");
    assert_eq!(stats.dropped_by_trim, 10, "{stats:?}");
    let elapsed = created_at.elapsed();
    let most = (elapsed.as_nanos() / interval.as_nanos()) as u64 + 1;
    assert!(
        stats.trims <= most,
        "{} trims in {elapsed:?}: at most one per interval",
        stats.trims
    );
    trimmer.stop();
    assert!(!BackgroundTrimmer::is_running());
}

/// Without the trimmer, automatic trimming still happens on the pool's own
/// slow paths (a thread that keeps working the pool), at most once per interval.
#[test]
#[cfg_attr(miri, ignore)] // real time
fn interval_trims_from_slow_paths() {
    let _serial = serial();
    let interval = Duration::from_millis(5);
    let pool = Pool::builder()
        .max_idle_per_thread(0)
        .trim_interval(interval)
        .build(|| vec![0u8; 16]);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    while pool.stats().trims < 3 {
        assert!(Instant::now() < deadline);
        let (a, b) = (pool.get(), pool.get()); // the second get is a slow path
        drop((a, b));
        thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    let trims = pool.stats().trims;
    assert!(
        trims as u128 <= elapsed.as_nanos() / interval.as_nanos() + 1,
        "{trims} in {elapsed:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: iters(24) as u32, ..ProptestConfig::default() })]

    /// `max_idle_bytes` under a random mix of sizes on several threads: the
    /// bytes charged never exceed the budget, and the live bytes of idle
    /// buffers never exceed the budget plus the documented slack (one buffer
    /// per thread: the private slot).
    #[test]
    fn budget_is_never_exceeded(
        budget in 0usize..400_000,
        sizes in prop::collection::vec(prop::collection::vec(1usize..100_000, 1..20), 1..4),
    ) {
        let _serial = serial();
        let pool = Arc::new(
            Pool::builder()
                .recycle(1 << 20)
                .max_idle_bytes(budget)
                .build(Vec::<u8>::new),
        );
        let largest = sizes.iter().flatten().copied().max().unwrap_or(0);
        let before = live();
        let threads: Vec<_> = sizes
            .into_iter()
            .map(|sizes| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    for (i, size) in sizes.iter().enumerate() {
                        let mut held: Vec<_> = (0..(i % 4) + 1).map(|_| pool.get()).collect();
                        held.iter_mut().for_each(|b| b.reserve_exact(*size));
                        drop(held);
                        let s = pool.stats();
                        assert!(s.idle_bytes <= budget as u64, "{s:?}");
                    }
                })
            })
            .collect();
        let threads_used = threads.len();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let s = pool.stats();
        prop_assert!(s.idle_bytes <= budget as u64);
        let idle_live = live() - before;
        let slack = (threads_used * largest) as isize + 64 * 1024; // + bookkeeping
        prop_assert!(
            idle_live <= budget as isize + slack,
            "idle buffers hold {} bytes; budget {} + slack {}", idle_live, budget, slack
        );
    }
}

/// Thread churn: 10 000 short-lived threads, at most 64 alive at once, each
/// using the pool once. The pool's shards, idle objects and heap stay bounded
/// by the batch size, not by the total number of threads.
#[test]
fn churn_is_bounded_by_threads_alive_at_once() {
    let _serial = serial();
    let pool = Arc::new(
        Pool::builder()
            .max_idle_per_thread(4)
            .build(|| vec![0u8; 1024]),
    );
    let batches = iters(10_000) / 64;
    let mut peak = 0;
    let before = live();
    for _ in 0..batches.max(1) {
        let batch: Vec<_> = (0..64)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || drop(pool.get()))
            })
            .collect();
        batch.into_iter().for_each(|t| t.join().unwrap());
        peak = peak.max(live() - before);
    }
    let stats = pool.stats();
    // Threads of the test harness may hold thread ids too; a few extra shards.
    assert!(
        stats.shards <= 64 + 8,
        "shards bounded by the batch: {stats:?}"
    );
    assert!(stats.idle <= stats.shards * 5, "{stats:?}");
    assert!(stats.created <= 64 * 5, "reuse across batches: {stats:?}");
    // Per shard: a 64-slot ring, a private stack, counters; per object 1 KiB.
    assert!(
        peak < 72 * 16 * 1024,
        "heap bounded by the batch, not by 10 000 threads: {peak}"
    );
    eprintln!("churn: {} threads, {stats:?}, peak +{peak} B", batches * 64);
}
