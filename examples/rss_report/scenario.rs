//! The RSS report's scenario, shared by every allocator variant: the root
//! example `rss_report` (the system allocator, glibc's malloc on Linux) and
//! `benchmarks/examples/rss_report_{mimalloc,jemalloc}.rs` include this file
//! with `#[path]` and differ only in the global allocator they wrap.
//!
//! A pool of 64 KiB `Vec<u8>` with `max_idle_per_thread(1024)`; 4 threads each
//! take 256 buffers at once (writing every byte), return them and exit; then
//! `trim()` twice. At each stage: resident memory (`/proc/self/statm`,
//! resident pages × page size), live heap bytes (a counting wrapper around the
//! global allocator) and the pool's idle objects.
//!
//! Two scenarios: `burst` is exactly that; `pinned` is the same burst in which
//! each thread also allocates a small object (256 bytes) after every 16th
//! buffer and keeps it to the end, as a server keeps connection state. Those
//! pin the top of each heap, so an allocator can only give back the freed
//! pages below them by releasing the middle of its heap.
//!
//! Each way of giving memory back runs in a fresh process (the binary runs
//! itself with `--mode`), so one does not inherit another's released pages:
//! - `none`: nothing but the pool's own trims;
//! - `release`: `shardpool::release_to_os()` (glibc's `malloc_trim(0)`) just
//!   before each stage is measured;
//! - `purge`: the allocator's own call instead (`mi_collect(true)`, jemalloc's
//!   `arena.<all>.purge`), for the variants that have one.
//!
//! Arguments: none prints both scenarios' markdown tables; `--scenario
//! burst|pinned --rows` prints one scenario's rows only (`scripts/rss_table.sh`
//! concatenates the variants').

#![allow(dead_code)]

use shardpool::Pool;
use std::alloc::{GlobalAlloc, Layout};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;

/// Counts live heap bytes, forwarding every call to `A` unchanged.
pub struct Counting<A>(pub A);

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Live heap bytes right now.
pub fn live_heap() -> isize {
    LIVE.load(Relaxed)
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged,
// so `A`'s implementation upholds the `GlobalAlloc` contract; the counter is
// only arithmetic on the side.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller's contract is `A::alloc`'s.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller's contract is `A::alloc_zeroed`'s.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: our caller's contract is `A::dealloc`'s.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: our caller's contract is `A::realloc`'s.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

/// One global allocator under test.
pub struct Variant {
    /// As shown in the table, e.g. "mimalloc 3".
    pub name: &'static str,
    /// The allocator's own "give memory back now" call, with its name, if it
    /// has one besides `malloc_trim`.
    pub purge: Option<(&'static str, fn())>,
}

const BUF: usize = 64 * 1024;
const THREADS: usize = 4;
const PER_THREAD: usize = 256;

const STAGES: [&str; 5] = [
    "before the burst",
    "peak: 1024 buffers held",
    "returned, threads exited",
    "after one trim",
    "after two trims",
];

#[derive(Clone, Copy, Default)]
struct Sample {
    rss: Option<u64>,
    live: isize,
    idle: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Burst,
    Pinned,
}

impl Scenario {
    fn arg(self) -> &'static str {
        match self {
            Scenario::Burst => "burst",
            Scenario::Pinned => "pinned",
        }
    }

    fn parse(arg: Option<&str>) -> Scenario {
        match arg {
            Some("burst") => Scenario::Burst,
            Some("pinned") => Scenario::Pinned,
            other => panic!("unknown scenario {other:?}"),
        }
    }
}

/// Scenario `pinned`: one small object kept per this many buffers.
const PIN_EVERY: usize = 16;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    None,
    Release,
    Purge,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Release => "release",
            Mode::Purge => "purge",
        }
    }
}

/// Runs the report for `variant` as the arguments say.
pub fn main(variant: Variant) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).map(String::as_str)
    };
    let scenarios = match value("--scenario") {
        Some(s) => vec![Scenario::parse(Some(s))],
        None => vec![Scenario::Burst, Scenario::Pinned],
    };
    if let Some(i) = args.iter().position(|a| a == "--mode") {
        let mode = match args.get(i + 1).map(String::as_str) {
            Some("none") => Mode::None,
            Some("release") => Mode::Release,
            Some("purge") => Mode::Purge,
            other => panic!("unknown mode {other:?}"),
        };
        for s in run(&variant, scenarios[0], mode) {
            println!("{}\t{}\t{}", s.rss.map_or(-1, |r| r as i64), s.live, s.idle);
        }
        return;
    }
    let rows_only = args.iter().any(|a| a == "--rows");
    for scenario in scenarios {
        if !rows_only {
            println!("\nScenario `{}`:\n\n{}", scenario.arg(), HEADER.join("\n"));
        }
        print_rows(&variant, scenario);
    }
}

