//! `into_bytes` (feature `bytes`): owned pooled buffers handed on as
//! `bytes::Bytes` without a copy, returned to their pool when the last clone
//! or slice drops, whatever thread that is and whether or not a handle to the
//! pool is left. Proves, for `OwnedPooled<Vec<u8>>`, `OwnedPooledBuf` and
//! `OwnedPooled<BytesMut>`: no copy (same address), exactly the initialised
//! bytes, one return per buffer through the reset policy (I2: never lost,
//! never twice), and the accounting identity of I9 afterwards, with `in_use`
//! taken from the test's own count of live buffers rather than from the
//! identity itself.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use shardpool::{BufferPool, Pool, Stats};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;

/// The accounting identity at a quiet moment, with `live` the number of
/// buffers the test knows to be out (in a guard or a `Bytes`).
fn assert_accounted(stats: &Stats, live: u64) {
    assert_eq!(
        stats.created + stats.adopted,
        stats.idle + stats.dropped() + stats.detached + live,
        "accounting identity: {stats:#?}"
    );
    assert_eq!(stats.in_use(), live, "{stats:#?}");
    assert_eq!(
        stats.gets,
        stats.returned + stats.detached + live,
        "{stats:#?}"
    );
}

fn vec_pool() -> Pool<Vec<u8>> {
    Pool::builder()
        .recycle(64 << 10)
        .build(|| Vec::with_capacity(256))
}

fn bytes_mut_pool() -> Pool<BytesMut> {
    Pool::builder()
        .recycle(64 << 10)
        .build(|| BytesMut::with_capacity(256))
}

fn buffer_pool() -> BufferPool {
    BufferPool::builder().min_class_size(64).build()
}

#[test]
fn into_bytes_shares_the_buffer_and_covers_its_initialised_bytes() {
    let text = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    let pool = vec_pool();
    let mut buf = pool.get_owned();
    buf.extend_from_slice(text);
    assert!(buf.capacity() > text.len());
    let at = buf.as_ptr();
    let bytes = buf.into_bytes();
    assert_eq!((bytes.as_ptr(), &bytes[..]), (at, &text[..]));
    drop(bytes);

    let buffers = buffer_pool();
    let mut buf = buffers.get_owned(1000);
    buf.extend_from_slice(text);
    let at = buf.as_ptr();
    let bytes = buf.into_bytes();
    assert_eq!((bytes.as_ptr(), &bytes[..]), (at, &text[..]));

    let frames = bytes_mut_pool();
    let mut buf = frames.get_owned();
    buf.put_slice(text);
    let at = buf.as_ptr();
    let bytes = buf.into_bytes();
    assert_eq!((bytes.as_ptr(), &bytes[..]), (at, &text[..]));

    // An empty buffer gives an empty `Bytes`, which still holds it.
    let empty = pool.get_owned().into_bytes();
    assert!(empty.is_empty());
    assert_eq!(pool.stats().in_use(), 1);
    drop(empty);
    assert_accounted(&pool.stats(), 0);
}

#[test]
fn the_last_clone_returns_the_buffer_once_on_another_thread() {
    const THREADS: usize = 4;
    let resets = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&resets);
    let pool = Pool::builder()
        .reset(move |b: &mut Vec<u8>| {
            counted.fetch_add(1, SeqCst);
            b.clear();
            true
        })
        .build(|| Vec::with_capacity(256));
    let mut buf = pool.get_owned();
    buf.extend((0..200).map(|i| i as u8));
    let at = buf.as_ptr();
    let bytes = buf.into_bytes();

    // Clones and slices, dropped at once on several threads.
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let mine = [bytes.clone(), bytes.slice(i * 10..i * 10 + 50)];
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                assert_eq!(mine[1][0], (i * 10) as u8);
                drop(mine);
            })
        })
        .collect();
    drop(bytes);
    for h in handles {
        h.join().unwrap();
    }

    assert_eq!(resets.load(SeqCst), 1, "returned once, through the policy");
    let stats = pool.stats();
    assert_eq!((stats.returned, stats.idle), (1, 1), "{stats:#?}");
    assert_accounted(&stats, 0);
    // The exited thread's buffer is reachable from here (I6): reused, not
    // made anew.
    assert_eq!(pool.get_owned().as_ptr(), at);
    assert_eq!(pool.stats().created, 1);
}

#[test]
fn the_reset_policy_decides_as_for_any_return() {
    // Grown past the recycle limit while out: dropped when the last clone goes.
    let pool = Pool::builder().recycle(1024).build(Vec::<u8>::new);
    let mut buf = pool.get_owned();
    buf.resize(4096, 7);
    let bytes = buf.into_bytes();
    let tail = bytes.slice(4000..);
    drop(bytes);
    assert_eq!(pool.stats().dropped_by_policy, 0);
    drop(tail);
    let stats = pool.stats();
    assert_eq!((stats.dropped_by_policy, stats.idle), (1, 0), "{stats:#?}");
    assert_accounted(&stats, 0);
}

