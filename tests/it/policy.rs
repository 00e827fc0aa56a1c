//! The ready-made reset policies: clear on return, reject capacity above a
//! limit (the fix for golang/go#23199: a buffer grown once for a huge request
//! stays pooled and keeps its memory), and weigh by capacity.

use shardpool::Pool;
use shardpool::policy::{self, Recycle};
use shardpool::policy::{Fitted, Underuse};
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

/// A `Fitted` pool with a small underuse limit: under a quarter of capacity
/// for three returns in a row drops the buffer.
fn fitted_pool() -> Pool<Fitted<Vec<u8>>> {
    Pool::builder()
        .reset(policy::recycle_fitted::<Vec<u8>>(
            1 << 20,
            Underuse::new(4, 3),
        ))
        .max_idle_per_thread(0)
        .build(|| Fitted::new(Vec::with_capacity(1000)))
}

/// Takes the pool's one buffer, fills `bytes` of it and returns it; says
/// how many underused returns in a row the buffer had behind it when taken
/// (looking is not a return of its own).
fn use_once(pool: &Pool<Fitted<Vec<u8>>>, bytes: usize) -> u32 {
    let mut buf = pool.get();
    assert!(buf.is_empty(), "cleared on return");
    let before = buf.underused_returns();
    buf.resize(bytes, 7);
    before
}

/// A buffer whose work fills it (here, exactly a quarter) is kept however
/// often it returns, and comes back cleared.
#[test]
fn fitted_keeps_a_buffer_that_is_used() {
    let pool = fitted_pool();
    for _ in 0..20 {
        assert_eq!(use_once(&pool, 250), 0);
    }
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_by_policy), (1, 0), "{s:?}");
}

/// The golang/go#27735 case: a buffer used at under a quarter of its
/// capacity is dropped on the third such return in a row, not before, and
/// the next `get` creates a fresh one.
#[test]
fn fitted_drops_a_buffer_underused_for_n_returns() {
    let pool = fitted_pool();
    assert_eq!(use_once(&pool, 249), 0);
    assert_eq!(use_once(&pool, 249), 1);
    assert_eq!(use_once(&pool, 1), 2);
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_by_policy, s.idle), (1, 1, 0), "{s:?}");
    assert_eq!(use_once(&pool, 500), 0, "a new buffer, no history");
    assert_eq!(pool.stats().created, 2);
}

/// One well-used return starts the count again, so only underuse *in a
/// row* drops a buffer; `note_used` counts as use for code that empties the
/// buffer itself before returning it.
#[test]
fn fitted_count_resets_when_used_again() {
    let pool = fitted_pool();
    use_once(&pool, 10);
    use_once(&pool, 10);
    assert_eq!(use_once(&pool, 900), 2);
    assert_eq!(use_once(&pool, 10), 0, "reset by a full use");
    use_once(&pool, 10);
    let mut buf = pool.get();
    assert_eq!(buf.underused_returns(), 2);
    buf.resize(900, 1);
    let used = buf.len();
    buf.note_used(used);
    buf.clear(); // emptied by the user, e.g. drained into a frame
    drop(buf);
    assert_eq!(use_once(&pool, 10), 0, "note_used counts as use");
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_by_policy), (1, 0), "{s:?}");
}

/// The capacity cap still applies to `Fitted` buffers, and `used_bytes`
/// is in bytes for each container.
#[test]
fn fitted_caps_capacity_and_measures_use() {
    let pool = Pool::builder()
        .reset(policy::recycle_fitted::<Vec<u8>>(4096, Underuse::default()))
        .build(|| Fitted::new(Vec::with_capacity(1000)));
    let mut big = pool.get();
    big.resize(8192, 0);
    drop(big);
    assert_eq!(pool.stats().dropped_by_policy, 1);
    let v: Vec<u32> = vec![1, 2, 3];
    assert_eq!(v.used_bytes(), 12);
    assert_eq!(String::from("hey").used_bytes(), 3);
    let d: VecDeque<u16> = (0..5).collect();
    assert_eq!(d.used_bytes(), 10);
    let f = Fitted::new(vec![0u8; 3]);
    assert_eq!((f.len(), f.into_inner().len()), (3, 3));
}

/// With `bytes`, clearing a `BytesMut` takes back the front of its
/// allocation that `split_to` gave a frame, once that frame is gone: the
/// buffer comes back at full capacity instead of shrinking by every frame.
#[cfg(feature = "bytes")]
#[test]
fn bytes_mut_recycle_reclaims_split_off_space() {
    use bytes::BytesMut;
    let pool = Pool::builder()
        .recycle(1 << 20)
        .build(|| BytesMut::with_capacity(1024));
    let mut buf = pool.get();
    buf.extend_from_slice(&[7; 100]);
    let frame = buf.split_to(100).freeze();
    assert_eq!(buf.capacity(), 924, "the frame took the front");
    drop(frame);
    drop(buf);
    assert_eq!(pool.get().capacity(), 1024, "reclaimed on return");

    // While the frame lives the front is not ours: cleared, nothing moved.
    let mut buf = pool.get();
    buf.extend_from_slice(&[7; 100]);
    let frame = buf.split_to(100).freeze();
    drop(buf);
    assert_eq!(pool.get().capacity(), 924, "shared: left as it was");
    assert_eq!(&frame[..], &[7; 100][..], "the frame is intact");
}

/// `reclaim_bytes_mut` brings a codec buffer back to its full size after
/// `split().freeze()`, and drops it when a frame still shares it.
#[cfg(feature = "bytes")]
#[test]
fn reclaim_bytes_mut_reclaims_or_drops() {
    use bytes::BytesMut;
    let pool = Pool::builder()
        .reset(policy::reclaim_bytes_mut(4096, 64 << 10))
        .build(|| BytesMut::with_capacity(4096));
    for _ in 0..10 {
        let mut buf = pool.get();
        assert_eq!(buf.capacity(), 4096, "full size every time");
        buf.extend_from_slice(&[1; 1000]);
        drop(buf.split().freeze());
        drop(buf);
    }
    assert_eq!(pool.stats().created, 1, "one buffer served all ten");

    let mut buf = pool.get();
    buf.extend_from_slice(&[1; 1000]);
    let live = buf.split().freeze();
    drop(buf);
    let s = pool.stats();
    assert_eq!((s.dropped_by_policy, s.idle), (1, 0), "{s:?}");
    assert_eq!(live.len(), 1000, "the frame keeps the allocation alive");
    drop(live);

    let mut big = pool.get();
    big.reserve(128 << 10);
    drop(big);
    assert_eq!(pool.stats().dropped_by_policy, 2, "over the cap");
}
