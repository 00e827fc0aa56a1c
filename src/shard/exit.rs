//! What happens to a shard when its thread exits (I6, threads that exit
//! strand nothing), and each thread's list of the shards it owns.
//!
//! A thread's private stacks are owner-only: nobody else could reach the
//! objects in them once it is gone. Each thread that adopts a shard therefore
//! records it (with its pool, weakly) in a std thread-local whose destructor,
//! at thread exit:
//!
//! 1. clears the thread's shard cache and marks the thread as exiting, so it
//!    neither uses a cached shard nor adopts one again;
//! 2. moves each private stack into its shard's shared list, where other
//!    threads steal from it and trims reach it (or drops it, counted, if the
//!    list is full);
//! 3. gives up ownership of each shard and marks it vacant, so the next
//!    thread that needs a shard in that pool adopts it instead of making one:
//!    a pool has at most as many shards as threads ever used it at once.
//!
//! The same list, sorted by pool key, is where a thread finds its shard when
//! the shard cache misses. It is this crate's own: no other crate's
//! thread-local is consulted, so nothing depends on the order in which
//! thread-local destructors run. Objects returned by an exiting thread after
//! its hook has run (from other thread-locals' destructors) find no shard;
//! they are dropped and counted in `dropped_by_exit`.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::Weak;

/// A pool seen from one of the threads that own a shard in it.
pub(crate) trait ExitFlush: Send + Sync {
    /// Flushes and releases `shard`, which the calling (exiting) thread owns.
    ///
    /// # Safety
    /// `shard` must be the address of a shard of this pool that the calling
    /// thread adopted.
    unsafe fn flush_exiting_thread(&self, shard: NonNull<()>);

    /// Moves the calling thread's private objects to its shared list
    /// (`Pool::flush_local`).
    fn flush_local(&self);
}

/// Value of `TOKEN` once the exit hook has started.
const EXITING: u64 = u64::MAX - 1;

/// A shard this thread adopted, and its pool.
struct Adopted {
    /// The pool's key (unique for the life of the process).
    key: u64,
    pool: Weak<dyn ExitFlush>,
    shard: NonNull<()>,
}

struct ExitHook {
    /// Sorted by `key`. Borrowed only inside this file's functions, never
    /// while user code runs.
    adopted: RefCell<Vec<Adopted>>,
}

crate::sync::const_thread_local! {
    /// 0 until first asked for; then this thread's unique token; `EXITING`
    /// once the exit hook has run. No destructor, so it stays readable from
    /// other thread-locals' destructors.
    static TOKEN: Cell<u64> = Cell::new(0);
}

crate::sync::const_thread_local! {
    static HOOK: ExitHook = ExitHook { adopted: RefCell::new(Vec::new()) };
}

/// The calling thread's token as it stands, without handing one out: 0 if
/// it has none yet, `EXITING` once its exit hook has started. For compares
/// on the fast path (`hot.rs`).
#[inline(always)]
pub(crate) fn peek_token() -> u64 {
    TOKEN.try_with(Cell::get).unwrap_or(EXITING)
}

/// A token unique to the calling thread for the life of the process, or
/// `None` once the thread has started exiting.
pub(crate) fn thread_token() -> Option<u64> {
    TOKEN.with(|token| match token.get() {
        EXITING => None,
        0 => {
            let fresh = crate::sync::unique_id();
            token.set(fresh);
            Some(fresh)
        }
        current => Some(current),
    })
}

/// The calling thread's shard in pool `key`, if it adopted one and is not
/// exiting. O(log pools the thread used).
pub(crate) fn find(key: u64) -> Option<NonNull<()>> {
    // A thread that never adopted a shard has no token yet: no list to read.
    if matches!(TOKEN.try_with(Cell::get), Ok(0 | EXITING) | Err(_)) {
        return None;
    }
    HOOK.try_with(|hook| {
        let adopted = hook.adopted.borrow();
        let at = adopted.binary_search_by_key(&key, |a| a.key).ok()?;
        Some(adopted[at].shard)
    })
    .ok()
    .flatten()
}

/// Arranges for `pool` to flush and give up `shard` when this thread exits.
/// Returns `false` if the hook is already gone (the thread is exiting); the
/// caller must then not keep the shard.
pub(crate) fn register(key: u64, pool: Weak<dyn ExitFlush>, shard: NonNull<()>) -> bool {
    HOOK.try_with(|hook| {
        let mut adopted = hook.adopted.borrow_mut();
        // Forget pools that no longer exist, so a long-lived thread that uses
        // many short-lived pools does not accumulate entries.
        adopted.retain(|a| a.pool.strong_count() > 0);
        let at = adopted.partition_point(|a| a.key < key);
        adopted.insert(at, Adopted { key, pool, shard });
    })
    .is_ok()
}

/// Whether the calling thread's exit hook has started (or finished).
pub(crate) fn is_exiting() -> bool {
    TOKEN
        .try_with(|token| token.get() == EXITING)
        .unwrap_or(true)
}

/// Marks the calling thread as exiting: it will not adopt a shard again.
pub(crate) fn mark_exiting() {
    crate::shard::cache::clear();
    let _ = TOKEN.try_with(|token| token.set(EXITING));
}

/// Flushes the calling thread's private stacks of every live pool it has a
/// shard in; see [`crate::flush_local_all`].
pub(crate) fn flush_local_all() {
    // In key order, one pool at a time, holding no borrow while flushing:
    // flushing runs user code (`weigh`, `T::drop`), which may use pools and
    // so add shards to this list or drop dead entries from it. Walking by
    // key, not by position, visits every pool that was listed when the walk
    // began whatever that does. No allocation: this runs whenever a worker
    // parks.
    let mut after = 0;
    loop {
        let next = HOOK.try_with(|hook| {
            let adopted = hook.adopted.borrow();
            let at = adopted.partition_point(|a| a.key <= after);
            adopted.get(at).map(|a| (a.key, a.pool.upgrade()))
        });
        let Ok(Some((key, pool))) = next else {
            break;
        };
        after = key;
        if let Some(pool) = pool {
            pool.flush_local();
        }
    }
}

fn run(adopted: Vec<Adopted>) {
    // Rules 2 and 1 of `cache.rs`: no cached shard survives, and none is
    // cached again, before any ownership is given up.
    mark_exiting();
    for Adopted { pool, shard, .. } in adopted {
        if let Some(pool) = pool.upgrade() {
            // SAFETY: registered by `Inner::shard_or_adopt` with a shard of
            // this pool that this thread had just adopted; only this hook
            // gives it up.
            unsafe { pool.flush_exiting_thread(shard) };
        }
    }
}

#[cfg(not(shardpool_loom))]
impl Drop for ExitHook {
    fn drop(&mut self) {
        run(std::mem::take(self.adopted.get_mut()));
    }
}

/// Under loom, runs this thread's exit hook now (loom forbids the real hook's
/// work inside its thread-local destructors; see `sync.rs`).
#[cfg(shardpool_loom)]
pub(crate) fn simulate_thread_exit() {
    run(HOOK.with(|hook| std::mem::take(&mut *hook.adopted.borrow_mut())));
}