/// The entries `stats_all` lists under `name` (a `BufferPool` lists one per
/// class, `name/<size>`).
fn listed(name: &str) -> Vec<Stats> {
    shardpool::stats_all()
        .into_iter()
        .filter(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| n == name || n.starts_with(&format!("{name}/")))
        })
        .map(|p| p.stats)
        .collect()
}

#[test]
fn bytes_outlive_every_handle_to_the_pool() {
    // A `Pool`: the `Bytes` keeps its state alive; the buffer goes back into
    // it (the policy runs) and the state is freed with the last clone.
    let name = "it-bytes-outlive-pool";
    let resets = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&resets);
    let pool = Pool::builder()
        .name(name)
        .reset(move |b: &mut Vec<u8>| {
            counted.fetch_add(1, SeqCst);
            b.clear();
            true
        })
        .build(|| Vec::with_capacity(64));
    let mut buf = pool.get_owned();
    buf.extend_from_slice(b"still here");
    let bytes = buf.into_bytes();
    drop(pool);
    let live = listed(name);
    assert_eq!(live.len(), 1, "the state lives on");
    assert_accounted(&live[0], 1);
    let clone = bytes.clone();
    drop(bytes);
    thread::spawn(move || assert_eq!(&clone[..], b"still here"))
        .join()
        .unwrap();
    assert_eq!(resets.load(SeqCst), 1, "returned through the policy");
    assert!(listed(name).is_empty(), "the state was freed");

    // A `BufferPool` likewise.
    let name = "it-bytes-outlive-buffers";
    let buffers = BufferPool::builder().name(name).build();
    let mut buf = buffers.get_owned(3000);
    buf.extend_from_slice(b"{\"k\":1}");
    let bytes = buf.into_bytes();
    drop(buffers);
    let classes = listed(name);
    assert!(!classes.is_empty(), "the state lives on");
    assert_eq!(classes.iter().map(Stats::in_use).sum::<u64>(), 1);
    thread::spawn(move || assert_eq!(&bytes[..], b"{\"k\":1}"))
        .join()
        .unwrap();
    assert!(listed(name).is_empty(), "the state was freed");
}

/// Which pool a buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Vec,
    Buffers,
    BytesMut,
}

#[derive(Debug, Clone)]
enum Op {
    /// A buffer from `source`, `len` bytes written, turned into `Bytes`.
    Take(Source, usize),
    Clone(usize),
    /// `slice(from..to)`, bounds taken modulo the length.
    Slice(usize, usize, usize),
    /// `split_to(n)`: both halves stay.
    SplitTo(usize, usize),
    Truncate(usize, usize),
    Drop(usize),
    /// Dropped on a thread of its own.
    DropElsewhere(usize),
    /// Copied out into a `Vec<u8>`, which releases the handle's share.
    IntoVec(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let source = prop_oneof![
        Just(Source::Vec),
        Just(Source::Buffers),
        Just(Source::BytesMut)
    ];
    let i = any::<usize>();
    prop_oneof![
        3 => (source, 0..300usize).prop_map(|(s, n)| Op::Take(s, n)),
        3 => i.prop_map(Op::Clone),
        2 => (i, i, i).prop_map(|(h, a, b)| Op::Slice(h, a, b)),
        1 => (i, i).prop_map(|(h, n)| Op::SplitTo(h, n)),
        1 => (i, i).prop_map(|(h, n)| Op::Truncate(h, n)),
        3 => i.prop_map(Op::Drop),
        1 => i.prop_map(Op::DropElsewhere),
        1 => i.prop_map(Op::IntoVec),
    ]
}

/// A live `Bytes`, the bytes it must show, and the buffer it was made from.
///
/// A non-empty handle shares its buffer. An empty one may or may not: the
/// bytes crate gives empty slices and splits no share of the owner, while a
/// clone or a truncation keeps it; the model allows either.
struct Handle {
    bytes: Bytes,
    expected: Vec<u8>,
    buffer: usize,
}

/// The three pools and the model.
struct Model {
    vec: Pool<Vec<u8>>,
    buffers: BufferPool,
    bytes_mut: Pool<BytesMut>,
    /// The source of each buffer taken.
    buffer_of: Vec<Source>,
    handles: Vec<Handle>,
}

impl Model {
    fn stats(&self, source: Source) -> Stats {
        match source {
            Source::Vec => self.vec.stats(),
            Source::Buffers => self.buffers.stats().total,
            Source::BytesMut => self.bytes_mut.stats(),
        }
    }

    fn take(&mut self, source: Source, len: usize) {
        let id = self.buffer_of.len();
        let content: Vec<u8> = (0..len).map(|i| (id * 7 + i) as u8).collect();
        let bytes = match source {
            Source::Vec => {
                let mut buf = self.vec.get_owned();
                buf.extend_from_slice(&content);
                buf.into_bytes()
            }
            Source::Buffers => {
                let mut buf = self.buffers.get_owned(len);
                buf.extend_from_slice(&content);
                buf.into_bytes()
            }
            Source::BytesMut => {
                let mut buf = self.bytes_mut.get_owned();
                buf.put_slice(&content);
                buf.into_bytes()
            }
        };
        self.buffer_of.push(source);
        self.handles.push(Handle {
            bytes,
            expected: content,
            buffer: id,
        });
    }

