//! I9 (no callback can make the pool abort, double-drop or lose an object),
//! systematically: whatever user code the pool runs does —
//! `create`, `reset`, `weigh`, `T::drop` panicking, or re-entering this pool
//! or another one with random operations — the pool neither aborts, nor
//! double-drops, nor loses an object uncounted.
//!
//! Each proptest case draws a pool configuration, a *fault plan* (for each
//! callback, a short cycle of behaviors its successive calls follow: return
//! normally, panic, or run a few re-entrant operations, each caught where it
//! surfaces), and a program for 2–3 worker threads (get, get owned, hold,
//! return, detach, put back, put new, try_get, trim, flush, stats, clear,
//! `flush_local_all`, the same on a second pool, and short-lived threads
//! that use both pools and exit, leaving a guard to a thread-local's
//! destructor). The workers run their programs concurrently, in rounds.
//! Checked:
//! - at every quiet moment (between rounds, and at the end), for both pools,
//!   `created + adopted == idle + dropped() + detached + in_use`, with
//!   `in_use` the guards the workers hold;
//! - at the end, `idle` is exactly what can be taken again;
//! - every panic that surfaces anywhere is one the plan threw (a pool's own
//!   assertion or an `Obj`-style check failing is a bug);
//! - an object is never handed to two holders at once (I1, one holder);
//! - after the pools are dropped, every object ever made was dropped exactly
//!   once (a per-object id set: no double drop, no leak).
//!
//! It runs in a child process ([`isolated`]), so a pool that aborts fails this
//! test instead of killing the test binary; the child prints the case it is
//! running, so an abort shows its case at the end of the child's output.
//! Under Miri it runs in-process, with few cases and short programs.
//!
//! Longer runs: `PROPTEST_CASES=5000 cargo test --release --test it
//! fault_injection` (the default is 256 cases, about two seconds in a debug build).
//! `SHARDPOOL_FAULT_KINDS=p` (panics only), `r` (re-entry only) or `-`
//! (neither: the harness alone) narrow the plans when hunting a failure;
//! `SHARDPOOL_FAULT_TRACE=1` prints every case under Miri too.

use crate::child::isolated;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use shardpool::{OwnedPooled, Pool, Pooled, Stats};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, Once, OnceLock, Weak};
use std::thread;

/// The payload of every panic the plan throws.
struct PlannedFault;

/// Totals over all cases, for the summary line (a test that exercises
/// nothing should not look like a pass).
static MADE: AtomicU64 = AtomicU64::new(0);
static PANICS: AtomicU64 = AtomicU64::new(0);
static REENTRIES: AtomicU64 = AtomicU64::new(0);

/// What one call of a callback does.
#[derive(Debug, Clone)]
enum Act {
    Normal,
    Panic,
    Reenter(Vec<ReOp>),
}

