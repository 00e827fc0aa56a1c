//! Automatic trimming: at most one trim per configured interval.
//!
//! A pool with `trim_interval` checks on its slow paths (a get that misses
//! the private stack, a return that overflows it) whether an interval has
//! passed, and trims if so. A pool that goes completely quiet never reaches a
//! slow path, so the [`BackgroundTrimmer`](crate::BackgroundTrimmer) visits it
//! too; both go through [`AutoTrim::claim_due`], so together they still trim
//! at most once per interval.

use crate::sync::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds since the first call in this process (a monotonic clock that
/// fits in an atomic).
pub(crate) fn now_nanos() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[derive(Debug)]
pub(crate) struct AutoTrim {
    interval: u64,
    /// When the next trim is due (`now_nanos` scale). Advanced by whoever
    /// claims a due trim; relaxed CAS, since it guards no memory and the CAS
    /// alone makes each due time claimable once.
    next_due: AtomicU64,
}

impl AutoTrim {
    pub(crate) fn new(interval: Duration) -> Self {
        let interval = u64::try_from(interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        AutoTrim {
            interval,
            next_due: AtomicU64::new(now_nanos().saturating_add(interval)),
        }
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }

    /// When the next trim is due.
    pub(crate) fn next_due(&self) -> u64 {
        // Relaxed: a scheduling hint for the background trimmer.
        self.next_due.load(Ordering::Relaxed)
    }

    /// True for exactly one caller once a trim is due at `now`; that caller
    /// must trim.
    pub(crate) fn claim_due(&self, now: u64) -> bool {
        // Relaxed: see the field docs.
        let due = self.next_due.load(Ordering::Relaxed);
        now >= due
            && self
                .next_due
                .compare_exchange(
                    due,
                    now.saturating_add(self.interval),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}
