//! Criterion glue for the suite binaries: which implementations run in which
//! binary, and every workload as a criterion group.
//!
//! One binary per global allocator (`suite_sys`, `suite_mimalloc`,
//! `suite_jemalloc`, and `benches/mimalloc_v2/` for mimalloc's v2 feature).
//! Every binary measures the floor (allocation-free) in every group, so a
//! result can be compared across binaries as a ratio to its own binary's floor.
//!
//! `single`, `parallel2`, `oversub8`, `hold32`, `hold32x2`, `big`, `big_x2`,
//! `request`, `request_x2`, `handoff` and `scaling_*` run the user's loops
//! (`examples/common/user.rs`): the floors are bare loops on a
//! `thread_local!` free list (`floor`: pop → work → `black_box` → reset →
//! push, inline; `free-list`, system binary only: the same list behind
//! `#[inline]` `get`/`put` methods, at most 256 kept; `bench_report` takes
//! the faster of the two as the floor), every pool runs
//! `let mut b = pool.get(); work; black_box(&mut *b); drop(b)` (a pool
//! without a reset hook resets right before the drop; hand-rolled ones call
//! their `put`), and `shardpool` is built as a user would:
//! `reset(clear).max_idle_per_thread(256)`. `bighold16`, `mixed` and `zeroed`
//! run the older harness (`examples/common/work.rs`, an `Option` slot) for every
//! implementation alike, with `shardpool` = `Pool::new(create)`.
//!
//! Function names: `floor`, `shardpool`, `fresh@sys` and the peers in
//! `suite_sys`; `floor@<alloc>` and `fresh@<alloc>` in the others. Filter with criterion's usual argument, e.g.
//! `cargo bench --bench suite_sys -- 'handoff/'`.

#![allow(dead_code)]

use crate::common::impls::{
    Floor, FloorGuard, Fresh, FreshZeroed, shard, shard_detach, shard_idle, shard_owned,
    shard_recycle, shard_user,
};
use crate::common::team::{Job, with_team};
use crate::common::user::{
    Loop, Work, floor_job, free_list_job, handoff_floor_job, handoff_job, user_job,
};
use crate::common::work::{Load, bytes_job, channel_only_job};
use crate::common::{Big, Grow, Kind, Req, Small, big_size, small_size};
use crate::peers::{
    ArrayQ, LfLinear, LfSpin, MutexVec, OPool, ObjectPool, RegexPool, ZeroPool, ZeroPoolZeroed,
};
use criterion::{BenchmarkId, Criterion};
use std::time::Duration;

/// Which implementations a binary runs, and how it names them.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    /// The global allocator's name (`sys`, `mimalloc`, `mimalloc-v2`, `jemalloc`).
    pub alloc: &'static str,
}

impl Bin {
    pub const SYS: Bin = Bin { alloc: "sys" };

    fn floor(&self) -> String {
        self.tagged("floor")
    }

    fn fresh(&self) -> String {
        format!("fresh@{}", self.alloc)
    }

    fn tagged(&self, name: &str) -> String {
        if self.alloc == "sys" {
            name.to_string()
        } else {
            format!("{name}@{}", self.alloc)
        }
    }
}

/// Defaults sized so the whole suite fits in its time budget; criterion's
/// command-line options (`--warm-up-time`, `--measurement-time`,
/// `--sample-size`) override them.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
        .sample_size(15)
        .nresamples(5_000)
}

type Entries<'a> = Vec<(String, Box<Job<'a>>)>;

/// Runs `entries` as criterion group `group`, on one team of `threads`.
fn group(c: &mut Criterion, group: &str, threads: usize, entries: &Entries<'_>) {
    let jobs: Vec<&Job<'_>> = entries.iter().map(|(_, job)| &**job).collect();
    with_team(threads, &jobs, |team| {
        let mut g = c.benchmark_group(group);
        for (index, (name, _)) in entries.iter().enumerate() {
            g.bench_function(name.as_str(), |b| b.iter_custom(|ops| team.run(index, ops)));
        }
        g.finish();
    });
}

/// Like [`group`], with the thread count as the benchmark's parameter.
fn scaling_point(c: &mut Criterion, group: &str, threads: usize, param: usize, entries: &Entries) {
    let jobs: Vec<&Job<'_>> = entries.iter().map(|(_, job)| &**job).collect();
    with_team(threads, &jobs, |team| {
        let mut g = c.benchmark_group(group);
        for (index, (name, _)) in entries.iter().enumerate() {
            g.bench_with_input(BenchmarkId::new(name.as_str(), param), &param, |b, _| {
                b.iter_custom(|ops| team.run(index, ops))
            });
        }
        g.finish();
    });
}

