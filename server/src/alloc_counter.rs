//! A counting global allocator: wraps another allocator and counts, per
//! thread, every call that asks it for memory (`alloc`, `alloc_zeroed`,
//! `realloc`). Frees are not counted: "allocations per request" means
//! allocator round trips that hand out memory.
//!
//! Only threads that [`register_thread`] count, each in its own slot: the
//! server registers its runtime's threads, so a test process's other threads
//! (the test harness, the client) do not blur the numbers, and two servers in
//! one process can each sum their own threads' slots.
//!
//! Cost on the allocation path: one thread-local read and, on a registered
//! thread, a relaxed load and store to a cache line no other thread writes.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Wraps allocator `A`, counting its allocations on registered threads.
pub struct Counting<A>(pub A);

// SAFETY: every method forwards to `A` with the caller's arguments unchanged,
// so `A`'s guarantees carry over; counting touches only thread-locals and
// atomics, and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for us.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from this allocator (i.e. from `A`) with `layout`.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (i.e. from `A`) with `layout`.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

/// Most threads that can register; later ones are not counted.
const SLOTS: usize = 256;
const UNREGISTERED: usize = usize::MAX;

/// One counter per registered thread, on its own cache line. Written only by
/// its thread (a load and a store, no read-modify-write), read by anyone.
#[repr(align(64))]
struct Slot(AtomicU64);

static COUNTS: [Slot; SLOTS] = [const { Slot(AtomicU64::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot. `const` and without `Drop`, so reading it never
    /// allocates and never fails, even while the thread is exiting.
    static MY_SLOT: Cell<usize> = const { Cell::new(UNREGISTERED) };
}

#[inline]
fn count() {
    let slot = MY_SLOT.with(Cell::get);
    if let Some(Slot(counter)) = COUNTS.get(slot) {
        // Only this thread writes its slot, so load + store loses nothing.
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }
}

/// Starts counting the calling thread's allocations; returns its slot, or
/// `None` if all slots are taken (then the thread is not counted).
pub fn register_thread() -> Option<usize> {
    let current = MY_SLOT.with(Cell::get);
    if current != UNREGISTERED {
        return Some(current);
    }
    let slot = NEXT_SLOT.fetch_add(1, Relaxed);
    if slot >= SLOTS {
        return None;
    }
    MY_SLOT.with(|s| s.set(slot));
    Some(slot)
}

/// Allocations counted so far in the given slots.
pub fn allocations(slots: &[usize]) -> u64 {
    slots
        .iter()
        .filter_map(|&s| COUNTS.get(s))
        .map(|Slot(c)| c.load(Relaxed))
        .sum()
}
