//! What a get that finds nothing, a steal, a trim and a stats snapshot cost
//! as a pool's count of idle shards grows: the fixture and the measurements
//! behind `benchmarks/examples/scale.rs` (the table, `scripts/scale_table.sh`)
//! and `benchmarks/benches/scale.rs` (criterion).
//!
//! A pool keeps one shard per thread that has used it, for as long as that
//! thread lives. [`Idle`] makes `K` such shards, empty: `K` threads each take
//! one object from the pool, detach it (so their shards exist and hold
//! nothing), then wait, alive, at a gate until the fixture is dropped. The
//! pool is `Pool<Vec<u8>>` of 4 KiB buffers with `max_idle_per_thread(4096)`;
//! every measurement runs on the calling thread:
//!
//! * **miss**: `Pooled::detach(pool.get())` on the empty pool: every get
//!   looks for an object, finds none, and creates one (the detached buffer is
//!   dropped, as with fresh allocation).
//! * **steal**: a [`Filler`] thread gets 1000, drops them all (they go back to
//!   its shard) and calls `flush_local` (its private ones move to its shared
//!   list); then the calling thread gets 1000, detached, each found by
//!   stealing from the filler's shard. Time per get.
//! * **trim**: `pool.trim()` on the empty pool.
//! * **stats**: `pool.stats()`.
//!
//! Times are per operation, the fastest of a few runs (the cost without
//! interference from the other work on the machine).

#![allow(dead_code)]

use shardpool::{Pool, Pooled};
use std::hint::black_box;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Capacity of every buffer.
pub const SIZE: usize = 4096;
/// The pool's per-thread cap: large enough for the filler's 1000.
pub const MAX_IDLE: usize = 4096;
/// Objects the filler hands over per steal run.
pub const STEAL_BATCH: usize = 1000;
/// Stack size of the idle threads: they only take one object and wait.
pub const IDLE_STACK: usize = 64 << 10;

pub fn create() -> Vec<u8> {
    Vec::with_capacity(SIZE)
}

/// The pool under test.
pub fn pool() -> Arc<Pool<Vec<u8>>> {
    Arc::new(Pool::builder().max_idle_per_thread(MAX_IDLE).build(create))
}

/// The same configuration with pooling off: every get creates, every return
/// drops (the pass-through a miss is held against).
pub fn pass_through() -> Pool<Vec<u8>> {
    Pool::builder()
        .pooling(false)
        .max_idle_per_thread(MAX_IDLE)
        .build(create)
}

/// A gate the idle threads wait at until it opens.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().expect("gate lock");
        while !*open {
            open = self.opened.wait(open).expect("gate lock");
        }
    }

    fn open(&self) {
        *self.open.lock().expect("gate lock") = true;
        self.opened.notify_all();
    }
}

/// Live threads, each with an empty shard in `pool`, waiting at a gate.
pub struct Idle {
    pool: Arc<Pool<Vec<u8>>>,
    gate: Arc<Gate>,
    threads: Vec<JoinHandle<()>>,
}

impl Idle {
    pub fn new(pool: &Arc<Pool<Vec<u8>>>) -> Self {
        Idle {
            pool: Arc::clone(pool),
            gate: Arc::default(),
            threads: Vec::new(),
        }
    }

    /// Idle shards so far.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Spawns threads until `k` wait; returns once each has its shard.
    pub fn grow_to(&mut self, k: usize) -> std::io::Result<()> {
        let (ready_tx, ready) = channel();
        let mut spawned = 0;
        while self.threads.len() < k {
            let (pool, gate, ready_tx) = (
                Arc::clone(&self.pool),
                Arc::clone(&self.gate),
                ready_tx.clone(),
            );
            let thread = std::thread::Builder::new()
                .name("idle".into())
                .stack_size(IDLE_STACK)
                .spawn(move || {
                    drop(Pooled::detach(pool.get()));
                    let _ = ready_tx.send(());
                    gate.wait();
                })?;
            self.threads.push(thread);
            spawned += 1;
        }
        for _ in 0..spawned {
            ready
                .recv()
                .expect("an idle thread died before taking its object");
        }
        Ok(())
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.gate.open();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One more thread that, on request, puts `STEAL_BATCH` objects in its
/// shard's shared list for others to steal, and then waits for the next
/// request. Exits when dropped.
pub struct Filler {
    requests: Option<Sender<usize>>,
    filled: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Filler {
    pub fn new(pool: &Arc<Pool<Vec<u8>>>) -> Self {
        let (requests, work) = channel::<usize>();
        let (done, filled) = channel();
        let pool = Arc::clone(pool);
        let thread = std::thread::Builder::new()
            .name("filler".into())
            .spawn(move || {
                let mut held = Vec::with_capacity(STEAL_BATCH);
                while let Ok(n) = work.recv() {
                    held.extend((0..n).map(|_| pool.get()));
                    held.clear();
                    pool.flush_local();
                    if done.send(()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the filler");
        Filler {
            requests: Some(requests),
            filled,
            thread: Some(thread),
        }
    }

    /// Has the filler put `n` (at most `MAX_IDLE`) objects in its shared
    /// list; returns when they are there.
    pub fn fill(&self, n: usize) {
        assert!(n <= MAX_IDLE);
        let requests = self.requests.as_ref().expect("filler running");
        requests.send(n).expect("filler alive");
        self.filled.recv().expect("filler alive");
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `op` `n` times; ns per call.
fn per_call(n: u64, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed().as_secs_f64() * 1e9 / n.max(1) as f64
}

/// Calls of `op` that take at least `span` (doubling from 1), then the
/// fastest ns per call of `runs` runs of that many.
pub fn fastest(runs: usize, span: Duration, mut op: impl FnMut()) -> f64 {
    let mut n = 1u64;
    while n < 1 << 24 {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        if start.elapsed() >= span {
            break;
        }
        n *= 2;
    }
    (0..runs)
        .map(|_| per_call(n, &mut op))
        .fold(f64::INFINITY, f64::min)
}

/// One get on `pool` that finds nothing: creates, detaches, drops.
#[inline(never)]
pub fn miss_once(pool: &Pool<Vec<u8>>) {
    drop(black_box(Pooled::detach(pool.get())));
}

/// `STEAL_BATCH` gets on `pool`, each found in the filler's shard, detached
/// into `into` (emptied first, outside the time). Returns ns per get.
pub fn steal_batch(pool: &Pool<Vec<u8>>, filler: &Filler, into: &mut Vec<Vec<u8>>) -> f64 {
    into.clear();
    filler.fill(STEAL_BATCH);
    let start = Instant::now();
    for _ in 0..STEAL_BATCH {
        into.push(Pooled::detach(pool.get()));
    }
    let took = start.elapsed();
    black_box(&mut *into);
    took.as_secs_f64() * 1e9 / STEAL_BATCH as f64
}

/// The fastest ns per get of `runs` steal runs.
pub fn steal(pool: &Pool<Vec<u8>>, filler: &Filler, runs: usize) -> f64 {
    let mut into = Vec::with_capacity(STEAL_BATCH);
    let fastest = (0..runs)
        .map(|_| steal_batch(pool, filler, &mut into))
        .fold(f64::INFINITY, f64::min);
    into.clear();
    fastest
}

/// Stack size asked for each idle thread, for the report.
pub fn idle_stack_kib() -> usize {
    IDLE_STACK >> 10
}

/// Whether the calling thread sees an empty pool (the state a miss needs).
pub fn is_empty(pool: &Pool<Vec<u8>>) -> bool {
    pool.stats().idle == 0
}
