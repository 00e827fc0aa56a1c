//! `BufferPool` against the alternatives, on variable-size byte buffers.
//!
//! Sizes come from a fixed mixed distribution (a seeded xorshift, so every
//! contender and every run sees the same sequence): 80% uniform in
//! 1 B..=4 KiB, 15% in 4 KiB..=64 KiB, 5% in 64 KiB..=1 MiB. Each operation
//! gets a buffer of the next size, writes its first 64 bytes and one byte in
//! every further 4 KiB page of the requested length (so fresh memory pays its
//! page faults, as it would when filled), and returns it:
//!
//! * `hold1`: get, write, return: one buffer in use per thread at a time;
//! * `window8`: each thread keeps its last 8 buffers in use (a worker with
//!   eight requests in flight); each operation returns the oldest and gets a
//!   new one.
//!
//! on one and two threads. Contenders:
//!
//! | name            | what                                                          |
//! |-----------------|---------------------------------------------------------------|
//! | `buffer-pool`   | `shardpool::BufferPool::new()` (256 B..4 MiB, 32 MiB budget)   |
//! | `fresh-system`  | `Vec::with_capacity(n)` and drop, system allocator (glibc)     |
//! | `fresh-mimalloc`| the same allocation through `mimalloc::MiMalloc` directly      |
//! | `zeropool`      | `zeropool::ZeroPool::new()`, `alloc_uninit(n)` (no zeroing)    |
//! | `single-pool`   | one `shardpool::Pool<Vec<u8>>`, `recycle(1 MiB)` reset cap, `reserve_exact(n)` after `get` |
//! | `floor`         | per-class `thread_local!` free lists, unbounded: the lower bound |
//!
//! Times are per operation per thread: the slowest thread's CPU time (user
//! plus system, so page faults count) divided by its operations. CPU time,
//! not wall time, because these benchmarks were written on a 2-core VM shared
//! with other builds, where wall time mostly measured the neighbours.
//!
//! After the criterion groups, a second phase measures each contender's peak
//! retained bytes with a counting global allocator: the live heap bytes,
//! after every thread has returned all its buffers, at the end of each of 16
//! rounds, highest round reported (buffers plus the pool's own bookkeeping;
//! `fresh-mimalloc` bypasses the counter and `fresh-system` retains nothing
//! by construction).
//!
//! Run: `cargo bench --bench buffers` (criterion plus the retained-bytes
//! table), or `BUFFERS_TABLE=1 cargo bench --bench buffers` for just a
//! markdown table of both (median of 9 runs per cell, each contender alone,
//! no criterion), which is what the README's table comes from.
//! `BUFFERS_PROFILE=buffer-pool/window8/1` runs one cell for a couple of
//! seconds and prints its ns/op, for `perf record`.

use criterion::Criterion;
use shardpool::{BufferPool, Pool, Pooled, PooledBuf};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
#[cfg(not(target_os = "linux"))]
use std::time::Instant;
use zeropool::{BufUninit, ZeroPool};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const PAGE: usize = 4 * KIB;
/// Buffers each thread keeps in use in `window8`.
const WINDOW: usize = 8;
/// Entries in the size table (a power of two); threads start at different
/// offsets and wrap around.
const TABLE: usize = 1 << 14;

// ---------------------------------------------------------------------------
// Counting allocator (retained-bytes phase only; off while timing).

/// The system allocator, counting live bytes while `COUNTING` is on.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count(delta: isize) {
    // Relaxed: a statistic, read only once the threads have synchronized
    // with the reader through the team's channel.
    if COUNTING.load(Relaxed) {
        LIVE.fetch_add(delta, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees are ours; the counting touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

// ---------------------------------------------------------------------------
// Workload.

/// The fixed mixed size sequence (xorshift64, fixed seed).
fn mixed_sizes() -> Vec<usize> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    (0..TABLE)
        .map(|_| {
            let (lo, hi) = match next() % 100 {
                0..80 => (1, 4 * KIB),
                80..95 => (4 * KIB + 1, 64 * KIB),
                _ => (64 * KIB + 1, MIB),
            };
            lo + next() % (hi - lo + 1)
        })
        .collect()
}

/// Writes the first 64 bytes and one byte in every further page of the first
/// `n` bytes.
#[inline(always)]
fn touch(bytes: &mut [MaybeUninit<u8>], n: usize) {
    let n = n.min(bytes.len());
    for (i, byte) in bytes[..n.min(64)].iter_mut().enumerate() {
        byte.write(i as u8);
    }
    let mut at = PAGE;
    while at < n {
        bytes[at].write(1);
        at += PAGE;
    }
    black_box(bytes.as_ptr());
}

/// Writable bytes of a buffer: at least the requested length.
trait Bytes {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>];
}

