//! One thread's share of a pool, and who owns it.
//!
//! ```text
//! Shard<T>
//!  ├─ private        UnsafeCell<Private<T>>  owner only: the private stack (boxes), epoch, cursor
//!  ├─ pushes, pops   owner-written counters; the stack's height is their difference
//!  ├─ owner          token of the owning thread (0: none)
//!  ├─ counters       slow-path events, written by the owner only
//!  └─ ring           Ring<T>: the owner pushes; anyone removes under a claim
//! ```
//!
//! **Who owns a shard.** `thread_local::ThreadLocal` maps the calling
//! thread's id to its shard; ids are reused after a thread exits. Ownership
//! is not inferred from that mapping but recorded in `owner`: a thread
//! *adopts* a shard with a CAS from 0 to its token, and only its exit hook
//! gives it up, with a release store of 0 after its last access. The next
//! adopter's acquire CAS orders it after everything the previous owner did.
//!
//! **Ownership is a type.** The places that establish ownership (adoption,
//! a shard-cache hit, the exit hook) hand out an [`Owner`]: a `!Send` proof
//! that the calling thread owns the shard. The owner-only operations are its
//! safe methods. One rule stays an `unsafe` contract, on
//! [`Owner::with_private`]: no user code may run while the owner-only state
//! is borrowed (user code can re-enter the pool and borrow it again).

pub(crate) mod cache;
pub(crate) mod exit;
mod private;
pub(crate) mod ring;

use crate::stats::ShardCounters;
use crate::sync::{AtomicU64, Ordering, OwnerCounter, UnsafeCell};
use private::Private;
use ring::{Entry, Ring, RingOwner};
use std::marker::PhantomData;

pub(crate) struct Shard<T> {
    /// Owner only, through [`Owner`].
    private: UnsafeCell<Private<T>>,
    /// Boxes ever pushed onto the private stack. Written by the owner only;
    /// read by anyone for statistics. Height = `pushes - pops`.
    pushes: OwnerCounter,
    /// Boxes ever taken off the private stack (same rules as `pushes`).
    pops: OwnerCounter,
    /// Token of the owning thread, 0 if none. CAS 0 → token (acquire) to
    /// adopt; store 0 (release) by the owner's exit hook to give up.
    owner: AtomicU64,
    /// Slow-path events; written by the owner only.
    pub(crate) counters: ShardCounters,
    /// The shared list: the owner pushes through [`Owner::ring`]; anyone
    /// removes under a claim.
    pub(crate) ring: Ring<T>,
}

/// Outcome of [`Shard::adopt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adoption {
    /// The caller already owned the shard.
    Owned,
    /// The caller owns it from now on.
    Adopted,
    /// Another thread still owns it (it has released its thread id but its
    /// exit hook has not run yet); try again later.
    Refused,
}

// SAFETY: `Shard<T>` is shared between threads through `ThreadLocal`
// (stealers, trim and `stats` iterate it; the owner looks itself up).
// - `private` is the only field that is not thread-safe by itself. It is
//   reached only through `Owner`, which only the owning thread can hold
//   (module docs), and `Owner::with_private`'s contract forbids re-entrant
//   borrows. Ownership changes hands with release/acquire on `owner`.
// - `ring` is built for concurrent use (`ring.rs`); its owner-only side is
//   again reached only through `Owner`.
// - `pushes`, `pops`, `counters` and `owner` are atomics.
// Boxes of `T` cross threads (pushed by one, stolen by another), which is why
// this requires `T: Send`; no `&T` is ever shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Shard<T> {}

impl<T> Shard<T> {
    pub(crate) fn new(private_capacity: usize, epoch: u64) -> Self {
        Shard {
            private: UnsafeCell::new(Private::new(private_capacity, epoch)),
            pushes: OwnerCounter::default(),
            pops: OwnerCounter::default(),
            owner: AtomicU64::new(0),
            counters: ShardCounters::default(),
            ring: Ring::default(),
        }
    }

