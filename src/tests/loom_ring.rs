//! The shared ring (`ring.rs`) on its own: the owner's push and
//! newest-end refill racing stealers' oldest-end batch removal and trim's
//! compaction.

use super::{Tracked, Tracker, run_model};
use crate::ring::{Ring, Slot};
use loom::thread;
use std::sync::Arc;

fn slot(value: Tracked, stamp: u64) -> Slot<Tracked> {
    Slot {
        value,
        stamp,
        weight: 0,
    }
}

/// Takes up to half (rounded up) of what the ring holds, as `steal` does,
/// marking each object held by `who`. Returns the objects.
fn steal_half(ring: &Ring<Tracked>, who: usize) -> Vec<Tracked> {
    let Some(mut claim) = ring.try_claim() else {
        return Vec::new();
    };
    let batch = claim.len().div_ceil(2);
    let taken: Vec<Tracked> = (0..batch)
        .filter_map(|_| claim.pop_oldest())
        .map(|s| s.value)
        .collect();
    drop(claim);
    taken.iter().for_each(|t| t.hold(who));
    taken
}

/// Everything still in the ring, taken by the owner at the end.
fn drain(ring: &Ring<Tracked>) -> Vec<Tracked> {
    let mut claim = ring.claim();
    let mut all = Vec::new();
    while let Some(s) = claim.pop_oldest() {
        all.push(s.value);
    }
    all
}

/// Owner pushes while a stealer takes a batch: every object ends up with
/// exactly one holder, and nothing is lost. Both pushes happen after the
/// stealer starts, so any object it steals was written concurrently and is
/// only safe to read through the push's release / the claim's acquire.
#[test]
fn push_races_batch_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::with_capacity(4));
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_half(&ring, 1))
        };
        for _ in 0..2 {
            // SAFETY: the model's main thread is the ring's only pusher, i.e.
            // its owner.
            unsafe { ring.push(slot(tracker.make(), 0)).ok().unwrap() };
        }
        let stolen = stealer.join().unwrap();
        let rest = drain(&ring);
        rest.iter().for_each(|t| t.hold(0));
        assert_eq!(stolen.len() + rest.len(), 2, "no object lost or duplicated");
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// The owner refills from the newest end while a stealer takes from the
/// oldest end: the claim keeps them apart.
#[test]
fn owner_refill_races_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::with_capacity(4));
        for _ in 0..3 {
            // SAFETY: the main thread is the owner.
            unsafe { ring.push(slot(tracker.make(), 0)).ok().unwrap() };
        }
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_half(&ring, 1))
        };
        let mut mine = Vec::new();
        if let Some(mut claim) = ring.try_claim() {
            // SAFETY: the main thread is the owner.
            unsafe { claim.pop_newest(2, |s| mine.push(s.value)) };
        }
        mine.iter().for_each(|t| t.hold(0));
        let stolen = stealer.join().unwrap();
        let rest = drain(&ring);
        rest.iter().for_each(|t| t.hold(0));
        assert_eq!(mine.len() + stolen.len() + rest.len(), 3);
        drop((mine, stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// Two stealers and the owner's push: batches never overlap, and a slot is
/// only reused after the stealer that emptied it has published `head`.
#[test]
fn two_stealers_and_push() {
    run_model(|| {
        let tracker = Tracker::new();
        // Capacity 2 forces the owner's push to reuse a slot a stealer emptied.
        let ring = Arc::new(Ring::with_capacity(2));
        for _ in 0..2 {
            // SAFETY: the main thread is the owner.
            unsafe { ring.push(slot(tracker.make(), 0)).ok().unwrap() };
        }
        let stealers: Vec<_> = (1..=2)
            .map(|who| {
                let ring = Arc::clone(&ring);
                thread::spawn(move || steal_half(&ring, who))
            })
            .collect();
        let extra = tracker.make();
        // SAFETY: the main thread is the owner. Full ring: the object comes back.
        let pushed = match unsafe { ring.push(slot(extra, 0)) } {
            Ok(()) => 1,
            Err(back) => {
                drop(back);
                0
            }
        };
        let stolen: Vec<Tracked> = stealers
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        let rest = drain(&ring);
        assert_eq!(stolen.len() + rest.len(), 2 + pushed);
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// Trim compacts a claimed range (dropping stale objects, keeping fresh
/// ones) while the owner pushes: the survivors stay reachable exactly once.
#[test]
fn trim_compaction_races_push() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::with_capacity(4));
        // Stamps: stale, fresh, stale (for epoch 3, stale means stamp <= 1).
        for stamp in [0, 3, 1] {
            // SAFETY: the main thread is the owner.
            unsafe { ring.push(slot(tracker.make(), stamp)).ok().unwrap() };
        }
        let trimmer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut stale = Vec::new();
                ring.claim()
                    .extract_if(|s| crate::trim::is_stale(s.stamp, 3), &mut stale);
                stale.into_iter().map(|s| s.stamp).collect::<Vec<_>>()
            })
        };
        // SAFETY: the main thread is the owner.
        unsafe { ring.push(slot(tracker.make(), 3)).ok().unwrap() };
        let dropped_stamps = trimmer.join().unwrap();
        assert_eq!(dropped_stamps.len(), 2, "both stale objects trimmed");
        assert!(dropped_stamps.iter().all(|&s| s <= 1));
        let rest = drain(&ring);
        rest.iter().for_each(|t| t.hold(0));
        assert_eq!(rest.len(), 2, "the fresh object and the new push survive");
        drop((rest, ring));
        tracker.assert_all_dropped();
    });
}

/// The owner reuses a slot a stealer has just emptied. The stealer's "done"
/// flag is relaxed, so the only thing that orders the stealer's read of the
/// slot before the owner's overwrite is the claim publishing `head` with
/// release (and the push loading it with acquire).
#[test]
fn owner_reuses_slot_a_stealer_emptied() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::with_capacity(2));
        for _ in 0..2 {
            // SAFETY: the main thread is the owner.
            unsafe { ring.push(slot(tracker.make(), 0)).ok().unwrap() };
        }
        let done = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let stealer = {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            thread::spawn(move || {
                let stolen = steal_half(&ring, 1);
                done.store(true, loom::sync::atomic::Ordering::Relaxed);
                stolen
            })
        };
        while !done.load(loom::sync::atomic::Ordering::Relaxed) {
            thread::yield_now();
        }
        // The ring had 2 of 2; the stealer took 1. If we see its new head, the
        // push reuses the emptied slot.
        // SAFETY: the main thread is the owner.
        let pushed = match unsafe { ring.push(slot(tracker.make(), 0)) } {
            Ok(()) => 1,
            Err(back) => {
                drop(back);
                0
            }
        };
        let stolen = stealer.join().unwrap();
        let rest = drain(&ring);
        assert_eq!(stolen.len(), 1);
        assert_eq!(rest.len(), 1 + pushed);
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}
