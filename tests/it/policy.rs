//! The ready-made reset policies: clear on return, reject capacity above a
//! limit (the fix for Go's issue 23199), and weigh by capacity.

use shardpool::{Pool, Recycle, policy};
use std::collections::{HashMap, VecDeque};

/// `recycle` clears kept objects and drops those grown past the limit.
#[test]
fn recycle_clears_and_rejects_oversized() {
    let pool = Pool::builder()
        .recycle(1024)
        .build(|| Vec::<u8>::with_capacity(256));
    let mut small = pool.get();
    small.extend_from_slice(&[1; 100]);
    drop(small);
    assert!(pool.get().is_empty(), "cleared on return");
    let mut big = pool.get();
    big.resize(4096, 0);
    drop(big);
    let s = pool.stats();
    assert_eq!(s.dropped_by_policy, 1, "{s:?}");
}

/// The limit is in bytes of the container's own allocation, for each type.
#[test]
fn capacity_bytes_per_container() {
    let v: Vec<u64> = Vec::with_capacity(10);
    assert_eq!(v.capacity_bytes(), v.capacity() * 8);
    let s = String::with_capacity(33);
    assert_eq!(s.capacity_bytes(), s.capacity());
    let d: VecDeque<u32> = VecDeque::with_capacity(5);
    assert_eq!(d.capacity_bytes(), d.capacity() * 4);
    let m: HashMap<u32, u32> = HashMap::with_capacity(10);
    assert!(m.capacity_bytes() >= m.capacity() * 8);
    let keep = policy::recycle::<String>(16);
    let mut short = String::from("hello");
    assert!(keep(&mut short) && short.is_empty());
    let mut long = String::with_capacity(100);
    long.push('x');
    assert!(!keep(&mut long));
    assert_eq!(long, "x", "a rejected value is left as it was");
}

/// With `recycle`, the byte budget weighs objects by capacity.
#[test]
fn recycle_weighs_by_capacity_for_the_budget() {
    let pool = Pool::builder()
        .recycle(1 << 20)
        .max_idle_bytes(3000)
        .build(|| Vec::<u8>::with_capacity(1000));
    let held: Vec<_> = (0..6).map(|_| pool.get()).collect();
    drop(held);
    let s = pool.stats();
    // One object is the private slot (the budget's slack); three fit the
    // 3000-byte budget in the shared list; two are dropped.
    assert_eq!(
        (s.idle, s.idle_bytes, s.dropped_by_budget),
        (4, 3000, 2),
        "{s:?}"
    );
}

#[cfg(feature = "bytes")]
#[test]
fn bytes_mut_policy() {
    let pool = Pool::builder()
        .recycle(4096)
        .build(|| bytes::BytesMut::with_capacity(512));
    let mut b = pool.get();
    b.extend_from_slice(b"abc");
    drop(b);
    assert!(pool.get().is_empty());
}

/// With the `bytes` feature, `BytesMut` joins the ready-made policy: cleared
/// on return, rejected above the limit, weighed by capacity.
#[cfg(feature = "bytes")]
#[test]
fn bytes_mut_recycles() {
    use bytes::{BufMut, BytesMut};
    let pool = Pool::builder()
        .recycle(8 << 10)
        .build(|| BytesMut::with_capacity(1024));
    let mut buf = pool.get();
    buf.put_slice(b"GET / HTTP/1.1\r\n");
    drop(buf);
    let again = pool.get();
    assert!(
        again.is_empty() && again.capacity() >= 1024,
        "cleared, capacity kept"
    );
    drop(again);
    let mut big = pool.get();
    big.reserve(64 << 10);
    drop(big);
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_by_policy), (1, 1), "{s:?}");
    assert_eq!(BytesMut::with_capacity(4096).capacity_bytes(), 4096);
}
