//! A shard's shared list: a bounded ring that its owner pushes into with no
//! read-modify-write, and that any thread removes from in batches.
//!
//! ```text
//!            oldest                                   newest
//!   head ──▶ [ s0 | s1 | s2 | s3 | s4 | s5 ] ◀── tail
//!            └─ steal/trim take from here    └─ owner pushes here,
//!                                               owner refills from here
//! ```
//!
//! * **Push** (owner only): write the slot at `tail`, then publish it with a
//!   release store of `tail + 1`. Wait-free, no RMW, never blocked by anyone.
//! * **Remove** (owner refill, a stealer, or trim): win the `claimed` flag with
//!   one CAS, move a whole batch out, then publish the new `head` and drop the
//!   flag with release stores. A thread that finds the flag taken does not
//!   wait: it goes elsewhere (another victim, or `create`). Only `trim`, which
//!   must reach every ring, waits for a claim to end, and claims never run
//!   user code, so that wait is a few loads and copies long.
//!
//! No slot is ever read while it may be written: the owner reuses a slot only
//! after the remover that emptied it has published the new `head`, and a remover
//! reads a slot only after acquiring a `tail` that covers it. So neither Miri
//! nor ThreadSanitizer needs an exception here (unlike a Chase–Lev deque,
//! whose stealers read slots speculatively).
//!
//! Trim needs to drop stale objects wherever they sit (a flushed private stack
//! can push old stamps after new ones), so a claim holder may also compact
//! its range: it keeps the survivors, in order, at the newest end and moves
//! `head` up past the gap.