/// A headline workload (the user's loops): the floor and fresh allocation in
/// every binary; shardpool, its variants and the peers in the system binary
/// (`FULL`).
fn user<const FULL: bool, K: Kind>(
    c: &mut Criterion,
    bin: Bin,
    name: &str,
    threads: usize,
    shape: Loop,
) where
    K::T: Work<K> + Sync,
    [std::mem::MaybeUninit<u8>]: Work<K>,
{
    let fresh = Fresh::<K>::new();
    let e: Entries = vec![
        (bin.floor(), floor_job::<K>(shape)),
        (bin.fresh(), user_job::<K, _>(&fresh, shape)),
    ];
    if FULL {
        user_full::<K>(c, name, threads, shape, e);
    } else {
        group(c, name, threads, &e);
    }
}

/// The rest of a headline workload's implementations (system binary only).
/// zeropool hands out byte slices, so it is left out of `request`.
fn user_full<K: Kind>(c: &mut Criterion, name: &str, threads: usize, shape: Loop, e: Entries<'_>)
where
    K::T: Work<K> + Sync,
    [std::mem::MaybeUninit<u8>]: Work<K>,
{
    let zero_size = if std::any::TypeId::of::<K>() == std::any::TypeId::of::<Big>() {
        big_size()
    } else {
        small_size()
    };
    let (floor_guard, pool, noreset) = (FloorGuard::<K>::new(), shard_user::<K>(), shard::<K>());
    let (regex, opool, object) = (
        RegexPool::<K>::new(),
        OPool::<K>::new(),
        ObjectPool::<K>::new(),
    );
    let (linear, spin) = (LfLinear::<K>::new(), LfSpin::<K>::new());
    let (mutex, queue) = (MutexVec::<K>::new(), ArrayQ::<K>::new());
    let zero = ZeroPool::new(zero_size);
    // Declared after the sources, so dropped before them; shortened to this
    // frame (covariance) so the new entries can borrow them.
    let mut e: Entries<'_> = e;
    e.push(("free-list".into(), free_list_job::<K>(shape)));
    e.push(("shardpool".into(), user_job::<K, _>(&pool, shape)));
    e.push(("floor-guard".into(), user_job::<K, _>(&floor_guard, shape)));
    e.push((
        "shardpool-noreset".into(),
        user_job::<K, _>(&noreset, shape),
    ));
    e.push(("regex-automata".into(), user_job::<K, _>(&regex, shape)));
    e.push(("opool".into(), user_job::<K, _>(&opool, shape)));
    e.push(("object-pool".into(), user_job::<K, _>(&object, shape)));
    e.push(("lockfree-linear".into(), user_job::<K, _>(&linear, shape)));
    e.push(("lockfree-spinlock".into(), user_job::<K, _>(&spin, shape)));
    e.push(("mutex-vec".into(), user_job::<K, _>(&mutex, shape)));
    e.push(("arrayqueue".into(), user_job::<K, _>(&queue, shape)));
    if std::any::TypeId::of::<K>() != std::any::TypeId::of::<Req>() {
        e.push(("zeropool".into(), user_job::<K, _>(&zero, shape)));
    }
    group(c, name, threads, &e);
}

/// A workload on the older harness (`bighold16`, `mixed`, `zeroed`): the
/// floor and fresh allocation in every binary; shardpool, its variants and
/// the peers in the system binary (`FULL`).
fn buffers<const FULL: bool, K: Kind<T = Vec<u8>>>(
    c: &mut Criterion,
    bin: Bin,
    name: &str,
    threads: usize,
    load: Load,
) {
    let (floor, fresh, fresh_zeroed) = (Floor::<K>::new(), Fresh::<K>::new(), FreshZeroed);
    let mut e: Entries = vec![(bin.floor(), bytes_job(load, &floor))];
    if load == Load::Zeroed {
        e.push((bin.fresh(), bytes_job(load, &fresh_zeroed)));
    } else {
        e.push((bin.fresh(), bytes_job(load, &fresh)));
    }
    if FULL {
        buffers_full::<K>(c, name, threads, load, e);
    } else {
        group(c, name, threads, &e);
    }
}

/// The rest of an older-harness workload's implementations (system binary only).
fn buffers_full<K: Kind<T = Vec<u8>>>(
    c: &mut Criterion,
    name: &str,
    threads: usize,
    load: Load,
    e: Entries<'_>,
) {
    let (floor_guard, pool, recycle) = (FloorGuard::<K>::new(), shard::<K>(), shard_recycle::<K>());
    let (regex, opool, object) = (
        RegexPool::<K>::new(),
        OPool::<K>::new(),
        ObjectPool::<K>::new(),
    );
    let (linear, spin) = (LfLinear::<K>::new(), LfSpin::<K>::new());
    let (mutex, queue) = (MutexVec::<K>::new(), ArrayQ::<K>::new());
    let (zero, zeroed) = (ZeroPool::new(big_size()), ZeroPoolZeroed::new());
    // Declared after the sources, so dropped before them; shortened to this
    // frame (covariance) so the new entries can borrow them.
    let mut e: Entries<'_> = e;
    e.push(("shardpool".into(), bytes_job(load, &pool)));
    e.push(("floor-guard".into(), bytes_job(load, &floor_guard)));
    e.push(("shardpool-recycle".into(), bytes_job(load, &recycle)));
    e.push(("regex-automata".into(), bytes_job(load, &regex)));
    e.push(("opool".into(), bytes_job(load, &opool)));
    e.push(("object-pool".into(), bytes_job(load, &object)));
    e.push(("lockfree-linear".into(), bytes_job(load, &linear)));
    e.push(("lockfree-spinlock".into(), bytes_job(load, &spin)));
    e.push(("mutex-vec".into(), bytes_job(load, &mutex)));
    e.push(("arrayqueue".into(), bytes_job(load, &queue)));
    if load == Load::Zeroed {
        e.push(("zeropool".into(), bytes_job(load, &zeroed)));
    } else {
        e.push(("zeropool".into(), bytes_job(load, &zero)));
    }
    group(c, name, threads, &e);
}

/// `handoff` at `pairs` producer/consumer pairs: the floor and fresh
/// allocation, then (`FULL`) shardpool and the peers; `scaling` keeps a subset.
///
/// The allocator binaries also run shardpool (default and `idle128`) in the
/// `handoff` group: its channel wake-ups make `handoff` times swing with the
/// machine's load, so the target "shardpool vs fresh allocation with
/// mimalloc" is judged within one binary and one run, not through the floor.
fn handoff<const FULL: bool>(c: &mut Criterion, bin: Bin, pairs: usize, scaling: bool) {
    let fresh = Fresh::<Small>::new();
    let (pool, idle128) = (shard_user::<Small>(), shard_idle::<Small>(128));
    let mut e: Entries = vec![
        (bin.floor(), handoff_floor_job(pairs)),
        (bin.fresh(), handoff_job(&fresh, pairs)),
    ];
    if FULL {
        handoff_full(c, pairs, scaling, e);
    } else if scaling {
        scaling_point(c, "scaling_handoff", 2 * pairs, pairs, &e);
    } else {
        e.push((bin.tagged("shardpool"), handoff_job(&pool, pairs)));
        e.push((
            bin.tagged("shardpool-idle128"),
            handoff_job(&idle128, pairs),
        ));
        group(c, "handoff", 2 * pairs, &e);
    }
}

fn handoff_full(c: &mut Criterion, pairs: usize, scaling: bool, e: Entries<'_>) {
    let (pool, owned, detach, idle128) = (
        shard_user::<Small>(),
        shard_owned::<Small>(),
        shard_detach::<Small>(),
        shard_idle::<Small>(128),
    );
    let (regex, opool, object) = (
        RegexPool::<Small>::new(),
        OPool::<Small>::new(),
        ObjectPool::<Small>::new(),
    );
    let (linear, spin) = (LfLinear::<Small>::new(), LfSpin::<Small>::new());
    let (mutex, queue) = (MutexVec::<Small>::new(), ArrayQ::<Small>::new());
    let zero = ZeroPool::new(small_size());
    // Declared after the sources, so dropped before them; shortened to this
    // frame (covariance) so the new entries can borrow them.
    let mut e: Entries<'_> = e;
    e.push(("shardpool".into(), handoff_job(&pool, pairs)));
    if scaling {
        e.push(("regex-automata".into(), handoff_job(&regex, pairs)));
        e.push(("lockfree-linear".into(), handoff_job(&linear, pairs)));
        e.push(("mutex-vec".into(), handoff_job(&mutex, pairs)));
        scaling_point(c, "scaling_handoff", 2 * pairs, pairs, &e);
        return;
    }
    e.push(("channel-only".into(), channel_only_job(pairs)));
    e.push(("shardpool-owned".into(), handoff_job(&owned, pairs)));
    e.push(("shardpool-detach".into(), handoff_job(&detach, pairs)));
    e.push(("shardpool-idle128".into(), handoff_job(&idle128, pairs)));
    e.push(("regex-automata".into(), handoff_job(&regex, pairs)));
    e.push(("opool".into(), handoff_job(&opool, pairs)));
    e.push(("object-pool".into(), handoff_job(&object, pairs)));
    e.push(("lockfree-linear".into(), handoff_job(&linear, pairs)));
    e.push(("lockfree-spinlock".into(), handoff_job(&spin, pairs)));
    e.push(("mutex-vec".into(), handoff_job(&mutex, pairs)));
    e.push(("arrayqueue".into(), handoff_job(&queue, pairs)));
    e.push(("zeropool".into(), handoff_job(&zero, pairs)));
    group(c, "handoff", 2 * pairs, &e);
}

/// Thread counts of the `scaling` groups.
pub const SCALING: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// Every group, in the order the README lists them. `FULL`: this is the
/// system-allocator binary, which also runs shardpool's variants and the
/// peers; the other allocator binaries run the floor and fresh allocation
/// (and compile nothing else).
pub fn all<const FULL: bool>(c: &mut Criterion, bin: Bin) {
    user::<FULL, Small>(c, bin, "single", 1, Loop::Single);
    user::<FULL, Small>(c, bin, "parallel2", 2, Loop::Single);
    user::<FULL, Small>(c, bin, "oversub8", 8, Loop::Single);
    handoff::<FULL>(c, bin, 1, false);
    user::<FULL, Small>(c, bin, "hold32", 1, Loop::Hold(32));
    user::<FULL, Small>(c, bin, "hold32x2", 2, Loop::Hold(32));
    user::<FULL, Big>(c, bin, "big", 1, Loop::Single);
    user::<FULL, Big>(c, bin, "big_x2", 2, Loop::Single);
    user::<FULL, Req>(c, bin, "request", 1, Loop::Single);
    user::<FULL, Req>(c, bin, "request_x2", 2, Loop::Single);
    buffers::<FULL, Big>(c, bin, "bighold16", 1, Load::BigHold(16));
    buffers::<FULL, Grow>(c, bin, "mixed", 1, Load::Mixed);
    buffers::<FULL, Grow>(c, bin, "zeroed", 1, Load::Zeroed);
    scaling::<FULL>(c, bin);
}

/// `scaling_single` and `scaling_handoff` at 1..32 threads (handoff: pairs):
/// floor, fresh, and (`FULL`) shardpool, regex-automata, lockfree-linear,
/// mutex-vec.
pub fn scaling<const FULL: bool>(c: &mut Criterion, bin: Bin) {
    for threads in SCALING {
        let fresh = Fresh::<Small>::new();
        let e: Entries = vec![
            (bin.floor(), floor_job::<Small>(Loop::Single)),
            (bin.fresh(), user_job::<Small, _>(&fresh, Loop::Single)),
        ];
        if FULL {
            scaling_single_full(c, threads, e);
        } else {
            scaling_point(c, "scaling_single", threads, threads, &e);
        }
    }
    for pairs in SCALING {
        handoff::<FULL>(c, bin, pairs, true);
    }
}

fn scaling_single_full(c: &mut Criterion, threads: usize, e: Entries<'_>) {
    let (pool, regex) = (shard_user::<Small>(), RegexPool::<Small>::new());
    let (linear, mutex) = (LfLinear::<Small>::new(), MutexVec::<Small>::new());
    // Declared after the sources, so dropped before them; shortened to this
    // frame (covariance) so the new entries can borrow them.
    let mut e: Entries<'_> = e;
    let s = Loop::Single;
    e.push(("shardpool".into(), user_job::<Small, _>(&pool, s)));
    e.push(("regex-automata".into(), user_job::<Small, _>(&regex, s)));
    e.push(("lockfree-linear".into(), user_job::<Small, _>(&linear, s)));
    e.push(("mutex-vec".into(), user_job::<Small, _>(&mutex, s)));
    scaling_point(c, "scaling_single", threads, threads, &e);
}
