//! One thread's share of a pool: who owns it, and the bound it keeps.
//!
//! ```text
//! Shard<T>
//!  ├─ private        UnsafeCell<Private<T>>  owner only: the private stack (boxes), epoch, limit
//!  ├─ pushes, pops   owner-written counters; the stack's height is their difference
//!  ├─ owner          token of the owning thread (`NO_OWNER`: none)
//!  ├─ counters       slow-path events, written by the owner only
//!  ├─ ring           Ring<T>: the owner pushes; anyone removes under a claim
//!  └─ index          its place in the pool's Directory (and its bit in the sets)
//! ```
//!
//! **Who owns a shard.** A thread *adopts* a shard with a CAS of `owner`
//! from `NO_OWNER` to its token (a vacant shard from the directory, or one
//! it has just created), and only its exit hook gives it up, with a release
//! store of `NO_OWNER` after its last access, then marks it vacant. The next adopter's
//! acquire CAS orders it after everything the previous owner did.
//!
//! **Ownership is a type.** The places that establish ownership (adoption,
//! a shard-cache hit, the thread's list of adopted shards, the exit hook)
//! hand out an [`Owner`]: a `!Send`, non-`Copy` proof that the calling thread
//! owns the shard. Every owner-only operation is one of its methods, and
//! each borrows the owner-only state once. The rule that stays an `unsafe`
//! contract is that of `with_private`: no user code while it is borrowed.
//!
//! **The shard keeps its own bound.** Idle objects in a shard, private and
//! shared together, never exceed its capacity (`1 + max_idle_per_thread`;
//! I4, bounded retention): `height + ring.len() <= capacity`. Only the
//! owner adds to the shard, through these methods, and each checks the
//! bound itself; other threads only take from the ring, which can only
//! make room. The fast
//! path's check is one compare against `Private::limit`, which the owner's
//! other operations set to what the bound allows.
//!
//! **The stealable set.** The pool's directory keeps a bit per shard that
//! says "this ring may hold objects", so a get that misses reads a word
//! instead of every ring. The bit may be set over an empty ring (a thief
//! that finds one clears it); it is never clear over a ring that stays
//! non-empty. Two threads can race on it: the owner pushing while a remover
//! empties the ring. Both sides follow the same pattern, a write, a SeqCst
//! fence, a read of the other side's location:
//!
//! ```text
//! owner (publish)                      remover (a claim that ends empty)
//!   store tail (push)                    clear the bit
//!   fence(SeqCst)                        fence(SeqCst)
//!   bit clear? set it                    tail moved past our head? set the bit
//! ```
//!
//! Of two SeqCst fences one comes first, so at least one side sees the
//! other's write and sets the bit (`loom_stealable.rs`). The owner pays
//! its fence once per batch pushed to the ring (half the stack when a thread
//! that only returns finds it full, one object when a thread that also gets
//! does, the whole stack when it flushes), never on the private stack.

pub(crate) mod cache;
pub(crate) mod directory;
pub(crate) mod exit;
pub(crate) mod hot;
mod private;
pub(crate) mod ring;

use crate::config::PRIVATE_STACK;
use crate::stats::ShardCounters;
use crate::sync::{AtomicU64, Ordering, OwnerCounter, UnsafeCell, fence};
use directory::{Directory, Set};
use private::Private;
pub(crate) use private::is_stale;
use ring::{Claim, Entry, Ring, RingOwner};
use std::marker::PhantomData;

/// A shard's `owner` when no thread owns it: no thread's token (tokens
/// count up from 1; a thread that never asked for one has none, not 0).
pub(crate) const NO_OWNER: u64 = u64::MAX;

pub(crate) struct Shard<T> {
    /// Owner only, through [`Owner`].
    private: UnsafeCell<Private<T>>,
    /// Boxes ever pushed onto the private stack. Written by the owner only;
    /// read by anyone for statistics. Height = `pushes - pops`.
    pushes: OwnerCounter,
    /// Boxes ever taken off the private stack (same rules as `pushes`).
    pops: OwnerCounter,
    /// Token of the owning thread, [`NO_OWNER`] if none. CAS `NO_OWNER` →
    /// token (acquire) to
    /// adopt; store 0 (release) by the owner's exit hook to give up.
    owner: AtomicU64,
    /// Slow-path events; written by the owner only.
    pub(crate) counters: ShardCounters,
    /// The shared list: the owner pushes through [`Owner`]; anyone removes
    /// under a claim ([`SharedClaim`]).
    pub(crate) ring: Ring<T>,
    /// Position in the pool's directory. Fixed.
    index: usize,
    /// Most idle objects the shard holds, private and shared. Fixed.
    capacity: usize,
}

