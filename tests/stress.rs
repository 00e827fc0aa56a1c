//! Multi-thread stress: many threads get, hold, return, steal, detach, put,
//! trim and exit at once, on pools small enough that every path (private
//! stack, shared list, steal, cap, budget, trim, exit flush) is hit constantly.
//!
//! What it proves, with a `T` whose bookkeeping lives outside the object (so
//! a bitwise copy made by the pool cannot hide itself):
//! - I1 (one holder at a time): an object is never handed out while it is in use (a per-id state,
//!   moved Idle → InUse with a compare-exchange on every get), and its payload
//!   is never written by two holders at once (every holder writes it whole and
//!   re-reads it before returning it).
//! - I2 (dropped exactly once): every object the pool makes or adopts is dropped exactly once, only
//!   while idle, by the end of the pool's life; once the threads are joined,
//!   `Stats` agree with the registry and with what the threads did.
//! - I4 (bounded retention): idle objects stay within `shards × (1 + max_idle_per_thread)` and the
//!   charged bytes within the budget, checked by a watcher thread throughout
//!   and at the end.
//!
//! `stress_*` run a fixed amount of work (about a second each; tiny under
//! Miri). `stress_long` runs for `SHARDPOOL_STRESS_SECS` seconds (default 10):
//!
//! ```text
//! SHARDPOOL_STRESS_SECS=60 cargo test --release --test stress -- --ignored
//! ```

use shardpool::{OwnedPooled, Pool, Pooled, Stats};
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The registry: one state byte per object id, outside the objects.
// ---------------------------------------------------------------------------

const NEW: u8 = 0;
const IDLE: u8 = 1;
const IN_USE: u8 = 2;
const DROPPED: u8 = 3;

const CHUNK: usize = if cfg!(miri) { 1 << 8 } else { 1 << 14 };
const CHUNKS: usize = if cfg!(miri) { 1 << 6 } else { 1 << 14 };

struct Registry {
    states: Box<[OnceLock<Box<[AtomicU8]>>]>,
    next_id: AtomicU64,
    created_by_pool: AtomicU64,
    foreign: AtomicU64,
    drops: AtomicU64,
    violations: AtomicU64,
    first_violations: Mutex<Vec<String>>,
}

impl Registry {
    /// One per test, leaked: objects refer to it by `&'static`, so no object
    /// holds a reference count that a duplicated object could corrupt.
    fn leak() -> &'static Registry {
        /// Keeps the leaked registries reachable, so Miri's leak check (which
        /// ignores memory reachable from a static) does not report them.
        static LEAKED: Mutex<Vec<&'static Registry>> = Mutex::new(Vec::new());
        let registry = Box::leak(Box::new(Registry {
            states: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            next_id: AtomicU64::new(0),
            created_by_pool: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            violations: AtomicU64::new(0),
            first_violations: Mutex::new(Vec::new()),
        }));
        LEAKED.lock().unwrap().push(registry);
        registry
    }

    fn state(&self, id: u64) -> &AtomicU8 {
        let id = id as usize;
        let chunk = self.states[id / CHUNK]
            .get_or_init(|| (0..CHUNK).map(|_| AtomicU8::new(NEW)).collect());
        &chunk[id % CHUNK]
    }

    fn violation(&self, message: String) {
        if self.violations.fetch_add(1, Relaxed) < 10 {
            // Straight to stderr, past the test harness's capture: a violation
            // is often followed by a double free that aborts the process.
            let _ = writeln!(std::io::stderr(), "VIOLATION: {message}");
            self.first_violations.lock().unwrap().push(message);
        }
    }

    /// Moves `id` from `from` to `to`, recording a violation if it was elsewhere.
    fn transition(&self, id: u64, from: u8, to: u8, what: &str) {
        // Relaxed: the registry checks atomicity only. It must add no
        // happens-before edge of its own, or it could hide from TSan a
        // hand-off the pool failed to synchronize.
        if let Err(actual) = self.state(id).compare_exchange(from, to, Relaxed, Relaxed) {
            self.violation(format!(
                "{what}: object {id} in state {}, expected {}",
                name(actual),
                name(from)
            ));
        }
    }

    fn new_object(&'static self, foreign: bool) -> Obj {
        let id = self.next_id.fetch_add(1, Relaxed);
        assert!((id as usize) < CHUNK * CHUNKS, "registry full");
        let to = if foreign { IN_USE } else { IDLE };
        self.transition(id, NEW, to, "create");
        if foreign {
            self.foreign.fetch_add(1, Relaxed);
        } else {
            self.created_by_pool.fetch_add(1, Relaxed);
        }
        Obj {
            id,
            registry: self,
            payload: [id; 6],
            heap: Box::new(id),
        }
    }

    fn count(&self, state: u8) -> u64 {
        let n = self.next_id.load(Relaxed);
        (0..n)
            .filter(|&id| self.state(id).load(Relaxed) == state)
            .count() as u64
    }
}

