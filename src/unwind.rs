//! Containing user panics (I9, no callback breaks it).
//!
//! User code runs inside the pool: `create`, `reset`, `weigh`, `T::drop`.
//! Whatever it does, the pool's own frames must never turn it into an abort
//! (a second panic while one unwinds, or a panic escaping a thread-local
//! destructor), never drop an object twice, and never lose one uncounted.
//! So the pool counts before it calls out, calls out holding no claim and no
//! owner-only borrow, and drops objects on its own behalf through a
//! [`Dropper`]: each drop is caught, the batch always finishes, and the first
//! panic is re-raised once the pool is consistent again — unless the thread
//! cannot unwind (it is already panicking, or exiting), where it is dropped.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Drops objects on the pool's behalf and remembers the first panic.
#[derive(Default)]
pub(crate) struct Dropper {
    panic: Option<Box<dyn Any + Send>>,
}

impl Dropper {
    /// Drops `value`, catching a panic from its `Drop`.
    pub(crate) fn drop<V>(&mut self, value: V) {
        self.call(|| drop(value));
    }

    /// Runs user code `f`, catching a panic; `None` if it panicked.
    pub(crate) fn call<R>(&mut self, f: impl FnOnce() -> R) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => Some(value),
            Err(payload) => {
                self.keep(payload);
                None
            }
        }
    }

    /// Remembers a panic caught elsewhere.
    pub(crate) fn keep(&mut self, payload: Box<dyn Any + Send>) {
        if self.panic.is_none() {
            self.panic = Some(payload);
        } else {
            // A second payload is dropped; its own `Drop` could panic too.
            let _ = catch_unwind(AssertUnwindSafe(|| drop(payload)));
        }
    }

    /// Re-raises the first panic, if the thread can unwind; otherwise
    /// forgets it (the object was already counted and dropped).
    pub(crate) fn finish(self) {
        if let Some(payload) = self.panic {
            if can_unwind() {
                resume_unwind(payload);
            }
            let _ = catch_unwind(AssertUnwindSafe(|| drop(payload)));
        }
    }
}

impl Dropper {
    /// Ends the batch as `returner` requires: re-raises the first panic for
    /// an explicit call ([`finish`](Dropper::finish)), forgets it for a drop.
    pub(crate) fn settle(self, returner: crate::pool::Returner) {
        match returner {
            crate::pool::Returner::Call => self.finish(),
            crate::pool::Returner::Guard => self.forget(),
        }
    }

    /// Forgets a caught panic (the objects were counted and dropped) where
    /// re-raising it would lose an object in hand.
    pub(crate) fn forget(self) {
        if let Some(payload) = self.panic {
            let _ = catch_unwind(AssertUnwindSafe(|| drop(payload)));
        }
    }
}

/// Whether a panic may propagate from here: not while another one unwinds
/// (that aborts), and not from a thread's exit hook (a panic escaping a
/// thread-local destructor aborts).
pub(crate) fn can_unwind() -> bool {
    !std::thread::panicking() && !crate::shard::exit::is_exiting()
}
