//! A shard's shared list: a queue of segments that its owner pushes into
//! with no read-modify-write, and that any thread removes from in batches.
//!
//! ```text
//!   first ─▶ [ s0 s1 s2 s3 ] ─next─▶ [ s4 s5 ·  ·  ] ◀─ last (owner only)
//!              ▲ head: steal/trim take      ▲ tail: the owner pushes here,
//!                from the oldest end          and refills from the newest end
//! ```
//!
//! * **Push** (owner only, [`RingOwner::push`]): write the entry at index
//!   `tail` of the newest segment, then publish it with a release store of
//!   `tail + 1`. When the newest segment is full the owner links a fresh one
//!   first (an allocation, one in [`SEGMENT`] pushes; still no RMW).
//! * **Remove** (owner refill, a stealer, trim): win the `claimed` flag with
//!   one CAS, move a batch out, publish the new `head` and drop the flag
//!   with release stores. A thread that finds the flag taken goes elsewhere;
//!   only trim, which must reach every ring, waits, and claims never run user
//!   code, so that wait is a few loads and copies long.
//! * **Storage follows use** (I10, bookkeeping follows use): segments are
//!   allocated as entries arrive, and a claim holder frees every segment its
//!   removals emptied, except the newest, which the owner may be writing
//!   into. So a drained ring keeps one segment whatever
//!   `max_idle_per_thread` is, and a ring that never received an object has
//!   none.
//!
//! No slot is ever read while it may be written: a remover reads an entry
//! only below a `tail` it acquired, the owner writes only at its `tail`, and
//! the owner lowers `tail` or frees a segment only while holding the claim.
//! A segment is freed by a remover only when it is fully consumed and the
//! owner has already linked a newer one (so the owner will never write to it
//! again). Neither Miri nor ThreadSanitizer needs an exception here.
//!
//! Every removal moves the claim's indices past an entry *before* handing it
//! out, so a panic anywhere after a claim began can never make an entry be
//! read twice (were `tail` lowered only after a batch was read, a panic in
//! between would leave the batch readable again: a double drop).
//!
//! Whether a ring holds anything is also advertised in the pool's stealable
//! set; `shard/mod.rs` keeps the two in step ([`Claim::head`] and
//! [`Ring::pushed_past`] are its hooks).