    /// Makes the thread with `token` the owner, unless another thread is.
    pub(crate) fn adopt(&self, token: u64) -> Adoption {
        // Acquire: pairs with the release store in `Owner::release`; the
        // previous owner's accesses happen before ours.
        let current = self.owner.load(Ordering::Acquire);
        if current == token {
            return Adoption::Owned;
        }
        let free = current == 0
            && self
                .owner
                .compare_exchange(0, token, Ordering::Acquire, Ordering::Acquire)
                .is_ok();
        if free {
            Adoption::Adopted
        } else {
            Adoption::Refused
        }
    }

    /// Whether the thread with `token` owns this shard.
    pub(crate) fn is_owned_by(&self, token: u64) -> bool {
        // Acquire: as in `adopt`.
        self.owner.load(Ordering::Acquire) == token
    }

    /// Boxes ever pushed onto and popped off the private stack.
    pub(crate) fn private_flows(&self) -> (u64, u64) {
        let pops = self.pops.get();
        (self.pushes.get(), pops)
    }
}

impl<T> Drop for Shard<T> {
    fn drop(&mut self) {
        // The pool drains every shard before it drops (so that user `Drop`
        // code runs under its panic containment); this only catches what a
        // panic there left behind.
        // SAFETY: `&mut self`: no other thread can hold an `Owner` for it.
        let owner = unsafe { Owner::new(self) };
        while let Some(value) = owner.pop_any() {
            drop(value);
        }
    }
}

/// Proof that the calling thread owns `shard`: the owner-only operations.
/// `!Send` and `!Sync`, and it borrows the shard, so it cannot outlive the
/// thread's ownership (only the thread's own exit hook releases it).
pub(crate) struct Owner<'a, T> {
    shard: &'a Shard<T>,
    _thread: PhantomData<*const ()>,
}

impl<T> Clone for Owner<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Owner<'_, T> {}

impl<'a, T> Owner<'a, T> {
    /// # Safety
    /// The calling thread owns `shard` (adopted it, or holds `&mut`), and does
    /// not release it while the handle lives.
    #[inline(always)]
    pub(crate) unsafe fn new(shard: &'a Shard<T>) -> Self {
        Owner {
            shard,
            _thread: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn shard(self) -> &'a Shard<T> {
        self.shard
    }

    /// The owner's side of the shared ring.
    pub(crate) fn ring(self) -> RingOwner<'a, T> {
        // SAFETY: we own the shard, hence its ring, for `'a`.
        unsafe { RingOwner::new(&self.shard.ring) }
    }

    /// Runs `f` with the owner-only state.
    ///
    /// # Safety
    /// `f` must not run user code (`create`, `reset`, `weigh`, `T::drop`) or
    /// otherwise re-enter the pool, so that no second borrow can exist.
    #[inline(always)]
    pub(crate) unsafe fn with_private<R>(self, f: impl FnOnce(&mut Private<T>) -> R) -> R {
        self.shard.private.with_mut(|private| {
            // SAFETY: we own the shard and `f` cannot re-enter (contract), so
            // this is the only reference to `Private` for its whole life.
            f(unsafe { &mut *private })
        })
    }

    /// Height of the private stack.
    #[inline(always)]
    pub(crate) fn height(self) -> usize {
        (self.shard.pushes.get() - self.shard.pops.get()) as usize
    }

    /// The fast path of `get`: the newest private object, if the owner is
    /// up to date with `epoch`.
    #[inline(always)]
    pub(crate) fn pop(self, epoch: u64) -> Option<Box<T>> {
        let pops = self.shard.pops.get();
        let height = (self.shard.pushes.get() - pops) as usize;
        // SAFETY: the closure runs no user code.
        let value = unsafe {
            self.with_private(|private| {
                if private.seen_epoch != epoch || height == 0 {
                    return None;
                }
                // SAFETY: `0 < height <= capacity`; we lower it right below.
                Some(private.take(height))
            })
        }?;
        self.shard.pops.set(pops + 1);
        Some(value)
    }