impl Bytes for Vec<u8> {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }
}

impl Bytes for PooledBuf<'_> {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }
}

impl Bytes for Pooled<'_, Vec<u8>> {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }
}

impl Bytes for BufUninit<'_> {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        self.as_uninit_mut()
    }
}

/// One way to get a buffer of at least `n` bytes; dropping it gives it back.
trait Source: Send + Sync + 'static {
    type Buf<'a>: Bytes
    where
        Self: 'a;
    fn get(&self, n: usize) -> Self::Buf<'_>;
}

impl Source for BufferPool {
    type Buf<'a> = PooledBuf<'a>;
    #[inline(always)]
    fn get(&self, n: usize) -> PooledBuf<'_> {
        BufferPool::get(self, n)
    }
}

struct FreshSystem;

impl Source for FreshSystem {
    type Buf<'a> = Vec<u8>;
    #[inline(always)]
    fn get(&self, n: usize) -> Vec<u8> {
        Vec::with_capacity(n)
    }
}

struct FreshMimalloc;

/// A buffer allocated from mimalloc directly (the global allocator stays the
/// counted system one, so one binary measures both).
struct MiBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Source for FreshMimalloc {
    type Buf<'a> = MiBuf;
    #[inline(always)]
    fn get(&self, n: usize) -> MiBuf {
        let layout = Layout::from_size_align(n.max(1), 1).expect("size fits a layout");
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { mimalloc::MiMalloc.alloc(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        MiBuf { ptr, layout }
    }
}

impl Bytes for MiBuf {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: `ptr` is a live allocation of `layout.size()` bytes owned by
        // `self`, and `MaybeUninit<u8>` needs no initialization.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), self.layout.size()) }
    }
}

impl Drop for MiBuf {
    fn drop(&mut self) {
        // SAFETY: allocated by `MiMalloc.alloc` with this very layout, freed once.
        unsafe { mimalloc::MiMalloc.dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The floor: per-class `thread_local!` free lists of `Vec<u8>`, the same
/// power-of-two classes as `BufferPool::new()`, unsynchronized and unbounded
/// (no budget, no stealing, no trimming, no statistics). No pool with size
/// classes can beat it on one thread.
struct Floor;

thread_local! {
    static FLOOR: RefCell<[Vec<Vec<u8>>; 15]> = const { RefCell::new([const { Vec::new() }; 15]) };
}

/// `Floor`'s buffer: goes back to its thread's free list when dropped.
struct FloorBuf(Vec<u8>, usize);

impl Source for Floor {
    type Buf<'a> = FloorBuf;
    #[inline(always)]
    fn get(&self, n: usize) -> FloorBuf {
        let class = (usize::BITS - (n.saturating_sub(1) | 255).leading_zeros() - 8) as usize;
        if class >= 15 {
            return FloorBuf(Vec::with_capacity(n), class);
        }
        let buf = FLOOR.with(|f| f.borrow_mut()[class].pop());
        FloorBuf(
            buf.unwrap_or_else(|| Vec::with_capacity(256 << class)),
            class,
        )
    }
}

impl Bytes for FloorBuf {
    fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        self.0.spare_capacity_mut()
    }
}

impl Drop for FloorBuf {
    fn drop(&mut self) {
        if self.1 < 15 {
            let mut buf = std::mem::take(&mut self.0);
            buf.clear();
            let _ = FLOOR.try_with(|f| f.borrow_mut()[self.1].push(buf));
        }
    }
}

struct Zero(ZeroPool);

impl Source for Zero {
    type Buf<'a> = BufUninit<'a>;
    #[inline(always)]
    fn get(&self, n: usize) -> BufUninit<'_> {
        self.0.alloc_uninit(n)
    }
}

/// One pool of `Vec<u8>` for every size, the way a `sync.Pool` of buffers is
/// used: grow the buffer to the request, drop it on return if it grew past
/// the cap (here 1 MiB, the largest request, so none is dropped).
struct Single(Pool<Vec<u8>>);

impl Source for Single {
    type Buf<'a> = Pooled<'a, Vec<u8>>;
    #[inline(always)]
    fn get(&self, n: usize) -> Pooled<'_, Vec<u8>> {
        let mut buf = self.0.get();
        buf.reserve_exact(n);
        buf
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Hold1,
    Window8,
}

impl Load {
    fn name(self) -> &'static str {
        match self {
            Load::Hold1 => "hold1",
            Load::Window8 => "window8",
        }
    }
}

fn hold1<S: Source>(source: &S, sizes: &[usize], start: usize, ops: u64) {
    for i in 0..ops as usize {
        let n = black_box(sizes[(start + i) & (TABLE - 1)]);
        let mut buf = source.get(n);
        touch(buf.bytes(), n);
    }
}

fn window8<S: Source>(source: &S, sizes: &[usize], start: usize, ops: u64) {
    let mut window: [Option<S::Buf<'_>>; WINDOW] = std::array::from_fn(|_| None);
    for i in 0..ops as usize {
        let n = black_box(sizes[(start + i) & (TABLE - 1)]);
        let slot = &mut window[i % WINDOW];
        *slot = None; // the oldest goes back first
        let mut buf = source.get(n);
        touch(buf.bytes(), n);
        *slot = Some(buf);
    }
    // The rest go back here, so between runs no thread holds anything.
}

thread_local! {
    /// Where this thread continues in the size table.
    static CURSOR: Cell<usize> = const { Cell::new(0) };
}

/// A job for the team: `job(thread, ops)`.
type Job = Arc<dyn Fn(usize, u64) + Send + Sync>;

fn job<S: Source>(source: S, load: Load, sizes: Arc<Vec<usize>>) -> (Job, Arc<S>) {
    let source = Arc::new(source);
    let keep = Arc::clone(&source);
    let job: Job = Arc::new(move |thread, ops| {
        let start = CURSOR.with(|c| {
            let start = c.get().max(thread * (TABLE / 4 + 1));
            c.set(start + ops as usize);
            start
        });
        match load {
            Load::Hold1 => hold1(&*source, &sizes, start, ops),
            Load::Window8 => window8(&*source, &sizes, start, ops),
        }
    });
    (job, keep)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    BufferPool,
    FreshSystem,
    FreshMimalloc,
    Zeropool,
    SinglePool,
    Floor,
}

const CONTENDERS: [Contender; 6] = [
    Contender::BufferPool,
    Contender::FreshSystem,
    Contender::FreshMimalloc,
    Contender::Zeropool,
    Contender::SinglePool,
    Contender::Floor,
];

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::BufferPool => "buffer-pool",
            Contender::FreshSystem => "fresh-system",
            Contender::FreshMimalloc => "fresh-mimalloc",
            Contender::Zeropool => "zeropool",
            Contender::SinglePool => "single-pool",
            Contender::Floor => "floor",
        }
    }

    /// A fresh instance and a job running `load` on it. The second value
    /// keeps the instance for inspection (`BufferPool` stats) and for the
    /// caller to decide when it is dropped.
    fn job(self, load: Load, sizes: Arc<Vec<usize>>) -> (Job, Box<dyn std::any::Any>) {
        fn boxed<S: Source>((job, keep): (Job, Arc<S>)) -> (Job, Box<dyn std::any::Any>) {
            (job, Box::new(keep))
        }
        match self {
            Contender::BufferPool => boxed(job(BufferPool::new(), load, sizes)),
            Contender::FreshSystem => boxed(job(FreshSystem, load, sizes)),
            Contender::FreshMimalloc => boxed(job(FreshMimalloc, load, sizes)),
            Contender::Zeropool => boxed(job(Zero(ZeroPool::new()), load, sizes)),
            Contender::SinglePool => {
                let pool = Pool::builder().recycle(MIB).build(Vec::new);
                boxed(job(Single(pool), load, sizes))
            }
            Contender::Floor => boxed(job(Floor, load, sizes)),
        }
    }
}