use crate::sync::{AtomicBool, AtomicPtr, AtomicU32, Ordering, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

/// Entries per segment. Small under loom and the fuzzer (cargo-fuzz builds
/// with `--cfg fuzzing`), so models and fuzz programs with small caps still
/// cross segment boundaries, growing and freeing segments.
#[cfg(not(any(shardpool_loom, fuzzing)))]
pub(crate) const SEGMENT: usize = 32;
#[cfg(shardpool_loom)]
pub(crate) const SEGMENT: usize = 2;
#[cfg(all(fuzzing, not(shardpool_loom)))]
pub(crate) const SEGMENT: usize = 4;

/// An idle object's handle plus what the pool remembers about it.
pub(crate) struct Entry<T> {
    pub(crate) value: Box<T>,
    /// The trim epoch current when the object became idle (victim rule).
    pub(crate) stamp: u64,
    /// Bytes charged to the retained-bytes budget for this object (0 without one).
    pub(crate) weight: usize,
}

struct Segment<T> {
    /// Index of `slots[0]`; the segment holds `base..base + SEGMENT`.
    base: u32,
    /// The next newer segment, null until the owner links one. Stored by the
    /// owner with release before it publishes a `tail` past this segment;
    /// loaded with acquire by claim holders.
    next: AtomicPtr<Segment<T>>,
    /// The next older segment, for the owner's refill from the newest end.
    /// Written by the owner when it links this segment and by the claim
    /// holder that frees the older one; read only under the claim, which
    /// orders all of these (relaxed).
    prev: AtomicPtr<Segment<T>>,
    slots: [UnsafeCell<MaybeUninit<Entry<T>>>; SEGMENT],
}

impl<T> Segment<T> {
    fn alloc(base: u32, prev: *mut Segment<T>) -> *mut Segment<T> {
        Box::into_raw(Box::new(Segment {
            base,
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(prev),
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }))
    }

    fn holds(&self, index: u32) -> bool {
        (index.wrapping_sub(self.base) as usize) < SEGMENT
    }

    /// # Safety
    /// `index` is in this segment and holds no live entry; nobody else reads
    /// or writes it meanwhile (module docs).
    unsafe fn write(&self, index: u32, entry: Entry<T>) {
        let slot = &self.slots[index.wrapping_sub(self.base) as usize];
        // SAFETY: exclusive access and an empty slot are the caller's contract.
        slot.with_mut(|cell| unsafe { (*cell).write(entry) });
    }

    /// # Safety
    /// `index` is in this segment and holds a live entry that the caller
    /// takes: it moves an index past it so that it is never read again.
    unsafe fn read(&self, index: u32) -> Entry<T> {
        let slot = &self.slots[index.wrapping_sub(self.base) as usize];
        // SAFETY: the entry is initialized and read once (caller contract).
        slot.with(|cell| unsafe { (*cell).assume_init_read() })
    }
}

/// State written by claim holders.
struct Removers<T> {
    /// Index of the oldest entry. Written only by the claim holder (release
    /// when the claim ends); read by anyone for `len`.
    head: AtomicU32,
    /// The oldest segment, or null when the ring has none. Written by the
    /// claim holder that frees segments, and by the owner when it links the
    /// first segment of an empty ring (release, before the `tail` that
    /// covers it); loaded with acquire by claim holders.
    first: AtomicPtr<Segment<T>>,
    /// The removal claim: acquire CAS false → true to take it, release store
    /// of false to give it back; each holder sees its predecessor's writes.
    claimed: AtomicBool,
}

pub(crate) struct Ring<T> {
    removers: CachePadded<Removers<T>>,
    /// One past the newest entry. Written only by the owner: with release in
    /// `push` (after the entry and any new segment are written), and while
    /// holding the claim in `pop_newest`.
    tail: CachePadded<AtomicU32>,
    /// Owner-only: where the next push goes. Reached only through
    /// [`RingOwner`], whose existence proves the caller owns the shard.
    end: UnsafeCell<OwnerEnd<T>>,
    _owns: PhantomData<Box<T>>,
}

/// The owner's end of the ring.
struct OwnerEnd<T> {
    /// The newest segment (its `next` is null), or null when there is none.
    last: *mut Segment<T>,
}

// SAFETY: a `Ring<T>` hands `Box<T>`s from one thread to another, which needs
// `T: Send`; no `&T` is ever shared through it, so `T: Sync` is not needed.
// - Entries are read only under the claim and below an acquired `tail`, and
//   written only by the owner at `tail` or under the claim (module docs).
// - Segments are freed only under the claim, and only those no thread can
//   still reach (fully consumed with a newer one linked, or beyond the
//   owner's `tail` when the owner itself frees them).
// - `end` is touched only through `RingOwner`, which only the shard's owner
//   thread can construct.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`: every cross-thread access is an atomic or is ordered
// by the claim or by `tail`'s release/acquire.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            removers: CachePadded::new(Removers {
                head: AtomicU32::new(0),
                first: AtomicPtr::new(ptr::null_mut()),
                claimed: AtomicBool::new(false),
            }),
            tail: CachePadded::new(AtomicU32::new(0)),
            end: UnsafeCell::new(OwnerEnd {
                last: ptr::null_mut(),
            }),
            _owns: PhantomData,
        }
    }
}