/// An operation a callback runs on the pool it belongs to (`Other*`: on the
/// other pool).
#[derive(Debug, Clone, Copy)]
enum ReOp {
    Get,
    GetTwo,
    Detach,
    Put,
    /// Several puts in a row: fills a private stack and spills to the ring.
    PutMany(u8),
    TryGet,
    Trim,
    Flush,
    Stats,
    Clear,
    /// `shardpool::flush_local_all()`: every pool's shard on this thread.
    FlushAll,
    /// `shardpool::stats_all()`: every pool in the process.
    StatsAll,
    OtherGet,
    OtherPut,
    OtherTrim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callback {
    Create = 0,
    Reset = 1,
    Weigh = 2,
    Drop = 3,
}

/// For each callback, the cycle its successive calls follow.
#[derive(Debug, Clone)]
struct Plan([Vec<Act>; 4]);

#[derive(Debug, Clone)]
struct PoolConfig {
    max_idle_per_thread: usize,
    max_idle_bytes: Option<usize>,
    reset: bool,
    weigh: bool,
}

/// A worker's operation.
#[derive(Debug, Clone)]
enum Op {
    Get,
    GetOwned,
    TryGet,
    Release(usize),
    Detach(usize),
    PutBack,
    PutNew,
    DropDetached,
    Trim,
    Flush,
    Stats,
    Clear,
    FlushAll,
    OtherGet,
    OtherRelease,
    /// A thread that gets and returns this many objects on both pools and
    /// exits, with a guard of each pool left to a thread-local's destructor.
    Burst(usize),
}

#[derive(Debug, Clone)]
struct Case {
    config: PoolConfig,
    plan: Plan,
    /// Per worker, per round, its operations.
    workers: Vec<Vec<Vec<Op>>>,
}

fn small() -> bool {
    cfg!(miri)
}

fn act() -> impl Strategy<Value = Act> {
    let reop = prop_oneof![
        Just(ReOp::Get),
        Just(ReOp::GetTwo),
        Just(ReOp::Detach),
        Just(ReOp::Put),
        (2u8..8).prop_map(ReOp::PutMany),
        Just(ReOp::TryGet),
        Just(ReOp::Trim),
        Just(ReOp::Flush),
        Just(ReOp::Stats),
        Just(ReOp::Clear),
        Just(ReOp::FlushAll),
        Just(ReOp::StatsAll),
        Just(ReOp::OtherGet),
        Just(ReOp::OtherPut),
        Just(ReOp::OtherTrim),
    ];
    let (panic, reenter) = fault_kinds();
    prop_oneof![
        4 => Just(Act::Normal),
        if panic { 2 } else { 0 } => Just(Act::Panic),
        if reenter { 2 } else { 0 } => prop::collection::vec(reop, 1..5).prop_map(Act::Reenter),
    ]
}

/// Which faults plans may contain: `SHARDPOOL_FAULT_KINDS` holds `p`
/// (panics) and/or `r` (re-entry), default both; `-` for neither (a check of
/// the harness itself).
fn fault_kinds() -> (bool, bool) {
    let kinds = std::env::var("SHARDPOOL_FAULT_KINDS").unwrap_or_else(|_| "pr".into());
    (kinds.contains('p'), kinds.contains('r'))
}

fn plan() -> impl Strategy<Value = Plan> {
    let cycle = || prop::collection::vec(act(), 1..6);
    (cycle(), cycle(), cycle(), cycle()).prop_map(|(c, r, w, d)| Plan([c, r, w, d]))
}

fn config() -> impl Strategy<Value = PoolConfig> {
    (
        prop_oneof![0usize..5, Just(8)],
        prop::option::of(0usize..64),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(max_idle_per_thread, max_idle_bytes, reset, weigh)| PoolConfig {
                max_idle_per_thread,
                max_idle_bytes,
                reset,
                weigh,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Get),
        2 => Just(Op::GetOwned),
        1 => Just(Op::TryGet),
        6 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Detach),
        1 => Just(Op::PutBack),
        1 => Just(Op::PutNew),
        1 => Just(Op::DropDetached),
        2 => Just(Op::Trim),
        1 => Just(Op::Flush),
        1 => Just(Op::Stats),
        1 => Just(Op::Clear),
        1 => Just(Op::FlushAll),
        1 => Just(Op::OtherGet),
        1 => Just(Op::OtherRelease),
        1 => (1usize..4).prop_map(Op::Burst),
    ]
}

/// Worker threads per case: 2–3, or `SHARDPOOL_FAULT_WORKERS` (1 makes a
/// case deterministic, so a failure shrinks well).
fn workers() -> std::ops::RangeInclusive<usize> {
    match std::env::var("SHARDPOOL_FAULT_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(n) => n..=n,
        None => 2..=3,
    }
}

fn case() -> impl Strategy<Value = Case> {
    let (rounds, ops) = if small() { (2, 4) } else { (3, 16) };
    let round = prop::collection::vec(op(), 0..ops);
    let worker = prop::collection::vec(round, 1..=rounds);
    (config(), plan(), prop::collection::vec(worker, workers())).prop_map(
        |(config, plan, workers)| Case {
            config,
            plan,
            workers,
        },
    )
}

