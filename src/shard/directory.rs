//! Every shard of a pool, by index, and two sets over them that let a
//! thread find what it needs without visiting every shard.
//!
//! ```text
//!  Directory
//!   ├─ buckets[b]: 2^b groups, allocated on first use, never moved
//!   │    Group (64 shards)
//!   │     ├─ shards[64]      Box<Shard> pointers, filled once
//!   │     ├─ members[set]    bit i: shard i of this group is in the set
//!   │     └─ groups[set]     leader groups only (every 64th): bit g: the
//!   │                        g-th group it leads has a member
//!   └─ len: indices handed out
//! ```
//!
//! The two sets are **stealable** (the shard's shared list may hold
//! objects) and **vacant** (no thread owns the shard; a new thread adopts
//! one before it allocates another). A get that misses reads one leader
//! word per 4,096 shards and stops when it is zero, so a miss, and a steal,
//! cost the same with 4 shards or 4,096 (I11, cost does not grow with idle
//! threads). Trim and clear walk the stealable set too; walking every shard
//! is left to what must reach them all (stats, teardown).
//!
//! A set may be stale, never wrong in a way that hides a member for good:
//! - adding sets the shard's bit, and the group's bit in its leader if the
//!   word was empty;
//! - removing clears the shard's bit and, if that emptied the word, the
//!   group's bit, then looks at the word again and sets the group's bit back
//!   if another thread added a member meanwhile. The removal's read-modify-
//!   write of the leader word reads the adder's, so the second look sees the
//!   adder's bit (acquire/release on the leader word; `loom_directory.rs`);
//! - a leader bit over an empty word (left by two removals racing an add) is
//!   repaired by whoever scans past it.
//!
//! What each set means for its shards (when a shard joins and leaves, and
//! how that races with the shard's own state) is kept by `shard/mod.rs`.

use super::Shard;
use crate::sync::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::ptr;

/// Shards per group, and groups per leader: one bit each in a `u64`. Under
/// loom, 2 and 2, so small models still cross both levels.
#[cfg(not(shardpool_loom))]
const FANOUT: usize = 64;
#[cfg(shardpool_loom)]
const FANOUT: usize = 2;

/// Bucket `b` holds `2^b` groups, so 24 buckets hold 2^24 groups: a billion
/// shards, far beyond any process's thread count.
const BUCKETS: usize = 24;

/// The two sets kept over a pool's shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Set {
    /// The shard's shared list may hold objects.
    Stealable = 0,
    /// No thread owns the shard.
    Vacant = 1,
}

struct Group<T> {
    /// Written once each (release), by the thread that was handed the index.
    shards: [AtomicPtr<Shard<T>>; FANOUT],
    /// Per set, bit `i`: shard `i` of this group is a member.
    members: [AtomicU64; 2],
    /// Per set, in leader groups only (group index a multiple of `FANOUT`):
    /// bit `g`: group `leader + g` has a member (or had one a moment ago).
    groups: [AtomicU64; 2],
}

impl<T> Group<T> {
    fn new() -> Self {
        Group {
            shards: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            members: [AtomicU64::new(0), AtomicU64::new(0)],
            groups: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
}

pub(crate) struct Directory<T> {
    /// Bucket `b`: `2^b` groups, installed by CAS from null (the loser frees
    /// its copy); release/acquire, so a reader sees the groups initialised.
    buckets: [AtomicPtr<Group<T>>; BUCKETS],
    /// Indices handed out (`fetch_add`). An index's shard pointer is stored
    /// right after; readers skip one still null (a shard being created, with
    /// nothing in it yet).
    len: AtomicUsize,
}

// SAFETY: the directory hands out `&Shard<T>` to any thread; `Shard<T>` is
// `Sync` when `T: Send` (shard/mod.rs). Its own fields are atomics; groups and
// shards are published with release stores and read with acquire loads, and
// freed only by `Drop` (`&mut self`).
unsafe impl<T: Send> Sync for Directory<T> {}
// SAFETY: as above; the directory owns its shards, which may move to the
// thread that drops it (`Shard<T>: Send` needs `T: Send`).
unsafe impl<T: Send> Send for Directory<T> {}

/// Bucket and offset of group `g`.
fn locate(g: usize) -> (usize, usize) {
    let bucket = (usize::BITS - 1 - (g + 1).leading_zeros()) as usize;
    (bucket, g + 1 - (1 << bucket))
}

/// The bits of `word` from `start` upwards, then those below `start`.
fn rotated(word: u64, start: usize) -> impl Iterator<Item = usize> {
    let start = start % FANOUT;
    let high = word & (!0u64 << start);
    let low = word & !(!0u64 << start);
    bits(high).chain(bits(low))
}

fn bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if word == 0 {
            return None;
        }
        let bit = word.trailing_zeros() as usize;
        word &= word - 1;
        Some(bit)
    })
}