impl<T> Ring<T> {
    /// Number of stored entries. Exact for the owner (up to a removal in
    /// flight); a snapshot for anyone else, used as a hint and by `stats`.
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with the release store in `Claim::drop`. Loaded before
        // `tail`: `head` never passes `tail`, so the difference cannot go
        // negative even when other threads move both in between.
        let head = self.removers.head.load(Ordering::Acquire);
        // Acquire: pairs with the release store in `push`.
        let tail = self.tail.load(Ordering::Acquire);
        let len = tail.wrapping_sub(head);
        // A stale `head` read against a lowered `tail` would wrap: treat as 0.
        if len > u32::MAX / 2 { 0 } else { len as usize }
    }

    /// Whether the owner has pushed past index `head` (so the ring is not
    /// empty to a claim holder whose head that is). Callers order it with a
    /// fence (`shard/mod.rs`).
    pub(crate) fn pushed_past(&self, head: u32) -> bool {
        // Relaxed: ordered by the caller's SeqCst fence, which pairs with the
        // owner's fence after its release store of `tail`.
        self.tail.load(Ordering::Relaxed) != head
    }

    /// Takes the removal claim if nobody holds it. Never waits.
    pub(crate) fn try_claim(&self) -> Option<Claim<'_, T>> {
        // Test before the CAS: a failing CAS still takes the line exclusive.
        if self.removers.claimed.load(Ordering::Relaxed) {
            return None;
        }
        // Acquire: pairs with the release store in `Claim::drop`; the previous
        // holder's `head`, `first`, `tail` and segment writes are visible.
        self.removers
            .claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // Relaxed: only claim holders write `head`; the CAS ordered us after them.
        let head = self.removers.head.load(Ordering::Relaxed);
        // Acquire: pairs with the release store in `push`; every entry below
        // this tail, and the segments that hold them, are fully written.
        let tail = self.tail.load(Ordering::Acquire);
        Some(Claim {
            ring: self,
            head,
            tail,
        })
    }

    /// Takes the claim, waiting for the current holder. Trim and teardown
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

    /// Segments allocated now (tests and the memory report).
    #[cfg(test)]
    pub(crate) fn segments(&self) -> usize {
        let _claim = self.claim();
        let mut n = 0;
        let mut seg = self.removers.first.load(Ordering::Acquire);
        while !seg.is_null() {
            n += 1;
            // SAFETY: segments are freed only under the claim, which we hold.
            seg = unsafe { (*seg).next.load(Ordering::Acquire) };
        }
        n
    }

    /// The segment holding `index`, walking from the oldest. Claim holders only.
    ///
    /// # Safety
    /// The caller holds the claim, and `index` is below its `tail` and not
    /// below the oldest segment's start (an entry is, or was just, there).
    unsafe fn segment_of(&self, index: u32) -> *mut Segment<T> {
        let mut seg = self.removers.first.load(Ordering::Acquire);
        loop {
            // SAFETY: the claim keeps every segment from `first` on alive, and
            // segments cover `first.base..tail` contiguously, so the walk ends
            // at the one holding `index`. (Live indices span far less than
            // 2^31, so `holds`' wrapping test is unambiguous.)
            let s = unsafe { &*seg };
            if s.holds(index) {
                return seg;
            }
            seg = s.next.load(Ordering::Acquire);
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: nobody else can touch the ring. Drop every entry, then
        // every segment (including the newest).
        let mut claim = self.claim();
        while let Some(entry) = claim.pop_oldest() {
            drop(entry);
        }
        claim.free_from(self.removers.first.load(Ordering::Relaxed));
        self.removers
            .first
            .store(ptr::null_mut(), Ordering::Relaxed);
    }
}

/// Proof that the calling thread owns the shard this ring belongs to: the
/// owner-only operations are its methods. Built only by `shard::Owner`.
pub(crate) struct RingOwner<'a, T> {
    ring: &'a Ring<T>,
    /// `!Send`/`!Sync`: ownership belongs to one thread.
    _thread: PhantomData<*const ()>,
}

impl<'a, T> RingOwner<'a, T> {
    /// # Safety
    /// The calling thread owns the shard `ring` belongs to, and keeps owning
    /// it for `'a`.
    pub(crate) unsafe fn new(ring: &'a Ring<T>) -> Self {
        RingOwner {
            ring,
            _thread: PhantomData,
        }
    }

    fn with_end<R>(&self, f: impl FnOnce(&mut OwnerEnd<T>) -> R) -> R {
        // SAFETY: only the owner thread holds a `RingOwner` (constructor
        // contract), and no method calls back into user code or into another
        // `with_end` while `f` runs, so this `&mut` is unique.
        self.ring.end.with_mut(|end| f(unsafe { &mut *end }))
    }

    /// Appends `entry` as the newest. Wait-free; allocates a segment once
    /// every [`SEGMENT`] pushes.
    pub(crate) fn push(&self, entry: Entry<T>) {
        let ring = self.ring;
        // Relaxed: `tail` is written only by us, the owner.
        let tail = ring.tail.load(Ordering::Relaxed);
        let seg = self.with_end(|end| {
            let full = end.last.is_null() || {
                // SAFETY: the newest segment is never freed by removers (its
                // `next` is null) and only we free it, under the claim.
                let last = unsafe { &*end.last };
                !last.holds(tail)
            };
            if full {
                end.last = self.link(end.last, tail);
            }
            end.last
        });
        // SAFETY:
        // - `tail` is in `seg` (just checked or linked) and above every entry,
        //   so the slot is empty: removers read only below an acquired tail,
        //   and a refill that lowered `tail` moved its entries out first;
        // - we are the only writer at `tail` (owner).
        unsafe { (*seg).write(tail, entry) };
        // Release: pairs with the acquire load of `tail` in `try_claim`: the
        // entry, and a segment linked above, are visible to whoever sees it.
        ring.tail.store(tail.wrapping_add(1), Ordering::Release);
    }

