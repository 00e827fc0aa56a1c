//! The one place that chooses between `std` and `loom` primitives.
//!
//! Every other module imports atomics, `UnsafeCell`, thread-locals and
//! `ThreadLocal` from here, so the same code runs under the loom model checker
//! when built with `RUSTFLAGS="--cfg shardpool_loom"`.
//!
//! What loom sees, and what it does not:
//! - **Seen**: every atomic and `UnsafeCell` of our own protocols — the shared
//!   ring and its segments (`shard/ring.rs`), the owner-only private stack
//!   (`shard/private.rs`, through `UnsafeCell`), shard ownership, the trim
//!   epoch, the retained-bytes budget.
//! - **Stand-in**: `thread_local::ThreadLocal` is not loom-aware. Under loom it
//!   is replaced by [`ThreadLocal`] below, a per-loom-thread map with the same
//!   contract (one entry per thread, stable references, iteration over all
//!   entries). Its entry list sits behind a loom mutex, so loom sees the
//!   happens-before edge from a thread creating its shard to another thread
//!   finding it, which the real crate provides by publishing each entry with
//!   release/acquire. The mutex also serializes iteration with insertion,
//!   which the real crate does not; our protocols never rely on that (a
//!   stealer or trim that misses a shard being created is a correct outcome,
//!   and the models explore both).
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
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };

    /// Per-thread storage, one entry per live thread id (ids are reused).
    pub(crate) type ThreadLocal<T> = thread_local::ThreadLocal<T>;

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
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };

    /// Under loom every wait must yield to the scheduler, or the model spins
    /// forever on a branch where the other thread never runs.
    pub(crate) fn spin(_backoff: &crossbeam_utils::Backoff) {
        loom::thread::yield_now();
    }

    loom::thread_local! {
        /// The stand-in's notion of this thread's id: 0 until first used, then
        /// fresh; a model may set it to another thread's id to simulate the
        /// real crate reusing an exited thread's id.
        static SLOT: std::cell::Cell<usize> = std::cell::Cell::new(0);
    }

    /// Makes the calling loom thread use stand-in id `slot` (tests only).
    pub(crate) fn use_thread_slot(slot: usize) {
        SLOT.with(|s| s.set(slot));
    }

    fn current_slot() -> usize {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1 << 20);
        SLOT.with(|s| {
            if s.get() == 0 {
                s.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            }
            s.get()
        })
    }

    /// Loom stand-in for `thread_local::ThreadLocal`: one boxed entry per
    /// stand-in thread id. Boxes never move or drop before `self` does, which
    /// is what makes the returned references stable, as in the real crate.
    ///
    /// Publication is loom-visible: the list is behind a loom mutex, so an
    /// insert happens before every lookup or iteration that finds the entry,
    /// as in the real crate (which publishes each bucket and each entry's
    /// `present` flag with release and loads them with acquire). The mutex
    /// orders more than the real crate's lock-free reads do (an iteration
    /// waits for an insert in progress), but it adds no happens-before edge
    /// the real crate lacks for any entry an iteration sees. A std mutex would
    /// hide the edge from loom, and worse, hang the model: loom may switch
    /// threads while one holds it.
    pub(crate) struct ThreadLocal<T: Send> {
        entries: loom::sync::Mutex<Vec<(usize, Box<T>)>>,
    }

    impl<T: Send> ThreadLocal<T> {
        pub(crate) fn new() -> Self {
            Self {
                entries: loom::sync::Mutex::new(Vec::new()),
            }
        }

        fn find(&self, id: usize) -> Option<&T> {
            let entries = self.entries.lock().unwrap();
            let entry = entries.iter().find(|(owner, _)| *owner == id)?;
            let ptr: *const T = &*entry.1;
            // SAFETY:
            // - the entry is boxed, so its address is stable while the Vec grows;
            // - entries are only removed by `iter_mut`/drop, which need `&mut self`,
            //   so the box outlives the `&self` borrow the result is tied to.
            Some(unsafe { &*ptr })
        }

        pub(crate) fn get(&self) -> Option<&T> {
            self.find(current_slot())
        }

        pub(crate) fn get_or(&self, create: impl FnOnce() -> T) -> &T {
            let id = current_slot();
            if let Some(found) = self.find(id) {
                return found;
            }
            let value = Box::new(create());
            self.entries.lock().unwrap().push((id, value));
            self.find(id).expect("entry was just inserted")
        }

        pub(crate) fn iter(&self) -> impl Iterator<Item = &T>
        where
            T: Sync,
        {
            let ptrs: Vec<*const T> = (self.entries.lock().unwrap().iter())
                .map(|(_, b)| &**b as *const T)
                .collect();
            // SAFETY: as in `find`, boxes stay put and alive for the `&self` borrow.
            ptrs.into_iter().map(|p| unsafe { &*p })
        }

        pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
            self.entries
                .get_mut()
                .unwrap()
                .iter_mut()
                .map(|(_, b)| &mut **b)
        }
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