fn bit(i: usize) -> u64 {
    1 << (i % FANOUT)
}

impl<T> Directory<T> {
    pub(crate) fn new() -> Self {
        Directory {
            buckets: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            len: AtomicUsize::new(0),
        }
    }

    /// Shards handed an index so far (some may still be being created).
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with nothing by itself (the shard pointers carry the
        // publication); an upper bound for the walks below.
        self.len.load(Ordering::Acquire)
    }

    fn group(&self, g: usize) -> Option<&Group<T>> {
        let (bucket, offset) = locate(g);
        // Acquire: pairs with the release CAS in `group_or_alloc`.
        let base = self.buckets.get(bucket)?.load(Ordering::Acquire);
        // SAFETY: a non-null bucket holds `2^bucket` initialised groups that
        // live as long as `self`, and `offset < 2^bucket`.
        (!base.is_null()).then(|| unsafe { &*base.add(offset) })
    }

    #[cold]
    fn group_or_alloc(&self, g: usize) -> &Group<T> {
        if let Some(group) = self.group(g) {
            return group;
        }
        let (bucket, _) = locate(g);
        let fresh: Box<[Group<T>]> = (0..1usize << bucket).map(|_| Group::new()).collect();
        let fresh = Box::into_raw(fresh).cast::<Group<T>>();
        // Release: pairs with the acquire load in `group`; the groups are
        // initialised before anyone can reach them.
        let won = self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if won.is_err() {
            // SAFETY: `fresh` came from `Box::into_raw` just above with this
            // length, and nobody else saw it.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, 1 << bucket)) });
        }
        self.group(g).expect("the bucket was just installed")
    }

    /// Adds a shard, made by `make` from its index, and returns it.
    pub(crate) fn insert(&self, make: impl FnOnce(usize) -> Shard<T>) -> &Shard<T> {
        // Relaxed: only uniqueness matters; the pointer store publishes.
        let index = self.len.fetch_add(1, Ordering::Relaxed);
        let group = self.group_or_alloc(index / FANOUT);
        let shard = Box::into_raw(Box::new(make(index)));
        // Release: pairs with the acquire load in `get`; the shard is fully
        // built before any other thread can reach it.
        group.shards[index % FANOUT].store(shard, Ordering::Release);
        // SAFETY: shards live until the directory drops, which needs `&mut`.
        unsafe { &*shard }
    }

    /// The shard at `index`, once published.
    pub(crate) fn get(&self, index: usize) -> Option<&Shard<T>> {
        let group = self.group(index / FANOUT)?;
        // Acquire: pairs with the release store in `insert`.
        let shard = group.shards[index % FANOUT].load(Ordering::Acquire);
        // SAFETY: published shards live until the directory drops (`&mut`).
        (!shard.is_null()).then(|| unsafe { &*shard })
    }

    /// Every published shard, in index order: O(shards). For `stats` and
    /// teardown, which must reach them all.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Shard<T>> {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// Whether shard `index` is in `set` (a relaxed snapshot).
    pub(crate) fn contains(&self, set: Set, index: usize) -> bool {
        self.group(index / FANOUT).is_some_and(|group| {
            // Relaxed: a hint; the callers that need an order fence first
            // (see `shard/mod.rs`).
            group.members[set as usize].load(Ordering::Relaxed) & bit(index) != 0
        })
    }

    fn leader(&self, g: usize) -> &Group<T> {
        self.group(g - g % FANOUT)
            .expect("a group's leader comes before it")
    }

    /// Adds shard `index` (published) to `set`.
    pub(crate) fn add(&self, set: Set, index: usize) {
        let g = index / FANOUT;
        let group = self.group(g).expect("a published shard's group exists");
        // AcqRel on both words: a remover's read-modify-write of the leader
        // word reads ours, and then sees our member bit (module docs).
        let before = group.members[set as usize].fetch_or(bit(index), Ordering::AcqRel);
        if before == 0 {
            self.leader(g).groups[set as usize].fetch_or(bit(g), Ordering::AcqRel);
        }
    }

