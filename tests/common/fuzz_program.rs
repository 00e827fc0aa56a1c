//! A byte program of pool operations, run one step at a time on a fixed set
//! of worker threads and checked against a model after every step.
//!
//! Shared, as source, by the cargo-fuzz target (`fuzz/fuzz_targets/pool_ops.rs`)
//! and by `tests/it/fuzz_regressions.rs`, so a crash found by the fuzzer replays
//! under plain `cargo test` through exactly the same code. It lives in a
//! subdirectory of `tests/` so that cargo does not build it as a test crate of
//! its own.
//!
//! # Program format
//!
//! ```text
//! byte 0   max_idle_per_thread: [0, 1, 2, 3, 4, 5, 6, 7, 8, 40][b % 10]
//! byte 1   bit 0     max_idle_bytes set, to 2 × byte 2
//!          bit 1     weigh objects by their `weight` field (else the
//!                    builder's default, size_of::<Obj>())
//!          bits 2-3  reset policy: none / reject every 2nd return of an
//!                    object / every 3rd / reject weight > 12 ("oversized")
//!          bit 4     end by dropping the pool while the workers still run
//!                    (and while owned guards are still out)
//! byte 2   budget / 2
//! then     (opcode, argument) byte pairs, at most MAX_OPS of them; see `Op`.
//! ```
//!
//! Every byte string is a valid program. Each operation is sent to one worker
//! thread and awaited before the next is sent, so a run is deterministic.
//!
//! # What is checked
//!
//! Every object carries a unique id; a [`Tracker`] outside the pool records
//! each id's state (idle in the pool, held, detached, dropped). Objects hold no
//! state of their own that a bitwise duplicate could corrupt.
//! - I1: a get may only hand out an idle object; a drop may only drop an idle
//!   one (dropping a held or detached object means the pool kept a copy).
//! - I2: `created + adopted == dropped + detached + held + idle` from `Stats`
//!   and the model's held count; every counter agrees with the tracker; at the
//!   end, after the pool is dropped, every object was dropped exactly once.
//! - I4: `idle <= shards × (1 + max_idle_per_thread)`; with a budget,
//!   `idle_bytes <= budget` and the bytes idle objects really hold are at most
//!   the budget plus one (uncharged private) object per shard.
//! - I5: `Quiesce` flushes every worker and trims twice: nothing may stay idle.
//! - `trim` returns exactly the number of objects it dropped.
//!
//! # Fault mode
//!
//! Opcode 0 with a nonzero argument is [`Op::Fault`]: it arms a one-shot
//! fault plan, bit 0 `create`, bit 1 `reset`, bit 2 `weigh`, bit 3 `T::drop`:
//! the next call of each armed callback panics (with a [`Planned`] payload),
//! wherever it runs (a get, a return, a trim, a flush, a thread's exit hook).
//! Every pool call the program makes catches a planned panic where it
//! surfaces; all the checks above still hold after it (the model moves an
//! object before the pool runs user code on it, so a panicking callback
//! changes nothing the model does not know). A panic the plan did not throw
//! fails the run, as does an abort.

#![allow(dead_code)]

use shardpool::{OwnedPooled, Pool, Pooled, Stats};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

/// Worker threads a program runs on.
pub const WORKERS: usize = 3;
/// Longest program, in operations; the rest of the input is ignored.
pub const MAX_OPS: usize = 512;
/// Bytes before the first operation.
pub const HEADER: usize = 3;

// ---------------------------------------------------------------------------
// Tracked objects
// ---------------------------------------------------------------------------

/// Where an object is, according to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In the pool (or just made by `create`, on its way out of `get`).
    Idle,
    /// In a guard the program holds.
    Held,
    /// Detached: the program owns it as a plain value.
    Detached,
    /// Dropped.
    Dropped,
}

#[derive(Debug)]
struct Record {
    state: State,
    /// Bytes the object weighs for the budget (as the pool's weigher sees it).
    weight: usize,
}

#[derive(Debug, Default)]
struct Ledger {
    records: Vec<Record>,
    created_by_pool: u64,
    foreign: u64,
    dropped: u64,
    max_weight: usize,
}