use crate::sync::{AtomicBool, AtomicU32, Ordering, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;

/// An idle object plus what the pool remembers about it.
pub(crate) struct Slot<T> {
    pub(crate) value: T,
    /// The trim epoch current when the object became idle (victim rule).
    pub(crate) stamp: u64,
    /// Bytes charged to the retained-bytes budget for this object (0 without one).
    pub(crate) weight: usize,
}

/// State written by removers and read by everyone.
struct Removers {
    /// Index of the oldest stored slot. Written only by the holder of
    /// `claimed` (release, after it has read the slots it removed); read with
    /// acquire by the owner's `push` before it reuses a slot.
    head: AtomicU32,
    /// The removal claim. Taken with an acquire CAS false → true, given back
    /// with a release store of false; each holder sees its predecessor's
    /// `head` and (for the owner's refill) `tail` updates.
    claimed: AtomicBool,
}

pub(crate) struct Ring<T> {
    removers: CachePadded<Removers>,
    /// One past the newest slot. Written only by the owner: with release in
    /// `push` (after the slot write, paired with the acquire load in
    /// `try_claim`), and while holding the claim in `pop_newest`.
    tail: CachePadded<AtomicU32>,
    /// Slot `i` lives at `slots[i & mask]`. Initialized exactly for indices in
    /// `head..tail`.
    slots: Box<[UnsafeCell<MaybeUninit<Slot<T>>>]>,
    mask: u32,
}

/// Largest ring the pool will allocate (indices are `u32` and wrap; keeping
/// capacity far below 2³¹ keeps `tail - head` unambiguous).
pub(crate) const MAX_CAPACITY: usize = 1 << 16;

impl<T> Ring<T> {
    /// A ring that holds up to `capacity` objects, rounded up to a power of
    /// two; `0` makes a ring that refuses every push.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        assert!(
            capacity <= MAX_CAPACITY,
            "ring capacity above {MAX_CAPACITY}"
        );
        let size = if capacity == 0 {
            0
        } else {
            capacity.next_power_of_two()
        };
        let slots = (0..size)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Ring {
            removers: CachePadded::new(Removers {
                head: AtomicU32::new(0),
                claimed: AtomicBool::new(false),
            }),
            tail: CachePadded::new(AtomicU32::new(0)),
            slots,
            mask: (size as u32).wrapping_sub(1),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Appends `slot` as the newest entry, or hands it back if the ring is full.
    ///
    /// # Safety
    /// Only the ring's owner may call this: `push` assumes no other thread
    /// writes `tail` or pushes concurrently.
    #[inline]
    pub(crate) unsafe fn push(&self, slot: Slot<T>) -> Result<(), Slot<T>> {
        // Relaxed: `tail` is only written by us, the owner.
        let tail = self.tail.load(Ordering::Relaxed);
        // Acquire: pairs with the release store of `head` in `Claim::drop`; the
        // remover's reads of the slots below `head` happen before we overwrite one.
        let head = self.removers.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) as usize >= self.capacity() {
            return Err(slot);
        }
        self.slots[(tail & self.mask) as usize].with_mut(|cell| {
            // SAFETY:
            // - `tail - head < capacity`, so this index is outside `head..tail`:
            //   no remover reads it (they read only below a `tail` they acquired)
            //   and it holds no live value, so nothing is overwritten unread;
            // - we are the only pusher (caller contract).
            unsafe { (*cell).write(slot) };
        });
        // Release: pairs with the acquire load of `tail` in `try_claim`; the
        // slot write above is visible to whoever sees the new tail.
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Number of stored objects. Exact for the owner (up to a removal in
    /// flight); a snapshot for anyone else, used only as a hint.
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with the release store in `Claim::drop`, so slots a
        // finished remover took are not counted. Loaded before `tail`: `head`
        // only grows and never passes `tail`, so the difference cannot go
        // negative even when other threads move both in between.
        let head = self.removers.head.load(Ordering::Acquire);
        // Acquire: pairs with the release store in `push`.
        let tail = self.tail.load(Ordering::Acquire);
        (tail.wrapping_sub(head) as usize).min(self.capacity())
    }

    /// Takes the removal claim if nobody holds it. Never waits.
    pub(crate) fn try_claim(&self) -> Option<Claim<'_, T>> {
        // Test before the CAS: a failing CAS still takes the cache line exclusive.
        if self.removers.claimed.load(Ordering::Relaxed) {
            return None;
        }
        // Acquire: pairs with the release store of `claimed` in `Claim::drop`;
        // the previous holder's `head` and `tail` updates are visible to us.
        self.removers
            .claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // Relaxed: only claim holders write `head`, and the CAS above ordered
        // us after the last one.
        let head = self.removers.head.load(Ordering::Relaxed);
        // Acquire: pairs with the release store in `push`; every slot below
        // this tail is fully written.
        let tail = self.tail.load(Ordering::Acquire);
        Some(Claim {
            ring: self,
            head,
            tail,
        })
    }

    /// Takes the claim, waiting for the current holder to finish. Used by trim
    /// only: holders never run user code or block, so the wait is short.
    pub(crate) fn claim(&self) -> Claim<'_, T> {
        let backoff = crossbeam_utils::Backoff::new();
        loop {
            if let Some(claim) = self.try_claim() {
                return claim;
            }
            crate::sync::spin(&backoff);
        }
    }

    /// Reads the value at index `i` out of its slot.
    ///
    /// # Safety
    /// `i` must be in `head..tail` as seen by the caller's claim, and the caller
    /// must then move `head` or `tail` past it so it is never read again.
    unsafe fn read(&self, i: u32) -> Slot<T> {
        self.slots[(i & self.mask) as usize].with(|cell| {
            // SAFETY: the caller guarantees the slot is initialized and that
            // this is its only read; the claim keeps other removers out and
            // `head` (unpublished yet) keeps the owner from overwriting it.
            unsafe { (*cell).assume_init_read() }
        })
    }

    /// Writes `slot` at index `i` (used by a claim holder compacting its range).
    ///
    /// # Safety
    /// `i` must lie in the caller's claimed range `head..tail` and hold no live
    /// value (it was read out before).
    unsafe fn write(&self, i: u32, slot: Slot<T>) {
        self.slots[(i & self.mask) as usize].with_mut(|cell| {
            // SAFETY: the claim keeps other removers out; the owner only writes
            // at or above its tail, which is at or above our acquired tail; and
            // the slot is empty by the caller's contract.
            unsafe { (*cell).write(slot) };
        });
    }

    /// Sum of the budget weights of the stored objects.
    pub(crate) fn charged_weight(&mut self) -> usize {
        // `&mut self`: no other thread can touch the ring any more.
        let head = self.removers.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        let mut total = 0;
        let mut i = head;
        while i != tail {
            total += self.slots[(i & self.mask) as usize].with(|cell| {
                // SAFETY: `head..tail` are exactly the initialized slots.
                unsafe { (*cell).assume_init_ref().weight }
            });
            i = i.wrapping_add(1);
        }
        total
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can touch the ring any more.
        let head = self.removers.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        let mut i = head;
        while i != tail {
            // SAFETY: `head..tail` are exactly the initialized slots, each read once.
            drop(unsafe { self.read(i) });
            i = i.wrapping_add(1);
        }
    }
}

