//! The shard directory (`shard/directory.rs`) on its own: inserts that race
//! each other and readers (a bucket installed by CAS), and the two-level
//! sets' add and remove racing on one group's leader bit. Under loom a group
//! holds 2 shards and a leader leads 2 groups, so 5 shards span three groups
//! in two buckets, with group 2 led by a second leader.
//!
//! The sets' invariant, checked once every thread is done: a group with a
//! member has its bit set in its leader (a leader bit over an empty group is
//! allowed: scans repair it).

use super::run_model;
use crate::shard::Shard;
use crate::shard::directory::{Directory, Set};
use loom::thread;
use std::sync::Arc;

fn shard(index: usize) -> Shard<u32> {
    Shard::new(index, crate::shard::NO_OWNER, 1, 2, 0)
}

/// A directory with `n` shards (inserted before the model's threads start).
fn directory(n: usize) -> Arc<Directory<u32>> {
    let dir = Arc::new(Directory::new());
    for _ in 0..n {
        dir.insert(shard);
    }
    dir
}

/// Every member of `set` is found by a walk from every start, and the walk
/// finds nothing else.
fn assert_members(dir: &Directory<u32>, set: Set, expect: &[usize]) {
    for start in 0..dir.len() {
        let mut seen = Vec::new();
        dir.find(set, start, |index| {
            seen.push(index);
            false
        });
        seen.sort_unstable();
        assert_eq!(seen, expect, "walk from {start}");
    }
    for index in 0..dir.len() {
        assert_eq!(dir.contains(set, index), expect.contains(&index));
    }
}

/// Two threads insert at once while a third walks the directory: each
/// insert's shard is published whole (its index matches its slot), the
/// racing bucket installation frees the loser's copy, and a walk sees only
/// published shards.
#[test]
fn inserts_race_each_other_and_a_walk() {
    run_model(|| {
        // One shard: the next two inserts need bucket 1 (groups 1 and 2).
        let dir = directory(2);
        let inserters: Vec<_> = (0..2)
            .map(|_| {
                let dir = Arc::clone(&dir);
                thread::spawn(move || dir.insert(shard).index())
            })
            .collect();
        let walker = {
            let dir = Arc::clone(&dir);
            thread::spawn(move || {
                for shard in dir.iter() {
                    assert!(shard.index() < dir.len());
                }
            })
        };
        let mut got: Vec<usize> = inserters.into_iter().map(|t| t.join().unwrap()).collect();
        walker.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [2, 3]);
        for (position, shard) in dir.iter().enumerate() {
            assert_eq!(shard.index(), position);
        }
    });
}

/// A removal that empties a group races an add to the same group: however
/// they interleave, the group's leader bit ends set, so a walk finds the
/// added member.
#[test]
fn remove_emptying_a_group_races_an_add() {
    run_model(|| {
        let dir = directory(5);
        // Shard 4 is alone in group 2, which leader group 2 leads.
        dir.add(Set::Stealable, 4);
        let remover = {
            let dir = Arc::clone(&dir);
            thread::spawn(move || dir.remove(Set::Stealable, 4))
        };
        dir.add(Set::Stealable, 4);
        remover.join().unwrap();
        // Either order leaves shard 4 in or out; if in, it must be found.
        let expect: &[usize] = if dir.contains(Set::Stealable, 4) {
            &[4]
        } else {
            &[]
        };
        assert_members(&dir, Set::Stealable, expect);
    });
}

/// Two removals and two adds on one group at once (shards 0 and 1 of group
/// 0): the leader bit is never left clear over a member.
#[test]
fn two_removals_race_two_adds() {
    run_model(|| {
        let dir = directory(3);
        dir.add(Set::Vacant, 0);
        let threads: Vec<_> = [(0, false), (1, true)]
            .into_iter()
            .map(|(index, add)| {
                let dir = Arc::clone(&dir);
                thread::spawn(move || {
                    if add {
                        dir.add(Set::Vacant, index);
                        dir.remove(Set::Vacant, index);
                    } else {
                        dir.remove(Set::Vacant, index);
                    }
                })
            })
            .collect();
        dir.add(Set::Vacant, 0);
        threads.into_iter().for_each(|t| t.join().unwrap());
        let expect: Vec<usize> = (0..3).filter(|&i| dir.contains(Set::Vacant, i)).collect();
        assert_members(&dir, Set::Vacant, &expect);
    });
}