    /// Links a fresh segment starting at `base` after `last` (or as the
    /// first when the ring has none) and returns it.
    #[cold]
    fn link(&self, last: *mut Segment<T>, base: u32) -> *mut Segment<T> {
        let fresh = Segment::alloc(base, last);
        if last.is_null() {
            // Release: pairs with the acquire loads of `first` by claim
            // holders; also covered by `tail`'s release in `push`.
            self.ring.removers.first.store(fresh, Ordering::Release);
        } else {
            // SAFETY: `last` is our newest segment, alive (see `push`).
            // Release: pairs with the acquire loads of `next` by claim holders.
            unsafe { &*last }.next.store(fresh, Ordering::Release);
        }
        fresh
    }

    /// Frees every segment if the ring is empty (the owner's slow paths call
    /// this after a trim, so a quiet ring keeps no storage). Needs the claim;
    /// gives up if someone else holds it.
    pub(crate) fn release_if_empty(&self) {
        let Some(claim) = self.ring.try_claim() else {
            return;
        };
        if claim.len() != 0 {
            return;
        }
        let first = self.ring.removers.first.load(Ordering::Relaxed);
        if first.is_null() {
            return;
        }
        // Relaxed: ordered for the next claim holder by our claim's release.
        self.ring
            .removers
            .first
            .store(ptr::null_mut(), Ordering::Relaxed);
        self.with_end(|end| end.last = ptr::null_mut());
        claim.free_from(first);
    }

    /// Removes the `take` newest entries under `claim` (the owner's refill;
    /// `take <= claim.len()`), handing them to `sink` newest first, then
    /// frees the segments above the new `tail`.
    ///
    /// Unwind-safe: `tail` moves below each entry before it is handed out,
    /// so a panicking `sink` can never make one be read twice (the rest stay
    /// in the ring), and the segments above `tail` are freed on the way out
    /// even then, so the ring's shape survives too.
    pub(crate) fn pop_newest(
        &self,
        claim: &mut Claim<'a, T>,
        take: usize,
        mut sink: impl FnMut(Entry<T>),
    ) {
        assert!(ptr::eq(claim.ring, self.ring) && take <= claim.len());
        /// Runs `trim_above` when the refill ends, by return or by unwind.
        struct Finish<'r, 'a, T> {
            owner: &'r RingOwner<'a, T>,
            claim: &'r mut Claim<'a, T>,
        }
        impl<T> Drop for Finish<'_, '_, T> {
            fn drop(&mut self) {
                self.owner.trim_above(self.claim);
            }
        }
        let finish = Finish { owner: self, claim };
        // The entry just below `tail` is in our newest segment, or an older
        // one when `tail` sits at or below the newest one's start.
        let mut seg = self.with_end(|end| end.last);
        for _ in 0..take {
            let index = finish.claim.tail.wrapping_sub(1);
            loop {
                // SAFETY: segments are freed only under the claim (ours), and
                // `prev` is kept current by whoever frees the older one, so
                // the walk from our newest segment meets only live ones.
                let s = unsafe { &*seg };
                if s.holds(index) {
                    break;
                }
                seg = s.prev.load(Ordering::Relaxed);
            }
            finish.claim.tail = index;
            // Relaxed: the next claim holder orders itself after us through
            // `claimed`, and the only other writer of `tail` is us.
            self.ring.tail.store(index, Ordering::Relaxed);
            // SAFETY: `index` was in `head..tail` under our claim and `tail`
            // has moved below it, so this is its only read.
            sink(unsafe { (*seg).read(index) });
        }
    }

