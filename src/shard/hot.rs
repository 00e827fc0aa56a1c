//! One thread's shortcut to its shard, kept in the pool itself.
//!
//! The shard cache (`cache.rs`) finds the calling thread's shard through a
//! thread-local table indexed by the pool's key. For one thread per pool,
//! the first that needs an object it cannot find on its private stack
//! (in practice, the thread that uses the pool first), the pool keeps the
//! answer itself: that thread's token and its shard. Its get and return
//! then compare one thread-local word with one word of the pool, both
//! already in cache, instead of indexing the table and comparing a key; on
//! one thread that saves about a tenth of a get and return pair's
//! instructions (90 to 82). Every other thread pays one compare that fails and goes on
//! to the table, as before. The pair is written once per claim, so the line
//! it sits on stays shared among readers.
//!
//! Soundness rests on three rules, like the table's:
//! 1. only a thread that owns a shard claims, with a CAS from [`NO_OWNER`]
//!    to its own token, and stores its shard's address afterwards; no other
//!    get or return of that thread runs in between (no user code runs
//!    there), so when its token matches, the address is its shard's;
//! 2. only the claiming thread's exit hook gives the claim up (a CAS from
//!    its token back, so no other thread can end it), before that thread
//!    gives up its shard; after the hook has marked the thread as exiting,
//!    its token reads as `EXITING`, which never matches;
//! 3. a token never matches another thread's: tokens are unique for the
//!    life of the process, and neither `NO_OWNER` nor `EXITING` nor 0 (no
//!    token yet) is ever one.
//!
//! So a match always yields a shard the calling thread owns, in a pool that
//! is alive (the caller holds a reference to it).
//!
//! Ordering: the release CAS that gives the claim up pairs with the next
//! claimer's acquire CAS, so the old owner's store of its address happens
//! before the new one's. Nothing else is guarded by these words: the claimer
//! alone reads the address, and only after its own store.

use super::NO_OWNER;
use super::exit;
use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use std::ptr::NonNull;

pub(crate) struct HotOwner {
    /// Token of the thread that holds the claim, [`NO_OWNER`] if none.
    token: AtomicU64,
    /// That thread's shard (type-erased). Read only by that thread.
    shard: AtomicPtr<()>,
}

impl HotOwner {
    pub(crate) fn new() -> Self {
        HotOwner {
            token: AtomicU64::new(NO_OWNER),
            shard: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The calling thread's shard, if it holds the claim.
    #[inline(always)]
    pub(crate) fn lookup(&self) -> Option<NonNull<()>> {
        // Relaxed: a match can only be our own earlier store (rule 3),
        // which program order already shows us.
        if exit::peek_token() != self.token.load(Ordering::Relaxed) {
            return None;
        }
        // Relaxed: stored by this thread (rule 1).
        let shard = self.shard.load(Ordering::Relaxed);
        debug_assert!(!shard.is_null(), "a claim stores its shard first");
        // SAFETY: rule 1: our claim stored our shard's (non-null) address
        // right after its CAS, before any lookup of ours could run.
        Some(unsafe { NonNull::new_unchecked(shard) })
    }

    /// Claims the shortcut, if nobody holds it, for the calling thread,
    /// whose token is `token` and which owns `shard`.
    pub(crate) fn claim(&self, token: u64, shard: NonNull<()>) {
        if self.token.load(Ordering::Relaxed) != NO_OWNER {
            return;
        }
        // Acquire: pairs with the release CAS in `give_up`; the previous
        // holder's store of its address happens before ours.
        if self
            .token
            .compare_exchange(NO_OWNER, token, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            self.shard.store(shard.as_ptr(), Ordering::Relaxed);
        }
    }

    /// Gives up the claim if the thread with `token` holds it (its exit
    /// hook, before the thread gives up its shard).
    pub(crate) fn give_up(&self, token: u64) {
        // Release: pairs with the acquire CAS in `claim`.
        let _ = self
            .token
            .compare_exchange(token, NO_OWNER, Ordering::Release, Ordering::Relaxed);
    }
}