/// The model's record of every object of one run.
#[derive(Debug)]
pub struct Tracker {
    ledger: Mutex<Ledger>,
    /// The armed fault plan: bits of `FAULT_*`, each cleared when it fires.
    armed: AtomicU8,
    /// Whether the pool weighs objects by `Obj::weight` (else by size).
    weigh_by_field: bool,
}

/// Counts from the tracker at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    pub created_by_pool: u64,
    pub foreign: u64,
    pub dropped: u64,
    pub idle: u64,
    pub held: u64,
    pub detached: u64,
    pub idle_weight: usize,
    pub max_weight: usize,
}

impl Tracker {
    fn new(weigh_by_field: bool) -> Self {
        Tracker {
            ledger: Mutex::new(Ledger::default()),
            armed: AtomicU8::new(0),
            weigh_by_field,
        }
    }

    /// Panics (once per arming) if `fault` is armed, unless the thread is
    /// already unwinding (a second panic would abort in any Rust code).
    fn fire(&self, fault: u8) {
        if self.armed.fetch_and(!fault, Ordering::SeqCst) & fault != 0 && !thread::panicking() {
            std::panic::panic_any(Planned);
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A check that failed on another thread poisons nothing we rely on.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn charged(&self, weight: usize) -> usize {
        if self.weigh_by_field {
            weight
        } else {
            std::mem::size_of::<Obj>()
        }
    }

    /// A new object, in `state`; returns its id.
    fn create(&self, weight: usize, foreign: bool) -> usize {
        let mut ledger = self.ledger();
        let id = ledger.records.len();
        let state = if foreign {
            State::Detached
        } else {
            State::Idle
        };
        let weight = self.charged(weight);
        ledger.records.push(Record { state, weight });
        ledger.max_weight = ledger.max_weight.max(weight);
        if foreign {
            ledger.foreign += 1;
        } else {
            ledger.created_by_pool += 1;
        }
        id
    }

    /// Moves `id` from one of `from` to `to`; panics, naming the invariant, if
    /// it was elsewhere.
    fn transition(&self, id: usize, from: &[State], to: State, what: &str) {
        let before = {
            let mut ledger = self.ledger();
            let record = &mut ledger.records[id];
            let before = record.state;
            record.state = to;
            if to == State::Dropped && before != State::Dropped {
                ledger.dropped += 1;
            }
            before
        };
        assert!(
            from.contains(&before),
            "{what}: object {id} was {before:?}, expected one of {from:?}"
        );
    }

    fn set_weight(&self, id: usize, weight: usize) {
        let mut ledger = self.ledger();
        let weight = self.charged(weight);
        ledger.records[id].weight = weight;
        ledger.max_weight = ledger.max_weight.max(weight);
    }

    pub fn census(&self) -> Census {
        let ledger = self.ledger();
        let mut c = Census {
            created_by_pool: ledger.created_by_pool,
            foreign: ledger.foreign,
            dropped: ledger.dropped,
            max_weight: ledger.max_weight,
            ..Census::default()
        };
        for r in &ledger.records {
            match r.state {
                State::Idle => {
                    c.idle += 1;
                    c.idle_weight += r.weight;
                }
                State::Held => c.held += 1,
                State::Detached => c.detached += 1,
                State::Dropped => {}
            }
        }
        c
    }

    /// Ids that are not dropped (for the end-of-run leak report).
    fn alive(&self) -> Vec<(usize, State)> {
        let ledger = self.ledger();
        let records = ledger.records.iter().enumerate();
        records
            .filter(|(_, r)| r.state != State::Dropped)
            .map(|(id, r)| (id, r.state))
            .collect()
    }
}

/// The pooled type: an id into the tracker and a weight for the budget.
pub struct Obj {
    id: usize,
    weight: usize,
    /// Returns seen by the reset policy (for "reject every k-th return").
    returns: u32,
    tracker: Arc<Tracker>,
}

impl fmt::Debug for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Obj#{}", self.id)
    }
}

/// The payload of a panic the fault plan throws.
pub struct Planned;

pub const FAULT_CREATE: u8 = 1;
pub const FAULT_RESET: u8 = 2;
pub const FAULT_WEIGH: u8 = 4;
pub const FAULT_DROP: u8 = 8;