// ---------------------------------------------------------------------------
// A team of persistent threads that start each run together.

/// CPU time of the calling thread (user and system, so page faults count).
/// The VM this was written on is shared: wall time would charge a run for
/// the time other processes held its core.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, now: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` (glibc/musl, linked by std) writes one
    // `struct timespec`, which `Timespec` matches on 64-bit Linux.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Elsewhere: wall time since the first call.
#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

struct Team {
    commands: Vec<mpsc::Sender<(Job, u64)>>,
    times: mpsc::Receiver<Duration>,
    threads: Vec<JoinHandle<()>>,
}

impl Team {
    fn new(threads: usize) -> Team {
        let barrier = Arc::new(Barrier::new(threads));
        let (done, times) = mpsc::channel();
        let (commands, threads) = (0..threads)
            .map(|t| {
                let (tx, rx) = mpsc::channel::<(Job, u64)>();
                let (barrier, done) = (Arc::clone(&barrier), done.clone());
                let handle = std::thread::spawn(move || {
                    for (job, ops) in rx {
                        barrier.wait();
                        let start = thread_cpu_time();
                        job(t, ops);
                        let elapsed = thread_cpu_time().saturating_sub(start);
                        drop(job);
                        done.send(elapsed).expect("team leader gone");
                    }
                });
                (tx, handle)
            })
            .unzip();
        Team {
            commands,
            times,
            threads,
        }
    }

