//! Ready-made reset policies for the common containers.
//!
//! A pool of buffers whose sizes vary keeps, by default, the largest each
//! object ever grew to: Go's `sync.Pool` users saw gigabytes pinned that way
//! (golang/go#23199). [`recycle`] clears an object on return and drops it
//! instead if its capacity grew beyond a limit; [`Builder::recycle`] installs
//! it together with a matching byte measure for `max_idle_bytes`.
//!
//! A cap on capacity does not catch the slower failure of golang/go#27735:
//! buffers grew during a burst, stayed under the cap, and then the workload
//! shrank, so every request borrows a large buffer and fills a sliver of it.
//! [`Fitted`] carries a count of how many returns in a row its buffer was
//! mostly empty, and [`recycle_fitted`] drops a buffer once that count
//! reaches a limit, so the pool's next `create` makes one of the usual size.
//!
//! With the `bytes` feature, `BytesMut` recycles through
//! [`BytesMut::try_reclaim`] (bytes ≥ 1.7), and `reclaim_bytes_mut` serves
//! buffers whose frames are split off and frozen.
//!
//! [`BytesMut::try_reclaim`]: https://docs.rs/bytes/1/bytes/struct.BytesMut.html#method.try_reclaim
//!
//! [`Builder::recycle`]: crate::Builder::recycle

use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::mem::size_of;
use std::ops::{Deref, DerefMut};

/// A container that can be emptied for reuse and measured.
pub trait Recycle {
    /// Empties the value, keeping its allocation.
    fn clear_for_reuse(&mut self);

    /// Bytes held by the value's own allocation (capacity times element
    /// size; nested allocations, such as the `String`s in a `Vec<String>`,
    /// are not counted).
    fn capacity_bytes(&self) -> usize;

    /// Bytes of that capacity in use: length times element size. Read on
    /// return, before the value is cleared, by [`recycle_fitted`].
    ///
    /// The default says "all of it", which makes the value never count as
    /// underused; the containers here override it.
    fn used_bytes(&self) -> usize {
        self.capacity_bytes()
    }
}

/// A reset policy: clears the object and keeps it if its capacity is at most
/// `max_capacity_bytes`, drops it otherwise.
///
/// ```
/// use shardpool::{Pool, policy};
///
/// let pool = Pool::builder()
///     .reset(policy::recycle::<Vec<u8>>(64 * 1024))
///     .build(|| Vec::with_capacity(4096));
/// let mut big = pool.get();
/// big.resize(1 << 20, 0); // grew to 1 MiB while in use
/// drop(big);              // dropped on return, not kept
/// assert_eq!(pool.stats().dropped_by_policy, 1);
/// ```
pub fn recycle<T: Recycle>(
    max_capacity_bytes: usize,
) -> impl Fn(&mut T) -> bool + Send + Sync + Clone {
    move |value: &mut T| {
        if value.capacity_bytes() > max_capacity_bytes {
            return false;
        }
        value.clear_for_reuse();
        true
    }
}

/// When a [`Fitted`] buffer counts as underused, and for how long that is
/// tolerated.
///
/// A return counts as underused when the bytes in use are below
/// `1 / fraction` of the capacity; after `returns` such returns in a row the
/// buffer is dropped. One return that uses more starts the count again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Underuse {
    /// Underused means `used × fraction < capacity` (4: under a quarter).
    pub fraction: usize,
    /// Underused returns in a row before the buffer is dropped.
    pub returns: u32,
}

impl Underuse {
    /// Under `1 / fraction` of capacity for `returns` returns in a row.
    pub const fn new(fraction: usize, returns: u32) -> Underuse {
        Underuse { fraction, returns }
    }
}

/// Under a quarter of capacity for 16 returns in a row.
impl Default for Underuse {
    fn default() -> Underuse {
        Underuse::new(4, 16)
    }
}