/// Runs one pool call, catching a planned panic (`None`); any other panic
/// goes on.
fn planned<R>(f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(payload) if payload.is::<Planned>() => None,
        Err(payload) => resume_unwind(payload),
    }
}

/// Keeps planned panics out of the panic hook (libfuzzer's aborts on any
/// panic, caught or not); every other panic still reaches it.
fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Planned>() {
                previous(info);
            }
        }));
    });
}

impl Drop for Obj {
    fn drop(&mut self) {
        // Only the pool drops objects during a run, and only idle ones: a held
        // or detached object being dropped is a copy the pool should not have
        // had (I1), a dropped one being dropped again is a double drop (I2).
        self.tracker.transition(
            self.id,
            &[State::Idle],
            State::Dropped,
            "I2: drop of an object that is not idle in the pool",
        );
        self.tracker.fire(FAULT_DROP);
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Pool configuration from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub max_idle_per_thread: usize,
    pub max_idle_bytes: Option<usize>,
    pub weigh_by_field: bool,
    pub reset: Reset,
    pub drop_pool_early: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    None,
    RejectEvery(u32),
    RejectHeavierThan(usize),
}

impl Config {
    pub fn decode(header: &[u8]) -> Config {
        let byte = |i: usize| header.get(i).copied().unwrap_or(0);
        const IDLE: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 40];
        let flags = byte(1);
        Config {
            max_idle_per_thread: IDLE[byte(0) as usize % IDLE.len()],
            max_idle_bytes: (flags & 1 != 0).then(|| 2 * byte(2) as usize),
            weigh_by_field: flags & 2 != 0,
            reset: match (flags >> 2) & 3 {
                0 => Reset::None,
                1 => Reset::RejectEvery(2),
                2 => Reset::RejectEvery(3),
                _ => Reset::RejectHeavierThan(12),
            },
            drop_pool_early: flags & 16 != 0,
        }
    }

    /// The inverse of `decode` (for hand-written seeds).
    pub fn encode(&self) -> [u8; HEADER] {
        let idle = match self.max_idle_per_thread {
            n @ 0..=8 => n as u8,
            _ => 9,
        };
        let mut flags = 0u8;
        if self.max_idle_bytes.is_some() {
            flags |= 1;
        }
        if self.weigh_by_field {
            flags |= 2;
        }
        flags |= match self.reset {
            Reset::None => 0,
            Reset::RejectEvery(2) => 1 << 2,
            Reset::RejectEvery(_) => 2 << 2,
            Reset::RejectHeavierThan(_) => 3 << 2,
        };
        if self.drop_pool_early {
            flags |= 16;
        }
        let budget = (self.max_idle_bytes.unwrap_or(0) / 2).min(255) as u8;
        [idle, flags, budget]
    }
}

/// How a held object is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Get,
    GetOwned,
    TryGet,
    TryGetOwned,
}

/// One step of a program. Each runs on the current worker unless it says
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `get` and drop at once.
    GetPut,
    /// Arm a one-shot fault plan (see "Fault mode"; encoded as opcode 0 with
    /// a nonzero argument, so programs without faults read as before).
    Fault(u8),
    /// Take one object and keep the guard; optionally set its weight (as if
    /// it grew while in use).
    Hold {
        take: Take,
        weight: Option<usize>,
    },
    /// `get` `n` objects and keep the guards.
    HoldMany(usize),
    /// Drop the `i`-th held guard (mod count): a `Pooled` on the worker that
    /// took it, an `OwnedPooled` on the current worker, whichever took it.
    PutBack(usize),
    /// Detach the `i`-th held guard (mod count), as above.
    Detach(usize),
    /// `Pool::put` a detached value (`Some(i)`, mod count) or a new foreign one
    /// of the given weight.
    PutForeign {
        detached: Option<usize>,
        weight: usize,
    },
    Trim,
    FlushLocal,
    /// The current worker returns its `Pooled` guards, exits, and is replaced
    /// by a new thread.
    ExitThread,
    /// Make worker `i` the current one.
    Switch(usize),
    /// `flush_local` on every worker, then two trims: nothing may stay idle.
    Quiesce,
}

const OPCODES: u8 = 11;

