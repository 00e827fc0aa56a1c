//! Quick comparison: shardpool against fresh allocation and the floor, on the
//! core workloads, in well under 30 seconds.
//!
//! ```text
//! cargo run --release --example compare
//! cargo run --profile perf --example compare     # fat LTO, one codegen unit (docs/performance.md)
//! cargo run --release --example compare -- --workloads single,handoff --threads 2,4 --size 16384
//! cargo run --release --example compare -- --help
//! ```
//!
//! * **floor** and **free-list**: two bare loops on a `thread_local!`
//!   `RefCell<Vec<T>>` free list, with no guard, no slot, no dyn call.
//!   `floor` uses the list inline: pop (create on a miss) → the work →
//!   `black_box` of the bytes → reset (`clear()`) → push. `free-list` puts
//!   the list behind a small struct whose `get` (pop or create) and `put`
//!   (reset, push if fewer than 256 are idle) are `#[inline]` methods, and
//!   `black_box`es the `Vec` itself. Which is faster depends on the code the
//!   compiler emits for moving the `Vec` in and out of the list, so both run,
//!   and the faster of the two in the run (marked `<`) is the floor of the
//!   ratios.
//! * **shardpool**: configured as a user would, `Pool::builder().reset(clear)
//!   .max_idle_per_thread(256).build(create)`, used as a user writes it:
//!   `let mut b = pool.get(); work; black_box(&mut *b); drop(b)`.
//! * **floor-boxed** (not the floor, shown beside it where it applies): the
//!   same bare loop on a free list of `Box<T>`; only a one-word handle moves.
//!   Moving the 24-byte `Vec` in and out of the floor's list costs more than
//!   the list (a failed store-to-load forward), so this is the bound for a
//!   pool of pointer-stable objects.
//! * **fresh**: the same loop with `create()` for get and a drop for put
//!   (this binary's global allocator: the system's; `perf_tables` and the
//!   criterion suite in `benchmarks/` also have mimalloc and jemalloc).
//!
//! What each workload's loop does (the work is the same for all):
//!
//! * `single`: get a 4 KiB `Vec<u8>`, `extend_from_slice` 64 bytes, return.
//! * `parallel`: `single` on each of `--threads` threads at once (default 2
//!   and 8; 8 threads oversubscribe a 2-core machine).
//! * `hold32`: get 32 (64 bytes written into each), then return all 32;
//!   `hold32x2`: the same on 2 threads.
//! * `big`: a 256 KiB `Vec<u8>` (past glibc's mmap threshold), one byte
//!   written in each 4 KiB page; `big_x2` on 2 threads.
//! * `request`: parse a fixed 16-header HTTP request into a pooled `Request`
//!   (owned strings, a header vector); `request_x2` on 2 threads.
//! * `handoff`: per item, the producer gets a buffer, writes 64 bytes, sends
//!   it through a bounded channel (64); the consumer receives and returns it.
//!   The floor here is the bare loop's analogue for this topology: the
//!   consumer sends each buffer back to its producer through a second channel
//!   (no free-list or floor-boxed column).
//! * `bighold16`, `mixed`, `zeroed` (rows marked `*`): the older harness
//!   (`examples/common/work.rs`: objects held in an `Option` slot,
//!   64 bytes per page, no reset hook) for all three implementations alike;
//!   shardpool is `Pool::new(create)` there.
//!
//! Each time is ns per get+put per thread: every thread runs the workload
//! `n` times, started together at a barrier; the run's wall time (dispatch
//! until the last thread is done) is divided by `n`. The implementations take turns (interleaved) in
//! several short slices, and the table shows each one's median slice, so a
//! burst of noise hits all of them alike. The full comparison with every peer
//! and allocator is `scripts/perf_tables.sh` (docs/performance.md); the
//! criterion suite is `scripts/bench_all.sh`.

mod common;

use common::impls::{Floor, Fresh, shard, shard_user};
use common::team::{Job, with_team};
use common::user::{
    Loop, floor_boxed_job, floor_job, free_list_job, handoff_floor_job, handoff_job, user_job,
};
use common::work::{Load, bytes_job};
use common::{BIG_SIZE, Big, Kind, Req, SMALL_SIZE, Small};
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const HELP: &str = "\
compare: shardpool vs fresh allocation vs the floor, ns per get+put per thread

USAGE:
    cargo run --release --example compare -- [OPTIONS]