    /// The fast path of a return: onto the private stack if there is room
    /// and the owner is up to date with `epoch`; otherwise it comes back.
    #[inline(always)]
    pub(crate) fn push(self, value: Box<T>, epoch: u64) -> Result<(), Box<T>> {
        let pushes = self.shard.pushes.get();
        let height = (pushes - self.shard.pops.get()) as usize;
        // SAFETY: the closure runs no user code.
        unsafe {
            self.with_private(|private| {
                if private.seen_epoch != epoch || height >= private.limit {
                    return Err(value);
                }
                // SAFETY: `height < limit <= capacity`; we raise it right below.
                private.put(height, value, epoch);
                Ok(())
            })
        }?;
        self.shard.pushes.set(pushes + 1);
        Ok(())
    }

    /// Pushes `value` idle since `stamp` whatever the owner's epoch, if the
    /// limit allows (refills, steals, returns on the slow path).
    pub(crate) fn place(self, value: Box<T>, stamp: u64) -> Result<(), Box<T>> {
        let pushes = self.shard.pushes.get();
        let height = (pushes - self.shard.pops.get()) as usize;
        // SAFETY: the closure runs no user code.
        unsafe {
            self.with_private(|private| {
                if height >= private.limit {
                    return Err(value);
                }
                // SAFETY: `height < limit <= capacity`; raised right below.
                private.put(height, value, stamp);
                Ok(())
            })
        }?;
        self.shard.pushes.set(pushes + 1);
        Ok(())
    }

    /// Removes the first object whose stamp `stale` says is stale (a move
    /// the pool makes itself: counted in `moved_out`, before the height
    /// changes, so that `stats` can only read `idle` low while it happens).
    pub(crate) fn remove_where(self, stale: impl Fn(u64) -> bool) -> Option<(Box<T>, u64)> {
        let pops = self.shard.pops.get();
        let height = (self.shard.pushes.get() - pops) as usize;
        // SAFETY: the closure runs no user code (`stale` is ours).
        let removed = unsafe {
            self.with_private(|private| {
                let index = private.stamps(height).iter().position(|&s| stale(s))?;
                // SAFETY: `index < height <= capacity`; lowered right below.
                Some(private.remove(index, height))
            })
        }?;
        self.shard.counters.moved_out.bump();
        self.shard.pops.set(pops + 1);
        Some(removed)
    }

    /// Removes the oldest-returned object with its stamp (flushing).
    pub(crate) fn remove_bottom(self) -> Option<(Box<T>, u64)> {
        self.remove_where(|_| true)
    }

    /// Removes any object (teardown).
    fn pop_any(self) -> Option<Box<T>> {
        self.remove_bottom().map(|(value, _)| value)
    }

    /// Room left under the limit.
    pub(crate) fn room(self) -> usize {
        let height = self.height();
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.limit.saturating_sub(height)) }
    }

    /// Sets the private limit (`Private::limit`), within the stack's capacity.
    pub(crate) fn set_limit(self, limit: usize) {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.limit = limit.min(p.capacity())) }
    }

    pub(crate) fn seen_epoch(self) -> u64 {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.seen_epoch) }
    }

    pub(crate) fn set_seen_epoch(self, epoch: u64) {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.seen_epoch = p.seen_epoch.max(epoch)) }
    }

    pub(crate) fn steal_cursor(self) -> usize {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.steal_cursor) }
    }

    pub(crate) fn set_steal_cursor(self, cursor: usize) {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.steal_cursor = cursor) }
    }

    /// Gives up ownership (the owner's exit hook, after its last access).
    pub(crate) fn release(self) {
        // Release: pairs with the acquire in `Shard::adopt`; every access we
        // made happens before the next owner's. Consuming `self` ends this
        // handle; the exit hook holds no other.
        self.shard.owner.store(0, Ordering::Release);
    }
}

/// An entry for the owner's ring.
pub(crate) fn entry<T>(value: Box<T>, stamp: u64, weight: usize) -> Entry<T> {
    Entry {
        value,
        stamp,
        weight,
    }
}