impl Op {
    pub fn decode(code: u8, arg: u8) -> Op {
        let arg_usize = arg as usize;
        match code % OPCODES {
            0 if arg & 15 != 0 => Op::Fault(arg & 15),
            0 => Op::GetPut,
            1 => Op::Hold {
                take: match arg & 3 {
                    0 => Take::Get,
                    1 => Take::GetOwned,
                    2 => Take::TryGet,
                    _ => Take::TryGetOwned,
                },
                weight: (arg & 0x40 != 0).then_some(1 + ((arg_usize >> 2) & 15)),
            },
            2 => Op::HoldMany(1 + arg_usize % 40),
            3 => Op::PutBack(arg_usize),
            4 => Op::Detach(arg_usize),
            5 => Op::PutForeign {
                detached: (arg & 1 != 0).then_some(arg_usize >> 1),
                weight: 1 + (arg_usize >> 1) % 16,
            },
            6 => Op::Trim,
            7 => Op::FlushLocal,
            8 => Op::ExitThread,
            9 => Op::Switch(arg_usize % WORKERS),
            _ => Op::Quiesce,
        }
    }

    /// The inverse of `decode` (for hand-written seeds).
    pub fn encode(&self) -> [u8; 2] {
        match *self {
            Op::GetPut => [0, 0],
            Op::Fault(plan) => [0, plan & 15],
            Op::Hold { take, weight } => {
                let mut arg = match take {
                    Take::Get => 0,
                    Take::GetOwned => 1,
                    Take::TryGet => 2,
                    Take::TryGetOwned => 3,
                };
                if let Some(w) = weight {
                    arg |= 0x40 | ((((w.clamp(1, 16) - 1) & 15) as u8) << 2);
                }
                [1, arg]
            }
            Op::HoldMany(n) => [2, (n.clamp(1, 40) - 1) as u8],
            Op::PutBack(i) => [3, i as u8],
            Op::Detach(i) => [4, i as u8],
            Op::PutForeign {
                detached: Some(i), ..
            } => [5, ((i as u8) << 1) | 1],
            Op::PutForeign {
                detached: None,
                weight,
            } => [5, ((weight.clamp(1, 16) - 1) as u8) << 1],
            Op::Trim => [6, 0],
            Op::FlushLocal => [7, 0],
            Op::ExitThread => [8, 0],
            Op::Switch(i) => [9, i as u8],
            Op::Quiesce => [10, 0],
        }
    }
}

/// Decodes a whole program: the configuration and at most `max_ops` steps.
pub fn decode(data: &[u8], max_ops: usize) -> (Config, Vec<Op>) {
    let config = Config::decode(&data[..data.len().min(HEADER)]);
    let body = data.get(HEADER..).unwrap_or(&[]);
    let ops = body
        .chunks(2)
        .take(max_ops)
        .map(|pair| Op::decode(pair[0], pair.get(1).copied().unwrap_or(0)))
        .collect();
    (config, ops)
}

/// Encodes a program (for hand-written seeds).
pub fn encode(config: &Config, ops: &[Op]) -> Vec<u8> {
    let mut out = config.encode().to_vec();
    for op in ops {
        out.extend_from_slice(&op.encode());
    }
    out
}

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

type SharedPool = Arc<Pool<Obj>>;

/// What a worker keeps between steps: its handle on the pool (dropped at
/// `Release`) and the `Pooled` guards it took, which borrow that handle.
pub struct WorkerCtx<'p> {
    pool: Option<&'p SharedPool>,
    held: Vec<Pooled<'p, Obj>>,
}

impl<'p> WorkerCtx<'p> {
    fn pool(&self) -> &'p SharedPool {
        self.pool.expect("the pool was released on this worker")
    }

    /// Returns this worker's `Pooled` guards in the order they were taken.
    fn return_all(&mut self) {
        for guard in self.held.drain(..) {
            planned(|| put_back(guard));
        }
    }
}

type Job = Box<dyn for<'p> FnOnce(&mut WorkerCtx<'p>) + Send>;

enum Cmd {
    Run(Job),
    /// Drop the worker's pool handle (its guards must all be returned).
    Release,
    Exit,
}

struct Worker {
    tx: Sender<Cmd>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(pool: SharedPool) -> Worker {
        let (tx, rx) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("fuzz-worker".into())
            .spawn(move || worker_main(pool, rx))
            .expect("spawn worker");
        Worker {
            tx,
            handle: Some(handle),
        }
    }

