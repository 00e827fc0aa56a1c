//! Ready-made reset policies for the common containers.
//!
//! A pool of buffers whose sizes vary keeps, by default, the largest each
//! object ever grew to: Go's `sync.Pool` users saw gigabytes pinned that way
//! (golang/go#23199). [`recycle`] clears an object on return and drops it
//! instead if its capacity grew beyond a limit; [`Builder::recycle`] installs
//! it together with a matching byte measure for `max_idle_bytes`.
//!
//! [`Builder::recycle`]: crate::Builder::recycle

use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::mem::size_of;

/// A container that can be emptied for reuse and measured.
pub trait Recycle {
    /// Empties the value, keeping its allocation.
    fn clear_for_reuse(&mut self);

    /// Bytes held by the value's own allocation (capacity times element
    /// size; nested allocations, such as the `String`s in a `Vec<String>`,
    /// are not counted).
    fn capacity_bytes(&self) -> usize;
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

impl<T> Recycle for Vec<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
}

impl Recycle for String {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T> Recycle for VecDeque<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
}

impl<T: Ord> Recycle for BinaryHeap<T> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
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
}

/// Approximate, as for `HashMap`.
impl<T, S: BuildHasher> Recycle for HashSet<T, S> {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity() * (size_of::<T>() + 1)
    }
}

/// With the `bytes` feature.
#[cfg(feature = "bytes")]
impl Recycle for bytes::BytesMut {
    fn clear_for_reuse(&mut self) {
        self.clear();
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
}