/// One case's shared state: the plan, and the books on every object.
struct State {
    plan: Plan,
    /// Off while the test itself cleans up: only the pool's paths are tested.
    faults: AtomicBool,
    calls: [AtomicUsize; 4],
    /// Re-entries still allowed in this case. A `T::drop` that puts a new
    /// object whenever one is dropped would otherwise keep any loop that
    /// drops idle objects (a flush, a trim) going for ever, in any pool.
    reentries_left: AtomicUsize,
    next_id: AtomicU64,
    /// Ids made and not yet dropped.
    alive: Mutex<HashSet<u64>>,
    double_drops: Mutex<Vec<u64>>,
    /// Panics that surfaced and were not the plan's.
    unexpected: Mutex<Vec<String>>,
    pools: OnceLock<Weak<Pools>>,
}

struct Pools {
    a: Arc<Pool<Tracked>>,
    b: Arc<Pool<Tracked>>,
}

thread_local! {
    /// How deep in re-entrant callbacks this thread is.
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Guards a short-lived thread leaves to its thread-local destructors.
    static LEFT: Left = const { Left(RefCell::new(Vec::new())) };
}

/// Drops its guards when the thread exits, each inside `catch_unwind`: a
/// return whose callback panics propagates the panic to whoever drops the
/// guard, and a panic escaping a thread-local destructor aborts, by Rust's
/// rules, not the pool's.
struct Left(RefCell<Vec<OwnedPooled<Tracked>>>);

impl Drop for Left {
    fn drop(&mut self) {
        for guard in self.0.get_mut().drain(..) {
            let state = Arc::clone(&guard.state);
            state.caught(|| drop(guard));
        }
    }
}

impl State {
    fn new(plan: Plan) -> Arc<State> {
        Arc::new(State {
            plan,
            faults: AtomicBool::new(true),
            calls: Default::default(),
            reentries_left: AtomicUsize::new(if small() { 8 } else { 64 }),
            next_id: AtomicU64::new(0),
            alive: Mutex::new(HashSet::new()),
            double_drops: Mutex::new(Vec::new()),
            unexpected: Mutex::new(Vec::new()),
            pools: OnceLock::new(),
        })
    }

    /// Runs the plan's next behavior for `callback` of pool `which` (0 = a).
    fn fault(self: &Arc<Self>, callback: Callback, which: usize) {
        if !self.faults.load(SeqCst) || thread::panicking() {
            // A panic while panicking aborts in any Rust code; not the pool's.
            return;
        }
        let cycle = &self.plan.0[callback as usize];
        let n = self.calls[callback as usize].fetch_add(1, SeqCst);
        match &cycle[n % cycle.len()] {
            Act::Normal => {}
            Act::Panic => {
                PANICS.fetch_add(1, SeqCst);
                std::panic::panic_any(PlannedFault)
            }
            Act::Reenter(ops) => {
                if DEPTH.get() >= 2 || !self.take_reentry() {
                    return;
                }
                let Some(pools) = self.pools.get().and_then(Weak::upgrade) else {
                    return;
                };
                DEPTH.set(DEPTH.get() + 1);
                REENTRIES.fetch_add(1, SeqCst);
                let (this, other) = if which == 0 {
                    (&pools.a, &pools.b)
                } else {
                    (&pools.b, &pools.a)
                };
                for &op in ops {
                    self.caught(|| reenter(op, this, other, self));
                }
                DEPTH.set(DEPTH.get() - 1);
            }
        }
    }

    /// Takes one re-entry from the case's budget, if any is left.
    fn take_reentry(&self) -> bool {
        let mut left = self.reentries_left.load(SeqCst);
        while left > 0 {
            match self
                .reentries_left
                .compare_exchange(left, left - 1, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(now) => left = now,
            }
        }
        false
    }

