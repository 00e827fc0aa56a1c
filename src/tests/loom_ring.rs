//! The shared ring (`shard/ring.rs`) on its own: the owner's push (which
//! links a new segment every `SEGMENT` = 2 pushes under loom) and newest-end
//! refill racing stealers' oldest-end batch removal, trim's compaction, and
//! the frees of emptied segments (I10, bookkeeping follows use).
//!
//! Besides I1 and I2, every model ends by checking the ring's shape
//! (`RingOwner::check_shape`, a test-only hook in `ring.rs`): the owner's
//! newest segment is reachable from `first`, `prev` links back, bases are
//! contiguous. Under loom, freeing a segment also counts as a write to all
//! of it (a test-only `Drop` in `ring.rs`), so a free that is not ordered
//! after another thread's access is a causality violation.

// The ring hands objects out as boxes (one-word handles that never move the
// object); the models keep them that way.
#![allow(clippy::vec_box)]

use super::{Tracked, Tracker, run_model};
use crate::shard::ring::{Entry, Ring, RingOwner};
use loom::thread;
use std::sync::Arc;

fn entry(value: Tracked, stamp: u64) -> Entry<Tracked> {
    Entry {
        value: Box::new(value),
        stamp,
        weight: 0,
    }
}

/// The owner's side of `ring`.
///
/// # Safety
/// Only the model's main thread calls this: it is the ring's owner.
unsafe fn owner_of(ring: &Ring<Tracked>) -> RingOwner<'_, Tracked> {
    // SAFETY: the caller is the model's main thread, the ring's only owner.
    unsafe { RingOwner::new(ring) }
}

/// Takes `batch(len)` of what the ring holds, as `steal` does (which looks
/// at `len` first and skips an empty ring without touching its claim),
/// marking each object held by `who`.
fn steal(ring: &Ring<Tracked>, who: usize, batch: fn(usize) -> usize) -> Vec<Box<Tracked>> {
    if ring.len() == 0 {
        return Vec::new();
    }
    let Some(mut claim) = ring.try_claim() else {
        return Vec::new();
    };
    let take = batch(claim.len());
    let taken: Vec<Box<Tracked>> = (0..take)
        .filter_map(|_| claim.pop_oldest())
        .map(|e| e.value)
        .collect();
    drop(claim);
    taken.iter().for_each(|t| t.hold(who));
    taken
}

/// `steal` with the pool's batch size: half, rounded up.
fn steal_half(ring: &Ring<Tracked>, who: usize) -> Vec<Box<Tracked>> {
    steal(ring, who, |len| len.div_ceil(2))
}

/// `steal` taking everything, so one steal can empty a whole segment.
fn steal_all(ring: &Ring<Tracked>, who: usize) -> Vec<Box<Tracked>> {
    steal(ring, who, |len| len)
}

/// The end of every ring model (main thread, after the joins): checks the
/// shape, takes everything left (as the owner), checks that a drained ring
/// keeps at most one segment and that `release_if_empty` then frees it.
fn drain(owner: &RingOwner<'_, Tracked>, ring: &Ring<Tracked>) -> Vec<Box<Tracked>> {
    owner.check_shape();
    let mut all = Vec::new();
    let mut claim = ring.claim();
    while let Some(e) = claim.pop_oldest() {
        all.push(e.value);
    }
    drop(claim);
    assert!(
        owner.check_shape() <= 1,
        "a drained ring keeps at most one segment"
    );
    owner.release_if_empty();
    assert_eq!(
        owner.check_shape(),
        0,
        "an empty ring released keeps no segment"
    );
    all.iter().for_each(|t| t.hold(0));
    all
}

