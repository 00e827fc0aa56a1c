//! `shardpool::stats_all()` over 1,000 live pools: what a metrics
//! scrape costs. Each pool has been used on two threads (two shards), so the
//! walk reads real counters. Run: `cargo bench --bench stats_all`.

use criterion::{Criterion, criterion_group, criterion_main};
use shardpool::Pool;
use std::hint::black_box;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let pools: Vec<Pool<Vec<u8>>> = (0..1000)
        .map(|i| {
            Pool::builder()
                .name(format!("pool-{i}"))
                .build(|| Vec::with_capacity(64))
        })
        .collect();
    for pool in &pools {
        drop(pool.get());
    }
    std::thread::scope(|s| {
        s.spawn(|| pools.iter().for_each(|pool| drop(pool.get())));
    });
    let mut group = c.benchmark_group("stats_all");
    group.bench_function("1000 pools", |b| {
        b.iter(|| {
            let all = shardpool::stats_all();
            assert!(all.len() >= 1000);
            black_box(all)
        })
    });
    group.bench_function("one pool's stats", |b| {
        b.iter(|| black_box(pools[0].stats()))
    });
    group.finish();
}

criterion_group! {
    name = stats_all;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = benches
}
criterion_main!(stats_all);