    /// Frees the segments wholly above `claim.tail` (emptied by a refill),
    /// keeping the one `tail` is in as the newest.
    fn trim_above(&self, claim: &Claim<'a, T>) {
        let tail = claim.tail;
        let keep = self.with_end(|end| {
            let mut seg = end.last;
            while !seg.is_null() {
                // SAFETY: as in `pop_newest`; we hold the claim.
                let s = unsafe { &*seg };
                let prev = s.prev.load(Ordering::Relaxed);
                if s.holds(tail) || prev.is_null() {
                    break;
                }
                seg = prev;
            }
            seg
        });
        if keep.is_null() || keep == self.with_end(|end| end.last) {
            return;
        }
        // SAFETY: `keep` is alive (claim held).
        let keep_ref = unsafe { &*keep };
        // Relaxed: only we (the owner) write `next`, and claim holders read it
        // under the claim, which we hold.
        let above = keep_ref.next.load(Ordering::Relaxed);
        keep_ref.next.store(ptr::null_mut(), Ordering::Relaxed);
        self.with_end(|end| end.last = keep);
        claim.free_from(above);
    }
}

/// Exclusive right to remove from one ring; published and released on drop.
pub(crate) struct Claim<'a, T> {
    ring: &'a Ring<T>,
    /// Our copy of `head`; published when the claim ends.
    head: u32,
    /// The tail we acquired (the owner may push past it meanwhile).
    tail: u32,
}

impl<T> Claim<'_, T> {
    pub(crate) fn len(&self) -> usize {
        self.tail.wrapping_sub(self.head) as usize
    }

    /// Index of the oldest entry left (published when the claim ends).
    pub(crate) fn head(&self) -> u32 {
        self.head
    }

    /// Removes the oldest entry (steal side), freeing its segment if that
    /// emptied a segment the owner has moved past.
    pub(crate) fn pop_oldest(&mut self) -> Option<Entry<T>> {
        let entry = self.take_oldest();
        self.free_consumed();
        entry
    }

    /// `pop_oldest` without freeing emptied segments.
    fn take_oldest(&mut self) -> Option<Entry<T>> {
        if self.len() == 0 {
            return None;
        }
        let index = self.head;
        // SAFETY: we hold the claim and `index` is in `head..tail`.
        let seg = unsafe { self.ring.segment_of(index) };
        self.head = index.wrapping_add(1);
        // SAFETY: `index` was in `head..tail`; `head` has moved past it.
        Some(unsafe { (*seg).read(index) })
    }

    /// Moves every entry for which `remove` says so into `out`, keeping the
    /// others, in order, at the newest end. `remove` must not run user code.
    pub(crate) fn extract_if(
        &mut self,
        mut remove: impl FnMut(&Entry<T>) -> bool,
        out: &mut Vec<Entry<T>>,
    ) {
        let tail = self.tail;
        let mut keep = Vec::new();
        // No segment is freed while draining: the survivors go back into them.
        while let Some(entry) = self.take_oldest() {
            if remove(&entry) {
                out.push(entry);
            } else {
                keep.push(entry);
            }
        }
        // Put the survivors back just below `tail`, oldest first.
        let start = tail.wrapping_sub(keep.len() as u32);
        self.head = start;
        let mut index = start;
        for entry in keep {
            // SAFETY: claim held; `index` is in `start..tail`, whose entries we
            // read out above, so the slot is empty and in an existing segment.
            unsafe {
                let seg = self.ring.segment_of(index);
                (*seg).write(index, entry);
            }
            index = index.wrapping_add(1);
        }
        self.free_consumed();
    }

    /// Frees the oldest segments that are wholly below `head` and have a
    /// newer segment linked (so the owner will never write to them again).
    fn free_consumed(&mut self) {
        let removers = &self.ring.removers;
        loop {
            // Acquire: pairs with the owner's release store in `link`, which
            // publishes an empty ring's first segment without the claim (loom,
            // `first_segment_link_races_trim`, found this load was Relaxed).
            let first = removers.first.load(Ordering::Acquire);
            if first.is_null() {
                return;
            }
            // SAFETY: claim held, so `first` is alive.
            let seg = unsafe { &*first };
            // Acquire: pairs with the owner's release in `link`.
            let next = seg.next.load(Ordering::Acquire);
            let consumed = self.head.wrapping_sub(seg.base) as usize >= SEGMENT
                && self.tail.wrapping_sub(seg.base) as usize >= SEGMENT;
            if next.is_null() || !consumed {
                return;
            }
            // SAFETY: `next` is alive (claim held); only claim holders read `prev`.
            unsafe { &*next }
                .prev
                .store(ptr::null_mut(), Ordering::Relaxed);
            // Relaxed: ordered for the next holder by our claim's release.
            removers.first.store(next, Ordering::Relaxed);
            // SAFETY: `first` is fully consumed and no longer linked from
            // anything: removers reach segments only from `first`, and the owner
            // writes only to its newest one (which `first` is not: it has a
            // `next`) and walks `prev` only under the claim.
            drop(unsafe { Box::from_raw(first) });
        }
    }

    /// Frees `seg` and every segment after it. Their entries must already
    /// have been moved out (or never written).
    fn free_from(&self, mut seg: *mut Segment<T>) {
        while !seg.is_null() {
            // SAFETY: the caller unlinked `seg..` under this claim; nobody else
            // can reach them, and their slots hold no live entry.
            let boxed = unsafe { Box::from_raw(seg) };
            seg = boxed.next.load(Ordering::Relaxed);
        }
    }
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        // Release: pairs with the acquire loads of `head` in `len`.
        self.ring.removers.head.store(self.head, Ordering::Release);
        // Release: pairs with the acquire CAS in `try_claim`.
        self.ring.removers.claimed.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(shardpool_loom)))]
