//! The `metrics` feature: `record_metrics` sends every pool's statistics
//! through the `metrics` facade, and the background trimmer records at each
//! wake-up. Checked with a small in-test recorder that keeps the last value
//! of every series.
//!
//! Run with `cargo test --features metrics --test metrics`.
#![cfg(feature = "metrics")]

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use shardpool::{BackgroundTrimmer, Pool};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// A series: metric name plus its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Keeps one atomic per series; counters hold their value, gauges the bits
/// of their `f64` (the `metrics` crate's own impls for `AtomicU64`).
#[derive(Default)]
struct TestRecorder {
    counters: Mutex<BTreeMap<Series, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<Series, Arc<AtomicU64>>>,
    /// A `pool` label whose counters this recorder refuses with a panic.
    panic_for: Mutex<Option<String>>,
}

fn series(key: &Key) -> Series {
    let mut labels: Vec<_> = key
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    labels.sort();
    (key.name().to_owned(), labels)
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

impl TestRecorder {
    fn counter(&self, name: &str, pairs: &[(&str, &str)]) -> Option<u64> {
        let map = self.counters.lock().unwrap();
        let key = (name.to_owned(), labels(pairs));
        map.get(&key).map(|c| c.load(Ordering::Relaxed))
    }

    fn gauge(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        let map = self.gauges.lock().unwrap();
        let key = (name.to_owned(), labels(pairs));
        map.get(&key)
            .map(|g| f64::from_bits(g.load(Ordering::Relaxed)))
    }

    /// Every `pool` label with series `name` equal to `value`.
    fn pools_with(&self, name: &str, value: u64) -> Vec<String> {
        let map = self.counters.lock().unwrap();
        map.iter()
            .filter(|((n, _), c)| n == name && c.load(Ordering::Relaxed) == value)
            .flat_map(|((_, l), _)| l.iter().filter(|(k, _)| k == "pool"))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let refused = self.panic_for.lock().unwrap().clone();
        if let Some(pool) = refused
            && key.labels().any(|l| l.key() == "pool" && l.value() == pool)
        {
            panic!("a planted panic in the recorder, for {pool}");
        }
        let mut map = self.counters.lock().unwrap();
        Counter::from_arc(Arc::clone(map.entry(series(key)).or_default()))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut map = self.gauges.lock().unwrap();
        Gauge::from_arc(Arc::clone(map.entry(series(key)).or_default()))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn record_into(recorder: &TestRecorder) {
    metrics::with_local_recorder(recorder, shardpool::record_metrics);
}

/// Each counter and gauge of a named pool carries the pool's values, and a
/// second recording overwrites (counters are running totals, not deltas).
#[test]
fn records_a_named_pools_counters_and_gauges() {
    let pool = Pool::builder()
        .name("metrics-test/values")
        .reset(|v: &mut Vec<u8>| {
            v.clear();
            v.capacity() <= 64
        })
        .build(|| Vec::<u8>::with_capacity(16));
    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    drop(held); // 3 created, 3 returned, 3 idle
    let mut big = pool.get();
    big.reserve(1024);
    drop(big); // dropped by the policy
    let _out = pool.get(); // one in use
    let s = pool.stats();
    let recorder = TestRecorder::default();
    record_into(&recorder);

    let p = [("pool", "metrics-test/values")];
    assert_eq!(recorder.counter("shardpool_gets_total", &p), Some(s.gets));
    assert_eq!(recorder.counter("shardpool_created_total", &p), Some(3));
    assert_eq!(recorder.counter("shardpool_returned_total", &p), Some(4));
    assert_eq!(
        recorder.counter("shardpool_private_hits_total", &p),
        Some(s.private_hits)
    );
    let policy = [("pool", "metrics-test/values"), ("reason", "policy")];
    assert_eq!(
        recorder.counter("shardpool_dropped_total", &policy),
        Some(1)
    );
    let cap = [("pool", "metrics-test/values"), ("reason", "cap")];
    assert_eq!(recorder.counter("shardpool_dropped_total", &cap), Some(0));
    assert_eq!(recorder.gauge("shardpool_idle", &p), Some(1.0));
    assert_eq!(recorder.gauge("shardpool_in_use", &p), Some(1.0));
    assert_eq!(recorder.gauge("shardpool_shards", &p), Some(1.0));

    drop(_out);
    pool.trim();
    record_into(&recorder);
    assert_eq!(recorder.counter("shardpool_trims_total", &p), Some(1));
    assert_eq!(recorder.gauge("shardpool_in_use", &p), Some(0.0));
    assert_eq!(recorder.counter("shardpool_gets_total", &p), Some(s.gets));
}

/// Pools that share a name are one series, their values added up.
#[test]
fn pools_sharing_a_name_are_added_up() {
    let build = || {
        Pool::builder()
            .name("metrics-test/shared-name")
            .build(String::new)
    };
    let (a, b) = (build(), build());
    drop(a.get());
    drop((b.get(), b.get()));
    let recorder = TestRecorder::default();
    record_into(&recorder);
    let p = [("pool", "metrics-test/shared-name")];
    assert_eq!(recorder.counter("shardpool_created_total", &p), Some(3));
    assert_eq!(recorder.gauge("shardpool_idle", &p), Some(3.0));
}

/// An unnamed pool is labelled `unnamed-<n>`; a dropped pool is no longer
/// recorded (its series keep their last value in the recorder, as with any
/// series that stops being updated).
#[test]
fn unnamed_pools_are_numbered_and_dropped_pools_stop() {
    let pool = Pool::new(Vec::<u32>::new);
    // A count no other test in this binary produces.
    for _ in 0..1237 {
        drop(pool.get());
    }
    let recorder = TestRecorder::default();
    record_into(&recorder);
    let found = recorder.pools_with("shardpool_gets_total", 1237);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("unnamed-"), "{found:?}");
    drop(pool);

    let gone = Pool::builder().name("metrics-test/gone").build(String::new);
    drop(gone.get());
    drop(gone);
    let fresh = TestRecorder::default();
    record_into(&fresh);
    let p = [("pool", "metrics-test/gone")];
    assert_eq!(fresh.counter("shardpool_gets_total", &p), None);
}

/// The process-wide recorder the background trimmer records into, installed
/// once for this binary; tests that use it take turns.
fn global() -> (&'static TestRecorder, MutexGuard<'static, ()>) {
    static GLOBAL: OnceLock<&'static TestRecorder> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let recorder = *GLOBAL.get_or_init(|| {
        let r: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(r).expect("the only global recorder in this binary");
        r
    });
    (recorder, turn)
}

