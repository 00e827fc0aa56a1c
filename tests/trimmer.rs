//! The background trimmer thread survives the user code it runs: a `T::drop`
//! that panics during one pool's automatic trim is contained, and the thread
//! keeps trimming that pool and every pool built after it.
//!
//! The trimmer is process-wide, so this file is its own test binary and its
//! tests take turns (`serial`). Waits are deadline loops; the deadline only
//! bounds a hang, no sleep decides an assertion.
#![cfg(not(miri))] // a real thread and wall-clock waits

use shardpool::{BackgroundTrimmer, Pool};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);
const INTERVAL: Duration = Duration::from_millis(5);

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

/// An object that runs a closure of the test's when it is dropped.
struct OnDrop(Option<Box<dyn FnOnce() + Send>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A `Drop` that counts itself in `drops`, then panics.
fn explode(drops: &Arc<AtomicU64>) -> Box<dyn FnOnce() + Send> {
    let drops = Arc::clone(drops);
    Box::new(move || {
        drops.fetch_add(1, SeqCst);
        panic!("a planted panic in T::drop");
    })
}

/// Leaves `n` idle objects where another thread's trim reaches them (the
/// shared list, not this thread's private stack).
fn leave_idle<T: Send + 'static>(pool: &Pool<T>, n: usize) {
    drop((0..n).map(|_| pool.get()).collect::<Vec<_>>());
    pool.flush_local();
    assert_eq!(pool.stats().idle, n as u64);
}

/// One panicking `T::drop` on the trimmer thread: the thread keeps running,
/// `is_running` stays true because it is, the panic is counted, and a pool
/// built afterwards with `trim_interval` is trimmed on schedule.
#[test]
fn a_panicking_drop_does_not_end_the_trimmer() {
    let _serial = serial();
    let drops = Arc::new(AtomicU64::new(0));
    let bombs = Pool::builder().trim_interval(INTERVAL).build({
        let drops = Arc::clone(&drops);
        move || OnDrop(Some(explode(&drops)))
    });
    leave_idle(&bombs, 3);
    let panics_before = BackgroundTrimmer::caught_panics();
    let trimmer = BackgroundTrimmer::start().unwrap();
    wait_until("the trimmer to drop the bombs", || drops.load(SeqCst) == 3);
    // Every bomb panicked on the trimmer thread, yet all three were dropped
    // (the pool finishes a batch before it re-raises the first panic).
    let stats = bombs.stats();
    assert_eq!((stats.idle, stats.dropped_by_trim), (0, 3), "{stats:?}");
    wait_until("the panic to be counted", || {
        BackgroundTrimmer::caught_panics() > panics_before
    });
    assert!(BackgroundTrimmer::is_running());

    // A pool built after the panic is still trimmed by the same thread.
    let later = Pool::builder()
        .trim_interval(INTERVAL)
        .build(|| vec![0u8; 64]);
    leave_idle(&later, 4);
    let trims_before = later.stats().trims;
    wait_until("two trims of the later pool", || {
        later.stats().trims >= trims_before + 2
    });
    wait_until("the later pool's idle objects to be dropped", || {
        later.stats().idle == 0
    });
    assert_eq!(later.stats().dropped_by_trim, 4);
    // And the bombs' pool keeps its schedule too.
    let bomb_trims = bombs.stats().trims;
    wait_until("another trim of the bombs' pool", || {
        bombs.stats().trims > bomb_trims
    });
    assert!(BackgroundTrimmer::is_running());
    trimmer.stop();
    assert!(!BackgroundTrimmer::is_running());
}

/// A pool whose last handle goes away on the trimmer thread (the user
/// dropped theirs while the trimmer was trimming it), with an object whose
/// `T::drop` panics as the pool is dropped there: a pool's drop contains the
/// panic itself (as every drop in the crate does), so the trimmer carries on.
#[test]
fn a_panicking_drop_of_a_pool_dropped_on_the_trimmer_is_contained() {
    let _serial = serial();
    let drops = Arc::new(AtomicU64::new(0));
    let pool = Pool::builder()
        .trim_interval(INTERVAL)
        .build(|| OnDrop(None));
    let (mut gate, mut stays) = (pool.get(), pool.get());
    // `gate`, on the shared list, is dropped by a trim on the trimmer thread
    // and holds that trim until this thread has dropped its handle.
    let (trimming, in_trim) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    gate.0 = Some(Box::new(move || {
        trimming.send(()).unwrap();
        released.recv_timeout(DEADLINE).unwrap();
    }));
    drop(gate);
    pool.flush_local();
    // `stays`, on this thread's private stack, is out of the trimmer's reach:
    // it is dropped with the pool, on whichever thread drops it last.
    stays.0 = Some(explode(&drops));
    drop(stays);
    let panics_before = BackgroundTrimmer::caught_panics();
    let trimmer = BackgroundTrimmer::start().unwrap();
    in_trim.recv_timeout(DEADLINE).unwrap();
    drop(pool);
    assert_eq!(drops.load(SeqCst), 0, "the trimmer still holds the pool");
    release.send(()).unwrap();
    wait_until("the pool to be dropped on the trimmer", || {
        drops.load(SeqCst) == 1
    });
    assert_eq!(
        BackgroundTrimmer::caught_panics(),
        panics_before,
        "the pool's drop contained its object's panic"
    );
    assert!(BackgroundTrimmer::is_running());

    let later = Pool::builder()
        .trim_interval(INTERVAL)
        .build(|| vec![0u8; 64]);
    leave_idle(&later, 2);
    wait_until("the later pool's idle objects to be dropped", || {
        later.stats().idle == 0
    });
    trimmer.stop();
    assert!(!BackgroundTrimmer::is_running());
}

/// `trim_all` trims every pool even when one pool's `T::drop` panics, and
/// re-raises that panic once every pool is trimmed. (Here, not in a light
/// test binary: `trim_all` reaches every pool in the process.)
#[test]
fn trim_all_trims_every_pool_past_a_panicking_drop() {
    let _serial = serial();
    let drops = Arc::new(AtomicU64::new(0));
    // Built first, so `trim_all` (in build order) meets it first.
    let bombs = Pool::builder().build({
        let drops = Arc::clone(&drops);
        move || OnDrop(Some(explode(&drops)))
    });
    let plain = Pool::builder().build(|| vec![0u8; 64]);
    leave_idle(&bombs, 1);
    leave_idle(&plain, 3);
    shardpool::trim_all();
    let second = std::panic::catch_unwind(shardpool::trim_all);
    assert!(second.is_err(), "the bomb's panic is re-raised");
    assert_eq!(drops.load(SeqCst), 1);
    assert_eq!(plain.stats().idle, 0, "the pool after the bomb was trimmed");
    assert_eq!(plain.stats().dropped_by_trim, 3);
}
