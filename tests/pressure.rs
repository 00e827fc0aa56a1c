//! Memory-pressure trimming (`PressureWatcher`, cargo feature `pressure`) end
//! to end, on the real background trimmer thread. The decision logic (the
//! rate limit on a fake clock) is unit-tested in `src/trim/pressure/decide.rs`,
//! the parsing of `memory.events`, `memory.pressure` and mountinfo in
//! `src/trim/pressure/cgroup.rs`; these tests use the user check, which does
//! not depend on the machine's cgroup.
//!
//! Watchers trim every pool in the process, so the tests take turns (`serial`).
//! Waits are deadline loops; the deadline only bounds a hang, no sleep decides
//! an assertion.
#![cfg(feature = "pressure")]
#![cfg(not(miri))] // real threads and wall-clock waits; the logic runs under Miri as unit tests

use shardpool::{BackgroundTrimmer, Pool, PressureConfig, PressureWatcher};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until `done` holds, failing after `DEADLINE`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A check that always reports pressure, and counts how often it was asked.
fn always(asked: &Arc<AtomicU64>) -> impl FnMut() -> bool + Send + 'static {
    let asked = Arc::clone(asked);
    move || {
        asked.fetch_add(1, SeqCst);
        true
    }
}

/// With a check that says "pressure", the trimmer thread trims every pool, and
/// two pressure trims free what sat idle (the victim rule still applies).
#[test]
fn check_true_trims_pools_on_the_trimmer_thread() {
    let _serial = serial();
    let pool = Pool::builder().build(|| vec![0u8; 1024]);
    drop((0..10).map(|_| pool.get()).collect::<Vec<_>>());
    // Move them out of this thread's private stack, where another thread's
    // trim cannot reach them.
    pool.flush_local();
    assert_eq!((pool.stats().idle, pool.stats().trims), (10, 0));

    let asked = Arc::new(AtomicU64::new(0));
    let watcher = PressureWatcher::start(
        PressureConfig::default()
            .cgroup(false)
            .check(always(&asked))
            .min_interval(Duration::from_millis(20))
            .poll_interval(Duration::from_millis(5)),
    )
    .unwrap();
    wait_until("two pressure trims", || pool.stats().trims >= 2);
    wait_until("the idle objects to be dropped", || pool.stats().idle == 0);
    let stats = pool.stats();
    assert_eq!(stats.dropped_by_trim, 10, "{stats:?}");
    assert!(watcher.pressure_trims() >= 2);
    assert!(asked.load(SeqCst) >= 2);
    watcher.stop();
}

/// However hard the check insists, pressure trims come at most once per
/// `min_interval`: after `elapsed`, at most `elapsed / interval + 1`.
#[test]
fn rate_limit_holds() {
    let _serial = serial();
    let interval = Duration::from_millis(40);
    let pool = Pool::new(|| 0u64);
    let asked = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let watcher = PressureWatcher::start(
        PressureConfig::default()
            .cgroup(false)
            .check(always(&asked))
            .min_interval(interval)
            .poll_interval(Duration::from_millis(1)),
    )
    .unwrap();
    wait_until("six pressure trims", || watcher.pressure_trims() >= 6);
    let (watcher_trims, pool_trims) = (watcher.pressure_trims(), pool.stats().trims);
    let elapsed = started.elapsed();
    let bound = (elapsed.as_nanos() / interval.as_nanos()) as u64 + 1;
    assert!(
        watcher_trims <= bound && pool_trims <= bound,
        "{watcher_trims} pressure trims ({pool_trims} on the pool) in {elapsed:?}, bound {bound}"
    );
    // The check is not asked while a trim would be rate-limited anyway: about
    // once per trim, plus polls that raced the limit's end.
    assert!(asked.load(SeqCst) <= watcher_trims + 1);
    watcher.stop();
}

/// A check that says "no pressure" is asked on every poll and never trims.
#[test]
fn check_false_never_trims() {
    let _serial = serial();
    let pool = Pool::new(|| 0u64);
    drop(pool.get());
    let asked = Arc::new(AtomicU64::new(0));
    let watcher = PressureWatcher::start(
        PressureConfig::default()
            .cgroup(false)
            .check({
                let asked = Arc::clone(&asked);
                move || {
                    asked.fetch_add(1, SeqCst);
                    false
                }
            })
            .min_interval(Duration::ZERO)
            .poll_interval(Duration::from_millis(1)),
    )
    .unwrap();
    wait_until("twenty polls", || asked.load(SeqCst) >= 20);
    assert_eq!(watcher.pressure_trims(), 0);
    assert_eq!(pool.stats().trims, 0);
    watcher.stop();
}

