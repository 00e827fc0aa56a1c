//! A shard's private stack: the objects only its owner thread may touch.
//!
//! This is the fast path. Reaching it costs the shard-cache lookup, a
//! relaxed load of the pool's trim epoch and a push or pop of one pointer:
//! no atomic read-modify-write, no fence, no lock, and no `T` moved
//! (I3, a fast path without atomics). The objects themselves stay where
//! they were placed: the stack holds their boxes, one word each.
//!
//! It holds several objects, not one, so that a thread holding several at
//! once (a request with a read buffer, a parse buffer and a write buffer)
//! still reuses without touching shared state; the shared ring behind it is
//! refilled from and stolen from in batches.
//!
//! The stack's height is not stored: it is `pushes - pops`, two counters
//! the owner writes (a relaxed load and store each, plain `mov`s) and any
//! thread may read for statistics. So counting gets and returns costs the
//! fast path nothing beyond what a `Vec`'s length would.
//!
//! Each entry carries the trim epoch it went idle in (its stamp), and the
//! victim rule that reads the stamps lives here too: [`is_stale`].

use crate::config::PRIVATE_STACK;
use std::mem::MaybeUninit;

/// Go's victim rule: whether an object stamped `stamp` has been idle through
/// two trims by `epoch`. (`stamp` may exceed `epoch` when the caller's view of
/// the epoch is older than the thread that stamped; such an object is fresh.)
pub(crate) fn is_stale(stamp: u64, epoch: u64) -> bool {
    epoch.saturating_sub(stamp) >= 2
}

/// Owner-only state of a shard's private stack. Every field is read and
/// written only by the thread that currently owns the shard (`shard/mod.rs`).
///
/// The arrays are inline (at most [`PRIVATE_STACK`] entries), so the fast
/// path addresses them from the shard's own address, with no pointer to load.
pub(crate) struct Private<T> {
    /// `slots[..height]` hold boxes; the top is the most recently returned.
    /// The height lives in the shard's `pushes`/`pops` counters.
    slots: [MaybeUninit<Box<T>>; PRIVATE_STACK],
    /// `stamps[i]` is the trim epoch in which `slots[i]` went idle.
    stamps: [u64; PRIVATE_STACK],
    /// How many of the slots this pool uses (its private capacity).
    capacity: usize,
    /// How many objects the stack may hold now: the private capacity,
    /// lowered while the shared ring is full enough that the shard's bound
    /// needs it. Kept by the shard's owner operations (`shard/mod.rs`).
    pub(crate) limit: usize,
    /// The trim epoch the owner last applied the victim rule for. The fast
    /// paths only run while it equals the pool's epoch.
    pub(crate) seen_epoch: u64,
    /// Index in the pool's directory where the next steal starts looking.
    pub(crate) steal_cursor: usize,
    /// The shard's `pops` when the current run of overflows began (returns
    /// that found the stack full with no get from it in between), and the
    /// run's length: a long run marks a thread that only returns, which
    /// spills half its stack at once (`Owner::keep`).
    pub(crate) overflow_mark: u64,
    pub(crate) overflow_run: u32,
}

impl<T> Private<T> {
    pub(crate) fn new(capacity: usize, epoch: u64) -> Self {
        let capacity = capacity.clamp(1, PRIVATE_STACK);
        Private {
            slots: [const { MaybeUninit::uninit() }; PRIVATE_STACK],
            stamps: [0; PRIVATE_STACK],
            capacity,
            limit: capacity,
            seen_epoch: epoch,
            steal_cursor: 0,
            overflow_mark: u64::MAX,
            overflow_run: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Writes `value` idle since `stamp` at `height`.
    ///
    /// # Safety
    /// `height` is the stack's height and is below `capacity()`; the caller
    /// then raises the height by one.
    #[inline(always)]
    pub(crate) unsafe fn put(&mut self, height: usize, value: Box<T>, stamp: u64) {
        // SAFETY: `height < capacity` (caller), so both indices exist; the slot
        // above the top holds no live box.
        unsafe {
            self.slots.get_unchecked_mut(height).write(value);
            *self.stamps.get_unchecked_mut(height) = stamp;
        }
    }

    /// Takes the box at `height - 1`, the top.
    ///
    /// # Safety
    /// `0 < height <= capacity()` is the stack's height; the caller then
    /// lowers the height by one.
    #[inline(always)]
    pub(crate) unsafe fn take(&mut self, height: usize) -> Box<T> {
        // SAFETY: the slot below the height holds a live box, read once since
        // the caller lowers the height.
        unsafe { self.slots.get_unchecked(height - 1).assume_init_read() }
    }

    /// Removes the entry at `index < height` (not necessarily the top),
    /// closing the gap. Returns it with its stamp.
    ///
    /// # Safety
    /// `index < height <= capacity()`; the caller then lowers the height by one.
    pub(crate) unsafe fn remove(&mut self, index: usize, height: usize) -> (Box<T>, u64) {
        // SAFETY: `index` is below the height, so it holds a live box; the
        // ones above move down one, and the top slot is left logically empty.
        let value = unsafe { self.slots[index].assume_init_read() };
        let stamp = self.stamps[index];
        let above = height - index - 1;
        // SAFETY: both ranges lie in `slots[..height]`; `ptr::copy` allows the
        // overlap. The boxes move bitwise, so each still has exactly one owner.
        unsafe {
            let base = self.slots.as_mut_ptr();
            std::ptr::copy(base.add(index + 1), base.add(index), above);
        }
        self.stamps.copy_within(index + 1..height, index);
        (value, stamp)
    }

    /// The stamps of the objects now held.
    pub(crate) fn stamps(&self, height: usize) -> &[u64] {
        &self.stamps[..height]
    }

    /// Removes the `count` oldest entries (the bottom of the stack), handing
    /// them to `sink` oldest first, and moves the rest down.
    ///
    /// # Safety
    /// `count <= height <= capacity()`; the caller then lowers the height by
    /// `count`. `sink` must not touch this stack.
    pub(crate) unsafe fn remove_bottom(
        &mut self,
        count: usize,
        height: usize,
        mut sink: impl FnMut(Box<T>, u64),
    ) {
        for index in 0..count {
            // SAFETY: `index < count <= height`: a live box, read once (the
            // slots it came from are overwritten or above the new height).
            sink(
                unsafe { self.slots[index].assume_init_read() },
                self.stamps[index],
            );
        }
        // SAFETY: both ranges lie in `slots[..height]`; `ptr::copy` allows the
        // overlap. The boxes move bitwise, so each still has one owner.
        unsafe {
            let base = self.slots.as_mut_ptr();
            std::ptr::copy(base.add(count), base, height - count);
        }
        self.stamps.copy_within(count..height, 0);
    }
}
