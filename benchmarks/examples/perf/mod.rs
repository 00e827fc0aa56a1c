//! The runner behind `perf_tables` (system allocator, every peer) and
//! `perf_tables_jemalloc` / `perf_tables_mimalloc` (the floor, shardpool and
//! fresh allocation under that global allocator): the headline workloads in
//! the user's loops (`examples/common/user.rs`), interleaved, printed as
//! markdown tables for `docs/perf/` (`scripts/perf_tables.sh` writes them).
//!
//! ```text
//! perf_tables [--ms MS] [--rounds N] [--workloads LIST] [--tsv FILE]
//! ```
//!
//! Workloads (each line is the loop every implementation runs):
//!
//! | name      | threads | loop |
//! |-----------|---------|------|
//! | single    | 1 | get a 4 KiB `Vec<u8>`, `extend_from_slice` 64 B, `black_box`, return (reset = `clear`) |
//! | parallel2 | 2 | `single` on 2 threads at once |
//! | threads8  | 8 | `single` on 8 threads at once (oversubscribes a 2-core machine) |
//! | hold32    | 1 | get 32 (64 B written into each), then return all 32 |
//! | hold32x2  | 2 | `hold32` on 2 threads |
//! | big       | 1 | get a 256 KiB `Vec<u8>`, write one byte per 4 KiB page, return |
//! | request   | 1 | get a `Request`, parse a 16-header HTTP request into it (owned strings, header vector), return |
//! | handoff   | 2 | per item: producer gets, writes 64 B, sends (bounded channel, 64); consumer receives, `black_box`es, returns |
//!
//! The floor is the faster, in the same run, of two bare loops on a
//! `thread_local!` `RefCell<Vec<T>>` free list (`examples/common/user.rs`):
//! `floor` (the list used inline: pop or create → work → `black_box` →
//! reset → push) and `free-list` (the list behind `#[inline]` `get`/`put`
//! methods of a small struct, `black_box(&mut v)`, at most 256 kept); both
//! rows are in the full tables, and the summary names the one it used.
//! Beside them: `floor-boxed`, the same bare loop on a free list of
//! `Box<T>` (one-word handles; not the floor), and `floor-guard`, the
//! `floor` list behind a drop guard in the pools' loop.
//! shardpool is `Pool::builder().reset(clear).max_idle_per_thread(256)`;
//! peers have no reset hook, so the loop clears right before returning.
//! Times are ns per get+put per thread: every thread runs `ops` operations
//! from a common barrier, and the slice's wall time (dispatch to the last
//! thread done) is divided by `ops`; with more threads than cores (threads8
//! on 2 cores) that includes the time threads wait for a core.
//! Implementations take turns in short slices (each round starting with the
//! next one), and each one's median slice is reported.

use crate::common::impls::{FloorGuard, Fresh, shard_user};
use crate::common::team::{Job, with_team};
use crate::common::user::{
    Loop, Work, floor_boxed_job, floor_job, free_list_job, handoff_floor_job, handoff_job, user_job,
};
use crate::common::work::channel_only_job;
use crate::common::{Big, Kind, Req, Small, big_size, small_size};
use crate::peers::{ArrayQ, LfLinear, LfSpin, MutexVec, OPool, ObjectPool, RegexPool, ZeroPool};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// (name, threads, the loop in a line, shardpool/floor target).
pub const WORKLOADS: [(&str, usize, &str, Option<f64>); 8] = [
    (
        "single",
        1,
        "1 thread: get a 4 KiB `Vec<u8>`, write 64 B, return",
        Some(1.00),
    ),
    ("parallel2", 2, "`single` on 2 threads", Some(1.05)),
    ("threads8", 8, "`single` on 8 threads (2 cores)", Some(1.15)),
    (
        "hold32",
        1,
        "get 32 buffers (64 B into each), return all 32",
        Some(1.15),
    ),
    ("hold32x2", 2, "`hold32` on 2 threads", Some(1.20)),
    (
        "big",
        1,
        "256 KiB `Vec<u8>`, one byte per 4 KiB page",
        Some(1.05),
    ),
    (
        "request",
        1,
        "parse a 16-header HTTP request into a pooled struct",
        Some(1.05),
    ),
    (
        "handoff",
        2,
        "producer gets+writes 64 B, channel (64), consumer returns",
        None,
    ),
];