impl<T> Ring<T> {
    /// A ring whose indices start at `index` (to test wrap-around).
    fn starting_at(index: u32) -> Self {
        let ring = Ring::default();
        ring.removers.head.store(index, Ordering::Relaxed);
        ring.tail.store(index, Ordering::Relaxed);
        ring
    }
}

/// The ring by itself, as Go tests its `poolDequeue`/`poolChain`: order,
/// segment growth and release, compaction, the owner's refill, and indices
/// wrapping past `u32::MAX`. Run under Miri too (`scripts/miri.sh`, `--lib`).
#[cfg(all(test, not(shardpool_loom)))]
mod tests {
    use super::*;

    fn entry(n: u64) -> Entry<u64> {
        Entry {
            value: Box::new(n),
            stamp: n,
            weight: 1,
        }
    }

    fn owner(ring: &Ring<u64>) -> RingOwner<'_, u64> {
        // SAFETY: each test is the ring's only thread.
        unsafe { RingOwner::new(ring) }
    }

    fn drain(ring: &Ring<u64>) -> Vec<u64> {
        let mut claim = ring.claim();
        std::iter::from_fn(|| claim.pop_oldest().map(|e| *e.value)).collect()
    }

    /// FIFO from the stealers' end across many segments, at every start
    /// index near the wrap; storage shrinks to one segment once drained.
    #[test]
    fn oldest_first_across_segments_and_the_wrap() {
        let n = 5 * SEGMENT as u64 + 3;
        for start in [0, u32::MAX - 2 * SEGMENT as u32 - 1, u32::MAX, u32::MAX - 1] {
            let ring = Ring::starting_at(start);
            (0..n).for_each(|i| owner(&ring).push(entry(i)));
            assert_eq!(ring.len(), n as usize);
            assert_eq!(ring.segments(), (n as usize).div_ceil(SEGMENT));
            assert_eq!(drain(&ring), (0..n).collect::<Vec<_>>(), "start {start}");
            assert_eq!(ring.len(), 0);
            assert_eq!(
                ring.segments(),
                1,
                "a drained ring keeps its newest segment"
            );
            owner(&ring).release_if_empty();
            assert_eq!(ring.segments(), 0);
            // And it grows again from wherever its indices are.
            owner(&ring).push(entry(7));
            assert_eq!(drain(&ring), vec![7]);
        }
    }

    /// The owner's refill takes the newest, newest first, and frees the
    /// segments it emptied above its tail.
    #[test]
    fn refill_takes_the_newest_and_frees_above() {
        for start in [0, u32::MAX - SEGMENT as u32] {
            let ring = Ring::starting_at(start);
            let n = 3 * SEGMENT as u64;
            (0..n).for_each(|i| owner(&ring).push(entry(i)));
            let mut claim = ring.claim();
            let take = SEGMENT + 5;
            let mut got = Vec::new();
            owner(&ring).pop_newest(&mut claim, take, |e| got.push(*e.value));
            drop(claim);
            let expect: Vec<_> = (n - take as u64..n).rev().collect();
            assert_eq!(got, expect);
            assert_eq!(ring.len(), n as usize - take);
            // Kept: the segments up to the one the new tail is in.
            let rest = n as usize - take;
            assert_eq!(
                ring.segments(),
                rest / SEGMENT + 1,
                "the top segment is freed"
            );
            // Pushes continue at the new tail.
            owner(&ring).push(entry(1000));
            let rest = drain(&ring);
            assert_eq!(rest.len(), n as usize - take + 1);
            assert_eq!(*rest.last().unwrap(), 1000);
        }
    }

    /// Trim's compaction keeps survivors in order at the newest end and frees
    /// the segments wholly below the new head.
    #[test]
    fn extract_if_compacts_and_frees() {
        let ring = Ring::starting_at(u32::MAX - 10);
        let n = 4 * SEGMENT as u64;
        (0..n).for_each(|i| owner(&ring).push(entry(i)));
        let mut out = Vec::new();
        let mut claim = ring.claim();
        claim.extract_if(|e| e.stamp % 3 != 0, &mut out);
        drop(claim);
        let kept: Vec<u64> = (0..n).filter(|i| i % 3 == 0).collect();
        assert_eq!(out.len() as u64, n - kept.len() as u64);
        assert!(ring.segments() <= kept.len().div_ceil(SEGMENT) + 1);
        assert_eq!(drain(&ring), kept);
    }

    /// A dropped ring drops what it holds, once (Miri checks the "once").
    #[test]
    fn drop_drops_entries() {
        let ring = Ring::starting_at(u32::MAX);
        (0..2 * SEGMENT as u64 + 1).for_each(|i| owner(&ring).push(entry(i)));
        let mut claim = ring.claim();
        assert!(claim.pop_oldest().is_some());
        drop(claim);
        drop(ring);
    }
}

