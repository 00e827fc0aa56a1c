//! Memory held after `handoff`: is every implementation bounded?
//!
//! A producer thread gets a 4 KiB buffer, writes it, sends it through a
//! bounded channel (64) to a consumer that writes and returns it; 150 000
//! items, then 150 000 more. A counting wrapper around the system allocator
//! reports the bytes live while the pool is still alive (after each round)
//! and the peak. A bounded pool levels off; an unbounded one grows with
//! every round. Not a timing benchmark: `cargo bench --bench memory`
//! prints a markdown table and writes it to `$CARGO_TARGET_DIR/bench-report/memory.md`
//! (or `target/bench-report/memory.md`).

#[path = "../../examples/common/mod.rs"]
mod common;
mod peers;

use common::impls::{Fresh, shard, shard_detach, shard_idle, shard_owned};
use common::team::{Job, with_team};
use common::work::{handoff_floor_job, handoff_job};
use common::{Small, small_size};
use peers::{ArrayQ, LfLinear, LfSpin, MutexVec, OPool, ObjectPool, RegexPool, ZeroPool};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` unchanged; the counters are
// side effects that never touch the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grow(new_size as isize - layout.size() as isize);
        }
        p
    }
}

fn grow(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ITEMS: u64 = 150_000;
const ROUNDS: usize = 2;

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// Runs `job` for `ROUNDS` rounds of `ITEMS` on a producer/consumer pair;
/// returns live bytes above `base` after each round, with the pool alive.
fn rounds(job: &Job<'_>, base: isize) -> Vec<isize> {
    let mut after = Vec::new();
    with_team(2, &[job], |team| {
        for _ in 0..ROUNDS {
            team.run(0, ITEMS);
            after.push(LIVE.load(Ordering::Relaxed) - base);
        }
    });
    after
}

fn report(out: &mut String, name: &str, after: &[isize], peak: isize, dropped: isize, note: &str) {
    let rounds: Vec<String> = after.iter().map(|b| format!("{:.2}", mib(*b))).collect();
    let line = format!(
        "| {name} | {} | {:.2} | {:.2} | {note} |",
        rounds.join(" → "),
        mib(peak),
        mib(dropped)
    );
    eprintln!("{line}");
    writeln!(out, "{line}").unwrap();
}

/// Measures `handoff` through the source `build` makes; `note` describes it
/// after the run (shardpool's stats).
fn measure<S>(out: &mut String, name: &str, build: impl FnOnce() -> S, note: impl Fn(&S) -> String)
where
    S: common::Source,
    S::Obj: common::Bytes,
{
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let source = build();
    let job = handoff_job(&source, 1);
    let after = rounds(&*job, base);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let note = note(&source);
    drop(job);
    drop(source);
    let dropped = LIVE.load(Ordering::Relaxed) - base;
    report(out, name, &after, peak, dropped, &note);
}

fn none<S>(_: &S) -> String {
    String::new()
}

fn shard_note(stats: shardpool::Stats) -> String {
    format!(
        "created {}, idle {}, dropped by cap {}, stolen {} in {} steals",
        stats.created, stats.idle, stats.dropped_by_cap, stats.stolen, stats.steals
    )
}

fn main() {
    // `cargo bench` passes `--bench`; there are no options.
    let mut out = String::new();
    writeln!(
        out,
        "Live heap bytes above the baseline after each round of {ITEMS} `handoff` items \
         ({} B buffers, one producer/consumer pair), with the pool still alive; the peak \
         during the run; and what is left once the pool is dropped.\n\n\
         | implementation | MiB after each round | peak MiB | MiB after drop | notes |\n\
         |---|---|---|---|---|",
        small_size()
    )
    .unwrap();
    {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let job = handoff_floor_job::<Small>(1);
        let after = rounds(&*job, base);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        drop(job);
        let dropped = LIVE.load(Ordering::Relaxed) - base;
        report(
            &mut out,
            "floor (return channel)",
            &after,
            peak,
            dropped,
            "",
        );
    }
    measure(&mut out, "fresh@sys", Fresh::<Small>::new, none);
    measure(&mut out, "shardpool", shard::<Small>, |p| {
        shard_note(p.0.stats())
    });
    measure(&mut out, "shardpool-owned", shard_owned::<Small>, |p| {
        shard_note(p.0.stats())
    });
    measure(&mut out, "shardpool-detach", shard_detach::<Small>, |p| {
        shard_note(p.0.stats())
    });
    measure(
        &mut out,
        "shardpool-idle128",
        || shard_idle::<Small>(128),
        |p| shard_note(p.0.stats()),
    );
    measure(&mut out, "regex-automata", RegexPool::<Small>::new, none);
    measure(&mut out, "opool", OPool::<Small>::new, none);
    measure(&mut out, "object-pool", ObjectPool::<Small>::new, none);
    measure(&mut out, "lockfree-linear", LfLinear::<Small>::new, none);
    measure(&mut out, "lockfree-spinlock", LfSpin::<Small>::new, none);
    measure(&mut out, "mutex-vec", MutexVec::<Small>::new, none);
    measure(&mut out, "arrayqueue", ArrayQ::<Small>::new, none);
    measure(&mut out, "zeropool", || ZeroPool::new(small_size()), none);
    println!("{out}");
    let dir = std::path::Path::new(
        &std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
    )
    .join("bench-report");
    std::fs::create_dir_all(&dir).expect("create bench-report dir");
    std::fs::write(dir.join("memory.md"), out).expect("write memory.md");
}
