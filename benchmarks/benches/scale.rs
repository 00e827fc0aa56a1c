//! Criterion groups for the `scale` workloads (`scale_fixture/mod.rs`): with K idle
//! shards, K = 0, 64, 512, 2048, 4096, the calling thread's
//! `scale_miss/K` (a get on the empty pool, which creates), `scale_steal/K`
//! (a get found in another live thread's shard), `scale_trim/K` and
//! `scale_stats/K`. The table with the same measurements, ratios and the
//! `pooling(false)` comparison is `benchmarks/examples/scale.rs`
//! (`scripts/scale_table.sh`).
//!
//! `cargo bench -p shardpool-benchmarks --bench scale`

#[path = "scale_fixture/mod.rs"]
mod scale;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scale::{Filler, Idle, STEAL_BATCH};
use std::hint::black_box;
use std::time::{Duration, Instant};

const KS: [usize; 5] = [0, 64, 512, 2048, 4096];

fn benches(c: &mut Criterion) {
    let pool = scale::pool();
    for _ in 0..1000 {
        scale::miss_once(&pool);
    }
    let mut idle = Idle::new(&pool);
    for k in KS {
        idle.grow_to(k)
            .expect("spawn the idle threads (see `ulimit -u`)");
        let mut g = c.benchmark_group("scale_miss");
        g.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| scale::miss_once(&pool))
        });
        g.finish();
        let mut g = c.benchmark_group("scale_trim");
        g.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| black_box(pool.trim()))
        });
        g.finish();
        let mut g = c.benchmark_group("scale_stats");
        g.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| black_box(pool.stats()))
        });
        g.finish();
        let filler = Filler::new(&pool);
        let mut into = Vec::with_capacity(STEAL_BATCH);
        let mut g = c.benchmark_group("scale_steal");
        g.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            // Only the gets are timed: the filler refills between batches.
            b.iter_custom(|iters| {
                let mut left = iters as usize;
                let mut took = Duration::ZERO;
                while left > 0 {
                    let n = left.min(STEAL_BATCH);
                    into.clear();
                    filler.fill(n);
                    let start = Instant::now();
                    for _ in 0..n {
                        into.push(shardpool::Pooled::detach(pool.get()));
                    }
                    took += start.elapsed();
                    left -= n;
                }
                black_box(&mut into);
                took
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = scale_benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
        .sample_size(15);
    targets = benches
}
criterion_main!(scale_benches);