    /// Runs `f`, catching a panic and recording it if the plan did not throw it.
    fn caught<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(payload) => {
                self.check_payload(payload);
                None
            }
        }
    }

    fn check_payload(&self, payload: Box<dyn Any + Send>) {
        if payload.is::<PlannedFault>() {
            return;
        }
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-string payload".into());
        self.unexpected.lock().unwrap().push(message);
    }

    fn make(self: &Arc<Self>) -> Tracked {
        let id = self.next_id.fetch_add(1, SeqCst);
        MADE.fetch_add(1, SeqCst);
        self.alive.lock().unwrap().insert(id);
        Tracked {
            id,
            held: AtomicBool::new(false),
            state: Arc::clone(self),
        }
    }
}

/// A pooled object with its books kept outside it, in `State`.
struct Tracked {
    id: u64,
    /// Set while a holder has it (I1).
    held: AtomicBool,
    state: Arc<State>,
}

impl Tracked {
    /// Marks it held; two holders at once is a bug (a panic the plan did not throw).
    fn hold(&self) {
        assert!(
            !self.held.swap(true, SeqCst),
            "I1: object {} held twice",
            self.id
        );
    }

    fn unhold(&self) {
        self.held.store(false, SeqCst);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.state.alive.lock().unwrap().remove(&self.id) {
            self.state.double_drops.lock().unwrap().push(self.id);
        }
        self.state.fault(Callback::Drop, (self.id % 2) as usize);
    }
}

/// A guard marked held; dropping it (also while unwinding) unmarks the
/// object just before the guard returns it.
struct Held<G: std::ops::Deref<Target = Tracked>>(Option<G>);

impl<G: std::ops::Deref<Target = Tracked>> Held<G> {
    fn into_inner(mut self) -> G {
        self.0.take().expect("present until dropped")
    }
}

impl<G: std::ops::Deref<Target = Tracked>> Drop for Held<G> {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            guard.unhold();
            drop(guard);
        }
    }
}

fn held<G: std::ops::Deref<Target = Tracked>>(guard: G) -> Held<G> {
    guard.hold();
    Held(Some(guard))
}

fn release<G: std::ops::Deref<Target = Tracked>>(guard: Held<G>) {
    drop(guard);
}

/// One re-entrant operation from inside a callback.
fn reenter(op: ReOp, this: &Pool<Tracked>, other: &Pool<Tracked>, state: &Arc<State>) {
    match op {
        ReOp::Get => release(held(this.get())),
        ReOp::GetTwo => {
            let first = held(this.get());
            let second = held(this.get());
            release(second);
            release(first);
        }
        ReOp::Detach => {
            let value = Pooled::detach(held(this.get()).into_inner());
            value.unhold();
            drop(value);
        }
        ReOp::Put => this.put(state.make()),
        ReOp::PutMany(n) => {
            for _ in 0..n {
                this.put(state.make());
            }
        }
        ReOp::TryGet => {
            if let Some(guard) = this.try_get() {
                release(held(guard));
            }
        }
        ReOp::Trim => {
            this.trim();
        }
        ReOp::Flush => this.flush_local(),
        ReOp::Stats => {
            this.stats();
        }
        ReOp::Clear => {
            this.clear();
        }
        ReOp::FlushAll => shardpool::flush_local_all(),
        ReOp::StatsAll => {
            shardpool::stats_all();
        }
        ReOp::OtherGet => release(held(other.get())),
        ReOp::OtherPut => other.put(state.make()),
        ReOp::OtherTrim => {
            other.trim();
        }
    }
}

/// Builds pool `which` (0 = a, 1 = b) with every callback going through the plan.
fn build(config: &PoolConfig, state: &Arc<State>, which: usize) -> Arc<Pool<Tracked>> {
    let mut builder = Pool::builder().max_idle_per_thread(config.max_idle_per_thread);
    if let Some(bytes) = config.max_idle_bytes {
        builder = builder.max_idle_bytes(bytes);
    }
    if config.reset {
        let state = Arc::clone(state);
        builder = builder.reset(move |t: &mut Tracked| {
            state.fault(Callback::Reset, which);
            !t.id.is_multiple_of(5)
        });
    }
    if config.weigh {
        let state = Arc::clone(state);
        builder = builder.weigh(move |t: &Tracked| {
            state.fault(Callback::Weigh, which);
            8 + (t.id % 8) as usize
        });
    }
    let state = Arc::clone(state);
    Arc::new(builder.build(move || {
        state.fault(Callback::Create, which);
        state.make()
    }))
}