/// A pooled buffer that remembers how many returns in a row it was mostly
/// empty, for [`recycle_fitted`] (the fix for golang/go#27735).
///
/// A reset policy sees only the object, so the history has to live in it:
/// `Fitted<B>` is `B` plus a counter, and derefs to `B`, so code that used a
/// `Pool<Vec<u8>>` keeps working on a `Pool<Fitted<Vec<u8>>>` unchanged.
///
/// "Used" is [`Recycle::used_bytes`] at the moment of return (the length, for
/// the containers here), so return the buffer with its contents and let the
/// policy clear it. Code that empties a buffer itself before returning it
/// (`split().freeze()`, `drain(..)`) can report what it used with
/// [`note_used`](Fitted::note_used).
///
/// ```
/// use shardpool::Pool;
/// use shardpool::policy::{self, Fitted, Recycle, Underuse};
///
/// let pool = Pool::builder()
///     .reset(policy::recycle_fitted::<Vec<u8>>(1 << 20, Underuse::new(4, 3)))
///     .weigh(|b: &Fitted<Vec<u8>>| b.capacity_bytes())
///     .build(|| Fitted::new(Vec::with_capacity(4096)));
///
/// let mut burst = pool.get();
/// burst.resize(64 << 10, 1); // a burst grew it to 64 KiB
/// drop(burst);
/// for _ in 0..3 {
///     let mut quiet = pool.get(); // the same buffer, now mostly empty
///     quiet.extend_from_slice(b"GET / HTTP/1.1\r\n");
/// }
/// // The third underused return in a row dropped it.
/// assert_eq!(pool.stats().dropped_by_policy, 1);
/// assert_eq!(pool.get().capacity(), 4096);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Fitted<B> {
    /// The buffer.
    buf: B,
    /// Underused returns in a row, counted by `recycle_fitted`.
    underused: u32,
    /// The most bytes reported by `note_used` since the last return.
    noted: usize,
}

impl<B> Fitted<B> {
    /// Wraps a buffer with no history.
    pub const fn new(buf: B) -> Fitted<B> {
        Fitted {
            buf,
            underused: 0,
            noted: 0,
        }
    }

    /// The buffer, without its history.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// How many returns in a row so far found the buffer underused.
    pub fn underused_returns(&self) -> u32 {
        self.underused
    }

    /// Records that this use needed `bytes` bytes, for code that empties the
    /// buffer before returning it. The policy takes the larger of this and
    /// the bytes in use at return, and forgets it once the buffer is back.
    pub fn note_used(&mut self, bytes: usize) {
        self.noted = self.noted.max(bytes);
    }
}

impl<B> From<B> for Fitted<B> {
    fn from(buf: B) -> Fitted<B> {
        Fitted::new(buf)
    }
}

impl<B> Deref for Fitted<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.buf
    }
}

impl<B> DerefMut for Fitted<B> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.buf
    }
}

/// A reset policy for [`Fitted`] buffers: drops a buffer whose capacity
/// exceeds `max_capacity_bytes` (as [`recycle`] does) or that `underuse`
/// says has stayed mostly empty for too long; clears and keeps it otherwise.
///
/// Weigh such a pool for `max_idle_bytes` with
/// `.weigh(|b: &Fitted<B>| b.capacity_bytes())`; `Builder::recycle` does not
/// apply to `Fitted` (it would install the plain [`recycle`] policy, without
/// the underuse check, so `Fitted` does not implement [`Recycle`]).
pub fn recycle_fitted<B: Recycle>(
    max_capacity_bytes: usize,
    underuse: Underuse,
) -> impl Fn(&mut Fitted<B>) -> bool + Send + Sync + Clone {
    move |fitted: &mut Fitted<B>| {
        let capacity = fitted.buf.capacity_bytes();
        if capacity > max_capacity_bytes {
            return false;
        }
        let used = fitted.buf.used_bytes().max(fitted.noted);
        fitted.noted = 0;
        if used.saturating_mul(underuse.fraction) < capacity {
            fitted.underused = fitted.underused.saturating_add(1);
            if fitted.underused >= underuse.returns {
                return false;
            }
        } else {
            fitted.underused = 0;
        }
        fitted.buf.clear_for_reuse();
        true
    }
}

