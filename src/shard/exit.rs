//! What happens to a shard when its thread exits (invariant I6).
//!
//! `thread_local::ThreadLocal` keeps an exited thread's value until its id is
//! reused or the `ThreadLocal` is dropped. A pool cannot leave objects there:
//! the private stack is owner-only, so nobody else could reach them. Each
//! thread that adopts a shard therefore registers it (with the pool, weakly)
//! in a std thread-local whose destructor, at thread exit:
//!
//! 1. clears the thread's shard cache and marks the thread as exiting, so it
//!    neither uses a cached shard nor adopts one again;
//! 2. moves each private stack into its shard's shared list, where other
//!    threads steal from it and trims reach it (or drops it, counted, if the
//!    list is full);
//! 3. gives up ownership of each shard (a release store), so the next thread
//!    that gets the same `ThreadLocal` id can adopt it.
//!
//! None of this depends on the order in which thread-local destructors run:
//! ownership is the `owner` token in the shard, not the `ThreadLocal` id. If
//! the id is released and reused before the hook runs, the new thread cannot
//! adopt the shard until the hook has released it, and uses the pool without
//! a shard meanwhile (creating and dropping, counted).
//!
//! Objects returned by an exiting thread after its hook has run (from other
//! thread-locals' destructors) are dropped and counted in `dropped_by_exit`.

use std::cell::{Cell, RefCell};
use std::sync::Weak;

/// A pool seen from one of the threads that own a shard in it.
pub(crate) trait ExitFlush: Send + Sync {
    /// Flushes and releases `shard`, which the calling (exiting) thread owns.
    ///
    /// # Safety
    /// `shard` must be the address of a shard of this pool that the calling
    /// thread adopted.
    unsafe fn flush_exiting_thread(&self, shard: *const ());

    /// Moves the calling thread's private objects to its shared list
    /// (`Pool::flush_local`).
    fn flush_local(&self);
}

/// Value of `TOKEN` once the exit hook has started.
const EXITING: u64 = u64::MAX;

/// A shard this thread adopted, and its pool.
struct Adopted {
    pool: Weak<dyn ExitFlush>,
    shard: *const (),
}

struct ExitHook {
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

/// Arranges for `pool` to flush and release `shard` when this thread exits.
/// Returns `false` if the hook is already gone (the thread is exiting); the
/// caller must then not keep the shard.
pub(crate) fn register(pool: Weak<dyn ExitFlush>, shard: *const ()) -> bool {
    HOOK.try_with(|hook| {
        let mut adopted = hook.adopted.borrow_mut();
        // Forget pools that no longer exist, so a long-lived thread that uses
        // many short-lived pools does not accumulate entries.
        adopted.retain(|a| a.pool.strong_count() > 0);
        adopted.push(Adopted { pool, shard });
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
    // One entry at a time, with no borrow held while flushing: flushing runs
    // user code (`weigh`, `T::drop`), which may use pools and so register
    // more shards here. No allocation: this runs whenever a worker parks.
    for index in 0.. {
        let pool = HOOK.try_with(|hook| {
            let adopted = hook.adopted.borrow();
            adopted.get(index).map(|a| a.pool.upgrade())
        });
        match pool {
            Ok(Some(Some(pool))) => pool.flush_local(),
            Ok(Some(None)) => {} // that pool is gone
            _ => break,
        }
    }
}

fn run(adopted: Vec<Adopted>) {
    // Rules 2 and 1 of `cache.rs`: no cached shard survives, and none is
    // cached again, before any ownership is given up.
    mark_exiting();
    for Adopted { pool, shard } in adopted {
        if let Some(pool) = pool.upgrade() {
            // SAFETY: registered by `Inner::local_shard` with a shard of this
            // pool that this thread had just adopted; only this hook releases it.
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