OPTIONS:
    -w, --workloads LIST  comma-separated, or `all` (default: single,parallel,handoff,hold32,big,request)
                          single    one thread: get a buffer, write 64 B, return it
                          parallel  `single` on each of --threads threads at once
                          handoff   producer gets+writes, sends through a bounded channel (64),
                                    consumer returns it; --threads/2 pairs (at least 1)
                          hold32    hold 32 buffers at once, then return them all
                          big       a --big buffer (256 KiB), one byte written into each 4 KiB page
                          request   parse a fixed HTTP request (16 headers, body) into a pooled struct
                          also: hold32x2, big_x2, request_x2 (2 threads), and, on the
                          older harness (marked *): bighold16, mixed, zeroed
    -t, --threads LIST    thread counts for parallel and handoff (default: 2,8)
    -s, --size BYTES      buffer size for single/parallel/handoff/hold32 (default: 4096, at least 128)
        --big BYTES       buffer size for big/bighold16 (default: 262144)
        --ms MS           length of one timed slice (default: 25)
        --rounds N        slices per implementation; the median is shown (default: 7)
    -h, --help            this text
";

/// Parsed command line.
struct Options {
    workloads: Vec<String>,
    threads: Vec<usize>,
    slice: Duration,
    rounds: usize,
}

fn parse() -> Result<Option<Options>, String> {
    let mut opts = Options {
        workloads: ["single", "parallel", "handoff", "hold32", "big", "request"]
            .map(String::from)
            .to_vec(),
        threads: vec![2, 8],
        slice: Duration::from_millis(25),
        rounds: 7,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "-w" | "--workloads" => {
                let v = value()?;
                opts.workloads = if v == "all" {
                    ALL.iter().map(|w| w.to_string()).collect()
                } else {
                    v.split(',').map(|s| s.trim().to_string()).collect()
                };
                if let Some(bad) = opts.workloads.iter().find(|w| !ALL.contains(&w.as_str())) {
                    return Err(format!("unknown workload `{bad}` (see --help)"));
                }
            }
            "-t" | "--threads" => {
                opts.threads = value()?
                    .split(',')
                    .map(|s| number(s.trim().to_string()))
                    .collect::<Result<_, _>>()?;
                if opts.threads.iter().any(|&t| t == 0 || t > 256) {
                    return Err("--threads: each count must be 1..=256".into());
                }
            }
            "-s" | "--size" => {
                let size = number(value()?)?;
                if size < 128 {
                    return Err("--size: at least 128 bytes (the workloads write 128)".into());
                }
                SMALL_SIZE.store(size, Ordering::Relaxed);
            }
            "--big" => {
                let size = number(value()?)?;
                if size < 64 {
                    return Err("--big: at least 64 bytes".into());
                }
                BIG_SIZE.store(size, Ordering::Relaxed);
            }
            "--ms" => opts.slice = Duration::from_millis(number(value()?)?.max(1) as u64),
            "--rounds" => opts.rounds = number(value()?)?.max(1),
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    Ok(Some(opts))
}

const ALL: [&str; 12] = [
    "single",
    "parallel",
    "handoff",
    "hold32",
    "hold32x2",
    "big",
    "big_x2",
    "request",
    "request_x2",
    "bighold16",
    "mixed",
    "zeroed",
];

/// Implementations, in table order (`free-list` and `floor-boxed` only where
/// they apply).
const IMPLS: [&str; 5] = ["floor", "free-list", "shardpool", "fresh", "floor-boxed"];
const FLOOR: usize = 0;
const FREE_LIST: usize = 1;
const SHARDPOOL: usize = 2;
const FRESH: usize = 3;
const FLOOR_BOXED: usize = 4;

/// One measured row.
struct Row {
    workload: String,
    threads: usize,
    /// Median ns/op of each of [`IMPLS`], where measured.
    ns: [Option<f64>; 5],
}

impl Row {
    /// The floor: the faster of the two bare loops measured in this run.
    fn floor(&self) -> f64 {
        let floor = self.ns[FLOOR].expect("the floor runs in every workload");
        self.ns[FREE_LIST].map_or(floor, |list| floor.min(list))
    }

    fn get(&self, i: usize) -> f64 {
        self.ns[i].expect("runs in every workload")
    }
}

/// Progress on stderr: one line, rewritten.
struct Progress {
    done: usize,
    total: usize,
    started: Instant,
}

impl Progress {
    fn show(&mut self, what: &str) {
        self.done += 1;
        eprint!(
            "\r\x1b[2K[{:>3}/{}] {:>5.1}s  {what}",
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }
}

/// Runs the jobs (implementation index, job) interleaved on one team;
/// returns each one's median ns/op in its implementation's column.
fn measure(
    label: &str,
    threads: usize,
    entries: &[(usize, Box<Job<'_>>)],
    opts: &Options,
    progress: &mut Progress,
) -> [Option<f64>; 5] {
    let jobs: Vec<&Job<'_>> = entries.iter().map(|(_, j)| &**j).collect();
    let medians = with_team(threads, &jobs, |team| {
        // Calibrate (and warm up) each: ops that take about one slice.
        let ops: Vec<u64> = (0..jobs.len())
            .map(|j| team.calibrate(j, opts.slice))
            .collect();
        let mut samples = vec![Vec::new(); jobs.len()];
        for round in 0..opts.rounds {
            for j in 0..jobs.len() {
                progress.show(&format!(
                    "{label}: {} (slice {}/{})",
                    IMPLS[entries[j].0],
                    round + 1,
                    opts.rounds
                ));
                let t = team.run(j, ops[j]);
                samples[j].push(t.as_nanos() as f64 / ops[j] as f64);
            }
        }
        samples
            .into_iter()
            .map(|mut s| {
                s.sort_by(f64::total_cmp);
                s[s.len() / 2]
            })
            .collect::<Vec<_>>()
    });
    let mut ns = [None; 5];
    for ((impl_index, _), median) in entries.iter().zip(medians) {
        ns[*impl_index] = Some(median);
    }
    ns
}

/// A headline workload: the two bare loops, shardpool, fresh allocation and
/// floor-boxed, each in the user's loop (`common::user`).
fn user<K: Kind>(
    label: &str,
    threads: usize,
    shape: Loop,
    opts: &Options,
    progress: &mut Progress,
) -> [Option<f64>; 5]
where
    K::T: common::user::Work<K>,
{
    let (pool, fresh) = (shard_user::<K>(), Fresh::<K>::new());
    let entries = [
        (FLOOR, floor_job::<K>(shape)),
        (FREE_LIST, free_list_job::<K>(shape)),
        (SHARDPOOL, user_job::<K, _>(&pool, shape)),
        (FRESH, user_job::<K, _>(&fresh, shape)),
        (FLOOR_BOXED, floor_boxed_job::<K>(shape)),
    ];
    measure(label, threads, &entries, opts, progress)
}

/// A workload on the older harness (`common::work`), for all three alike.
fn harness<K: common::Kind<T = Vec<u8>>>(
    label: &str,
    load: Load,
    opts: &Options,
    progress: &mut Progress,
) -> [Option<f64>; 5] {
    let (floor, pool, fresh) = (Floor::<K>::new(), shard::<K>(), Fresh::<K>::new());
    let entries = [
        (FLOOR, bytes_job(load, &floor)),
        (SHARDPOOL, bytes_job(load, &pool)),
        (FRESH, bytes_job(load, &fresh)),
    ];
    measure(label, 1, &entries, opts, progress)
}

fn handoff(label: &str, pairs: usize, opts: &Options, progress: &mut Progress) -> [Option<f64>; 5] {
    let (pool, fresh) = (shard_user::<Small>(), Fresh::<Small>::new());
    let entries = [
        (FLOOR, handoff_floor_job(pairs)),
        (SHARDPOOL, handoff_job(&pool, pairs)),
        (FRESH, handoff_job(&fresh, pairs)),
    ];
    measure(label, 2 * pairs, &entries, opts, progress)
}

/// The (workload, threads) pairs to run, expanded from the options.
fn plan(opts: &Options) -> Vec<(String, usize)> {
    let mut plan = Vec::new();
    for w in &opts.workloads {
        match w.as_str() {
            "parallel" => plan.extend(opts.threads.iter().map(|&t| (w.clone(), t))),
            "handoff" => {
                let mut pairs: Vec<usize> = opts.threads.iter().map(|&t| (t / 2).max(1)).collect();
                pairs.dedup();
                plan.extend(pairs.into_iter().map(|p| (w.clone(), 2 * p)));
            }
            "hold32x2" | "big_x2" | "request_x2" => plan.push((w.clone(), 2)),
            _ => plan.push((w.clone(), 1)),
        }
    }
    plan
}

fn run(
    workload: &str,
    threads: usize,
    opts: &Options,
    progress: &mut Progress,
) -> [Option<f64>; 5] {
    let label = format!("{workload} ({threads} thr)");
    match workload {
        "single" => user::<Small>(&label, 1, Loop::Single, opts, progress),
        "parallel" => user::<Small>(&label, threads, Loop::Single, opts, progress),
        "handoff" => handoff(&label, threads / 2, opts, progress),
        "hold32" | "hold32x2" => user::<Small>(&label, threads, Loop::Hold(32), opts, progress),
        "big" | "big_x2" => user::<Big>(&label, threads, Loop::Single, opts, progress),
        "request" | "request_x2" => user::<Req>(&label, threads, Loop::Single, opts, progress),
        "bighold16" => harness::<Big>(&label, Load::BigHold(16), opts, progress),
        "mixed" => harness::<common::Grow>(&label, Load::Mixed, opts, progress),
        "zeroed" => zeroed(&label, opts, progress),
        other => unreachable!("validated workload {other}"),
    }
}

/// `zeroed`: fresh allocation is `vec![0; n]` here, not allocate-then-memset.
fn zeroed(label: &str, opts: &Options, progress: &mut Progress) -> [Option<f64>; 5] {
    let (floor, pool) = (Floor::<common::Grow>::new(), shard::<common::Grow>());
    let fresh = common::impls::FreshZeroed;
    let entries = [
        (FLOOR, bytes_job(Load::Zeroed, &floor)),
        (SHARDPOOL, bytes_job(Load::Zeroed, &pool)),
        (FRESH, bytes_job(Load::Zeroed, &fresh)),
    ];
    measure(label, 1, &entries, opts, progress)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<11} {:>3}  {:>9} {:>9} {:>9} {:>9} {:>11}  {:>10} {:>10} {:>11}",
        "workload",
        "thr",
        "floor",
        "free-list",
        "shardpool",
        "fresh",
        "floor-boxed",
        "pool/floor",
        "pool/fresh",
        "fresh/floor"
    );
    println!(
        "{:<11} {:>3}  {:>9} {:>9} {:>9} {:>9} {:>11}",
        "", "", "ns/op", "ns/op", "ns/op", "ns/op", "ns/op"
    );
    for r in rows {
        let (floor, pool, fresh) = (r.floor(), r.get(SHARDPOOL), r.get(FRESH));
        let older = matches!(r.workload.as_str(), "bighold16" | "mixed" | "zeroed");
        // The bare loop that is the floor in this row gets a `<`.
        let cell = |i: usize| match r.ns[i] {
            Some(v)
                if (i == FLOOR || i == FREE_LIST) && r.ns[FREE_LIST].is_some() && v == floor =>
            {
                format!("<{}", ns(v))
            }
            Some(v) => ns(v),
            None => "-".into(),
        };
        println!(
            "{:<11} {:>3}  {:>9} {:>9} {:>9} {:>9} {:>11}  {:>9.2}x {:>9.2}x {:>10.2}x",
            if older {
                format!("{}*", r.workload)
            } else {
                r.workload.clone()
            },
            r.threads,
            cell(FLOOR),
            cell(FREE_LIST),
            cell(SHARDPOOL),
            cell(FRESH),
            cell(FLOOR_BOXED),
            pool / floor,
            pool / fresh,
            fresh / floor
        );
    }
}

fn ns(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}", v)
    } else if v >= 100.0 {
        format!("{:.1}", v)
    } else {
        format!("{:.2}", v)
    }
}