fn name(state: u8) -> &'static str {
    ["new", "idle", "in use", "dropped"][state as usize]
}

/// The pooled object. `payload` is written whole by each holder and checked
/// when it returns: two holders at once would tear it (and TSan would see
/// the race). `heap` makes a double drop a double free as well.
struct Obj {
    id: u64,
    registry: &'static Registry,
    payload: [u64; 6],
    heap: Box<u64>,
}

impl Obj {
    /// Marks the object in use (I1) and uses it.
    fn take(&mut self, stamp: u64) {
        self.registry
            .transition(self.id, IDLE, IN_USE, "I1: hand-out of an object not idle");
        self.scribble(stamp);
    }

    fn scribble(&mut self, stamp: u64) {
        self.payload = [stamp; 6];
        *self.heap = stamp;
    }

    /// Checks that nobody else wrote the object since `take`, and marks it idle.
    fn give_back(&self, stamp: u64) {
        if self.payload != [stamp; 6] || *self.heap != stamp {
            self.registry.violation(format!(
                "I1: object {} written by another holder: {:?}/{} != {stamp}",
                self.id, self.payload, self.heap
            ));
        }
        self.registry
            .transition(self.id, IN_USE, IDLE, "return of an object not in use");
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.registry
            .transition(self.id, IDLE, DROPPED, "I2: drop of an object not idle");
        self.registry.drops.fetch_add(1, Relaxed);
    }
}

// ---------------------------------------------------------------------------
// Per-thread helpers
// ---------------------------------------------------------------------------

/// xorshift64*: each thread's sequence of choices is fixed by its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one thread did, to compare with `Stats` at the end.
#[derive(Debug, Default, Clone, Copy)]
struct Did {
    gets: u64,
    detached: u64,
    adopted: u64,
}

impl Did {
    fn add(&mut self, other: Did) {
        self.gets += other.gets;
        self.detached += other.detached;
        self.adopted += other.adopted;
    }
}

/// Stamps unique across all holders, so a payload written by another holder
/// never matches by chance.
fn stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1 << 40);
    NEXT.fetch_add(1, Relaxed)
}

fn take<G: std::ops::DerefMut<Target = Obj>>(mut guard: G, did: &mut Did) -> (G, u64) {
    let s = stamp();
    guard.take(s);
    did.gets += 1;
    (guard, s)
}