fn print_rows(variant: &Variant, scenario: Scenario) {
    let none = in_child(scenario, Mode::None);
    let release = in_child(scenario, Mode::Release);
    let purge = variant.purge.map(|_| in_child(scenario, Mode::Purge));
    let purge_name = variant.purge.map_or("", |(name, _)| name);
    for (i, stage) in STAGES.iter().enumerate() {
        let purged = match &purge {
            Some(p) => format!("{} (`{purge_name}`)", mib_opt(p[i].rss)),
            None => "—".to_owned(),
        };
        println!(
            "| {} | {stage} | {} | {} | {} | {} | {purged} |",
            variant.name,
            mib(none[i].live as f64),
            none[i].idle,
            mib_opt(none[i].rss),
            mib_opt(release[i].rss),
        );
    }
}

/// The table's header.
pub const HEADER: [&str; 2] = [
    "| allocator | stage | live heap MiB | idle objects | RSS MiB | RSS MiB, `release_to_os()` at each stage | RSS MiB, allocator's purge at each stage |",
    "|---|---|--:|--:|--:|--:|--:|",
];

fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

fn mib_opt(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".to_owned(), |b| mib(b as f64))
}

/// Runs one mode in a fresh process (this same binary) and reads its samples.
fn in_child(scenario: Scenario, mode: Mode) -> Vec<Sample> {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .args(["--scenario", scenario.arg(), "--mode", mode.arg()])
        .output()
        .expect("run the scenario");
    assert!(
        out.status.success(),
        "mode {} failed: {}",
        mode.arg(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| {
            let f: Vec<i64> = line.split('\t').map(|x| x.parse().unwrap()).collect();
            Sample {
                rss: u64::try_from(f[0]).ok(),
                live: f[1] as isize,
                idle: f[2] as u64,
            }
        })
        .collect()
}

/// The scenario itself, in this process.
fn run(variant: &Variant, scenario: Scenario, mode: Mode) -> Vec<Sample> {
    let pool = Arc::new(
        Pool::builder()
            .recycle(1 << 20)
            .max_idle_per_thread(1024)
            .build(|| Vec::<u8>::with_capacity(BUF)),
    );
    let sample = |pool: &Pool<Vec<u8>>| {
        match mode {
            Mode::None => {}
            Mode::Release => {
                shardpool::release_to_os();
            }
            Mode::Purge => (variant.purge.expect("a purge call").1)(),
        }
        Sample {
            rss: rss_bytes(),
            live: live_heap(),
            idle: pool.stats().idle,
        }
    };
    let mut samples = vec![sample(&pool)];

    // Threads and the main thread meet at the peak (all buffers held), then
    // the threads return theirs and exit.
    let (peak, release) = (
        Arc::new(Barrier::new(THREADS + 1)),
        Arc::new(Barrier::new(THREADS + 1)),
    );
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (pool, peak, release) =
                (Arc::clone(&pool), Arc::clone(&peak), Arc::clone(&release));
            thread::spawn(move || {
                let mut kept = Vec::with_capacity(PER_THREAD / PIN_EVERY);
                let held: Vec<_> = (0..PER_THREAD)
                    .map(|i| {
                        let mut b = pool.get();
                        b.resize(BUF, 1); // touch every page, as a real read would
                        if scenario == Scenario::Pinned && i % PIN_EVERY == PIN_EVERY - 1 {
                            kept.push(Box::new([0u8; 256]));
                        }
                        b
                    })
                    .collect();
                peak.wait();
                release.wait();
                drop(held);
                kept
            })
        })
        .collect();
    peak.wait();
    samples.push(sample(&pool));
    release.wait();
    // The pinned objects stay alive to the end of the scenario.
    let kept: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    samples.push(sample(&pool));
    pool.trim();
    samples.push(sample(&pool));
    pool.trim();
    samples.push(sample(&pool));
    drop(kept);
    samples
}

/// Resident set size: `/proc/self/statm`'s second field (pages) × page size.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size()?)
}

#[cfg(target_os = "linux")]
fn page_size() -> Option<u64> {
    unsafe extern "C" {
        fn sysconf(name: std::ffi::c_int) -> std::ffi::c_long;
    }
    /// `_SC_PAGESIZE` on Linux (glibc and musl).
    const SC_PAGESIZE: std::ffi::c_int = 30;
    // SAFETY: `sysconf` takes an integer and returns one; declared with its
    // C signature; no memory is shared.
    let size = unsafe { sysconf(SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0)
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> Option<u64> {
    None
}