/// What one worker holds.
#[derive(Default)]
struct Holdings<'p> {
    held: Vec<Held<Pooled<'p, Tracked>>>,
    owned: Vec<Held<OwnedPooled<Tracked>>>,
    detached: Vec<Tracked>,
    other: Vec<Held<Pooled<'p, Tracked>>>,
}

impl Holdings<'_> {
    fn in_use(&self) -> (u64, u64) {
        let a = self.held.len() + self.owned.len();
        (a as u64, self.other.len() as u64)
    }
}

fn run_op<'p>(op: &Op, pools: &'p Pools, mine: &mut Holdings<'p>, state: &Arc<State>) {
    let (a, b) = (&*pools.a, &*pools.b);
    match *op {
        Op::Get => {
            if let Some(g) = state.caught(|| held(a.get())) {
                mine.held.push(g);
            }
        }
        Op::GetOwned => {
            if let Some(g) = state.caught(|| held(pools.a.get_owned())) {
                mine.owned.push(g);
            }
        }
        Op::TryGet => {
            if let Some(Some(g)) = state.caught(|| a.try_get().map(held)) {
                mine.held.push(g);
            }
        }
        Op::Release(i) => {
            let total = mine.held.len() + mine.owned.len();
            if total > 0 {
                let i = i % total;
                if i < mine.held.len() {
                    let g = mine.held.swap_remove(i);
                    state.caught(|| release(g));
                } else {
                    let g = mine.owned.swap_remove(i - mine.held.len());
                    state.caught(|| release(g));
                }
            }
        }
        Op::Detach(i) => {
            if !mine.held.is_empty() {
                let g = mine.held.swap_remove(i % mine.held.len());
                mine.detached.push(Pooled::detach(g.into_inner()));
            }
        }
        Op::PutBack => {
            if let Some(t) = mine.detached.pop() {
                t.unhold();
                state.caught(|| a.put(t));
            }
        }
        Op::PutNew => {
            let t = state.make();
            state.caught(|| a.put(t));
        }
        Op::DropDetached => {
            if let Some(t) = mine.detached.pop() {
                state.caught(|| drop(t));
            }
        }
        Op::Trim => {
            state.caught(|| a.trim());
        }
        Op::Flush => {
            state.caught(|| a.flush_local());
        }
        Op::Stats => {
            state.caught(|| a.stats());
        }
        Op::Clear => {
            state.caught(|| a.clear());
        }
        Op::FlushAll => {
            state.caught(shardpool::flush_local_all);
        }
        Op::OtherGet => {
            if let Some(g) = state.caught(|| held(b.get())) {
                mine.other.push(g);
            }
        }
        Op::OtherRelease => {
            if let Some(g) = mine.other.pop() {
                state.caught(|| release(g));
            }
        }
        Op::Burst(n) => {
            // Got here, so that a burst of 0 is a thread that never uses pool b.
            let Some(left) = state.caught(|| b_owned(pools)) else {
                return;
            };
            let other_user = thread_local::ThreadLocal::<u8>::new();
            let joined = thread::scope(|s| {
                s.spawn(|| {
                    // Registered before the pools' and `other_user`'s thread-locals,
                    // so destroyed after them: returns made after the thread's
                    // exit hook ran and another crate's thread-local is gone.
                    LEFT.with(|l| l.0.borrow_mut().push(left));
                    if n > 0 {
                        let gets: Vec<_> = (0..n)
                            .filter_map(|_| state.caught(|| held(a.get())))
                            .collect();
                        for g in gets {
                            state.caught(|| release(g));
                        }
                        if let Some(g) = state.caught(|| pools.a.get_owned()) {
                            LEFT.with(|l| l.0.borrow_mut().push(g));
                        }
                    }
                    other_user.get_or(|| 1);
                })
                // An explicit join waits for the thread's thread-local
                // destructors too (the end of the scope would not).
                .join()
            });
            if let Err(payload) = joined {
                state.check_payload(payload);
            }
        }
    }
}

