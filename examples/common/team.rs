//! Persistent threads that run a job together and time it.
//!
//! A team is spawned once for a group of jobs (one per implementation) and
//! lives until the group is done, so thread creation, thread-local set-up and
//! first-touch costs stay out of the measurements, and a pool that favours
//! the first thread that used it (regex-automata's owner slot) sees the same
//! threads throughout. Each run: every thread waits at a barrier, then runs
//! `job(thread_index, ops)`; the run's time is the coordinator's wall time
//! from dispatch until the last thread reports. (Each thread's own clock
//! would start only when it first runs after the barrier: with more threads
//! than cores, threads that ran one after another would each look
//! uncontended.) Dispatch and the barrier cost microseconds per run.

use std::sync::Barrier;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// A job: `job(thread_index, ops)` does `ops` get+put cycles on that thread.
pub type Job<'a> = dyn Fn(usize, u64) + Sync + 'a;

pub struct Team {
    commands: Vec<Sender<(usize, u64)>>,
    times: Receiver<Duration>,
}

impl Team {
    /// Runs job `job` for `ops` operations on every thread of the team, all
    /// started together; returns the wall time until the last one is done.
    pub fn run(&self, job: usize, ops: u64) -> Duration {
        let start = Instant::now();
        for command in &self.commands {
            command.send((job, ops)).expect("team thread died");
        }
        for _ in 0..self.commands.len() {
            self.times.recv().expect("team thread died");
        }
        start.elapsed()
    }

    /// Operations of `job` that take about `slice` per thread (and a warm-up):
    /// double from 64 until a run takes an eighth of a slice, then take the
    /// fastest of three runs at that count. A run's time includes waking the
    /// threads, which on a busy machine can take a millisecond; the fastest of
    /// three keeps such a delay from shrinking the count (and so inflating
    /// every later sample by the same delay). A delay during the doubling
    /// stops it early, at a count whose runs are mostly that delay, so the
    /// estimate is checked at the count it gives (fastest of two), and
    /// redone from there, until a run at the count takes half a slice.
    pub fn calibrate(&self, job: usize, slice: Duration) -> u64 {
        let mut n = 64u64;
        while self.run(job, n) < slice / 8 && n < 1 << 32 {
            n *= 2;
        }
        let fastest = (0..3).map(|_| self.run(job, n)).min().unwrap_or_default();
        let mut ops = Self::scale(n, fastest, slice);
        for _ in 0..4 {
            let fastest = (0..2).map(|_| self.run(job, ops)).min().unwrap_or_default();
            if fastest >= slice / 2 {
                break;
            }
            ops = Self::scale(ops, fastest, slice);
        }
        ops
    }

    /// The count that takes `slice` if `n` took `took`.
    fn scale(n: u64, took: Duration, slice: Duration) -> u64 {
        let per = took.as_secs_f64() / n as f64;
        ((slice.as_secs_f64() / per.max(1e-12)) as u64).clamp(1, 1 << 36)
    }

    pub fn threads(&self) -> usize {
        self.commands.len()
    }
}

/// Spawns `threads` threads that can run any of `jobs`, hands the team to
/// `body`, and joins the threads when `body` returns.
pub fn with_team<R>(threads: usize, jobs: &[&Job<'_>], body: impl FnOnce(&Team) -> R) -> R {
    assert!(threads > 0);
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let (time_tx, times) = channel();
        let mut commands = Vec::with_capacity(threads);
        for index in 0..threads {
            let (command_tx, command_rx) = channel::<(usize, u64)>();
            commands.push(command_tx);
            let (time_tx, barrier) = (time_tx.clone(), &barrier);
            std::thread::Builder::new()
                .name(format!("bench-{index}"))
                .spawn_scoped(scope, move || {
                    while let Ok((job, ops)) = command_rx.recv() {
                        barrier.wait();
                        let start = Instant::now();
                        jobs[job](index, ops);
                        let elapsed = start.elapsed();
                        if time_tx.send(elapsed).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn bench thread");
        }
        drop(time_tx);
        let team = Team { commands, times };
        body(&team)
        // `team` drops here: its command senders close, the threads leave
        // their loops, and the scope joins them.
    })
}