fn main() -> ExitCode {
    let opts = match parse() {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("compare: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("compare: warning: a debug build; run with --release for meaningful numbers");
    }
    let plan = plan(&opts);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "compare: {} workloads x up to {} implementations x {} slices of {} ms, {cpus} CPUs, \
         buffers {} B (big {} B), fresh = system allocator",
        plan.len(),
        IMPLS.len(),
        opts.rounds,
        opts.slice.as_millis(),
        common::small_size(),
        common::big_size()
    );
    let mut progress = Progress {
        done: 0,
        total: plan
            .iter()
            .map(|(w, _)| {
                let older = matches!(w.as_str(), "handoff" | "bighold16" | "mixed" | "zeroed");
                if older { 3 } else { 5 }
            })
            .sum::<usize>()
            * opts.rounds,
        started: Instant::now(),
    };
    let rows: Vec<Row> = plan
        .iter()
        .map(|(w, t)| Row {
            workload: w.clone(),
            threads: *t,
            ns: run(w, *t, &opts, &mut progress),
        })
        .collect();
    eprintln!(
        "\r\x1b[2Kcompare: done in {:.1}s",
        progress.started.elapsed().as_secs_f64()
    );
    print_table(&rows);
    println!(
        "\nns per get+put per thread, median of {} interleaved slices. Two bare loops on a thread_local!\n\
         RefCell<Vec<T>> free list: floor (pop, work, black_box, clear, push, inline) and free-list (the same\n\
         behind #[inline] get/put methods, black_box(&mut v), at most 256 kept). The faster of the two in\n\
         this run, marked <, is the floor of the ratios; pool/floor <= 1 means shardpool matches it.\n\
         floor-boxed is the same loop over Box<T> (one-word handles; not the floor). pool/fresh < 1 means\n\
         pooling beats the allocator. handoff's floor returns buffers to the producer through a second\n\
         channel. * = older harness (Option slot), all three alike. Timings on a busy machine are noisy:\n\
         compare ratios within one run, and repeat.",
        opts.rounds
    );
    ExitCode::SUCCESS
}
