//! Pooled buffers handed on as [`bytes::Bytes`] without a copy (feature
//! `bytes`).
//!
//! hyper, axum and tonic take bodies as `Bytes`. Copying a pooled buffer into
//! one (`Bytes::copy_from_slice`) allocates and copies the whole body;
//! detaching it (`Bytes::from(vec)`) loses the buffer to the pool. The
//! `into_bytes` methods here move the owned guard itself into the `Bytes`
//! with [`Bytes::from_owner`]: the `Bytes` points at the buffer's own bytes,
//! its clones and slices share them, and when the last of them drops, on any
//! thread, the guard drops and the buffer goes back to its pool like any
//! other return (reset policy, counted in `returned`).
//!
//! What it costs and how long the buffer stays out: at
//! `OwnedPooled<Vec<u8>>::into_bytes`.

use crate::{OwnedPooled, OwnedPooledBuf};
use ::bytes::{Bytes, BytesMut};
use std::ops::Deref;

/// The owner handed to [`Bytes::from_owner`]: an owned guard, lent out as
/// the initialised bytes of the buffer it derefs to.
///
/// `from_owner` moves the owner to its final place on the heap, calls
/// `as_ref` once and keeps the slice until the owner drops. The slice stays
/// valid that long: the guard's buffer lives in its own allocation (moving
/// the guard does not move it), and nothing can reach the guard to change
/// the buffer once it is inside this private wrapper. Dropping the wrapper
/// drops the guard, which returns the buffer.
struct Lent<G>(G);

impl<G> AsRef<[u8]> for Lent<G>
where
    G: Deref,
    G::Target: AsRef<[u8]>,
{
    fn as_ref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl OwnedPooled<Vec<u8>> {
    /// Turns the pooled buffer into a [`Bytes`] without copying: the `Bytes`
    /// covers the buffer's `len()` initialised bytes where they are, and the
    /// buffer goes back to its pool (through its reset policy, counted in
    /// `returned`) when the last clone or slice of the `Bytes` drops, on
    /// whichever thread that is.
    ///
    /// * **Cost**: one small allocation, the `Bytes`' reference-counted
    ///   header (`Bytes::from_owner` boxes the guard), whatever the buffer's
    ///   size; copying instead would allocate the body's size and copy it.
    /// * **Hold times**: the buffer stays out of the pool, counted in
    ///   `in_use`, while any slice of it is alive; a short slice kept for
    ///   long keeps the whole buffer. Copy what you keep
    ///   (`Bytes::copy_from_slice`).
    /// * **After the pool**: the guard holds the pool's state, so the `Bytes`
    ///   may outlive every handle to the pool; the buffer then returns into
    ///   that state, which is freed with it once nothing else holds it.
    /// * **Read-only**: turning the `Bytes` into a `BytesMut` or `Vec<u8>`
    ///   copies (the bytes crate never lends a foreign owner's memory as
    ///   mutable) and releases this handle's share.
    ///
    /// ```
    /// use shardpool::Pool;
    ///
    /// let pool = Pool::builder().recycle(64 << 10).build(|| Vec::with_capacity(4096));
    /// let mut buf = pool.get_owned();
    /// buf.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\nhello");
    /// let at = buf.as_ptr();
    ///
    /// let response: bytes::Bytes = buf.into_bytes(); // no copy
    /// assert_eq!(response.as_ptr(), at);
    /// let body = response.slice(19..); // shares the same buffer
    /// drop(response);
    /// assert_eq!(pool.stats().in_use(), 1); // `body` still holds it
    ///
    /// // The last handle drops on another thread: the buffer goes back.
    /// std::thread::spawn(move || assert_eq!(&body[..], b"hello")).join().unwrap();
    /// let stats = pool.stats();
    /// assert_eq!((stats.in_use(), stats.returned, stats.idle), (0, 1, 1));
    /// assert_eq!(pool.get_owned().as_ptr(), at); // and is reused
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(Lent(self))
    }
}

impl OwnedPooled<BytesMut> {
    /// Turns the pooled `BytesMut` into a [`Bytes`] without copying, as
    /// `OwnedPooled<Vec<u8>>::into_bytes` does a `Vec<u8>` (same cost, hold
    /// times and lifetime): the `Bytes` covers the buffer's initialised
    /// bytes, and the `BytesMut` goes back to its pool when the last clone
    /// drops.
    ///
    /// Unlike `BytesMut::freeze`, which keeps the allocation in the frozen
    /// `Bytes` and leaves the pool a shrunken or new buffer, this returns the
    /// whole `BytesMut`, its allocation intact, for reuse.
    ///
    /// ```
    /// use bytes::{BufMut, BytesMut};
    /// use shardpool::Pool;
    ///
    /// let pool = Pool::builder().recycle(64 << 10).build(|| BytesMut::with_capacity(4096));
    /// let mut buf = pool.get_owned();
    /// buf.put_slice(b"{\"ok\":true}");
    /// let frame: bytes::Bytes = buf.into_bytes();
    /// assert_eq!(&frame[..], b"{\"ok\":true}");
    /// drop(frame);
    /// assert_eq!(pool.get_owned().capacity(), 4096); // back, cleared, full size
    /// assert_eq!(pool.stats().created, 1);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(Lent(self))
    }
}

impl OwnedPooledBuf {
    /// Turns the buffer into a [`Bytes`] without copying: the `Bytes` covers
    /// the buffer's `len()` initialised bytes, and the buffer goes back to
    /// its pool's size class (as a dropped guard's does) when the last clone
    /// or slice of the `Bytes` drops, on whichever thread that is.
    ///
    /// Cost, hold times and lifetime as for `OwnedPooled<Vec<u8>>::into_bytes`:
    /// one small allocation; the buffer is out while any slice is alive; a
    /// `Bytes` may outlive the pool's handles.
    ///
    /// ```
    /// use shardpool::BufferPool;
    /// use std::io::Write;
    ///
    /// let pool = BufferPool::new();
    /// let mut buf = pool.get_owned(3000);
    /// write!(buf, "{{\"items\":[{}]}}", 42).unwrap();
    /// let body: bytes::Bytes = buf.into_bytes();
    /// assert_eq!(&body[..], b"{\"items\":[42]}");
    /// drop(pool); // the last handle: the `Bytes` keeps the pool's state alive
    /// drop(body); // the buffer returns to it; the state is freed with it
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(Lent(self))
    }
}
