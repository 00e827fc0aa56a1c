//! Helpers shared by the integration tests.
#![allow(dead_code)]

use shardpool::Stats;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// Scales an iteration count down under Miri, which is ~1000× slower.
pub fn iters(n: usize) -> usize {
    if cfg!(miri) { (n / 100).max(2) } else { n }
}

/// The `Stats` accounting identity at a quiet moment, with `in_use` objects
/// out in guards: every object the pool made or adopted is idle, dropped,
/// detached or in use (I2, dropped exactly once, counted).
pub fn assert_accounted(stats: &Stats, in_use: u64) {
    assert_eq!(
        stats.created + stats.adopted,
        stats.idle + stats.dropped() + stats.detached + in_use,
        "created + adopted == idle + dropped() + detached + in_use: {stats:#?}"
    );
}

/// Creates [`Obj`]s and checks, for every one, that it is never handed to two
/// holders at once (I1) and dropped exactly once (I2).
#[derive(Default)]
pub struct Ledger {
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// Ids dropped so far (to report double drops by id).
    dead: Mutex<HashSet<usize>>,
}

impl Ledger {
    pub fn new() -> Arc<Ledger> {
        Arc::new(Ledger::default())
    }

    pub fn make(self: &Arc<Self>) -> Obj {
        Obj {
            id: self.created.fetch_add(1, SeqCst),
            in_use: Arc::new(AtomicBool::new(false)),
            ledger: Arc::clone(self),
        }
    }

    pub fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    /// Objects alive right now (created and not yet dropped).
    pub fn alive(&self) -> usize {
        self.created() - self.dropped()
    }
}

/// A pooled object that knows whether someone holds it.
pub struct Obj {
    pub id: usize,
    in_use: Arc<AtomicBool>,
    ledger: Arc<Ledger>,
}

impl Obj {
    /// Marks the object held; panics if it already was (I1 violated).
    pub fn acquire(&self) {
        assert!(
            !self.in_use.swap(true, SeqCst),
            "I1: object {} handed to two holders at once",
            self.id
        );
    }

    /// Marks the object no longer held.
    pub fn release(&self) {
        assert!(
            self.in_use.swap(false, SeqCst),
            "object {} released twice",
            self.id
        );
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        let fresh = self.ledger.dead.lock().unwrap().insert(self.id);
        assert!(fresh, "I2: object {} dropped twice", self.id);
        self.ledger.dropped.fetch_add(1, SeqCst);
    }
}