// SAFETY: `Shard<T>` is shared between threads through the pool's directory
// (stealers, trim and `stats` reach every shard; the owner its own).
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
    /// A shard owned from the start by the thread with `token`.
    pub(crate) fn new(
        index: usize,
        token: u64,
        private_capacity: usize,
        capacity: usize,
        epoch: u64,
    ) -> Self {
        let mut private = Private::new(private_capacity, epoch);
        private.steal_cursor = index + 1;
        Shard {
            private: UnsafeCell::new(private),
            pushes: OwnerCounter::default(),
            pops: OwnerCounter::default(),
            owner: AtomicU64::new(token),
            counters: ShardCounters::default(),
            ring: Ring::default(),
            index,
            capacity,
        }
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Makes the thread with `token` the owner if nobody owns the shard.
    pub(crate) fn try_adopt(&self, token: u64) -> bool {
        // Acquire: pairs with the release store in `Owner::give_up`; the
        // previous owner's accesses happen before ours.
        self.owner
            .compare_exchange(NO_OWNER, token, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
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
        let height = (self.pushes.get() - self.pops.get()) as usize;
        self.private.with_mut(|private| {
            // SAFETY: `&mut self`: no other reference to `Private` exists, and
            // `height` is the stack's height.
            unsafe { (*private).remove_bottom(height, height, |value, _| drop(value)) };
        });
    }
}

/// Proof that the calling thread owns `shard`: the owner-only operations.
/// `!Send`, `!Sync` and not `Copy`; it borrows the shard, so it cannot
/// outlive the thread's ownership (only the thread's own exit hook gives
/// it up, consuming the `Owner`).
pub(crate) struct Owner<'a, T> {
    shard: &'a Shard<T>,
    /// The pool's directory, for the shard's bits in its sets.
    directory: &'a Directory<T>,
    _thread: PhantomData<*const ()>,
}

/// What a batch from a shared list brought (a refill or a steal): the
/// newest object, for the caller; the rest went to the private stack.
pub(crate) struct Batch<T> {
    pub(crate) newest: Box<T>,
    /// Objects taken from the list, the newest included.
    pub(crate) count: u64,
    /// Budget weight they were charged while in the list, which the caller
    /// releases: the private stack is not charged.
    pub(crate) weight: usize,
}

impl<'a, T> Owner<'a, T> {
    /// # Safety
    /// The calling thread owns `shard` (adopted it, or holds the only
    /// reference), does not give it up while the handle lives, and
    /// `directory` is the directory `shard` belongs to.
    #[inline(always)]
    pub(crate) unsafe fn new(shard: &'a Shard<T>, directory: &'a Directory<T>) -> Self {
        Owner {
            shard,
            directory,
            _thread: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn shard(&self) -> &'a Shard<T> {
        self.shard
    }

    /// The shard's slow-path counters.
    pub(crate) fn counters(&self) -> &'a ShardCounters {
        &self.shard.counters
    }

    /// Runs `f` with the owner-only state.
    ///
    /// # Safety
    /// `f` must not run user code (`create`, `reset`, `weigh`, `T::drop`) or
    /// otherwise re-enter the pool, so that no second borrow can exist.
    #[inline(always)]
    unsafe fn with_private<R>(&self, f: impl FnOnce(&mut Private<T>) -> R) -> R {
        self.shard.private.with_mut(|private| {
            // SAFETY: we own the shard and `f` cannot re-enter (contract), so
            // this is the only reference to `Private` for its whole life.
            f(unsafe { &mut *private })
        })
    }