/// Exclusive right to remove from one ring; published and released on drop.
pub(crate) struct Claim<'a, T> {
    ring: &'a Ring<T>,
    /// Our private copy of `head`; published when the claim ends.
    head: u32,
    /// The tail we acquired (the owner may push past it meanwhile; we ignore that).
    tail: u32,
}

impl<T> Claim<'_, T> {
    pub(crate) fn len(&self) -> usize {
        self.tail.wrapping_sub(self.head) as usize
    }

    /// Moves every object for which `remove` returns true into `out`,
    /// keeping the rest, in order, at the newest end of the claimed range.
    /// `remove` must not run user code.
    pub(crate) fn extract_if(
        &mut self,
        mut remove: impl FnMut(&Slot<T>) -> bool,
        out: &mut Vec<Slot<T>>,
    ) {
        let mut read = self.tail;
        let mut write = self.tail;
        while read != self.head {
            read = read.wrapping_sub(1);
            // SAFETY: `read` is in `head..tail` under our claim and is read once:
            // the walk goes down and `head` ends at or above it.
            let slot = unsafe { self.ring.read(read) };
            if remove(&slot) {
                out.push(slot);
            } else {
                write = write.wrapping_sub(1);
                // SAFETY: `read <= write < tail`, so the slot at `write` is in our
                // range and was already read out (the walk passed it).
                unsafe { self.ring.write(write, slot) };
            }
        }
        self.head = write;
    }

    /// Removes the oldest object (steal and trim side).
    pub(crate) fn pop_oldest(&mut self) -> Option<Slot<T>> {
        if self.len() == 0 {
            return None;
        }
        // SAFETY: `head < tail` and we hold the claim; advancing `head` below
        // makes this the slot's only read.
        let slot = unsafe { self.ring.read(self.head) };
        self.head = self.head.wrapping_add(1);
        Some(slot)
    }

    /// Removes up to `max` of the newest objects (the owner's refill), handing
    /// them to `sink` oldest first so that a stack filled from them keeps the
    /// newest on top.
    ///
    /// # Safety
    /// Only the ring's owner may call this: it moves `tail`, which `push`
    /// assumes nobody else writes.
    pub(crate) unsafe fn pop_newest(&mut self, max: usize, mut sink: impl FnMut(Slot<T>)) {
        let take = max.min(self.len()) as u32;
        let start = self.tail.wrapping_sub(take);
        let mut i = start;
        while i != self.tail {
            // SAFETY: `i` is in `head..tail` under our claim; lowering `tail` to
            // `start` below makes this the slot's only read.
            sink(unsafe { self.ring.read(i) });
            i = i.wrapping_add(1);
        }
        self.tail = start;
        // Relaxed: the next remover orders itself after us through `claimed`
        // (release in drop, acquire in `try_claim`), and the owner is us.
        self.ring.tail.store(start, Ordering::Relaxed);
    }
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        // Release: pairs with the acquire load of `head` in `push`; our reads
        // of the removed slots happen before the owner overwrites them.
        self.ring.removers.head.store(self.head, Ordering::Release);
        // Release: pairs with the acquire CAS in `try_claim`.
        self.ring.removers.claimed.store(false, Ordering::Release);
    }
}
