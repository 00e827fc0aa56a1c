//! Guards: an object on loan from a pool, returned when the guard drops.

use crate::inner::Inner;
use crate::pool::Pool;
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
#[repr(C)]
pub struct Pooled<'a, T: Send + 'static> {
    /// The pool's state directly (not the `Pool` handle): one load less on
    /// every return.
    inner: &'a Inner<T>,
    /// Always initialized, except inside `drop` and `detach`, which take it.
    value: ManuallyDrop<T>,
}

impl<'a, T: Send + 'static> Pooled<'a, T> {
    #[inline]
    pub(crate) fn new(pool: &'a Pool<T>, value: T) -> Self {
        Pooled {
            value: ManuallyDrop::new(value),
            inner: pool.inner(),
        }
    }

    /// Takes the object out of the pool's care: the pool forgets it and
    /// counts it in [`Stats::detached`](crate::Stats::detached). Hand it back
    /// later, if you like, with [`Pool::put`].
    ///
    /// An associated function (`Pooled::detach(guard)`) so it cannot shadow a
    /// method of `T`.
    pub fn detach(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped (ManuallyDrop), so this is the only
        // place `value` is taken.
        let value = unsafe { ManuallyDrop::take(&mut this.value) };
        this.inner.count(Event::Detached, 1);
        value
    }
}

impl<T: Send + 'static> Drop for Pooled<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard instead of
        // dropping it, so `value` is still initialized and never used again.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.inner.give_from_guard(value);
    }
}

/// An object borrowed from a pool held in an [`Arc`]: `'static`, so it can
/// move into spawned tasks and threads, and keeps the pool alive until it is
/// returned.
///
/// `Send` when `T: Send`; `Sync` only when `T: Sync`.
pub struct OwnedPooled<T: Send + 'static> {
    /// Always initialized, except inside `drop` and `detach`, which take it.
    value: ManuallyDrop<T>,
    pool: Arc<Pool<T>>,
}

impl<T: Send + 'static> OwnedPooled<T> {
    #[inline]
    pub(crate) fn new(pool: Arc<Pool<T>>, value: T) -> Self {
        OwnedPooled {
            value: ManuallyDrop::new(value),
            pool,
        }
    }

    /// Takes the object out of the pool's care (see [`Pooled::detach`]).
    pub fn detach(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped, so `value` is taken only here.
        let value = unsafe { ManuallyDrop::take(&mut this.value) };
        // SAFETY: likewise `pool` is moved out only here; `this` is never
        // dropped, so the `Arc` is not dropped twice.
        let pool = unsafe { std::ptr::read(&this.pool) };
        pool.inner().count(Event::Detached, 1);
        value
    }

    /// The pool this object came from.
    pub fn pool(this: &Self) -> &Arc<Pool<T>> {
        &this.pool
    }
}

impl<T: Send + 'static> Drop for OwnedPooled<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `Pooled::drop`.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.inner().give_from_guard(value);
    }
}

macro_rules! guard_traits {
    ($($guard:ident $(<$lt:lifetime>)?),*) => {$(
        impl<$($lt,)? T: Send + 'static> Deref for $guard<$($lt,)? T> {
            type Target = T;
            #[inline]
            fn deref(&self) -> &T {
                &self.value
            }
        }

        impl<$($lt,)? T: Send + 'static> DerefMut for $guard<$($lt,)? T> {
            #[inline]
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
                fmt::Debug::fmt(&*self.value, f)
            }
        }
    )*};
}

guard_traits!(Pooled<'a>, OwnedPooled);
