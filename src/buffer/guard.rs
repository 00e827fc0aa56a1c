//! Buffer guards: a `Vec<u8>` on loan from a [`BufferPool`], returned to the
//! class its capacity fits when the guard drops.
//!
//! The guards hold the buffer itself and the index of the class it came from,
//! not a class pool's `Pooled` guard: a buffer whose capacity changed while
//! out must go back to a different class, which needs the whole pool.

use super::{BufferPool, Inner};
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

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
    /// The pool's state directly (not the handle): one load less per return.
    pool: &'a Inner,
    /// Index of the class the buffer came from, or `OVERSIZE`.
    class: usize,
    /// Always present, except inside `drop`, which takes it.
    buf: ManuallyDrop<Box<Vec<u8>>>,
}

impl<'a> PooledBuf<'a> {
    #[inline(always)]
    pub(crate) fn new(pool: &'a Inner, buf: Box<Vec<u8>>, class: usize) -> Self {
        PooledBuf {
            pool,
            class,
            buf: ManuallyDrop::new(buf),
        }
    }

    /// Takes the buffer out of the pool's care: the pool forgets it (its class
    /// counts it in [`Stats::detached`](crate::Stats::detached)). Hand it back
    /// later, if you like, with [`BufferPool::put`].
    ///
    /// An associated function (`PooledBuf::detach(buf)`) so that it cannot
    /// shadow a method of `Vec<u8>`.
    pub fn detach(this: Self) -> Vec<u8> {
        *PooledBuf::detach_boxed(this)
    }

    /// Like [`detach`](PooledBuf::detach), keeping the buffer in its box (no
    /// move).
    pub fn detach_boxed(this: Self) -> Box<Vec<u8>> {
        let mut this = ManuallyDrop::new(this);
        this.pool.note_detached(this.class);
        // SAFETY: `this` is never dropped, so `buf` is taken only here.
        unsafe { ManuallyDrop::take(&mut this.buf) }
    }
}

impl Drop for PooledBuf<'_> {
    #[inline]
    fn drop(&mut self) {
        let buf = self.take_buf();
        self.pool.give_back(buf, self.class);
    }
}

/// A buffer borrowed from a [`BufferPool`] by
/// [`get_owned`](BufferPool::get_owned): like [`PooledBuf`], but `'static`,
/// so it can move into spawned tasks and threads; it holds a handle to the
/// pool, which stays alive until the buffer is returned.
///
/// Get one with [`BufferPool::get_owned`].
pub struct OwnedPooledBuf {
    pool: BufferPool,
    /// As in [`PooledBuf`].
    class: usize,
    /// Always present, except inside `drop`, which takes it.
    buf: ManuallyDrop<Box<Vec<u8>>>,
}

impl OwnedPooledBuf {
    pub(crate) fn new(pool: BufferPool, buf: Box<Vec<u8>>, class: usize) -> Self {
        OwnedPooledBuf {
            pool,
            class,
            buf: ManuallyDrop::new(buf),
        }
    }

    /// Takes the buffer out of the pool's care (see [`PooledBuf::detach`]).
    pub fn detach(this: Self) -> Vec<u8> {
        *OwnedPooledBuf::detach_boxed(this)
    }

    /// Like [`detach`](OwnedPooledBuf::detach), keeping the buffer in its box.
    pub fn detach_boxed(this: Self) -> Box<Vec<u8>> {
        let mut this = ManuallyDrop::new(this);
        this.pool.inner().note_detached(this.class);
        // SAFETY: `this` is never dropped, so each field is taken only here;
        // the pool handle is dropped (one reference count), the box returned.
        let (pool, buf) = unsafe {
            (
                std::ptr::read(&this.pool),
                ManuallyDrop::take(&mut this.buf),
            )
        };
        drop(pool);
        buf
    }

    /// A handle to the pool this buffer came from.
    pub fn pool(this: &Self) -> BufferPool {
        this.pool.clone()
    }
}

impl Drop for OwnedPooledBuf {
    #[inline]
    fn drop(&mut self) {
        let buf = self.take_buf();
        self.pool.inner().give_back(buf, self.class);
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