    /// Removes shard `index` from `set`.
    pub(crate) fn remove(&self, set: Set, index: usize) {
        let g = index / FANOUT;
        let group = self.group(g).expect("a published shard's group exists");
        let before = group.members[set as usize].fetch_and(!bit(index), Ordering::AcqRel);
        if before == bit(index) {
            self.clear_group_bit(set, g, group);
        }
    }

    /// Clears group `g`'s bit in its leader, then sets it back if the group
    /// gained a member meanwhile.
    fn clear_group_bit(&self, set: Set, g: usize, group: &Group<T>) {
        let leader = &self.leader(g).groups[set as usize];
        // AcqRel: if an adder's `fetch_or` on this word came first, we read it
        // and the load below sees that adder's member bit.
        leader.fetch_and(!bit(g), Ordering::AcqRel);
        if group.members[set as usize].load(Ordering::Acquire) != 0 {
            leader.fetch_or(bit(g), Ordering::AcqRel);
        }
    }

    /// Whether `set` has no member: one load per `FANOUT²` shards.
    #[inline]
    pub(crate) fn is_empty(&self, set: Set) -> bool {
        let leaders = self.len().div_ceil(FANOUT * FANOUT);
        (0..leaders).all(|l| {
            self.group(l * FANOUT).is_none_or(|leader| {
                // Relaxed: a hint, as in `find`.
                leader.groups[set as usize].load(Ordering::Relaxed) == 0
            })
        })
    }

    /// Visits the members of `set`, starting near `start` and wrapping, until
    /// `visit` returns true. Reads one leader word per `FANOUT²` shards and one
    /// group word per group that has members, so its cost follows the
    /// members, not the shards. A member added during the walk may be missed.
    pub(crate) fn find(
        &self,
        set: Set,
        start: usize,
        mut visit: impl FnMut(usize) -> bool,
    ) -> bool {
        let len = self.len();
        let leaders = len.div_ceil(FANOUT * FANOUT);
        if leaders == 0 {
            return false;
        }
        // No division on the common path: callers start within the directory.
        let start = if start < len { start } else { start % len };
        let mut leader = start / (FANOUT * FANOUT);
        for _ in 0..leaders {
            let leader_g = leader * FANOUT;
            leader = if leader + 1 == leaders { 0 } else { leader + 1 };
            let Some(leader) = self.group(leader_g) else {
                continue;
            };
            // Relaxed: a hint; the shard pointer and the shard's own state
            // carry the synchronisation.
            let word = leader.groups[set as usize].load(Ordering::Relaxed);
            if word != 0 && self.find_in(set, leader_g, word, start, &mut visit) {
                return true;
            }
        }
        false
    }

    /// The members of `set` in the groups of leader `leader_g` whose bits
    /// `word` has, as `find` visits them. Out of line: a miss on an empty set
    /// never gets here, and should not pay for what it does.
    #[inline(never)]
    fn find_in(
        &self,
        set: Set,
        leader_g: usize,
        word: u64,
        start: usize,
        visit: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        for offset in rotated(word, start / FANOUT) {
            let g = leader_g + offset;
            let Some(group) = self.group(g) else {
                continue;
            };
            let members = group.members[set as usize].load(Ordering::Relaxed);
            if members == 0 {
                // A stale leader bit: two removals raced an add. Repair it.
                self.clear_group_bit(set, g, group);
                continue;
            }
            for i in rotated(members, start) {
                if visit(g * FANOUT + i) {
                    return true;
                }
            }
        }
        false
    }
}

impl<T> Drop for Directory<T> {
    fn drop(&mut self) {
        for (bucket, base) in self.buckets.iter().enumerate() {
            // Relaxed: `&mut self`; every store happened before our borrow.
            let base = base.load(Ordering::Relaxed);
            if base.is_null() {
                continue;
            }
            // SAFETY: installed by `group_or_alloc` from a boxed slice of this
            // length; `&mut self`: nobody else can reach it any more.
            let groups = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(base, 1 << bucket)) };
            for group in groups.iter() {
                for shard in &group.shards {
                    let shard = shard.load(Ordering::Relaxed);
                    if !shard.is_null() {
                        // SAFETY: made by `Box::into_raw` in `insert`, freed once here.
                        drop(unsafe { Box::from_raw(shard) });
                    }
                }
            }
        }
    }
}