    fn exit(mut self) {
        let _ = self.tx.send(Cmd::Exit);
        if let Some(handle) = self.handle.take()
            && let Err(panic) = handle.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

fn worker_main(pool: SharedPool, rx: Receiver<Cmd>) {
    let released = serve(&rx, Some(&pool));
    drop(pool);
    if released {
        serve(&rx, None);
    }
}

/// Runs jobs until `Release` (returns true) or `Exit` (false).
fn serve(rx: &Receiver<Cmd>, pool: Option<&SharedPool>) -> bool {
    let mut ctx = WorkerCtx {
        pool,
        held: Vec::new(),
    };
    loop {
        match rx.recv() {
            Ok(Cmd::Run(job)) => job(&mut ctx),
            Ok(Cmd::Release) => {
                assert!(ctx.held.is_empty(), "release with guards out");
                return true;
            }
            Ok(Cmd::Exit) | Err(_) => {
                ctx.return_all();
                return false;
            }
        }
    }
}

/// The model's record of a guard the program holds.
enum HeldRef {
    /// A `Pooled` kept by worker `worker` (in its `WorkerCtx`).
    Local { worker: usize, id: usize },
    /// An `OwnedPooled`, kept here; it may be dropped on any worker.
    Owned { id: usize, guard: OwnedPooled<Obj> },
}

impl HeldRef {
    fn id(&self) -> usize {
        match self {
            HeldRef::Local { id, .. } | HeldRef::Owned { id, .. } => *id,
        }
    }
}

/// Records a hand-out (I1: the object must have been idle).
fn handed_out(obj: &Obj) {
    obj.tracker.transition(
        obj.id,
        &[State::Idle],
        State::Held,
        "I1: handed out an object that was not idle",
    );
}

/// Returns a guard: the model marks the object idle first, since the pool may
/// drop it (reset policy, cap, budget) as soon as it has it.
fn put_back<G: std::ops::Deref<Target = Obj>>(guard: G) {
    guard.tracker.transition(
        guard.id,
        &[State::Held],
        State::Idle,
        "return of an object not held",
    );
    drop(guard);
}

fn detach_value(obj: &Obj) {
    obj.tracker
        .transition(obj.id, &[State::Held], State::Detached, "detach");
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/// Counts of what the program did, to compare with `Stats`.
#[derive(Debug, Default)]
struct Did {
    gets: u64,
    detached: u64,
    adopted: u64,
}

struct Run {
    config: Config,
    tracker: Arc<Tracker>,
    pool: Option<SharedPool>,
    workers: Vec<Worker>,
    current: usize,
    held: Vec<HeldRef>,
    detached: Vec<Obj>,
    did: Did,
    step: usize,
    trace: bool,
}

/// Runs `data` as a program of at most `MAX_OPS` steps; panics on any
/// violation. Set `SHARDPOOL_FUZZ_TRACE=1` to print each step and its stats.
pub fn run(data: &[u8]) {
    run_with(data, MAX_OPS)
}

/// Like [`run`], at most `max_ops` steps.
pub fn run_with(data: &[u8], max_ops: usize) {
    quiet_planned_panics();
    let (config, ops) = decode(data, max_ops);
    let trace = std::env::var_os("SHARDPOOL_FUZZ_TRACE").is_some();
    if trace {
        eprintln!("config: {config:?}");
    }
    let tracker = Arc::new(Tracker::new(config.weigh_by_field));
    let pool = Arc::new(build_pool(&config, &tracker));
    let workers = (0..WORKERS)
        .map(|_| Worker::spawn(Arc::clone(&pool)))
        .collect();
    let mut run = Run {
        config,
        tracker,
        pool: Some(pool),
        workers,
        current: 0,
        held: Vec::new(),
        detached: Vec::new(),
        did: Did::default(),
        step: 0,
        trace,
    };
    run.check("start");
    for op in ops {
        run.step += 1;
        run.apply(op);
        if run.trace {
            eprintln!("step {} on worker {}: {op:?}", run.step, run.current);
        }
        run.check(&format!("step {} ({op:?})", run.step));
    }
    run.finish();
}

fn build_pool(config: &Config, tracker: &Arc<Tracker>) -> Pool<Obj> {
    let mut builder = Pool::builder().max_idle_per_thread(config.max_idle_per_thread);
    if let Some(bytes) = config.max_idle_bytes {
        builder = builder.max_idle_bytes(bytes);
    }
    if config.weigh_by_field {
        builder = builder.weigh(|o: &Obj| {
            o.tracker.fire(FAULT_WEIGH);
            o.weight
        });
    }
    match config.reset {
        Reset::None => {}
        Reset::RejectEvery(k) => {
            builder = builder.reset(move |o: &mut Obj| {
                o.tracker.fire(FAULT_RESET);
                o.returns += 1;
                !o.returns.is_multiple_of(k)
            });
        }
        Reset::RejectHeavierThan(max) => {
            builder = builder.reset(move |o: &mut Obj| {
                o.tracker.fire(FAULT_RESET);
                o.weight <= max
            })
        }
    }
    let tracker = Arc::clone(tracker);
    builder.build(move || {
        tracker.fire(FAULT_CREATE);
        let id = tracker.create(0, false);
        let weight = 1 + id % 16;
        tracker.set_weight(id, weight);
        Obj {
            id,
            weight,
            returns: 0,
            tracker: Arc::clone(&tracker),
        }
    })
}

impl Run {
    fn pool(&self) -> &SharedPool {
        self.pool.as_ref().expect("pool dropped")
    }

    /// Runs `f` on worker `w` and waits for its result.
    fn exec<R: Send + 'static>(
        &self,
        w: usize,
        f: impl for<'p> FnOnce(&mut WorkerCtx<'p>) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |ctx: &mut WorkerCtx<'_>| {
            let _ = tx.send(f(ctx));
        });
        self.workers[w]
            .tx
            .send(Cmd::Run(job))
            .expect("worker is gone");
        match rx.recv() {
            Ok(r) => r,
            Err(_) => panic!(
                "worker {w} panicked during step {} (see its message above)",
                self.step
            ),
        }
    }

    fn apply(&mut self, op: Op) {
        let w = self.current;
        match op {
            Op::GetPut => {
                let got = self.exec(w, |ctx| {
                    let guard = planned(|| ctx.pool().get())?;
                    handed_out(&guard);
                    planned(|| put_back(guard));
                    Some(())
                });
                if got.is_some() {
                    self.did.gets += 1;
                }
            }
            Op::Fault(plan) => self.tracker.armed.store(plan, Ordering::SeqCst),
            Op::Hold { take, weight } => self.hold(take, weight),
            Op::HoldMany(n) => {
                let ids = self.exec(w, move |ctx| {
                    let mut ids = Vec::new();
                    for _ in 0..n {
                        let Some(guard) = planned(|| ctx.pool().get()) else {
                            continue;
                        };
                        handed_out(&guard);
                        ids.push(guard.id);
                        ctx.held.push(guard);
                    }
                    ids
                });
                self.did.gets += ids.len() as u64;
                let held = ids.into_iter().map(|id| HeldRef::Local { worker: w, id });
                self.held.extend(held);
            }
            Op::PutBack(i) => {
                if !self.held.is_empty() {
                    let held = self.held.remove(i % self.held.len());
                    self.release(held, false);
                }
            }
            Op::Detach(i) => {
                if !self.held.is_empty() {
                    let held = self.held.remove(i % self.held.len());
                    self.release(held, true);
                }
            }
            Op::PutForeign { detached, weight } => {
                let value = match detached {
                    Some(i) if !self.detached.is_empty() => {
                        let n = self.detached.len();
                        self.detached.swap_remove(i % n)
                    }
                    _ => {
                        let id = self.tracker.create(weight, true);
                        Obj {
                            id,
                            weight,
                            returns: 0,
                            tracker: Arc::clone(&self.tracker),
                        }
                    }
                };
                self.exec(w, move |ctx| {
                    value.tracker.transition(
                        value.id,
                        &[State::Detached],
                        State::Idle,
                        "put of a value the program does not own",
                    );
                    planned(|| ctx.pool().put(value));
                });
                self.did.adopted += 1;
            }
            Op::Trim => self.trim_on(w),
            Op::FlushLocal => {
                self.exec(w, |ctx| planned(|| ctx.pool().flush_local()));
            }
            Op::ExitThread => self.replace_worker(w),
            Op::Switch(i) => self.current = i,
            Op::Quiesce => {
                for worker in 0..WORKERS {
                    self.exec(worker, |ctx| planned(|| ctx.pool().flush_local()));
                }
                self.trim_on(w);
                self.trim_on(w);
                let s = self.pool().stats();
                assert_eq!(
                    s.idle, 0,
                    "I5: objects idle after flushing every thread and two trims\n{s:#?}"
                );
            }
        }
    }

    fn hold(&mut self, take: Take, weight: Option<usize>) {
        let w = self.current;
        let held = match take {
            Take::Get | Take::TryGet => self.exec(w, move |ctx| {
                let mut guard = if take == Take::Get {
                    planned(|| ctx.pool().get())?
                } else {
                    planned(|| ctx.pool().try_get())??
                };
                handed_out(&guard);
                if let Some(weight) = weight {
                    guard.weight = weight;
                    guard.tracker.set_weight(guard.id, weight);
                }
                let id = guard.id;
                ctx.held.push(guard);
                Some(HeldRef::Local { worker: w, id })
            }),
            Take::GetOwned | Take::TryGetOwned => self.exec(w, move |ctx| {
                let mut guard = if take == Take::GetOwned {
                    planned(|| ctx.pool().get_owned())?
                } else {
                    planned(|| ctx.pool().try_get_owned())??
                };
                handed_out(&guard);
                if let Some(weight) = weight {
                    guard.weight = weight;
                    guard.tracker.set_weight(guard.id, weight);
                }
                Some(HeldRef::Owned {
                    id: guard.id,
                    guard,
                })
            }),
        };
        if let Some(held) = held {
            self.did.gets += 1;
            self.held.push(held);
        }
    }

    /// Puts back (or detaches) one held guard: a `Pooled` on its own worker,
    /// an `OwnedPooled` on the current one.
    fn release(&mut self, held: HeldRef, detach: bool) {
        let value = match held {
            HeldRef::Local { worker, id } => self.exec(worker, move |ctx| {
                let at = ctx.held.iter().position(|g| g.id == id);
                let guard = ctx.held.remove(at.expect("model and worker disagree"));
                if detach {
                    detach_value(&guard);
                    Some(Pooled::detach(guard))
                } else {
                    planned(|| put_back(guard));
                    None
                }
            }),
            HeldRef::Owned { guard, .. } => self.exec(self.current, move |_| {
                if detach {
                    detach_value(&guard);
                    Some(OwnedPooled::detach(guard))
                } else {
                    planned(|| put_back(guard));
                    None
                }
            }),
        };
        if let Some(value) = value {
            self.did.detached += 1;
            self.detached.push(value);
        }
    }

    fn trim_on(&mut self, w: usize) {
        let before = self.tracker.census().dropped;
        let Some(n) = self.exec(w, |ctx| planned(|| ctx.pool().trim())) else {
            return; // a `T::drop` panicked: the count did not come back
        };
        let after = self.tracker.census().dropped;
        assert_eq!(
            n,
            after - before,
            "trim reported {n} objects dropped; {} were",
            after - before
        );
    }

    /// The worker returns its `Pooled` guards, exits (its exit hook flushes
    /// its shard), and a fresh thread takes its place.
    fn replace_worker(&mut self, w: usize) {
        self.held
            .retain(|h| !matches!(h, HeldRef::Local { worker, .. } if *worker == w));
        // The old thread is gone (exit hook run, thread id freed) before the
        // new one starts, so the new one usually gets the same id and adopts
        // the shard the old one left behind.
        let (tx, _) = mpsc::channel();
        let placeholder = Worker { tx, handle: None };
        std::mem::replace(&mut self.workers[w], placeholder).exit();
        self.workers[w] = Worker::spawn(Arc::clone(self.pool()));
    }

    /// Checks the pool against the model (the pool is quiet between steps, so
    /// the statistics are exact).
    fn check(&self, when: &str) {
        let s: Stats = self.pool().stats();
        let t = self.tracker.census();
        let held = self.held.len() as u64;
        let ctx = || format!("after {when}\nstats: {s:#?}\nmodel: {t:#?}");
        assert_eq!(t.held, held, "model's held count, {}", ctx());
        assert_eq!(s.created, t.created_by_pool, "Stats::created, {}", ctx());
        assert_eq!(s.dropped(), t.dropped, "Stats::dropped(), {}", ctx());
        assert_eq!(s.gets, self.did.gets, "Stats::gets, {}", ctx());
        assert_eq!(s.detached, self.did.detached, "Stats::detached, {}", ctx());
        assert_eq!(s.adopted, self.did.adopted, "Stats::adopted, {}", ctx());
        assert_eq!(
            s.created + s.adopted,
            s.dropped() + s.detached + held + s.idle,
            "I2: created + adopted != dropped + detached + held + idle, {}",
            ctx()
        );
        assert_eq!(s.in_use(), held, "Stats::in_use(), {}", ctx());
        assert_eq!(s.idle, t.idle, "Stats::idle vs objects idle, {}", ctx());
        let per_shard = 1 + self.pool().max_idle_per_thread() as u64;
        assert!(
            s.idle <= s.shards * per_shard,
            "I4: idle above shards × (1 + max_idle_per_thread), {}",
            ctx()
        );
        if let Some(budget) = self.config.max_idle_bytes {
            assert!(
                s.idle_bytes <= budget as u64,
                "I4: idle_bytes above the budget, {}",
                ctx()
            );
            let slack = s.shards as usize * t.max_weight;
            assert!(
                t.idle_weight <= budget + slack,
                "I4: idle objects weigh more than budget + one object per shard, {}",
                ctx()
            );
        }
        if self.trace {
            eprintln!("  {s:?}");
        }
    }

    /// Ends the run: everything held goes back, the workers exit, the pool is
    /// dropped (before the workers exit, and with owned guards still out, if
    /// the header asks), and every object must then have been dropped once.
    fn finish(mut self) {
        // The end is the program's own cleanup, not a place for faults.
        self.tracker.armed.store(0, Ordering::SeqCst);
        for w in 0..WORKERS {
            self.exec(w, |ctx| ctx.return_all());
        }
        self.held.retain(|h| matches!(h, HeldRef::Owned { .. }));
        let owned = std::mem::take(&mut self.held);
        let return_owned = |run: &Run, owned: Vec<HeldRef>| {
            for held in owned {
                if let HeldRef::Owned { guard, .. } = held {
                    run.exec(run.current, move |_| put_back(guard));
                }
            }
        };
        if self.config.drop_pool_early {
            // Every handle but the owned guards' goes first; the last guard
            // returned drops the pool, on a worker, while all workers run.
            for (w, worker) in self.workers.iter().enumerate() {
                worker.tx.send(Cmd::Release).expect("worker is gone");
                // Wait until it has let go, so which thread drops the pool
                // does not depend on timing.
                self.exec(w, |_| ());
            }
            drop(self.pool.take());
            return_owned(&self, owned);
        } else {
            return_owned(&self, owned);
            self.check("returning everything");
        }
        for worker in std::mem::take(&mut self.workers) {
            worker.exit();
        }
        if let Some(pool) = self.pool.take() {
            self.check_quiet_after_exits(&pool);
            assert_eq!(Arc::strong_count(&pool), 1, "a handle outlived its thread");
            drop(pool);
        }
        // The program's own values go last.
        for value in self.detached.drain(..) {
            value
                .tracker
                .transition(value.id, &[State::Detached], State::Idle, "program drop");
            drop(value);
        }
        let t = self.tracker.census();
        let alive = self.tracker.alive();
        assert!(
            alive.is_empty(),
            "I2: objects not dropped after the pool was: {alive:?}\nmodel: {t:#?}"
        );
        assert_eq!(
            t.dropped,
            t.created_by_pool + t.foreign,
            "I2: drops != objects"
        );
    }

    fn check_quiet_after_exits(&self, pool: &SharedPool) {
        let s = pool.stats();
        let t = self.tracker.census();
        assert_eq!(s.in_use(), 0, "in use after the end\n{s:#?}");
        assert_eq!(
            s.idle, t.idle,
            "idle after every thread exited\n{s:#?}\n{t:#?}"
        );
        assert_eq!(
            s.dropped(),
            t.dropped,
            "dropped after exits\n{s:#?}\n{t:#?}"
        );
    }
}