struct Options {
    slice: Duration,
    rounds: usize,
    workloads: Vec<String>,
    tsv: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        slice: Duration::from_millis(20),
        rounds: 11,
        workloads: WORKLOADS.iter().map(|w| w.0.to_string()).collect(),
        tsv: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ms" => {
                let v = value()?;
                let ms: u64 = v.parse().map_err(|_| format!("--ms: not a number: {v}"))?;
                o.slice = Duration::from_millis(ms.max(1));
            }
            "--rounds" => {
                let v = value()?;
                o.rounds = v
                    .parse::<usize>()
                    .map_err(|_| format!("--rounds: {v}"))?
                    .max(1);
            }
            "--workloads" => {
                o.workloads = value()?.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = o
                    .workloads
                    .iter()
                    .find(|w| !WORKLOADS.iter().any(|x| x.0 == w.as_str()))
                {
                    return Err(format!("unknown workload `{bad}`"));
                }
            }
            "--tsv" => o.tsv = Some(value()?),
            "-h" | "--help" => return Err("see the source's docs".into()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

/// One workload's results: (implementation, median ns/op).
type Results = Vec<(String, f64)>;

/// Runs `entries` interleaved on one team: calibrate each to a slice, then
/// `rounds` slices each, in turn; the median slice of each.
fn measure(threads: usize, entries: &[(String, Box<Job<'_>>)], o: &Options, what: &str) -> Results {
    let jobs: Vec<&Job<'_>> = entries.iter().map(|(_, j)| &**j).collect();
    with_team(threads, &jobs, |team| {
        let ops: Vec<u64> = (0..jobs.len())
            .map(|j| team.calibrate(j, o.slice))
            .collect();
        let mut samples = vec![Vec::new(); jobs.len()];
        for round in 0..o.rounds {
            eprint!("\r\x1b[2K{what}: slice {}/{}", round + 1, o.rounds);
            let _ = std::io::stderr().flush();
            // Each round starts with the next implementation, so none always
            // runs first after the others.
            for step in 0..jobs.len() {
                let j = (round + step) % jobs.len();
                // The coordinator's clock: from dispatch until every thread
                // is done (see `team`).
                let t = team.run(j, ops[j]);
                samples[j].push(t.as_nanos() as f64 / ops[j] as f64);
            }
        }
        entries
            .iter()
            .zip(samples)
            .map(|((name, _), mut s)| {
                s.sort_by(f64::total_cmp);
                (name.clone(), s[s.len() / 2])
            })
            .collect()
    })
}

/// The implementations of a single/hold/big/request workload.
fn user_entries<const FULL: bool, K: Kind>(
    threads: usize,
    shape: Loop,
    alloc: &str,
    o: &Options,
    what: &str,
) -> Results
where
    K::T: Work<K> + Sync,
    [std::mem::MaybeUninit<u8>]: Work<K>,
{
    let zero_size = if std::any::TypeId::of::<K>() == std::any::TypeId::of::<Big>() {
        big_size()
    } else {
        small_size()
    };
    let (pool, fresh, guard) = (shard_user::<K>(), Fresh::<K>::new(), FloorGuard::<K>::new());
    let (regex, opool, object) = (
        RegexPool::<K>::new(),
        OPool::<K>::new(),
        ObjectPool::<K>::new(),
    );
    let (linear, spin) = (LfLinear::<K>::new(), LfSpin::<K>::new());
    let (mutex, queue, zero) = (
        MutexVec::<K>::new(),
        ArrayQ::<K>::new(),
        ZeroPool::new(zero_size),
    );
    let mut e: Vec<(String, Box<Job<'_>>)> = vec![
        ("floor".into(), floor_job::<K>(shape)),
        ("shardpool".into(), user_job::<K, _>(&pool, shape)),
    ];
    e.push(("floor-boxed".into(), floor_boxed_job::<K>(shape)));
    e.push(("free-list".into(), free_list_job::<K>(shape)));
    if FULL {
        e.push(("floor-guard".into(), user_job::<K, _>(&guard, shape)));
        e.push(("regex-automata".into(), user_job::<K, _>(&regex, shape)));
        if std::any::TypeId::of::<K>() != std::any::TypeId::of::<Req>() {
            e.push(("zeropool".into(), user_job::<K, _>(&zero, shape)));
        }
        e.push(("lockfree-linear".into(), user_job::<K, _>(&linear, shape)));
        e.push(("lockfree-spinlock".into(), user_job::<K, _>(&spin, shape)));
        e.push(("opool".into(), user_job::<K, _>(&opool, shape)));
        e.push(("object-pool".into(), user_job::<K, _>(&object, shape)));
        e.push(("arrayqueue".into(), user_job::<K, _>(&queue, shape)));
        e.push(("mutex-vec".into(), user_job::<K, _>(&mutex, shape)));
    }
    e.push((format!("fresh@{alloc}"), user_job::<K, _>(&fresh, shape)));
    measure(threads, &e, o, what)
}

fn handoff_entries<const FULL: bool>(alloc: &str, o: &Options) -> Results {
    let (pool, fresh) = (shard_user::<Small>(), Fresh::<Small>::new());
    let (regex, opool, object) = (
        RegexPool::<Small>::new(),
        OPool::<Small>::new(),
        ObjectPool::<Small>::new(),
    );
    let (linear, spin) = (LfLinear::<Small>::new(), LfSpin::<Small>::new());
    let (mutex, queue) = (MutexVec::<Small>::new(), ArrayQ::<Small>::new());
    let zero = ZeroPool::new(small_size());
    let mut e: Vec<(String, Box<Job<'_>>)> = vec![
        ("floor".into(), handoff_floor_job(1)),
        ("shardpool".into(), handoff_job(&pool, 1)),
    ];
    if FULL {
        e.push(("channel-only".into(), channel_only_job(1)));
        e.push(("regex-automata".into(), handoff_job(&regex, 1)));
        e.push(("zeropool".into(), handoff_job(&zero, 1)));
        e.push(("lockfree-linear".into(), handoff_job(&linear, 1)));
        e.push(("lockfree-spinlock".into(), handoff_job(&spin, 1)));
        e.push(("opool".into(), handoff_job(&opool, 1)));
        e.push(("object-pool".into(), handoff_job(&object, 1)));
        e.push(("arrayqueue".into(), handoff_job(&queue, 1)));
        e.push(("mutex-vec".into(), handoff_job(&mutex, 1)));
    }
    e.push((format!("fresh@{alloc}"), handoff_job(&fresh, 1)));
    measure(2, &e, o, "handoff")
}

fn run<const FULL: bool>(name: &str, alloc: &str, o: &Options) -> Results {
    match name {
        "single" => user_entries::<FULL, Small>(1, Loop::Single, alloc, o, name),
        "parallel2" => user_entries::<FULL, Small>(2, Loop::Single, alloc, o, name),
        "threads8" => user_entries::<FULL, Small>(8, Loop::Single, alloc, o, name),
        "hold32" => user_entries::<FULL, Small>(1, Loop::Hold(32), alloc, o, name),
        "hold32x2" => user_entries::<FULL, Small>(2, Loop::Hold(32), alloc, o, name),
        "big" => user_entries::<FULL, Big>(1, Loop::Single, alloc, o, name),
        "request" => user_entries::<FULL, Req>(1, Loop::Single, alloc, o, name),
        "handoff" => handoff_entries::<FULL>(alloc, o),
        other => unreachable!("validated workload {other}"),
    }
}

fn ns(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn get(r: &Results, name: &str) -> Option<f64> {
    r.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

/// The floor of a workload's results: the faster of the two bare loops
/// (`floor`, `free-list`) where both ran, and which one it is.
fn floor(r: &Results) -> (f64, &'static str) {
    let inline = get(r, "floor").expect("the floor runs in every workload");
    match get(r, "free-list") {
        Some(list) if list < inline => (list, "free-list"),
        _ => (inline, "floor"),
    }
}

/// The tables, as markdown.
fn tables<const FULL: bool>(alloc: &str, rows: &[(&str, Results)], o: &Options) -> String {
    let mut out = String::new();
    let fresh = format!("fresh@{alloc}");
    let _ = writeln!(
        out,
        "ns per get+put per thread (wall time of a slice / operations per thread), median of {} \
         interleaved slices of {} ms; ratios are shardpool's time over the floor's (or fresh \
         allocation's) in the same run. The floor is the faster of the bare loops `floor` and \
         `free-list` in this run (column `floor is`).\n",
        o.rounds,
        o.slice.as_millis()
    );
    if FULL {
        let _ = writeln!(
            out,
            "| workload | floor ns | floor is | shardpool ns | shardpool/floor | target | floor-boxed ns | best peer | {fresh} ns |"
        );
        let _ = writeln!(out, "|---|--:|---|--:|--:|--:|--:|---|--:|");
        for (w, r) in rows {
            let ((floor, which), pool) = (floor(r), get(r, "shardpool").unwrap());
            let target = WORKLOADS.iter().find(|x| x.0 == *w).and_then(|x| x.3);
            let best = r
                .iter()
                .filter(|(n, _)| {
                    !matches!(
                        n.as_str(),
                        "floor"
                            | "shardpool"
                            | "floor-guard"
                            | "floor-boxed"
                            | "free-list"
                            | "channel-only"
                    ) && !n.starts_with("fresh@")
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let _ = writeln!(
                out,
                "| {w} | {} | {which} | {} | {:.2}x | {} | {} | {} | {} |",
                ns(floor),
                ns(pool),
                pool / floor,
                match target {
                    Some(t) if pool / floor <= t => format!("≤ {t:.2}x met"),
                    Some(t) => format!("≤ {t:.2}x not met"),
                    None => "-".into(),
                },
                get(r, "floor-boxed").map_or("-".into(), ns),
                best.map_or("-".into(), |(n, v)| format!("{n} {}", ns(*v))),
                get(r, &fresh).map_or("-".into(), ns),
            );
        }
        // Every implementation, ns and ratio to the floor.
        let mut names: Vec<String> = Vec::new();
        for (_, r) in rows {
            for (n, _) in r {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        for (title, ratio) in [
            ("ns per get+put", false),
            ("ratio to the floor (the faster bare loop)", true),
        ] {
            let _ = write!(out, "\n{title}:\n\n| implementation |");
            for (w, _) in rows {
                let _ = write!(out, " {w} |");
            }
            let _ = write!(out, "\n|---|");
            for _ in rows {
                let _ = write!(out, "--:|");
            }
            out.push('\n');
            for n in &names {
                let _ = write!(out, "| {n} |");
                for (_, r) in rows {
                    let cell = match get(r, n) {
                        Some(v) if ratio => format!("{:.2}x", v / floor(r).0),
                        Some(v) => ns(v),
                        None => "-".into(),
                    };
                    let _ = write!(out, " {cell} |");
                }
                out.push('\n');
            }
        }
    } else {
        let _ = writeln!(
            out,
            "| workload | floor ns | floor is | floor-boxed ns | shardpool ns | {fresh} ns | shardpool/floor | shardpool/{fresh} |"
        );
        let _ = writeln!(out, "|---|--:|---|--:|--:|--:|--:|--:|");
        for (w, r) in rows {
            let ((floor, which), pool) = (floor(r), get(r, "shardpool").unwrap());
            let f = get(r, &fresh).unwrap();
            let _ = writeln!(
                out,
                "| {w} | {} | {which} | {} | {} | {} | {:.2}x | {:.2}x |",
                ns(floor),
                get(r, "floor-boxed").map_or("-".into(), ns),
                ns(pool),
                ns(f),
                pool / floor,
                pool / f
            );
        }
    }
    out
}

/// `FULL`: every peer (the system-allocator binary).
pub fn main<const FULL: bool>(alloc: &str) -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("perf_tables: {e}");
            return ExitCode::from(2);
        }
    };
    let rows: Vec<(&str, Results)> = WORKLOADS
        .iter()
        .filter(|w| o.workloads.iter().any(|x| x == w.0))
        .map(|w| (w.0, run::<FULL>(w.0, alloc, &o)))
        .collect();
    eprintln!("\r\x1b[2Kperf_tables: done");
    if let Some(path) = &o.tsv {
        let mut tsv = String::new();
        for (w, r) in &rows {
            for (n, v) in r {
                let _ = writeln!(tsv, "{w}\t{n}\t{v:.3}");
            }
        }
        if let Err(e) = std::fs::write(path, tsv) {
            eprintln!("perf_tables: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    print!("{}", tables::<FULL>(alloc, &rows, &o));
    ExitCode::SUCCESS
}