fn b_owned(pools: &Pools) -> OwnedPooled<Tracked> {
    pools.b.get_owned()
}

/// Drops everything a worker holds.
fn release_all(mine: &mut Holdings<'_>, state: &Arc<State>) {
    for g in mine.held.drain(..) {
        state.caught(|| release(g));
    }
    for g in mine.owned.drain(..) {
        state.caught(|| release(g));
    }
    for g in mine.other.drain(..) {
        state.caught(|| release(g));
    }
    for t in mine.detached.drain(..) {
        state.caught(|| drop(t));
    }
}

fn assert_accounted(name: &str, stats: &Stats, in_use: u64) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        stats.created + stats.adopted,
        stats.idle + stats.dropped() + stats.detached + in_use,
        "pool {}: created + adopted == idle + dropped() + detached + in_use ({} in use): {:#?}",
        name,
        in_use,
        stats
    );
    Ok(())
}

/// Turns the plan off when dropped.
struct FaultsOff(Arc<State>);

impl Drop for FaultsOff {
    fn drop(&mut self) {
        self.0.faults.store(false, SeqCst);
    }
}

/// Runs one case and checks it.
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let state = State::new(case.plan.clone());
    let pools = Arc::new(Pools {
        a: build(&case.config, &state, 0),
        b: build(&case.config, &state, 1),
    });
    state.pools.set(Arc::downgrade(&pools)).ok().unwrap();
    // Declared after `pools`, so dropped before them on every way out
    // (including a failed check's early return): the pools' own drops of
    // what they hold must not be planned to panic.
    let _faults_off_at_exit = FaultsOff(Arc::clone(&state));
    let rounds = case.workers.iter().map(Vec::len).max().unwrap_or(0);
    let barrier = Barrier::new(case.workers.len() + 1);
    let in_use: Vec<Mutex<(u64, u64)>> = case.workers.iter().map(|_| Mutex::new((0, 0))).collect();
    let result = thread::scope(|s| -> Result<(), TestCaseError> {
        let mut workers = Vec::new();
        for (w, program) in case.workers.iter().enumerate() {
            let (pools, state, barrier, in_use) = (&*pools, &state, &barrier, &in_use);
            workers.push(s.spawn(move || {
                let mut mine = Holdings::default();
                for round in 0..rounds {
                    for op in program.get(round).into_iter().flatten() {
                        run_op(op, pools, &mut mine, state);
                    }
                    if round + 1 == rounds {
                        release_all(&mut mine, state);
                    }
                    *in_use[w].lock().unwrap() = mine.in_use();
                    barrier.wait(); // quiet: the main thread checks
                    barrier.wait();
                }
            }));
        }
        // The first failed check; the rounds go on (the workers wait at the
        // barrier for every one of them).
        let mut first_failure = Ok(());
        for _ in 0..rounds {
            barrier.wait();
            let (a, b) = in_use.iter().fold((0, 0), |(a, b), m| {
                let (x, y) = *m.lock().unwrap();
                (a + x, b + y)
            });
            let checked = assert_accounted("a", &pools.a.stats(), a)
                .and_then(|()| assert_accounted("b", &pools.b.stats(), b));
            barrier.wait();
            if first_failure.is_ok() {
                first_failure = checked;
            }
        }
        // Explicit joins wait for the workers' exit hooks (thread-local
        // destructors); the end of the scope alone would not.
        for worker in workers {
            worker.join().expect("a worker's panics are all caught");
        }
        first_failure
    });
    result?;
    // The workers have exited (their exit hooks ran): quiet, nothing in use.
    state.faults.store(false, SeqCst);
    for (name, pool) in [("a", &pools.a), ("b", &pools.b)] {
        let before = pool.stats();
        assert_accounted(name, &before, 0)?;
        let mut taken = Vec::new();
        while let Some(g) = pool.try_get() {
            taken.push(g);
        }
        let after = pool.stats();
        let trimmed = after.dropped_by_trim - before.dropped_by_trim;
        prop_assert_eq!(
            taken.len() as u64 + trimmed,
            before.idle,
            "pool {}: idle objects that can be taken again vs idle: {:#?}",
            name,
            before
        );
    }
    let pools = Arc::try_unwrap(pools).unwrap_or_else(|_| panic!("a handle on the pools leaked"));
    drop(pools);
    let unexpected = std::mem::take(&mut *state.unexpected.lock().unwrap());
    prop_assert!(
        unexpected.is_empty(),
        "panics the plan did not throw: {:?}",
        unexpected
    );
    let double = state.double_drops.lock().unwrap().clone();
    prop_assert!(double.is_empty(), "objects dropped twice: {:?}", double);
    let alive = state.alive.lock().unwrap().clone();
    prop_assert!(alive.is_empty(), "objects never dropped: {:?}", alive);
    Ok(())
}

