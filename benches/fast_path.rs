//! The three fast-path targets of the core: `single`, `parallel2`, `hold32`,
//! each against the floor, a `thread_local!` `RefCell<Vec<Vec<u8>>>` free list
//! (unsynchronized; no pool can beat it on one thread).
//!
//! Workload: a 4 KiB `Vec<u8>`; get → write 64 bytes → return.
//! Reported time is per get+put per thread. Run: `cargo bench --bench fast_path`.

use criterion::{Criterion, criterion_group, criterion_main};
use shardpool::Pool;
use std::cell::RefCell;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SIZE: usize = 4096;
const PAYLOAD: [u8; 64] = [0xAB; 64];

thread_local! {
    static FLOOR: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn floor_get() -> Vec<u8> {
    FLOOR
        .with(|f| f.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(SIZE))
}

fn floor_put(mut v: Vec<u8>) {
    v.clear();
    FLOOR.with(|f| f.borrow_mut().push(v));
}

fn pool() -> Pool<Vec<u8>> {
    Pool::builder()
        .reset(|v: &mut Vec<u8>| {
            v.clear();
            true
        })
        .build(|| Vec::with_capacity(SIZE))
}

/// Runs `work(iters)` on `threads` threads started together; returns the
/// slowest thread's time (so the result is per-thread time per iteration).
fn on_threads(threads: usize, iters: u64, work: impl Fn(u64) + Send + Sync + 'static) -> Duration {
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (work, barrier) = (Arc::clone(&work), Arc::clone(&barrier));
            std::thread::spawn(move || {
                work(8); // warm this thread's shard / free list
                barrier.wait();
                let start = Instant::now();
                work(iters);
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap()
}

fn single_floor(iters: u64) {
    for _ in 0..iters {
        let mut v = floor_get();
        v.extend_from_slice(black_box(&PAYLOAD));
        floor_put(black_box(v));
    }
}

fn single_pool(pool: &Pool<Vec<u8>>, iters: u64) {
    for _ in 0..iters {
        let mut v = pool.get();
        v.extend_from_slice(black_box(&PAYLOAD));
        black_box(&v);
    }
}

fn hold32_floor(iters: u64) {
    let mut held = Vec::with_capacity(32);
    for _ in 0..iters.div_ceil(32) {
        for _ in 0..32 {
            let mut v = floor_get();
            v.extend_from_slice(black_box(&PAYLOAD));
            held.push(v);
        }
        for v in held.drain(..) {
            floor_put(black_box(v));
        }
    }
}

fn hold32_pool(pool: &Pool<Vec<u8>>, iters: u64) {
    let mut held = Vec::with_capacity(32);
    for _ in 0..iters.div_ceil(32) {
        for _ in 0..32 {
            let mut v = pool.get();
            v.extend_from_slice(black_box(&PAYLOAD));
            held.push(v);
        }
        held.clear();
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("single");
    g.bench_function("floor", |b| {
        b.iter_custom(|n| on_threads(1, n, single_floor))
    });
    g.bench_function("shardpool", |b| {
        let p = Arc::new(pool());
        b.iter_custom(|n| {
            let p = Arc::clone(&p);
            on_threads(1, n, move |n| single_pool(&p, n))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("parallel2");
    g.bench_function("floor", |b| {
        b.iter_custom(|n| on_threads(2, n, single_floor))
    });
    g.bench_function("shardpool", |b| {
        let p = Arc::new(pool());
        b.iter_custom(|n| {
            let p = Arc::clone(&p);
            on_threads(2, n, move |n| single_pool(&p, n))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("hold32");
    g.bench_function("floor", |b| {
        b.iter_custom(|n| on_threads(1, n, hold32_floor))
    });
    g.bench_function("shardpool", |b| {
        let p = Arc::new(pool());
        b.iter_custom(|n| {
            let p = Arc::clone(&p);
            on_threads(1, n, move |n| hold32_pool(&p, n))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