    /// The owner's side of the shared ring.
    fn ring(&self) -> RingOwner<'a, T> {
        // SAFETY: we own the shard, hence its ring, for `'a`.
        unsafe { RingOwner::new(&self.shard.ring) }
    }

    /// Height of the private stack.
    #[inline(always)]
    fn height(&self) -> usize {
        (self.shard.pushes.get() - self.shard.pops.get()) as usize
    }

    /// The private limit the bound allows now: what the shared list leaves
    /// of the shard's capacity, at most the private capacity.
    fn limit_now(&self, private: &Private<T>) -> usize {
        let shared = self.shard.ring.len();
        private
            .capacity()
            .min(self.shard.capacity.saturating_sub(shared))
    }

    /// The fast path of `get`: the newest private object, if the owner is
    /// up to date with `epoch`.
    #[inline(always)]
    pub(crate) fn pop(&self, epoch: u64) -> Option<Box<T>> {
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

    /// The fast path of a return: onto the private stack if it is under its
    /// limit and the owner is up to date with `epoch`; otherwise it comes back.
    #[inline(always)]
    pub(crate) fn push(&self, value: Box<T>, epoch: u64) -> Result<(), Box<T>> {
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

    /// Keeps `value`, idle since `stamp`, on the private stack if it is under
    /// its limit (what the shard's bound allows now); `Err` gives it back,
    /// for the shared list (`shared_batch`) or the drop. Never moves other
    /// objects (a pool with a byte budget, whose shared list charges every
    /// entry it receives).
    pub(crate) fn keep_private(&self, value: Box<T>, stamp: u64) -> Result<(), Box<T>> {
        self.keep_or_spill(value, stamp, false)
    }

    /// Like [`keep_private`](Self::keep_private), but a thread that mostly
    /// returns (more than half a stack of returns found it full with no get
    /// from it in between: a consumer) moves the stack's older half to the
    /// shared list in one batch, one publication for the lot, and keeps
    /// `value`. Otherwise `Err`, for the shared list one object at a time:
    /// a thread that holds a few more objects than the stack has room for
    /// would only refill a spilled half on its next gets, every round.
    pub(crate) fn keep(&self, value: Box<T>, stamp: u64) -> Result<(), Box<T>> {
        self.keep_or_spill(value, stamp, true)
    }

    fn keep_or_spill(&self, value: Box<T>, stamp: u64, may_spill: bool) -> Result<(), Box<T>> {
        let mut height = self.height();
        let pops = self.shard.pops.get();
        let mut spilled = 0;
        // SAFETY: the closure runs no user code (ring pushes are ours).
        let kept = unsafe {
            self.with_private(|private| {
                private.limit = self.limit_now(private);
                if height < private.limit {
                    // SAFETY: `height < limit <= capacity`; raised below.
                    private.put(height, value, stamp);
                    return Ok(());
                }
                if private.overflow_mark != pops {
                    // A get took from the stack since the last overflow.
                    private.overflow_mark = pops;
                    private.overflow_run = 0;
                }
                private.overflow_run = private.overflow_run.saturating_add(1);
                let consumer = private.overflow_run as usize > private.capacity() / 2;
                let shard_has_room = height + self.shard.ring.len() < self.shard.capacity;
                if may_spill && consumer && shard_has_room && height == private.capacity() {
                    // Move the oldest half out; the shard's total does not
                    // change, so its bound holds.
                    spilled = height.div_ceil(2);
                    let ring = self.ring();
                    // SAFETY: `spilled <= height`; the height drops by
                    // `spilled` below, and the sink only touches the ring.
                    private.remove_bottom(spilled, height, |value, stamp| {
                        ring.push(Entry {
                            value,
                            stamp,
                            weight: 0,
                        })
                    });
                    height -= spilled;
                    // The ring grew: the bound may lower the limit, though
                    // not below `height + 1` (the shard had room for one).
                    private.limit = self.limit_now(private);
                    debug_assert!(height < private.limit);
                    // SAFETY: `height < limit <= capacity`; raised below.
                    private.put(height, value, stamp);
                    // Our own pops: the run goes on.
                    private.overflow_mark = pops + spilled as u64;
                    return Ok(());
                }
                Err(value)
            })
        };
        if spilled > 0 {
            self.shard.counters.moved_out.add(spilled as u64);
            self.shard.pops.add(spilled as u64);
            self.publish();
        }
        kept?;
        self.shard.pushes.add(1);
        Ok(())
    }

    /// Starts a batch of pushes onto the shared list; the batch is published
    /// (the shard marked stealable) once, when it ends.
    pub(crate) fn shared_batch(&self) -> SharedBatch<'_, 'a, T> {
        SharedBatch {
            owner: self,
            pushed: false,
        }
    }

    /// Makes the shard's non-empty ring visible to thieves (module docs).
    fn publish(&self) {
        // SeqCst: pairs with the fence in `SharedClaim::drop`. Either that
        // remover sees our `tail`, or we see its clear here and set the bit.
        fence(Ordering::SeqCst);
        let index = self.shard.index;
        if !self.directory.contains(Set::Stealable, index) {
            self.directory.add(Set::Stealable, index);
        }
    }

    /// Removes the oldest private object, with its stamp (flushing,
    /// teardown). Counted in `moved_out` before the height changes, so
    /// `stats` can only read `idle` low while it happens.
    pub(crate) fn take_oldest(&self) -> Option<(Box<T>, u64)> {
        self.take_where(|_| true)
    }

    /// Removes a private object that has been idle through two trims by
    /// `epoch` (catching up with a trim), counted like `take_oldest`.
    pub(crate) fn take_stale(&self, epoch: u64) -> Option<Box<T>> {
        self.take_where(|stamp| is_stale(stamp, epoch))
            .map(|(value, _)| value)
    }

    fn take_where(&self, pick: impl Fn(u64) -> bool) -> Option<(Box<T>, u64)> {
        let height = self.height();
        // SAFETY: the closure runs no user code (`pick` is ours).
        let taken = unsafe {
            self.with_private(|private| {
                let index = private.stamps(height).iter().position(|&s| pick(s))?;
                self.shard.counters.moved_out.bump();
                // SAFETY: `index < height <= capacity`; lowered right below.
                Some(private.remove(index, height))
            })
        }?;
        self.shard.pops.add(1);
        Some(taken)
    }

    /// The trim epoch the owner last caught up with.
    pub(crate) fn seen_epoch(&self) -> u64 {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.seen_epoch) }
    }

    /// Records that the owner has applied the victim rule for `epoch`.
    pub(crate) fn caught_up_with(&self, epoch: u64) {
        // SAFETY: no user code.
        unsafe { self.with_private(|p| p.seen_epoch = p.seen_epoch.max(epoch)) }
    }

    /// Frees the shared list's storage if it is empty (after a trim).
    pub(crate) fn release_storage_if_empty(&self) {
        self.ring().release_if_empty();
    }

    /// Moves a batch of the newest objects from the shard's own shared list
    /// to its private stack and returns the newest. `None` if the list is
    /// empty or a thief holds its claim.
    #[inline]
    pub(crate) fn refill(&self) -> Option<Batch<T>> {
        if self.shard.ring.len() == 0 {
            return None;
        }
        self.refill_from_ring()
    }

    #[cold]
    fn refill_from_ring(&self) -> Option<Batch<T>> {
        let mut claim = SharedClaim::try_new(self.shard, self.directory)?;
        let height = self.height();
        let mut newest: Option<Entry<T>> = None;
        let (mut count, mut weight) = (0, 0);
        // SAFETY: the closure runs no user code.
        let placed = unsafe {
            self.with_private(|private| {
                // Ring to stack keeps the shard's total, so only the stack's
                // room limits the batch: one for the caller plus half what
                // fits. Half, as a spill moves half: a thread that holds a
                // few more than a stack then settles with its extras in the
                // ring rather than moving half a stack back and forth.
                let room = private.capacity().saturating_sub(height);
                let take = claim.claim.len().min(room.div_ceil(2) + 1);
                // Newest first out of the ring; onto the stack oldest first,
                // so its top stays the most recently returned. On the stack,
                // not the heap: a refill after every park must not allocate.
                let mut newest_first: [Option<Entry<T>>; PRIVATE_STACK + 1] = [const { None }; _];
                let mut taken = 0;
                self.ring().pop_newest(&mut claim.claim, take, |entry| {
                    newest_first[taken] = Some(entry);
                    taken += 1;
                });
                let mut placed = 0;
                for entry in newest_first[..taken].iter_mut().rev() {
                    let entry = entry.take().expect("filled above");
                    count += 1;
                    weight += entry.weight;
                    if let Some(previous) = newest.replace(entry) {
                        self.place(private, height + placed, previous);
                        placed += 1;
                    }
                }
                private.limit = self.limit_now(private);
                placed
            })
        };
        self.shard.pushes.add(placed as u64);
        drop(claim);
        Some(Batch {
            newest: newest?.value,
            count,
            weight,
        })
    }

    /// Takes up to half of `victim`'s shared list (one for the caller, the
    /// rest onto our private stack, as far as our bound allows). `None` if
    /// the list is empty or another thread holds its claim.
    pub(crate) fn steal_from(&self, victim: &'a Shard<T>) -> Option<Batch<T>> {
        let mut claim = SharedClaim::try_new(victim, self.directory)?;
        let height = self.height();
        let mut newest: Option<Entry<T>> = None;
        let (mut count, mut weight) = (0, 0);
        // SAFETY: the closure runs no user code.
        let placed = unsafe {
            self.with_private(|private| {
                let limit = self.limit_now(private);
                let take = (claim.claim.len().div_ceil(2)).min(limit.saturating_sub(height) + 1);
                let mut placed = 0;
                for _ in 0..take {
                    let Some(entry) = claim.claim.pop_oldest() else {
                        break;
                    };
                    count += 1;
                    weight += entry.weight;
                    if let Some(previous) = newest.replace(entry) {
                        self.place(private, height + placed, previous);
                        placed += 1;
                    }
                }
                private.limit = self.limit_now(private);
                // Next time start past this victim: thieves move round the
                // stealable shards instead of piling onto one.
                private.steal_cursor = victim.index + 1;
                placed
            })
        };
        self.shard.pushes.add(placed as u64);
        drop(claim);
        Some(Batch {
            newest: newest?.value,
            count,
            weight,
        })
    }

    /// Places a batch entry on the private stack at `height` (refill, steal):
    /// counted in `moved_in` first, so `stats` never counts it twice.
    fn place(&self, private: &mut Private<T>, height: usize, entry: Entry<T>) {
        assert!(height < private.capacity(), "a batch larger than its room");
        self.shard.counters.moved_in.bump();
        // SAFETY: `height < capacity`, and the caller raises the height by
        // the number placed once the batch is done.
        unsafe { private.put(height, entry.value, entry.stamp) };
    }

    /// Where this thread's next steal starts looking: past the shard it last
    /// stole from (at first, past its own), so that threads missing at once
    /// start at different victims and each moves round them.
    pub(crate) fn steal_start(&self) -> usize {
        // SAFETY: no user code.
        unsafe { self.with_private(|private| private.steal_cursor) }
    }

    /// The owning thread's token (which stays readable while the thread
    /// exits, when its thread-local token already says `EXITING`).
    pub(crate) fn token(&self) -> u64 {
        // Relaxed: we stored it ourselves (or our adopting CAS read it).
        self.shard.owner.load(Ordering::Relaxed)
    }

    /// Gives up ownership (the owner's exit hook, after its last access) and
    /// offers the shard to the next thread that needs one.
    pub(crate) fn give_up(self) {
        // Release: pairs with the acquire CAS in `Shard::try_adopt`; every
        // access we made happens before the next owner's.
        self.shard.owner.store(NO_OWNER, Ordering::Release);
        self.directory.add(Set::Vacant, self.shard.index);
    }
}