    fn add(&mut self, bytes: Bytes, expected: Vec<u8>, buffer: usize) {
        self.handles.push(Handle {
            bytes,
            expected,
            buffer,
        });
    }

    /// Removes handle `i` (modulo the count) from the model.
    fn remove(&mut self, i: usize) -> Option<Handle> {
        if self.handles.is_empty() {
            return None;
        }
        Some(self.handles.swap_remove(i % self.handles.len()))
    }

    fn apply(&mut self, op: Op) {
        let n = self.handles.len();
        match op {
            Op::Take(source, len) => self.take(source, len),
            _ if n == 0 => {}
            Op::Clone(i) => {
                let h = &self.handles[i % n];
                let (bytes, expected, buffer) = (h.bytes.clone(), h.expected.clone(), h.buffer);
                self.add(bytes, expected, buffer);
            }
            Op::Slice(i, a, b) => {
                let h = &self.handles[i % n];
                let len = h.bytes.len();
                let (mut from, mut to) = (a % (len + 1), b % (len + 1));
                if from > to {
                    (from, to) = (to, from);
                }
                let (bytes, expected, buffer) = (
                    h.bytes.slice(from..to),
                    h.expected[from..to].to_vec(),
                    h.buffer,
                );
                self.add(bytes, expected, buffer);
            }
            Op::SplitTo(i, k) => {
                let h = &mut self.handles[i % n];
                let k = k % (h.bytes.len() + 1);
                let front = h.bytes.split_to(k);
                let expected: Vec<u8> = h.expected.drain(..k).collect();
                let buffer = h.buffer;
                self.add(front, expected, buffer);
            }
            Op::Truncate(i, k) => {
                let h = &mut self.handles[i % n];
                let k = k % (h.bytes.len() + 1);
                h.bytes.truncate(k);
                h.expected.truncate(k);
            }
            Op::Drop(i) => drop(self.remove(i)),
            Op::DropElsewhere(i) => {
                if let Some(h) = self.remove(i) {
                    let Handle {
                        bytes, expected, ..
                    } = h;
                    thread::spawn(move || assert_eq!(bytes, expected))
                        .join()
                        .unwrap();
                }
            }
            Op::IntoVec(i) => {
                if let Some(h) = self.remove(i) {
                    let copy: Vec<u8> = h.bytes.into();
                    assert_eq!(copy, h.expected);
                }
            }
        }
    }

    /// Every handle shows its bytes. Each pool has out every buffer a
    /// non-empty handle shares (it must not be reused while read), has
    /// back every buffer no handle came from, and counts consistently.
    fn check(&self) {
        // Per buffer: (some handle came from it, some non-empty one did).
        let mut held = vec![(false, false); self.buffer_of.len()];
        for h in &self.handles {
            assert_eq!(h.bytes, h.expected);
            let (any, nonempty) = &mut held[h.buffer];
            *any = true;
            *nonempty |= !h.bytes.is_empty();
        }
        for source in [Source::Vec, Source::Buffers, Source::BytesMut] {
            let (mut all, mut at_least, mut at_most) = (0u64, 0u64, 0u64);
            for (&s, &(any, nonempty)) in self.buffer_of.iter().zip(&held) {
                if s == source {
                    all += 1;
                    at_least += u64::from(nonempty);
                    at_most += u64::from(any);
                }
            }
            let stats = self.stats(source);
            let live = all - stats.returned.min(all);
            assert!(
                (at_least..=at_most).contains(&live),
                "{source:?}: {live} out, expected {at_least}..={at_most}: {stats:#?}"
            );
            assert_accounted(&stats, live);
        }
    }
}

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 3 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    /// Any order of takes, clones, slices, splits, truncations and drops
    /// (here or on other threads) returns each buffer exactly once, when its
    /// last handle goes, and every handle reads its own bytes until then.
    #[test]
    fn clone_slice_drop_orders_return_each_buffer_once(
        ops in prop::collection::vec(op(), 1..if cfg!(miri) { 16 } else { 48 }),
        drop_rest_elsewhere in any::<bool>(),
    ) {
        let mut model = Model {
            vec: vec_pool(),
            buffers: buffer_pool(),
            bytes_mut: bytes_mut_pool(),
            buffer_of: Vec::new(),
            handles: Vec::new(),
        };
        for op in ops {
            model.apply(op);
            model.check();
        }
        while !model.handles.is_empty() {
            model.apply(if drop_rest_elsewhere { Op::DropElsewhere(0) } else { Op::Drop(0) });
        }
        // Nothing left: every buffer back, exactly once.
        model.check();
        for source in [Source::Vec, Source::Buffers, Source::BytesMut] {
            let taken = model.buffer_of.iter().filter(|&&s| s == source).count() as u64;
            prop_assert_eq!(model.stats(source).returned, taken);
        }
    }
}
