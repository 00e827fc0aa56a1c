//! Guards: an object on loan from a pool, returned when the guard drops.
//!
//! A guard is two words: the pool's state and the object's box. The object
//! itself never moves while it is lent (I3, a fast path without atomics),
//! so writing through a guard writes the object where it lives, and handing
//! it back moves one pointer. (A third word, the shard the object came from,
//! would save the return its shard-cache lookup; measured, a 24-byte guard
//! made `hold32`, 32 guards held in a `Vec`, about 45% slower.)

use crate::pool::{Inner, Pool, Returner};
use crate::stats::Event;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// An object borrowed from a [`Pool`]; it goes back to the pool (to the shard
/// of the thread that drops it) when the guard is dropped.
///
/// `Pooled<T>` is `Send` when `T: Send`, and `Sync` only when `T: Sync`: it
/// hands out `&T`.
pub struct Pooled<'a, T: Send + 'static> {
    /// The pool's state directly (not the `Pool` handle): one load less on
    /// every return.
    inner: &'a Inner<T>,
    /// Always present, except inside `drop` and `detach`, which take it.
    value: ManuallyDrop<Box<T>>,
}

impl<'a, T: Send + 'static> Pooled<'a, T> {
    #[inline(always)]
    pub(crate) fn new(inner: &'a Inner<T>, value: Box<T>) -> Self {
        Pooled {
            inner,
            value: ManuallyDrop::new(value),
        }
    }

    /// Takes the object out of the pool's care: the pool forgets it and
    /// counts it in [`Stats::detached`](crate::Stats::detached). Hand it back
    /// later, if you like, with [`Pool::put`].
    ///
    /// An associated function (`Pooled::detach(guard)`) so it cannot shadow a
    /// method of `T`.
    pub fn detach(this: Self) -> T {
        *Pooled::detach_boxed(this)
    }

    /// Like [`detach`](Pooled::detach), but keeps the object in its box (no
    /// move); [`Pool::put_boxed`] takes it back the same way.
    pub fn detach_boxed(this: Self) -> Box<T> {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped (ManuallyDrop), so this is the only
        // place `value` is taken.
        let value = unsafe { ManuallyDrop::take(&mut this.value) };
        this.inner.count(Event::detached, 1);
        value
    }
}

impl<T: Send + 'static> Drop for Pooled<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard instead of
        // dropping it, so `value` is still present and never used again.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.inner.release(value, Returner::Guard);
    }
}

/// An object borrowed from a pool by [`Pool::get_owned`]: `'static`, so it
/// can move into spawned tasks and threads, and keeps the pool's state alive
/// until it is returned.
///
/// `Send` when `T: Send`; `Sync` only when `T: Sync`.
pub struct OwnedPooled<T: Send + 'static> {
    /// Always present, except inside `drop` and `detach`, which take it.
    value: ManuallyDrop<Box<T>>,
    /// The pool's state itself: one reference count, shared with every
    /// `Pool` handle.
    inner: ManuallyDrop<Arc<Inner<T>>>,
}

impl<T: Send + 'static> OwnedPooled<T> {
    #[inline]
    pub(crate) fn new(inner: Arc<Inner<T>>, value: Box<T>) -> Self {
        OwnedPooled {
            value: ManuallyDrop::new(value),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Takes the object out of the pool's care (see [`Pooled::detach`]).
    pub fn detach(this: Self) -> T {
        *OwnedPooled::detach_boxed(this)
    }

    /// Like [`detach`](OwnedPooled::detach), keeping the object in its box.
    pub fn detach_boxed(this: Self) -> Box<T> {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped, so each field is taken only here.
        let (value, inner) = unsafe {
            (
                ManuallyDrop::take(&mut this.value),
                ManuallyDrop::take(&mut this.inner),
            )
        };
        inner.count(Event::detached, 1);
        value
    }

    /// A handle to the pool this object came from.
    pub fn pool(this: &Self) -> Pool<T> {
        Pool::from_inner(Arc::clone(&this.inner))
    }
}

impl<T: Send + 'static> Drop for OwnedPooled<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `Pooled::drop`; each field is taken once, here.
        let (value, inner) = unsafe {
            (
                ManuallyDrop::take(&mut self.value),
                ManuallyDrop::take(&mut self.inner),
            )
        };
        inner.release(value, Returner::Guard);
        // The pool's state may be dropped here, after the object is back.
        drop(inner);
    }
}

macro_rules! guard_traits {
    ($($guard:ident $(<$lt:lifetime>)?),*) => {$(
        impl<$($lt,)? T: Send + 'static> Deref for $guard<$($lt,)? T> {
            type Target = T;
            #[inline(always)]
            fn deref(&self) -> &T {
                &self.value
            }
        }

        impl<$($lt,)? T: Send + 'static> DerefMut for $guard<$($lt,)? T> {
            #[inline(always)]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.value
            }
        }

        impl<$($lt,)? T: Send + 'static> AsRef<T> for $guard<$($lt,)? T> {
            fn as_ref(&self) -> &T {
                &self.value
            }
        }

        impl<$($lt,)? T: Send + 'static> AsMut<T> for $guard<$($lt,)? T> {
            fn as_mut(&mut self) -> &mut T {
                &mut self.value
            }
        }

        impl<$($lt,)? T: Send + fmt::Debug + 'static> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self.value, f)
            }
        }
    )*};
}

guard_traits!(Pooled<'a>, OwnedPooled);