fn give<G: std::ops::Deref<Target = Obj>>((guard, s): (G, u64)) {
    guard.give_back(s);
    drop(guard);
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Length {
    /// A fixed amount of work: each hammer thread does `hammer` rounds, the
    /// producer hands over `handoffs` guards, the churn role runs `churn`
    /// rounds of short-lived threads.
    Rounds {
        hammer: u64,
        handoffs: u64,
        churn: u64,
    },
    /// Each role works until this long has passed.
    For(Duration),
}

/// Which role asks how long to go on.
#[derive(Debug, Clone, Copy)]
enum Role {
    Hammer,
    Producer,
    Churn,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    max_idle_per_thread: usize,
    max_idle_bytes: Option<usize>,
    /// Largest burst a thread holds at once (beyond the private stack of 32).
    max_burst: u64,
    hammers: usize,
    length: Length,
    /// Short-lived threads the churn role spawns per round.
    churn_per_round: usize,
    /// End with two trims, which must leave nothing idle (I5/I6), instead of
    /// leaving the idle objects to the pool's drop.
    trim_at_end: bool,
}

struct Shared {
    pool: Arc<Pool<Obj>>,
    registry: &'static Registry,
    settings: Settings,
    start: Instant,
    stop: AtomicBool,
}

impl Shared {
    /// Whether `role` should do round `round`.
    fn go_on(&self, role: Role, round: u64) -> bool {
        match self.settings.length {
            Length::Rounds {
                hammer,
                handoffs,
                churn,
            } => {
                round
                    < match role {
                        Role::Hammer => hammer,
                        Role::Producer => handoffs,
                        Role::Churn => churn,
                    }
            }
            Length::For(d) => round == 0 || self.start.elapsed() < d,
        }
    }
}

/// Between two trims (or two bound checks): a short sleep, or under Miri,
/// where time is virtual and every step is slow, a few yields.
fn pause(micros: u64) {
    if cfg!(miri) {
        (0..20).for_each(|_| thread::yield_now());
    } else {
        thread::sleep(Duration::from_micros(micros));
    }
}

fn build_pool(settings: &Settings, registry: &'static Registry) -> Pool<Obj> {
    let mut builder = Pool::builder()
        .max_idle_per_thread(settings.max_idle_per_thread)
        // Rejects about one return in 61 (stamps are sequential).
        .reset(|o: &mut Obj| !o.payload[0].is_multiple_of(61));
    if let Some(bytes) = settings.max_idle_bytes {
        builder = builder
            .max_idle_bytes(bytes)
            .weigh(|o: &Obj| o.id as usize % 64 + 1);
    }
    builder.build(move || registry.new_object(false))
}

/// One stress run at a time: the trimmer's `trim_all` trims every pool in the
/// process, and would otherwise drop another run's idle objects while that
/// run compares its counts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn stress(settings: Settings) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let registry = Registry::leak();
    let owned = Shared {
        pool: Arc::new(build_pool(&settings, registry)),
        registry,
        settings,
        start: Instant::now(),
        stop: AtomicBool::new(false),
    };
    let shared = &owned;
    let mut did = Did::default();
    thread::scope(|s| {
        let mut workers = Vec::new();
        for i in 0..settings.hammers {
            workers.push(s.spawn(move || hammer(shared, i as u64)));
        }
        let (tx, rx) = crossbeam_channel::bounded(16);
        let (ptx, prx) = crossbeam_channel::bounded(16);
        workers.push(s.spawn(move || producer(shared, tx, ptx)));
        workers.push(s.spawn(move || consumer(shared, rx, prx)));
        workers.push(s.spawn(move || churn(shared)));
        let trimmer = s.spawn(move || trimmer(shared));
        let watcher = s.spawn(move || watcher(shared));
        // Join explicitly, not at the end of the scope: a scoped thread's
        // thread-local destructors (the pool's exit hook among them) may still
        // be running when the scope ends, but not when `join` returns.
        for worker in workers {
            did.add(worker.join().unwrap());
        }
        shared.stop.store(true, Relaxed);
        trimmer.join().unwrap();
        watcher.join().unwrap();
    });

    let s = shared.pool.stats();
    let created = registry.created_by_pool.load(Relaxed);
    let foreign = registry.foreign.load(Relaxed);
    let report = || {
        let states = [NEW, IDLE, IN_USE, DROPPED].map(|st| (name(st), registry.count(st)));
        format!("{s:#?}\n{did:?}, foreign {foreign}, registry {states:?}")
    };
    eprintln!("{settings:?}\n{}", report());
    check_bounds(&s, &shared.pool, settings);
    assert_eq!(s.in_use(), 0, "I2: objects in use at the end\n{}", report());
    assert_eq!(
        s.created + s.adopted,
        s.dropped() + s.detached + s.idle,
        "I2: identity\n{}",
        report()
    );
    assert_eq!(s.created, created, "Stats::created\n{}", report());
    assert_eq!(s.gets, did.gets, "Stats::gets\n{}", report());
    assert_eq!(s.adopted, did.adopted, "Stats::adopted\n{}", report());
    assert_eq!(s.detached, did.detached, "Stats::detached\n{}", report());
    assert_eq!(
        s.dropped(),
        registry.drops.load(Relaxed),
        "Stats::dropped() vs drops\n{}",
        report()
    );
    assert_eq!(s.idle, registry.count(IDLE), "Stats::idle\n{}", report());
    assert_eq!(registry.count(IN_USE), 0, "objects left in use");

    // I5/I6: every thread that used the pool has exited, so nothing idle is
    // private any more; two trims must reach and drop all of it.
    // (Or leave them for the pool's drop to find.)
    if settings.trim_at_end {
        shared.pool.trim();
        shared.pool.trim();
        let after = shared.pool.stats();
        assert_eq!(after.idle, 0, "I5/I6: idle after two trims\n{after:#?}");
        assert_eq!(
            registry.count(IDLE),
            0,
            "I5/I6: objects idle after two trims"
        );
        assert_eq!(after.dropped(), registry.drops.load(Relaxed));
    }

    // The last handle: dropping it drops every idle object.
    let Shared { pool, .. } = owned;
    assert_eq!(Arc::strong_count(&pool), 1, "a guard outlived the test");
    drop(pool);
    let drops = registry.drops.load(Relaxed);
    assert_eq!(
        registry.count(DROPPED),
        created + foreign,
        "I2: objects never dropped (leaked)"
    );
    assert_eq!(drops, created + foreign, "I2: drops != objects");
    let violations = registry.violations.load(Relaxed);
    assert_eq!(
        violations,
        0,
        "violations: {:#?}",
        registry.first_violations.lock().unwrap()
    );
}