/// Owner pushes into an empty ring (linking its first segment) while a
/// stealer takes a batch: every object ends up with exactly one holder, and
/// nothing is lost. Both pushes happen after the stealer starts, so any
/// object it steals was written concurrently and is only safe to read
/// through the push's release / the claim's acquire.
#[test]
fn push_races_batch_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_half(&ring, 1))
        };
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stolen = stealer.join().unwrap();
        let rest = drain(&owner, &ring);
        assert_eq!(stolen.len() + rest.len(), 2, "no object lost or duplicated");
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// The owner pushes across a segment boundary (allocating a
/// segment and linking it with a release store of `next`) while a stealer
/// takes everything it sees, emptying the oldest segment and freeing it
/// once the newer one is linked, or leaving it for the next claim holder.
#[test]
fn push_links_segment_races_steal_that_frees() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        // The oldest segment is full.
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_all(&ring, 1))
        };
        // Index 2 needs a new segment; index 3 fills it.
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stolen = stealer.join().unwrap();
        let rest = drain(&owner, &ring);
        assert!((2..=4).contains(&stolen.len()), "the steal took all it saw");
        assert_eq!(stolen.len() + rest.len(), 4, "no object lost or duplicated");
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// The owner refills from the newest end (`pop_newest`, which
/// frees the segments above its new `tail`) and then pushes again (into the
/// segment it kept, then linking a fresh one) while a stealer takes a batch
/// from the oldest end, which may free the oldest segment first.
#[test]
fn owner_refill_races_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        // Two segments: [0 1] [2 .].
        for _ in 0..3 {
            owner.push(entry(tracker.make(), 0));
        }
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_half(&ring, 1))
        };
        let mut mine = Vec::new();
        if let Some(mut claim) = ring.try_claim() {
            let take = claim.len().min(2);
            owner.pop_newest(&mut claim, take, |e| mine.push(e.value));
        }
        mine.iter().for_each(|t| t.hold(0));
        // Lands in the kept segment or, after a steal of two, in the last one.
        owner.push(entry(tracker.make(), 0));
        let stolen = stealer.join().unwrap();
        let rest = drain(&owner, &ring);
        assert_eq!(mine.len() + stolen.len() + rest.len(), 4);
        drop((mine, stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// Two stealers and the owner's push across a segment boundary: batches
/// never overlap, and a segment is freed only by the claim holder that
/// consumed it, after the owner linked the next.
#[test]
fn two_stealers_and_push() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stealers: Vec<_> = (1..=2)
            .map(|who| {
                let ring = Arc::clone(&ring);
                thread::spawn(move || steal_half(&ring, who))
            })
            .collect();
        owner.push(entry(tracker.make(), 0));
        let stolen: Vec<Box<Tracked>> = stealers
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        let rest = drain(&owner, &ring);
        assert_eq!(stolen.len() + rest.len(), 3);
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// Trim's `extract_if` (stale entries out, survivors compacted
/// at the newest end, consumed segments freed) races the owner's pushes, the
/// second of which links a new segment: the survivors stay reachable exactly
/// once, and the stale ones are the only ones removed.
#[test]
fn trim_compaction_races_push() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        // Stamps: stale, fresh, stale (for epoch 3, stale means stamp <= 1):
        // segments [0 3] [1 .].
        for stamp in [0, 3, 1] {
            owner.push(entry(tracker.make(), stamp));
        }
        let trimmer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut stale = Vec::new();
                ring.claim()
                    .extract_if(|e| crate::shard::is_stale(e.stamp, 3), &mut stale);
                stale.into_iter().map(|e| e.stamp).collect::<Vec<_>>()
            })
        };
        // Index 3 fills the second segment; index 4 links a third.
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 3));
        }
        let dropped_stamps = trimmer.join().unwrap();
        assert_eq!(dropped_stamps.len(), 2, "both stale objects trimmed");
        assert!(dropped_stamps.iter().all(|&s| s <= 1));
        let rest = drain(&owner, &ring);
        assert_eq!(rest.len(), 3, "the fresh object and the new pushes survive");
        drop((rest, ring));
        tracker.assert_all_dropped();
    });
}

/// The owner refills one object from its ring of two, frees
/// the ring's storage if it is now empty (`release_if_empty`, as after a
/// trim) and pushes again (linking a fresh first segment, with no claim,
/// when the release happened), while a stealer steals twice: the second
/// steal may find the ring empty (by `len`, or under a claim that makes the
/// owner's release give up), or take what the owner pushed after. Whether
/// the release runs before or after a steal decides whether the ring still
/// holds an entry, which it must then keep.
#[test]
fn release_if_empty_races_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut stolen = steal_half(&ring, 1);
                stolen.extend(steal_half(&ring, 1));
                stolen
            })
        };
        let mut mine = Vec::new();
        if let Some(mut claim) = ring.try_claim() {
            let take = claim.len().min(1);
            owner.pop_newest(&mut claim, take, |e| mine.push(e.value));
        }
        mine.iter().for_each(|t| t.hold(0));
        owner.release_if_empty();
        owner.push(entry(tracker.make(), 0));
        let stolen = stealer.join().unwrap();
        let rest = drain(&owner, &ring);
        assert_eq!(mine.len() + stolen.len() + rest.len(), 3);
        drop((mine, stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// A panic raised by a refill's `sink`, here for the newest of
/// two entries, while a stealer looks: `pop_newest` lowers `tail` past an
/// entry before handing it out, so the unwound claim never leaves it
/// readable again, and nothing is read twice.
#[test]
fn refill_panic_reads_each_entry_once() {
    run_model(|| {
        super::quiet_planned_panics();
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        for _ in 0..2 {
            owner.push(entry(tracker.make(), 0));
        }
        let stealer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || steal_half(&ring, 1))
        };
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(mut claim) = ring.try_claim() {
                let take = claim.len();
                owner.pop_newest(&mut claim, take, |e| {
                    drop(e);
                    std::panic::panic_any(super::PlannedPanic);
                });
            }
        }));
        let stolen = stealer.join().unwrap();
        let rest = drain(&owner, &ring);
        let refilled = usize::from(unwound.is_err());
        assert_eq!(refilled + stolen.len() + rest.len(), 2);
        drop((stolen, rest, ring));
        tracker.assert_all_dropped();
    });
}

/// A trim sweeps an empty ring (it claims every ring, empty or not) while
/// the owner's first push links the ring's first segment, which the owner
/// does without the claim: a claim holder that reaches that segment through
/// `first` must be ordered after its initialization.
#[test]
fn first_segment_link_races_trim() {
    run_model(|| {
        let tracker = Tracker::new();
        let ring = Arc::new(Ring::default());
        let trimmer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut stale = Vec::new();
                ring.claim()
                    .extract_if(|e| crate::shard::is_stale(e.stamp, 3), &mut stale);
                stale.len()
            })
        };
        // SAFETY: the main thread is the owner.
        let owner = unsafe { owner_of(&ring) };
        owner.push(entry(tracker.make(), 3));
        assert_eq!(trimmer.join().unwrap(), 0, "a fresh object is not trimmed");
        let rest = drain(&owner, &ring);
        assert_eq!(rest.len(), 1);
        drop((rest, ring));
        tracker.assert_all_dropped();
    });
}
