//! The fast-path workloads, each against the floors: `single`, `parallel2`,
//! `threads8` (8 threads; on a 2-core machine, oversubscribed), `hold32`,
//! `hold32x2`. Reported time is per get+put per thread. Run:
//! `cargo bench --bench fast_path` (add `--profile perf` for fat LTO and one
//! codegen unit, as docs/performance.md).
//!
//! Every loop is in `examples/common/user.rs`. Object: a 4 KiB `Vec<u8>`;
//! the work: `extend_from_slice(black_box(&PAYLOAD))` (64 bytes).
//!
//! * `floor` and `free-list`: two bare loops on a `thread_local!`
//!   `RefCell<Vec<Vec<u8>>>`. `floor` uses the list inline: pop (create on a
//!   miss) → work → `black_box` of the bytes → `clear()` → push. `free-list`
//!   puts it behind a small struct whose `#[inline]` `get` pops or creates
//!   and whose `put` clears and pushes if fewer than 256 are idle, with
//!   `black_box(&mut v)` between. The floor is the faster of the two.
//!   `hold32`: 32 gets (work on each), then 32 returns.
//! * `floor-boxed` (not the floor): the same bare loop on a free list of
//!   `Box<Vec<u8>>`; only a one-word handle moves (the bound for a pool of
//!   pointer-stable objects).
//! * `floor-guard`: the `floor` list behind a drop guard (a `ManuallyDrop`
//!   value and a pointer, returned on drop), in the pool's loop: what holding
//!   objects in guards costs by itself.
//! * `shardpool`: `Pool::builder().reset(clear).max_idle_per_thread(256)`,
//!   the user's loop: `let mut b = pool.get(); work; black_box(&mut *b);
//!   drop(b)`. `hold32`: 32 guards pushed into a `Vec`, then `clear()`.
//!
//! The same workloads, under the same names, are part of the full suite
//! (`benchmarks/`, `scripts/bench_all.sh`, `scripts/perf_tables.sh`), which
//! also runs the peer pools (regex-automata's among them); this binary runs
//! just these groups and needs none of the peer crates.

#[path = "../examples/common/mod.rs"]
mod common;

use common::Small;
use common::impls::{FloorGuard, shard_user};
use common::team::{Job, with_team};
use common::user::{Loop, floor_boxed_job, floor_job, free_list_job, user_job};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn benches(c: &mut Criterion) {
    for (name, threads, shape) in [
        ("single", 1, Loop::Single),
        ("parallel2", 2, Loop::Single),
        ("threads8", 8, Loop::Single),
        ("hold32", 1, Loop::Hold(32)),
        ("hold32x2", 2, Loop::Hold(32)),
    ] {
        let (floor_guard, pool) = (FloorGuard::<Small>::new(), shard_user::<Small>());
        let entries: Vec<(&str, Box<Job<'_>>)> = vec![
            ("floor", floor_job::<Small>(shape)),
            ("free-list", free_list_job::<Small>(shape)),
            ("floor-boxed", floor_boxed_job::<Small>(shape)),
            ("floor-guard", user_job::<Small, _>(&floor_guard, shape)),
            ("shardpool", user_job::<Small, _>(&pool, shape)),
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