fn check_bounds(s: &Stats, pool: &Pool<Obj>, settings: Settings) {
    let cap = s.shards * (1 + pool.max_idle_per_thread() as u64);
    assert!(s.idle <= cap, "I4: idle {} above {cap}\n{s:#?}", s.idle);
    if let Some(budget) = settings.max_idle_bytes {
        assert!(
            s.idle_bytes <= budget as u64,
            "I4: idle bytes {} above {budget}",
            s.idle_bytes
        );
    }
}

/// Gets and returns in every pattern: one at a time, bursts held and returned
/// in shuffled order (past the private stack, into the shared list), owned
/// guards, `try_get`, detach now and put back later, `flush_local`.
fn hammer(shared: &Shared, seed: u64) -> Did {
    let pool = &*shared.pool;
    let mut rng = Rng::new(seed + 1);
    let mut did = Did::default();
    let mut held: Vec<(Pooled<'_, Obj>, u64)> = Vec::new();
    let mut kept: Vec<(Obj, u64)> = Vec::new();
    let mut round = 0;
    while shared.go_on(Role::Hammer, round) {
        round += 1;
        match rng.below(16) {
            0..=5 => give(take(pool.get(), &mut did)),
            6..=8 => {
                let n = 1 + rng.below(shared.settings.max_burst);
                for _ in 0..n {
                    held.push(take(pool.get(), &mut did));
                }
            }
            9 => {
                if let Some(guard) = pool.try_get() {
                    held.push(take(guard, &mut did));
                }
            }
            10 => give(take(shared.pool.get_owned(), &mut did)),
            11 => {
                let (guard, s) = take(pool.get(), &mut did);
                kept.push((Pooled::detach(guard), s));
                did.detached += 1;
            }
            12 if !kept.is_empty() => {
                let (value, s) = kept.swap_remove(rng.below(kept.len() as u64) as usize);
                value.give_back(s);
                pool.put(value);
                did.adopted += 1;
            }
            13 => {
                let value = shared.registry.new_object(true);
                value.give_back(value.payload[0]);
                pool.put(value);
                did.adopted += 1;
            }
            14 => pool.flush_local(),
            _ => {}
        }
        // Return a random part of what is held, in random order.
        while !held.is_empty() && rng.below(3) != 0 {
            give(held.swap_remove(rng.below(held.len() as u64) as usize));
        }
    }
    held.into_iter().for_each(give);
    for (value, s) in kept {
        value.give_back(s);
        pool.put(value);
        did.adopted += 1;
    }
    did
}

/// Takes owned and borrowed guards and hands them to the consumer, which
/// returns them on its own thread: its shard fills, and this thread, whose
/// shard stays empty, steals them back.
fn producer<'a>(
    shared: &'a Shared,
    owned: crossbeam_channel::Sender<(OwnedPooled<Obj>, u64)>,
    borrowed: crossbeam_channel::Sender<(Pooled<'a, Obj>, u64)>,
) -> Did {
    let mut did = Did::default();
    let mut rng = Rng::new(1000);
    let mut round = 0;
    while shared.go_on(Role::Producer, round) {
        round += 1;
        if rng.below(2) == 0 {
            owned.send(take(shared.pool.get_owned(), &mut did)).unwrap();
        } else {
            borrowed.send(take(shared.pool.get(), &mut did)).unwrap();
        }
    }
    did
}

fn consumer<'a>(
    shared: &'a Shared,
    owned: crossbeam_channel::Receiver<(OwnedPooled<Obj>, u64)>,
    borrowed: crossbeam_channel::Receiver<(Pooled<'a, Obj>, u64)>,
) -> Did {
    let mut did = Did::default();
    let mut batch = Vec::new();
    loop {
        crossbeam_channel::select! {
            recv(owned) -> msg => match msg {
                Ok(item) => give(item),
                Err(_) => break,
            },
            recv(borrowed) -> msg => match msg {
                // Hold a few before returning, so the shard overflows.
                Ok(item) => {
                    batch.push(item);
                    if batch.len() >= 8 {
                        batch.drain(..).for_each(give);
                        // Sometimes get one back here too.
                        give(take(shared.pool.get(), &mut did));
                    }
                }
                Err(_) => break,
            },
        }
    }
    batch.into_iter().for_each(give);
    // Drain whichever channel is still open.
    owned.iter().for_each(give);
    borrowed.iter().for_each(give);
    did
}

thread_local! {
    /// A guard a churn thread leaves in a thread-local: returned from a
    /// thread-local destructor, possibly after the pool's exit hook has run.
    static LEFT_BEHIND: RefCell<Option<LeftBehind>> = const { RefCell::new(None) };
}

struct LeftBehind(Option<(OwnedPooled<Obj>, u64)>);

impl Drop for LeftBehind {
    fn drop(&mut self) {
        if let Some(item) = self.0.take() {
            give(item);
        }
    }
}

/// Short-lived threads that use the pool a little and exit: their shards are
/// flushed by the exit hook, and their thread ids (and shards) reused.
fn churn(shared: &Shared) -> Did {
    let mut did = Did::default();
    let mut round = 0;
    while shared.go_on(Role::Churn, round) {
        let threads: Vec<_> = (0..shared.settings.churn_per_round)
            .map(|i| {
                let seed = round * 64 + i as u64;
                spawn_churn_thread(shared, seed)
            })
            .collect();
        for t in threads {
            did.add(t.join().unwrap());
        }
        round += 1;
    }
    did
}

/// One short-lived thread (not scoped: it holds an `Arc` of the pool, and is
/// joined, thread-local destructors included, before the next round).
fn spawn_churn_thread(shared: &Shared, seed: u64) -> thread::JoinHandle<Did> {
    let pool = Arc::clone(&shared.pool);
    let registry = shared.registry;
    thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut did = Did::default();
        if rng.below(2) == 0 {
            // Registered before the pool's exit hook, so destroyed after it: a
            // guard left in it then comes back to a thread that is exiting
            // (`dropped_by_exit`). Otherwise it comes back before the hook runs.
            LEFT_BEHIND.with(|_| ());
        }
        let held: Vec<_> = (0..1 + rng.below(12))
            .map(|_| take(pool.get(), &mut did))
            .collect();
        held.into_iter().for_each(give);
        match rng.below(4) {
            0 => pool.flush_local(),
            1 => {
                let item = take(pool.get_owned(), &mut did);
                LEFT_BEHIND.with(|slot| *slot.borrow_mut() = Some(LeftBehind(Some(item))));
            }
            2 => {
                let value = registry.new_object(true);
                value.give_back(value.payload[0]);
                pool.put(value);
                did.adopted += 1;
            }
            _ => {}
        }
        did
    })
}

