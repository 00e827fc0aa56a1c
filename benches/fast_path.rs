//! The three fast-path targets of the core: `single`, `parallel2`, `hold32`,
//! each against the floor, a `thread_local!` `RefCell<Vec<Vec<u8>>>` free list
//! (unsynchronized; no pool can beat it on one thread), and the floor behind
//! a 32-byte drop guard (what a guard costs by itself).
//!
//! Workload: a 4 KiB `Vec<u8>`; get → write 64 bytes → return.
//! Reported time is per get+put per thread. Run: `cargo bench --bench fast_path`.
//! The same workloads, under the same names, are part of the full suite
//! (`benchmarks/`, `scripts/bench_all.sh`); this binary runs just these three
//! groups and needs none of the peer crates.

#[path = "../benchmarks/benches/common/mod.rs"]
mod common;

use common::Small;
use common::impls::{Floor, FloorGuard, shard};
use common::team::{Job, with_team};
use common::work::{Load, bytes_job};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn benches(c: &mut Criterion) {
    for (name, threads, load) in [
        ("single", 1, Load::Single),
        ("parallel2", 2, Load::Single),
        ("hold32", 1, Load::Hold(32)),
    ] {
        let (floor, floor_guard, pool) = (
            Floor::<Small>::new(),
            FloorGuard::<Small>::new(),
            shard::<Small>(),
        );
        let entries: Vec<(&str, Box<Job<'_>>)> = vec![
            ("floor", bytes_job(load, &floor)),
            ("floor-guard", bytes_job(load, &floor_guard)),
            ("shardpool", bytes_job(load, &pool)),
        ];
        let jobs: Vec<&Job<'_>> = entries.iter().map(|(_, job)| &**job).collect();
        // One team of persistent threads per group: every implementation
        // runs on the same threads, interleaved by criterion's sampling.
        with_team(threads, &jobs, |team| {
            let mut group = c.benchmark_group(name);
            for (index, (label, _)) in entries.iter().enumerate() {
                group.bench_function(*label, |b| b.iter_custom(|ops| team.run(index, ops)));
            }
            group.finish();
        });
    }
}

criterion_group! {
    name = fast_path;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = benches
}
criterion_main!(fast_path);
