//! Loom models of the crate's own concurrent protocols, built only with
//! `RUSTFLAGS="--cfg shardpool_loom"` (see `scripts/loom.sh`).
//!
//! Every model checks, on every interleaving loom explores:
//! - **I1** (one holder at a time): each tracked object carries a loom
//!   `UnsafeCell` that every holder writes when it receives the object. Two
//!   holders without a happens-before edge between them make loom report a
//!   causality violation, even on interleavings where they did not overlap.
//! - **I2** (each object dropped exactly once): a drop of an already-dropped
//!   object panics, and at the end of the model every object created has been
//!   dropped (`Tracker::assert_all_dropped`).
//!
//! Test-only hooks outside this folder (each in a
//! `#[cfg(all(test, shardpool_loom))]` block at the end of its file):
//! - `shard/ring.rs`: `RingOwner::check_shape` (the ring's links, bases and
//!   indices, checked under the claim; returns the segment count), and a
//!   `Drop` for `Segment` that writes every part of a segment as it is
//!   freed, so that loom reports a free not ordered after another thread's
//!   access to it.
//!
//! Models use tiny limits (private stacks of at most 2, caps of 1–3, ring
//! segments of 2 entries under loom) so that loom can explore them
//! exhaustively within the preemption bound.

mod loom_budget;
mod loom_directory;
mod loom_pool;
mod loom_ring;
mod loom_stealable;

use loom::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Runs `f` under loom with the crate's standard settings: the preemption
/// bound from `LOOM_MAX_PREEMPTIONS` (default 2). Prints how many
/// interleavings were explored, so a model that explores almost nothing is
/// visible.
pub(crate) fn run_model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let started = std::time::Instant::now();
    builder.check(move || {
        counter.fetch_add(1, SeqCst);
        f();
    });
    eprintln!(
        "{}: {} interleavings in {:.1?}",
        std::thread::current().name().unwrap_or("model"),
        runs.load(SeqCst),
        started.elapsed()
    );
}

/// Counts creations and drops of [`Tracked`] objects in one model run.
/// Plain std atomics: bookkeeping of the test, not part of the protocol.
#[derive(Default)]
pub(crate) struct Tracker {
    created: AtomicUsize,
    dropped: AtomicUsize,
}

impl Tracker {
    pub(crate) fn new() -> Arc<Tracker> {
        Arc::new(Tracker::default())
    }

    pub(crate) fn make(self: &Arc<Self>) -> Tracked {
        let id = self.created.fetch_add(1, SeqCst);
        Tracked {
            id,
            holder: UnsafeCell::new(0),
            alive: true,
            tracker: Arc::clone(self),
        }
    }

    pub(crate) fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    pub(crate) fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    pub(crate) fn assert_all_dropped(&self) {
        assert_eq!(
            self.created(),
            self.dropped(),
            "I2: every object dropped exactly once"
        );
    }
}

/// An object whose every hand-out is a loom-visible write (I1) and whose
/// drop is counted and checked (I2).
pub(crate) struct Tracked {
    pub(crate) id: usize,
    holder: UnsafeCell<usize>,
    alive: bool,
    tracker: Arc<Tracker>,
}

impl Tracked {
    /// Records that `who` now holds this object: a write loom checks for
    /// happens-before against every earlier holder's write.
    pub(crate) fn hold(&self, who: usize) {
        assert!(self.alive, "object used after drop");
        self.holder.with_mut(|h| {
            // SAFETY: a plain write through loom's cell; if two holders could
            // reach this concurrently, loom reports it (that is the check).
            unsafe { *h = who }
        });
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert!(self.alive, "I2: object {} dropped twice", self.id);
        self.alive = false;
        self.tracker.dropped.fetch_add(1, SeqCst);
    }
}

/// The payload of a panic a model raises on purpose (a callback that
/// panics); [`quiet_planned_panics`] keeps it out of the test output.
pub(crate) struct PlannedPanic;

/// Installs, once per process, a panic hook that stays silent for
/// [`PlannedPanic`] and reports every other panic as before.
pub(crate) fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<PlannedPanic>() {
                previous(info);
            }
        }));
    });
}