/// Pushes onto the owner's shared list, published once when dropped.
pub(crate) struct SharedBatch<'o, 'a, T> {
    owner: &'o Owner<'a, T>,
    pushed: bool,
}

impl<T> SharedBatch<'_, '_, T> {
    /// Pushes `value` (idle since `stamp`, `weight` charged to a budget by
    /// the caller) onto the shared list if the shard has room; `Err` gives it
    /// back: the shard is full.
    pub(crate) fn push(&mut self, value: Box<T>, stamp: u64, weight: usize) -> Result<(), Box<T>> {
        let owner = self.owner;
        let shard = owner.shard;
        if owner.height() + shard.ring.len() >= shard.capacity {
            return Err(value);
        }
        owner.ring().push(Entry {
            value,
            stamp,
            weight,
        });
        self.pushed = true;
        // SAFETY: no user code. The ring grew: lower the private limit if the
        // bound needs it.
        unsafe { owner.with_private(|private| private.limit = owner.limit_now(private)) };
        Ok(())
    }
}

impl<T> Drop for SharedBatch<'_, '_, T> {
    fn drop(&mut self) {
        if self.pushed {
            self.owner.publish();
        }
    }
}

/// A claim on a shard's shared list that keeps the shard's stealable bit
/// right when it ends: if the removals left the list empty, the bit is
/// cleared, then the list looked at again (module docs).
pub(crate) struct SharedClaim<'a, T> {
    pub(crate) claim: Claim<'a, T>,
    shard: &'a Shard<T>,
    directory: &'a Directory<T>,
}

impl<'a, T> SharedClaim<'a, T> {
    /// Takes `shard`'s claim if nobody holds it.
    pub(crate) fn try_new(shard: &'a Shard<T>, directory: &'a Directory<T>) -> Option<Self> {
        let claim = shard.ring.try_claim()?;
        Some(SharedClaim {
            claim,
            shard,
            directory,
        })
    }

    /// Takes `shard`'s claim, waiting for the holder (trim and teardown).
    pub(crate) fn wait(shard: &'a Shard<T>, directory: &'a Directory<T>) -> Self {
        SharedClaim {
            claim: shard.ring.claim(),
            shard,
            directory,
        }
    }
}

impl<T> Drop for SharedClaim<'_, T> {
    fn drop(&mut self) {
        let index = self.shard.index;
        if self.claim.len() == 0 && self.directory.contains(Set::Stealable, index) {
            self.directory.remove(Set::Stealable, index);
            // SeqCst: pairs with the fence in `Owner::publish` (module docs).
            fence(Ordering::SeqCst);
            if self.shard.ring.pushed_past(self.claim.head()) {
                self.directory.add(Set::Stealable, index);
            }
        }
        // The claim itself ends after this body: it publishes `head` and
        // gives up the claim flag.
    }
}