    /// Runs `ops` operations of `job` on every thread; the slowest thread's time.
    fn run(&self, job: &Job, ops: u64) -> Duration {
        for command in &self.commands {
            command
                .send((Arc::clone(job), ops))
                .expect("team thread died");
        }
        (0..self.commands.len())
            .map(|_| self.times.recv().expect("team thread died"))
            .max()
            .unwrap_or_default()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.commands.clear();
        for thread in self.threads.drain(..) {
            thread.join().expect("team thread panicked");
        }
    }
}

// ---------------------------------------------------------------------------
// Measurements.

fn criterion_groups(c: &mut Criterion, sizes: &Arc<Vec<usize>>) {
    for threads in [1, 2] {
        let team = Team::new(threads);
        for load in [Load::Hold1, Load::Window8] {
            let mut group = c.benchmark_group(format!("buffers/{}/{threads}t", load.name()));
            for contender in CONTENDERS {
                let (job, keep) = contender.job(load, Arc::clone(sizes));
                group.bench_function(contender.name(), |b| {
                    b.iter_custom(|ops| team.run(&job, ops));
                });
                drop((job, keep));
            }
            group.finish();
        }
    }

    // Two pools used in turn on one thread: does switching cost the fast path?
    let team = Team::new(1);
    let mut group = c.benchmark_group("buffers/two-pools/1t");
    {
        let pools = Arc::new([BufferPool::new(), BufferPool::new()]);
        let s = Arc::clone(sizes);
        let job: Job = Arc::new(move |_, ops| {
            for i in 0..ops as usize {
                let n = black_box(s[i & (TABLE - 1)]);
                let mut buf = pools[i & 1].get(n);
                touch(buf.spare_capacity_mut(), n);
            }
        });
        group.bench_function("buffer-pool", |b| b.iter_custom(|ops| team.run(&job, ops)));
    }
    {
        let pools = Arc::new([ZeroPool::new(), ZeroPool::new()]);
        let s = Arc::clone(sizes);
        let job: Job = Arc::new(move |_, ops| {
            for i in 0..ops as usize {
                let n = black_box(s[i & (TABLE - 1)]);
                let mut buf = pools[i & 1].alloc_uninit(n);
                touch(buf.as_uninit_mut(), n);
            }
        });
        group.bench_function("zeropool", |b| b.iter_custom(|ops| team.run(&job, ops)));
    }
    group.finish();
}

/// Peak retained bytes of `contender` under `load` on `threads` threads.
fn retained(contender: Contender, load: Load, threads: usize, sizes: &Arc<Vec<usize>>) -> u64 {
    const ROUNDS: usize = 16;
    const OPS: u64 = 4_000;
    let team = Team::new(threads);
    COUNTING.store(true, Relaxed);
    let base = LIVE.load(Relaxed);
    let (job, keep) = contender.job(load, Arc::clone(sizes));
    let mut peak = 0;
    for _ in 0..ROUNDS {
        team.run(&job, OPS);
        peak = peak.max(LIVE.load(Relaxed) - base);
    }
    if let Some(pool) = keep.downcast_ref::<Arc<BufferPool>>() {
        let s = pool.stats();
        let t = &s.total;
        eprintln!(
            "  buffer-pool {}/{threads}t: charged {} of {} budget, idle {}; gets {}: \
             private {}, shared {}, steals {}, created {}; dropped by budget {}, by cap {}",
            load.name(),
            human(s.charged_bytes),
            human(pool.max_idle_bytes() as u64),
            human(t.idle_bytes),
            t.gets,
            t.private_hits,
            t.shared_hits,
            t.steals,
            t.created,
            t.dropped_by_budget,
            t.dropped_by_cap,
        );
    }
    drop((job, keep));
    drop(team);
    COUNTING.store(false, Relaxed);
    peak.max(0) as u64
}