impl<T> Recycle for Vec<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
    fn used_bytes(&self) -> usize {
        self.len() * size_of::<T>()
    }
}

impl Recycle for String {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
    fn used_bytes(&self) -> usize {
        self.len()
    }
}

impl<T> Recycle for VecDeque<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
    fn used_bytes(&self) -> usize {
        self.len() * size_of::<T>()
    }
}

impl<T: Ord> Recycle for BinaryHeap<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
    fn used_bytes(&self) -> usize {
        self.len() * size_of::<T>()
    }
}

/// Approximate: one entry plus one control byte per slot of capacity.
impl<K, V, S: BuildHasher> Recycle for HashMap<K, V, S> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * (size_of::<(K, V)>() + 1)
    }
    fn used_bytes(&self) -> usize {
        self.len() * (size_of::<(K, V)>() + 1)
    }
}

/// Approximate, as for `HashMap`.
impl<T, S: BuildHasher> Recycle for HashSet<T, S> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * (size_of::<T>() + 1)
    }
    fn used_bytes(&self) -> usize {
        self.len() * (size_of::<T>() + 1)
    }
}

/// With the `bytes` feature. Clearing also takes back, through
/// [`BytesMut::try_reclaim`](bytes::BytesMut::try_reclaim), the front of the
/// allocation that `advance` or `split_to` gave up, when no other handle
/// still points into it; it never allocates.
#[cfg(feature = "bytes")]
impl Recycle for bytes::BytesMut {
    fn clear_for_reuse(&mut self) {
        self.clear();
        // Asking for one byte more than the capacity left makes `try_reclaim`
        // move the view back to the start of the allocation if the allocation
        // is this handle's alone and the view starts past its start; it
        // returns false, changing nothing, otherwise.
        let _ = self.try_reclaim(self.capacity().saturating_add(1));
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
    fn used_bytes(&self) -> usize {
        self.len()
    }
}

/// A reset policy for `BytesMut` buffers created with `capacity` bytes
/// whose contents leave by `split()`/`split_to(n)` and `freeze()` (a codec's
/// read buffer): clears the buffer and reclaims its allocation with
/// [`BytesMut::try_reclaim`](bytes::BytesMut::try_reclaim), so it comes back
/// at full size instead of shrinking by every frame split off it.
///
/// The buffer is dropped instead (counted in `dropped_by_policy`) when its
/// capacity exceeds `max_capacity_bytes`, or when it cannot hold `capacity`
/// bytes without allocating: a frozen `Bytes` split from it is still alive,
/// so the allocation is not this handle's to reuse. Keeping such a buffer
/// would pin the whole allocation while offering only its tail; dropping it
/// releases this handle's share, and the pool creates a full-size one when
/// next asked. Needs bytes ≥ 1.7 (the feature requires it).
///
/// ```
/// use bytes::BytesMut;
/// use shardpool::{Pool, policy};
///
/// let pool = Pool::builder()
///     .reset(policy::reclaim_bytes_mut(4096, 64 << 10))
///     .weigh(BytesMut::capacity)
///     .build(|| BytesMut::with_capacity(4096));
/// let mut buf = pool.get();
/// buf.extend_from_slice(b"frame one");
/// let frame = buf.split().freeze(); // the frame leaves; `buf` shrank
/// drop(frame);                      // done with it
/// drop(buf);                        // reclaimed on return
/// assert_eq!(pool.get().capacity(), 4096);
/// ```
#[cfg(feature = "bytes")]
pub fn reclaim_bytes_mut(
    capacity: usize,
    max_capacity_bytes: usize,
) -> impl Fn(&mut bytes::BytesMut) -> bool + Send + Sync + Clone {
    move |buf: &mut bytes::BytesMut| {
        if buf.capacity() > max_capacity_bytes {
            return false;
        }
        buf.clear();
        // `try_reclaim` returns true at once if the capacity left is enough,
        // reclaims the whole allocation without allocating if this handle is
        // its only one, and returns false otherwise.
        buf.try_reclaim(capacity)
    }
}