/// Trims in a loop: the victim rule racing everyone's gets and returns.
fn trimmer(shared: &Shared) {
    let mut n = 0u64;
    while !shared.stop.load(Relaxed) {
        shared.pool.trim();
        n += 1;
        if n.is_multiple_of(16) {
            shardpool::trim_all();
        }
        pause(200);
    }
}

/// Checks the byte budget while everything runs. (`idle_bytes` is one
/// counter, exact at every instant; `idle` is summed from per-shard counters
/// read one after another, so a snapshot mid-flight may count an object twice,
/// and its cap is checked at the end instead.)
fn watcher(shared: &Shared) {
    while !shared.stop.load(Relaxed) {
        let s = shared.pool.stats();
        if let Some(budget) = shared.settings.max_idle_bytes {
            assert!(s.idle_bytes <= budget as u64, "I4: idle bytes {s:#?}");
        }
        pause(1000);
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

fn short(max_idle_per_thread: usize, max_idle_bytes: Option<usize>, trim_at_end: bool) -> Settings {
    Settings {
        max_idle_per_thread,
        max_idle_bytes,
        max_burst: if cfg!(miri) { 6 } else { 40 },
        hammers: if cfg!(miri) { 2 } else { 3 },
        length: if cfg!(miri) {
            Length::Rounds {
                hammer: 12,
                handoffs: 16,
                churn: 1,
            }
        } else {
            Length::Rounds {
                hammer: 4000,
                handoffs: 8000,
                churn: 40,
            }
        },
        churn_per_round: if cfg!(miri) { 2 } else { 4 },
        trim_at_end,
    }
}

/// Small shards: the cap, the shared list and steals all the time.
#[test]
fn stress_small_shards() {
    stress(short(4, None, true));
}

/// A byte budget (private stack of one, the rest charged) and big shards.
#[test]
fn stress_budget() {
    stress(short(40, Some(600), true));
}

/// The default limits (64 per thread, private stack of 32).
#[test]
fn stress_defaults() {
    stress(short(shardpool::DEFAULT_MAX_IDLE_PER_THREAD, None, false));
}

/// `SHARDPOOL_STRESS_SECS=60 cargo test --release --test stress -- --ignored`
#[test]
#[ignore = "long-running; see the module docs for the command"]
fn stress_long() {
    let secs: u64 = std::env::var("SHARDPOOL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    // Three configurations, a third of the time each.
    for (max_idle, budget, trim_at_end) in
        [(4, None, true), (40, Some(600), false), (64, None, true)]
    {
        stress(Settings {
            max_idle_per_thread: max_idle,
            max_idle_bytes: budget,
            max_burst: 40,
            hammers: cores.max(2),
            length: Length::For(Duration::from_secs(secs).div_f64(3.0)),
            churn_per_round: 4,
            trim_at_end,
        });
    }
}
