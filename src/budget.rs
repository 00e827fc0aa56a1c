//! The retained-bytes budget: a ceiling on the bytes idle objects in shared
//! lists may hold, possibly shared by several pools (the size classes of a
//! `BufferPool`).

use crate::sync::{AtomicUsize, Ordering};

#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    /// Bytes charged by objects now in shared lists. Charged before an
    /// object enters a list and released after it leaves, so the bytes
    /// actually held never exceed it, and it never exceeds `limit`.
    used: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn used(&self) -> usize {
        // Relaxed: a reading for statistics.
        self.used.load(Ordering::Relaxed)
    }

    /// Charges `bytes` if that keeps the total within the limit.
    pub(crate) fn try_charge(&self, bytes: usize) -> bool {
        // Relaxed throughout: the counter bounds a quantity and guards no
        // memory; the CAS alone makes check-and-add atomic, so concurrent
        // chargers can never overshoot together.
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(bytes).filter(|&n| n <= self.limit) else {
                return false;
            };
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Gives back bytes charged earlier.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes != 0 {
            // Relaxed: see `try_charge`.
            let before = self.used.fetch_sub(bytes, Ordering::Relaxed);
            debug_assert!(before >= bytes, "budget released more than was charged");
        }
    }
}