/// Test-only hook for the loom models: a free is a write to every part of
/// the segment, so loom reports a free that is not ordered after some other
/// thread's access to the segment (and, while the freed memory still holds
/// loom's bookkeeping, an access after the free).
#[cfg(all(test, shardpool_loom))]
impl<T> Drop for Segment<T> {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.with_mut(|_| ());
        }
        self.next.with_mut(|_| ());
        self.prev.with_mut(|_| ());
    }
}

/// Test-only hook for the loom models (`src/tests/loom_ring.rs`).
#[cfg(all(test, shardpool_loom))]
impl<T> RingOwner<'_, T> {
    /// Checks the ring's shape under the claim (waiting for it) and returns
    /// how many segments it holds: `first` leads, through `next`, to the
    /// owner's newest segment, whose `next` is null; `prev` links back;
    /// bases are contiguous; `head..tail` lies within the segments; no
    /// segments means no entries.
    pub(crate) fn check_shape(&self) -> usize {
        let claim = self.ring.claim();
        let (head, tail) = (claim.head, claim.tail);
        assert!(
            tail.wrapping_sub(head) <= u32::MAX / 2,
            "head {head} passed tail {tail}"
        );
        let first = self.ring.removers.first.load(Ordering::Acquire);
        let last = self.with_end(|end| end.last);
        if first.is_null() {
            assert!(
                last.is_null(),
                "the owner's newest segment is not linked from `first`"
            );
            assert_eq!(head, tail, "entries held with no segment");
            return 0;
        }
        assert!(!last.is_null(), "segments linked but the owner has none");
        // SAFETY: we hold the claim, so every segment reachable from `first`
        // stays alive, and we are the owner, so none is being linked.
        let at = |seg: *mut Segment<T>| unsafe { &*seg };
        let first_base = at(first).base;
        assert!(
            tail.wrapping_sub(first_base) <= u32::MAX / 2
                && head.wrapping_sub(first_base) <= tail.wrapping_sub(first_base),
            "head {head} or tail {tail} below the oldest segment's base {first_base}"
        );
        let mut count = 0;
        let mut seg = first;
        let mut before: *mut Segment<T> = ptr::null_mut();
        loop {
            let s = at(seg);
            count += 1;
            assert_eq!(
                s.prev.load(Ordering::Relaxed),
                before,
                "`prev` does not link back"
            );
            let next = s.next.load(Ordering::Acquire);
            if seg == last {
                assert!(next.is_null(), "the owner's newest segment has a `next`");
                let into = tail.wrapping_sub(s.base) as usize;
                assert!(
                    into <= SEGMENT,
                    "tail {tail} outside the newest segment (base {})",
                    s.base
                );
                return count;
            }
            assert!(
                !next.is_null(),
                "the owner's newest segment is not reachable from `first`"
            );
            assert_eq!(
                at(next).base,
                s.base.wrapping_add(SEGMENT as u32),
                "segments are not contiguous"
            );
            before = seg;
            seg = next;
        }
    }
}