/// Keeps the plan's panics out of the output (they are thousands).
fn quiet_planned_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<PlannedFault>() {
                previous(info);
            }
        }));
    });
}

/// The fault-injection proptest; see the module docs. Among the bugs it
/// catches: an exit hook that lets a callback's panic out (the process
/// aborts in the first case); with re-entry only, a `get` that refills its private stack
/// on top of objects a re-entrant `T::drop` put there (`take - 1 <= limit`,
/// then a SIGSEGV); and a `get` that takes an object, then re-raises a stale
/// object's `Drop` panic and loses the taken object uncounted (`replay_*`
/// below).
#[test]
fn callbacks_that_panic_or_reenter_anywhere() {
    isolated(
        module_path!(),
        "callbacks_that_panic_or_reenter_anywhere",
        || {
            quiet_planned_panics();
            let cases = std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(if small() { 2 } else { 256 });
            let mut runner = TestRunner::new(ProptestConfig {
                cases,
                failure_persistence: None,
                // Cases with several workers are not deterministic, so shrinking
                // can go on for long; `SHARDPOOL_FAULT_WORKERS=1` shrinks well.
                max_shrink_time: 20_000,
                ..ProptestConfig::default()
            });
            let verbose = std::env::var_os("SHARDPOOL_FAULT_TRACE").is_some();
            let run = runner.run(&case(), |case| {
                if verbose || !small() {
                    // The last case printed is the one that aborted, if one did.
                    println!("case: {case:?}");
                }
                run_case(&case)
            });
            if let Err(e) = run {
                panic!("{e}");
            }
            format!(
                "{cases} cases passed; objects made {}, planned panics {}, re-entries {}",
                MADE.load(SeqCst),
                PANICS.load(SeqCst),
                REENTRIES.load(SeqCst)
            )
        },
    );
}

/// Runs a case the proptest found, as it was shrunk (one worker, so
/// deterministic). Each replay says what it catches.
fn replay(case: Case) {
    quiet_planned_panics();
    if let Err(e) = run_case(&case) {
        panic!("{e}\n{case:#?}");
    }
}

/// `create` re-entering the other pool (get, trim) and every `T::drop`
/// panicking, with a short-lived thread that leaves guards to its
/// thread-local destructors: every object is accounted for.
///
/// Catches a `get` that re-raises a stale object's panicking `Drop` after it
/// has taken an object: the taken object unwinds out uncounted, and pool a's
/// `created + adopted` ends one above `idle + dropped()` though every object
/// was dropped exactly once.
#[test]
fn replay_reentrant_create_panicking_drop_thread_exit() {
    isolated(
        module_path!(),
        "replay_reentrant_create_panicking_drop_thread_exit",
        || {
            replay(Case {
                config: PoolConfig {
                    max_idle_per_thread: 2,
                    max_idle_bytes: None,
                    reset: false,
                    weigh: false,
                },
                plan: Plan([
                    vec![Act::Reenter(vec![ReOp::OtherGet, ReOp::OtherTrim])],
                    vec![Act::Normal],
                    vec![Act::Normal],
                    vec![Act::Panic],
                ]),
                workers: vec![vec![vec![Op::Burst(1), Op::Get]]],
            });
            "passed".into()
        },
    );
}