fn retained_table(sizes: &Arc<Vec<usize>>) -> Vec<(Load, usize, Contender, u64)> {
    let mut rows = Vec::new();
    for load in [Load::Hold1, Load::Window8] {
        for threads in [1, 2] {
            for contender in CONTENDERS {
                let bytes = retained(contender, load, threads, sizes);
                rows.push((load, threads, contender, bytes));
            }
        }
    }
    rows
}

/// ns/op of every contender under `load` on `team`, each measured alone (its
/// own instance, warmed up, then the median of `runs` runs of `ops`
/// operations, then dropped), the way a process would use only one of them:
/// with the pools' memory alive beside it, the allocator's own state (and so
/// `fresh-system`'s time) changes.
fn isolated(team: &Team, load: Load, sizes: &Arc<Vec<usize>>, ops: u64, runs: usize) -> Vec<f64> {
    CONTENDERS
        .iter()
        .map(|contender| {
            let (job, _keep) = contender.job(load, Arc::clone(sizes));
            ns_per_op(team, &job, ops, runs)
        })
        .collect()
}

/// Median ns/op of `runs` timed runs of `ops` operations (after a warm-up run).
fn ns_per_op(team: &Team, job: &Job, ops: u64, runs: usize) -> f64 {
    team.run(job, ops);
    let mut times: Vec<f64> = (0..runs)
        .map(|_| team.run(job, ops).as_nanos() as f64 / ops as f64)
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// The README table: ns/op (median of 9 runs, each contender alone) and
/// peak retained bytes.
fn markdown_table(sizes: &Arc<Vec<usize>>) {
    let retained = retained_table(sizes);
    println!("| workload | threads | contender | ns/op | × fresh-system | peak retained |");
    println!("|---|---:|---|---:|---:|---:|");
    for load in [Load::Hold1, Load::Window8] {
        for threads in [1, 2] {
            let team = Team::new(threads);
            let times = isolated(&team, load, sizes, 50_000, 9);
            let fresh = times[1];
            for (&contender, &ns) in CONTENDERS.iter().zip(&times) {
                let bytes = retained
                    .iter()
                    .find(|r| r.0 == load && r.1 == threads && r.2 == contender)
                    .map_or(0, |r| r.3);
                println!(
                    "| {} | {threads} | {} | {ns:.0} | {:.2} | {} |",
                    load.name(),
                    contender.name(),
                    ns / fresh,
                    human(bytes),
                );
            }
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= MIB as u64 => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB as u64 => format!("{:.0} KiB", b as f64 / KIB as f64),
        b => format!("{b} B"),
    }
}

fn main() {
    let sizes = Arc::new(mixed_sizes());
    // `BUFFERS_PROFILE=contender/load/threads` (e.g. `buffer-pool/window8/1`):
    // run that one job for a while, for `perf record`.
    if let Ok(spec) = std::env::var("BUFFERS_PROFILE") {
        let parts: Vec<&str> = spec.split('/').collect();
        let contender = CONTENDERS.into_iter().find(|c| c.name() == parts[0]);
        let load = [Load::Hold1, Load::Window8]
            .into_iter()
            .find(|l| l.name() == parts[1]);
        let (Some(contender), Some(load)) = (contender, load) else {
            panic!("BUFFERS_PROFILE=contender/load/threads, got {spec}");
        };
        let team = Team::new(parts[2].parse().expect("thread count"));
        let (job, _keep) = contender.job(load, Arc::clone(&sizes));
        let ns = ns_per_op(&team, &job, 2_000_000, 5);
        println!("{spec}: {ns:.1} ns/op");
        return;
    }
    if std::env::var_os("BUFFERS_TABLE").is_some() {
        markdown_table(&sizes);
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    criterion_groups(&mut c, &sizes);
    c.final_summary();
    eprintln!("peak retained bytes (counting allocator):");
    for (load, threads, contender, bytes) in retained_table(&sizes) {
        eprintln!(
            "  {}/{threads}t {:>15}: {}",
            load.name(),
            contender.name(),
            human(bytes)
        );
    }
}
