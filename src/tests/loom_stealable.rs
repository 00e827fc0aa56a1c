//! A shard's bit in the stealable set racing its shared list
//! (`shard/mod.rs`, "The stealable set"): the owner pushing and publishing
//! while a thief's claim empties the list and clears the bit. After every
//! interleaving, a list that holds objects has its bit set, so a later
//! get that misses finds it; and a thief that finds a set bit over an empty
//! list clears it.
//!
//! The models drive the shard through its owner operations directly, with a
//! directory of one shard owned by the model's main thread.

// The ring hands objects out as boxes (one-word handles that never move the
// object); the models keep them that way.
#![allow(clippy::vec_box)]

use super::{Tracked, Tracker, run_model};
use crate::shard::directory::{Directory, Set};
use crate::shard::{Owner, Shard, SharedClaim};
use loom::thread;
use std::sync::Arc;

/// A directory holding shard 0, owned by the calling thread, whose private
/// stack holds at most `private` objects and whose shard holds `capacity`.
fn one_shard(private: usize, capacity: usize) -> Arc<Directory<Tracked>> {
    let dir = Arc::new(Directory::new());
    dir.insert(|index| Shard::new(index, 1, private, capacity, 0));
    dir
}

/// The owner's operations on shard 0.
///
/// # Safety
/// Only the model's main thread calls this: it owns shard 0.
unsafe fn owner(dir: &Directory<Tracked>) -> Owner<'_, Tracked> {
    let shard = dir.get(0).expect("shard 0");
    // SAFETY: the caller is the main thread, shard 0's only owner.
    unsafe { Owner::new(shard, dir) }
}

/// Takes half of shard 0's list, as a steal does, marking each object held
/// by `who`; dropping the claim is what clears the bit if the list emptied.
fn steal(dir: &Directory<Tracked>, who: usize) -> Vec<Box<Tracked>> {
    let shard = dir.get(0).expect("shard 0");
    let Some(mut claim) = SharedClaim::try_new(shard, dir) else {
        return Vec::new();
    };
    let take = claim.claim.len().div_ceil(2);
    let taken: Vec<Box<Tracked>> = (0..take)
        .filter_map(|_| claim.claim.pop_oldest())
        .map(|entry| entry.value)
        .collect();
    drop(claim);
    taken.iter().for_each(|t| t.hold(who));
    taken
}

/// I11's "never hides a non-empty list": once every thread is done, shard
/// 0's list holds objects only if its bit is set.
fn assert_visible(dir: &Directory<Tracked>) {
    let shard = dir.get(0).expect("shard 0");
    if shard.ring.len() > 0 {
        assert!(
            dir.contains(Set::Stealable, 0),
            "shard 0's list holds {} objects but is not in the stealable set",
            shard.ring.len()
        );
        let mut found = false;
        dir.find(Set::Stealable, 0, |index| {
            found = index == 0;
            found
        });
        assert!(found, "a walk of the stealable set misses shard 0");
    }
}

/// Drains shard 0 (private and shared) and drops everything, so the tracker
/// can check I2.
fn drain(dir: &Directory<Tracked>, tracker: &Tracker, mut held: Vec<Box<Tracked>>) {
    // SAFETY: the main thread owns shard 0.
    let owner = unsafe { owner(dir) };
    while let Some((value, _)) = owner.take_oldest() {
        held.push(value);
    }
    held.extend(steal_all(dir));
    drop(held);
    tracker.assert_all_dropped();
}

fn steal_all(dir: &Directory<Tracked>) -> Vec<Box<Tracked>> {
    let shard = dir.get(0).expect("shard 0");
    let mut claim = SharedClaim::wait(shard, dir);
    std::iter::from_fn(|| claim.claim.pop_oldest().map(|e| e.value)).collect()
}

/// The list holds one object (bit set). A thief takes it, emptying the list,
/// while the owner pushes another and publishes: the thief's clear and the
/// owner's push cannot both miss each other.
#[test]
fn publish_races_the_claim_that_empties_the_list() {
    run_model(|| {
        let tracker = Tracker::new();
        let dir = one_shard(1, 4);
        {
            // SAFETY: the main thread owns shard 0.
            let owner = unsafe { owner(&dir) };
            let mut batch = owner.shared_batch();
            assert!(batch.push(Box::new(tracker.make()), 0, 0).is_ok());
        }
        assert!(dir.contains(Set::Stealable, 0));
        let thief = {
            let dir = Arc::clone(&dir);
            thread::spawn(move || steal(&dir, 1))
        };
        {
            // SAFETY: the main thread owns shard 0.
            let owner = unsafe { owner(&dir) };
            let mut batch = owner.shared_batch();
            assert!(batch.push(Box::new(tracker.make()), 0, 0).is_ok());
        }
        let stolen = thief.join().unwrap();
        assert_visible(&dir);
        drain(&dir, &tracker, stolen);
    });
}

/// The owner's full private stack spills its older half to the list (one
/// publication for the batch) while a thief empties the list.
#[test]
fn spill_races_the_claim_that_empties_the_list() {
    run_model(|| {
        let tracker = Tracker::new();
        // Private stack of 1 in a shard of 4: the second keep spills.
        let dir = one_shard(1, 4);
        {
            // SAFETY: the main thread owns shard 0.
            let owner = unsafe { owner(&dir) };
            owner
                .shared_batch()
                .push(Box::new(tracker.make()), 0, 0)
                .ok();
            assert!(owner.keep(Box::new(tracker.make()), 0).is_ok());
        }
        let thief = {
            let dir = Arc::clone(&dir);
            thread::spawn(move || steal(&dir, 1))
        };
        {
            // SAFETY: the main thread owns shard 0.
            let owner = unsafe { owner(&dir) };
            assert!(owner.keep(Box::new(tracker.make()), 0).is_ok());
        }
        let stolen = thief.join().unwrap();
        assert_visible(&dir);
        drain(&dir, &tracker, stolen);
    });
}

/// A set bit over an empty list (a publication that raced a steal can leave
/// one) is cleared by the next thief that claims the list, while the owner
/// publishes again: the bit ends set exactly when the list holds something.
#[test]
fn thief_clears_a_stale_bit_while_the_owner_publishes() {
    run_model(|| {
        let tracker = Tracker::new();
        let dir = one_shard(1, 4);
        dir.add(Set::Stealable, 0);
        let thief = {
            let dir = Arc::clone(&dir);
            thread::spawn(move || steal(&dir, 1))
        };
        {
            // SAFETY: the main thread owns shard 0.
            let owner = unsafe { owner(&dir) };
            let mut batch = owner.shared_batch();
            assert!(batch.push(Box::new(tracker.make()), 0, 0).is_ok());
        }
        let stolen = thief.join().unwrap();
        assert_visible(&dir);
        if stolen.is_empty() && dir.get(0).unwrap().ring.len() == 0 {
            unreachable!("the object is neither stolen nor listed");
        }
        drain(&dir, &tracker, stolen);
    });
}