/// Waits until `done` holds, failing after 10 s with `what`.
fn wait_until(what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "within 10 s: {}", what());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// With the feature on, the background trimmer records at its wake-ups: a
/// pool it trims shows its trims through the global recorder without any
/// call to `record_metrics`.
#[test]
fn the_background_trimmer_records() {
    let (recorder, _turn) = global();
    let pool = Pool::builder()
        .name("metrics-test/trimmer")
        .trim_interval(Duration::from_millis(10))
        .build(String::new);
    drop(pool.get());
    // The trimmer's thread cannot reach this thread's private stack; hand
    // the object to the shared list, where trims reach it.
    pool.flush_local();
    let trimmer = BackgroundTrimmer::start().expect("trimmer starts");
    let p = [("pool", "metrics-test/trimmer")];
    let trims = || recorder.counter("shardpool_trims_total", &p).unwrap_or(0);
    // Two trims with no use in between drop the idle object.
    wait_until(
        || format!("no trims recorded: {}, {:?}", trims(), pool.stats()),
        || trims() >= 2 && recorder.gauge("shardpool_idle", &p) == Some(0.0),
    );
    trimmer.stop();
}

/// A recorder that panics while the trimmer records: the panic is caught
/// and counted on the trimmer thread, which keeps trimming and recording.
#[test]
fn a_panicking_recorder_does_not_end_the_trimmer() {
    let (recorder, _turn) = global();
    let refused = "metrics-test/refused";
    *recorder.panic_for.lock().unwrap() = Some(refused.to_owned());
    let panics_before = BackgroundTrimmer::caught_panics();
    let trimmer = BackgroundTrimmer::start().expect("trimmer starts");
    let pool = Pool::builder().name(refused).build(String::new);
    wait_until(
        || "the recorder's panic to be caught".to_owned(),
        || BackgroundTrimmer::caught_panics() > panics_before,
    );
    drop(pool);
    *recorder.panic_for.lock().unwrap() = None;

    let later = Pool::builder()
        .name("metrics-test/after-a-panic")
        .trim_interval(Duration::from_millis(10))
        .build(String::new);
    drop(later.get());
    later.flush_local();
    let p = [("pool", "metrics-test/after-a-panic")];
    let trims = || recorder.counter("shardpool_trims_total", &p).unwrap_or(0);
    wait_until(
        || format!("{} trims recorded, {:?}", trims(), later.stats()),
        || trims() >= 2,
    );
    assert!(BackgroundTrimmer::is_running());
    trimmer.stop();
}