/// An object whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("a planted panic in T::drop");
    }
}

/// A `T::drop` that panics during a pressure trim is contained per pool: a
/// pool built after it (later in `trim_all`'s order) is trimmed by every
/// pressure trim too, the watcher keeps trimming, and the panics are counted.
#[test]
fn panicking_drop_in_a_pressure_trim_is_contained() {
    let _serial = serial();
    let bombs = Pool::new(|| Bomb);
    drop((0..2).map(|_| bombs.get()).collect::<Vec<_>>());
    bombs.flush_local();
    let later = Pool::new(|| vec![0u8; 64]);
    drop((0..3).map(|_| later.get()).collect::<Vec<_>>());
    later.flush_local();
    let panics_before = BackgroundTrimmer::caught_panics();

    let asked = Arc::new(AtomicU64::new(0));
    let watcher = PressureWatcher::start(
        PressureConfig::default()
            .cgroup(false)
            .check(always(&asked))
            .min_interval(Duration::from_millis(5))
            .poll_interval(Duration::from_millis(1)),
    )
    .unwrap();
    wait_until("the bombs to be dropped", || bombs.stats().idle == 0);
    wait_until("the later pool's idle objects to be dropped", || {
        later.stats().idle == 0
    });
    assert_eq!(later.stats().dropped_by_trim, 3);
    assert!(BackgroundTrimmer::caught_panics() > panics_before);
    let trims = watcher.pressure_trims();
    wait_until("another pressure trim", || watcher.pressure_trims() > trims);
    assert!(BackgroundTrimmer::is_running());
    // The last handle: stopping joins the thread, so its last pass is done.
    watcher.stop();
    assert_eq!(
        later.stats().trims,
        bombs.stats().trims,
        "every pressure trim reached every pool"
    );
}

/// A check that panics counts as "no pressure"; the trimmer thread survives it
/// and keeps polling.
#[test]
fn panicking_check_is_no_pressure() {
    let _serial = serial();
    let asked = Arc::new(AtomicU64::new(0));
    let watcher = PressureWatcher::start(
        PressureConfig::default()
            .cgroup(false)
            .check({
                let asked = Arc::clone(&asked);
                move || {
                    asked.fetch_add(1, SeqCst);
                    panic!("check failed (planted by the test)")
                }
            })
            .poll_interval(Duration::from_millis(1)),
    )
    .unwrap();
    wait_until("three polls", || asked.load(SeqCst) >= 3);
    assert_eq!(watcher.pressure_trims(), 0);
    assert!(BackgroundTrimmer::is_running());
    watcher.stop();
}

/// A watcher keeps the trimmer thread running while it lives and lets it stop
/// after; a plain `BackgroundTrimmer` handle shares the thread with it.
#[test]
fn watcher_shares_the_trimmer_thread() {
    let _serial = serial();
    assert!(
        !BackgroundTrimmer::is_running(),
        "another test leaked a handle"
    );
    let trimmer = BackgroundTrimmer::start().unwrap();
    let watcher = PressureWatcher::start(PressureConfig::default().cgroup(false)).unwrap();
    watcher.stop();
    assert!(
        BackgroundTrimmer::is_running(),
        "the plain handle still holds it"
    );
    trimmer.stop();
    assert!(!BackgroundTrimmer::is_running());

    let watcher = PressureWatcher::start(PressureConfig::default()).unwrap();
    assert!(BackgroundTrimmer::is_running());
    watcher.stop();
    assert!(
        !BackgroundTrimmer::is_running(),
        "the last handle stops the thread"
    );
}

/// Whatever cgroup files a watcher finds on this machine exist and are the
/// ones it should read (none on cgroup v1 or outside Linux).
#[test]
fn watched_files_are_cgroup_v2_memory_files() {
    let _serial = serial();
    let watcher = PressureWatcher::start(PressureConfig::default()).unwrap();
    let files = watcher.watched_files();
    eprintln!("watching {files:?}");
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str());
        assert!(
            matches!(name, Some("memory.events" | "memory.pressure")),
            "{file:?}"
        );
        assert!(file.exists(), "{file:?}");
    }
    assert!(
        files
            .iter()
            .filter(|f| f.ends_with("memory.pressure"))
            .count()
            <= 1
    );
    let off = PressureWatcher::start(PressureConfig::default().cgroup(false)).unwrap();
    assert!(off.watched_files().is_empty());
    off.stop();
    watcher.stop();
}
