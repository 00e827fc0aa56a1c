//! A user's request handler: it answers each request from a pooled buffer
//! and counts what it served. Its counter is its own concurrent code, which
//! its loom models (`tests/model.rs`) check with the pool inside.
//!
//! Built with `--cfg loom`, the counter uses loom's atomics; with
//! `--cfg shardpool_loom`, the pool uses loom's atomics too, so one model
//! explores the interleavings of both.

use shardpool::{Pool, Stats};

#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};

/// Answers requests from a pool of response buffers, shared by every thread.
#[derive(Debug)]
pub struct Handler {
    buffers: Pool<Vec<u8>>,
    served: AtomicU64,
}

impl Default for Handler {
    fn default() -> Self {
        Self::new()
    }
}

impl Handler {
    /// A handler whose buffers come back cleared; each thread keeps at most
    /// two idle.
    pub fn new() -> Self {
        let buffers = Pool::builder()
            .reset(|b: &mut Vec<u8>| {
                b.clear();
                true
            })
            .max_idle_per_thread(2)
            .build(|| Vec::with_capacity(64));
        Handler {
            buffers,
            served: AtomicU64::new(0),
        }
    }

    /// Writes the response to `path` into a pooled buffer and returns its
    /// length. Counts the request with one atomic read-modify-write.
    pub fn handle(&self, path: &str) -> usize {
        let len = self.respond(path);
        // Relaxed: a statistic; it orders no other memory.
        self.served.fetch_add(1, Ordering::Relaxed);
        len
    }

    /// [`Handler::handle`] with a deliberate bug: it counts with a load and
    /// a store, so two threads may both read n and both write n + 1, losing
    /// a request. The second model in `tests/model.rs` shows loom finding
    /// that interleaving.
    pub fn handle_with_lost_update(&self, path: &str) -> usize {
        let len = self.respond(path);
        let n = self.served.load(Ordering::Relaxed);
        self.served.store(n + 1, Ordering::Relaxed);
        len
    }

    fn respond(&self, path: &str) -> usize {
        let mut buf = self.buffers.get();
        buf.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        buf.extend_from_slice(path.as_bytes());
        buf.len()
    }

    /// Requests served so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Makes `n` idle buffers reachable by every thread: takes `n`, returns
    /// them, and flushes this thread's private stack to its shared list,
    /// where other threads steal from.
    pub fn warm(&self, n: usize) {
        let held: Vec<_> = (0..n).map(|_| self.buffers.get()).collect();
        drop(held);
        self.buffers.flush_local();
    }

    /// The pool's statistics.
    pub fn pool_stats(&self) -> Stats {
        self.buffers.stats()
    }
}
