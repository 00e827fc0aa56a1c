//! Buffer guards: a `Vec<u8>` on loan from a [`BufferPool`], returned to the
//! class its capacity fits when the guard drops.
//!
//! The guards hold the buffer itself and the index of the class it came from,
//! not a class pool's `Pooled` guard: a buffer whose capacity changed while
//! out must go back to a different class, which needs the whole pool.

use super::{BufferPool, DETACHED};
use crate::shard::Home;
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A buffer borrowed from a [`BufferPool`]: derefs to a `Vec<u8>` that starts
/// empty (`len() == 0`) with at least the requested capacity, and goes back
/// to the pool when dropped.
///
/// Use it as the `Vec<u8>` it is (`extend_from_slice`, `resize`, `write!`,
/// `&buf[..]`). If it grows past its class, it is returned to the class it
/// now fits; see [`BufferPool`] for what is kept.
///
/// `Send` and `Sync`; dropping it on another thread is fine (it lands in that
/// thread's shard).
pub struct PooledBuf<'a> {
    pool: &'a BufferPool,
    /// Index of the class the buffer came from, or `OVERSIZE` / `DETACHED`.
    class: usize,
    /// Always present, except inside `drop`, which takes it.
    buf: ManuallyDrop<Box<Vec<u8>>>,
    /// The class shard it came from: the way back on the same thread.
    home: Home<Vec<u8>>,
}

impl<'a> PooledBuf<'a> {
    #[inline(always)]
    pub(crate) fn new(
        pool: &'a BufferPool,
        buf: Box<Vec<u8>>,
        class: usize,
        home: Home<Vec<u8>>,
    ) -> Self {
        PooledBuf {
            pool,
            class,
            buf: ManuallyDrop::new(buf),
            home,
        }
    }

    /// Takes the buffer out of the pool's care: the pool forgets it (its class
    /// counts it in [`Stats::detached`](crate::Stats::detached)). Hand it back
    /// later, if you like, with [`BufferPool::put`].
    ///
    /// An associated function (`PooledBuf::detach(buf)`) so that it cannot
    /// shadow a method of `Vec<u8>`.
    pub fn detach(mut this: Self) -> Vec<u8> {
        this.pool.note_detached(this.class);
        this.class = DETACHED;
        std::mem::take(&mut **this.buf)
        // `this` drops here, with `DETACHED` and an empty `Vec`: a no-op.
    }
}

impl Drop for PooledBuf<'_> {
    #[inline]
    fn drop(&mut self) {
        let buf = self.take_buf();
        self.pool.give_back(buf, self.class, self.home);
    }
}

/// A buffer borrowed from a [`BufferPool`] held in an [`Arc`]: like
/// [`PooledBuf`], but `'static`, so it can move into spawned tasks and
/// threads; it keeps the pool alive until it is returned.
///
/// Get one with [`BufferPool::get_owned`].
pub struct OwnedPooledBuf {
    pool: Arc<BufferPool>,
    /// As in [`PooledBuf`].
    class: usize,
    /// Always present, except inside `drop`, which takes it.
    buf: ManuallyDrop<Box<Vec<u8>>>,
    /// As in [`PooledBuf`].
    home: Home<Vec<u8>>,
}

impl OwnedPooledBuf {
    pub(crate) fn new(
        pool: Arc<BufferPool>,
        buf: Box<Vec<u8>>,
        class: usize,
        home: Home<Vec<u8>>,
    ) -> Self {
        OwnedPooledBuf {
            pool,
            class,
            buf: ManuallyDrop::new(buf),
            home,
        }
    }

    /// Takes the buffer out of the pool's care (see [`PooledBuf::detach`]).
    pub fn detach(mut this: Self) -> Vec<u8> {
        this.pool.note_detached(this.class);
        this.class = DETACHED;
        std::mem::take(&mut **this.buf)
    }

    /// The pool this buffer came from.
    pub fn pool(this: &Self) -> &Arc<BufferPool> {
        &this.pool
    }
}

impl Drop for OwnedPooledBuf {
    #[inline]
    fn drop(&mut self) {
        let buf = self.take_buf();
        self.pool.give_back(buf, self.class, self.home);
    }
}

macro_rules! buf_traits {
    ($($guard:ident $(<$lt:lifetime>)?),*) => {$(
        impl $(<$lt>)? Deref for $guard $(<$lt>)? {
            type Target = Vec<u8>;
            #[inline]
            fn deref(&self) -> &Vec<u8> {
                &self.buf
            }
        }

        impl $(<$lt>)? DerefMut for $guard $(<$lt>)? {
            #[inline]
            fn deref_mut(&mut self) -> &mut Vec<u8> {
                &mut self.buf
            }
        }

        impl $(<$lt>)? AsRef<[u8]> for $guard $(<$lt>)? {
            fn as_ref(&self) -> &[u8] {
                &self.buf
            }
        }

        impl $(<$lt>)? AsMut<[u8]> for $guard $(<$lt>)? {
            fn as_mut(&mut self) -> &mut [u8] {
                &mut self.buf
            }
        }

        /// Appends, as `Vec<u8>` does, so the guard itself can be handed to
        /// anything that takes `impl Write` (`io::copy`, encoders).
        impl $(<$lt>)? io::Write for $guard $(<$lt>)? {
            #[inline]
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.buf.write(data)
            }
            #[inline]
            fn write_vectored(&mut self, data: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.buf.write_vectored(data)
            }
            #[inline]
            fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
                self.buf.write_all(data)
            }
            #[inline]
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        /// Shows the length and capacity, not the bytes (which may be megabytes).
        impl $(<$lt>)? fmt::Debug for $guard $(<$lt>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field("len", &self.buf.len())
                    .field("capacity", &self.buf.capacity())
                    .finish()
            }
        }
    )*};
}

buf_traits!(PooledBuf<'a>, OwnedPooledBuf);

impl PooledBuf<'_> {
    fn take_buf(&mut self) -> Box<Vec<u8>> {
        // SAFETY: called once, from `drop`; `buf` is not used afterwards.
        unsafe { ManuallyDrop::take(&mut self.buf) }
    }
}

impl OwnedPooledBuf {
    fn take_buf(&mut self) -> Box<Vec<u8>> {
        // SAFETY: called once, from `drop`; `buf` is not used afterwards.
        unsafe { ManuallyDrop::take(&mut self.buf) }
    }
}
