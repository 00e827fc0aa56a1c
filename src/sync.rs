//! The one place that chooses between `std` and `loom` primitives.
//!
//! Every other module imports atomics, `UnsafeCell`, thread-locals and
//! `ThreadLocal` from here, so the same code runs under the loom model checker
//! when built with `RUSTFLAGS="--cfg shardpool_loom"`.
//!
//! What loom sees, and what it does not:
//! - **Seen**: every atomic, fence and `UnsafeCell` of our own protocols —
//!   the shared ring and its segments (`shard/ring.rs`), the owner-only
//!   private stack (`shard/private.rs`, through `UnsafeCell`), the shard
//!   directory and its stealable and vacant sets (`shard/directory.rs`),
//!   shard ownership, the trim epoch, the retained-bytes budget. The pool
//!   uses no other crate's concurrent structure, so nothing needs a stand-in.
//! - **Explicit**: loom runs thread-local destructors in an order of its own
//!   and forbids `thread::current()` inside them, so under loom the exit hook
//!   does not run from a destructor; models call
//!   [`crate::shard::exit::simulate_thread_exit`] at the end of a thread instead. The
//!   flush it performs is the same code.
//! - **Not modelled**: `Arc`/`Weak` (loom has no `Weak`; std's are trusted), the
//!   process-wide registry's `Mutex`, and the owner-written counters
//!   ([`OwnerCounter`]: statistics, and the private stack's `pushes`/`pops`,
//!   which only the owner writes and only `stats` reads from elsewhere;
//!   modelling them would only multiply states).

#[cfg(not(shardpool_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };

    /// `std::cell::UnsafeCell` with loom's closure-based access API, so code
    /// reads the same in both builds.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Back off inside a short wait for another thread's claim to end.
    pub(crate) fn spin(backoff: &crossbeam_utils::Backoff) {
        backoff.snooze();
    }
}

#[cfg(shardpool_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };

    /// Under loom every wait must yield to the scheduler, or the model spins
    /// forever on a branch where the other thread never runs.
    pub(crate) fn spin(_backoff: &crossbeam_utils::Backoff) {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;

/// Declares a thread-local with a `const` initializer under std (the cheapest
/// access: no lazy-init check) and an ordinary one under loom, which has no
/// `const` form.
macro_rules! const_thread_local {
    ($(#[$attr:meta])* static $name:ident: $ty:ty = $init:expr;) => {
        #[cfg(not(shardpool_loom))]
        std::thread_local! { $(#[$attr])* static $name: $ty = const { $init }; }
        #[cfg(shardpool_loom)]
        loom::thread_local! { $(#[$attr])* static $name: $ty = $init; }
    };
}
pub(crate) use const_thread_local;

/// A counter written by one thread (the shard's owner) and read by any
/// thread for reporting.
///
/// `add` is a relaxed load plus a relaxed store, not a read-modify-write: on
/// x86-64 and AArch64 that is two plain `mov`s, so counting costs no bus
/// lock. It is only correct because a single thread writes it; counters
/// written by several threads use [`SharedCounter`].
///
/// Both builds use std's atomic here: loom would only multiply states without
/// checking anything (the value never guards memory).
#[derive(Debug, Default)]
pub(crate) struct OwnerCounter(std::sync::atomic::AtomicU64);

impl OwnerCounter {
    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        // Relaxed: a report, not a synchronization point; the owner is the
        // only writer, so load + store cannot lose an update.
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    #[inline(always)]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    /// Relaxed, as in `add`: only the owner writes.
    #[inline(always)]
    pub(crate) fn set(&self, value: u64) {
        self.0.store(value, std::sync::atomic::Ordering::Relaxed);
    }

    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A statistics counter any thread may add to, for the cold events that have
/// no owning shard (a trim run from some other thread, a thread that is
/// exiting). Uses `fetch_add`; never on a fast path.
#[derive(Debug, Default)]
pub(crate) struct SharedCounter(std::sync::atomic::AtomicU64);

impl SharedCounter {
    pub(crate) fn add(&self, n: u64) {
        if n != 0 {
            // Relaxed: a report, not a synchronization point.
            self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A number unique for the life of the process (thread tokens, registry keys).
/// A plain counter, not part of any protocol, so std's atomic in both builds.
pub(crate) fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Relaxed: only uniqueness matters, which the RMW alone guarantees.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
