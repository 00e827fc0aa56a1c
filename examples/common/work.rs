//! The workloads, as team jobs: `job(thread_index, ops)` runs `ops` get+put
//! cycles on that thread. Inputs go through `black_box`, every buffer is
//! written, and what was written is kept observable (`sink`), so nothing is
//! optimized away, for pools and fresh allocation alike. Objects are held in
//! an `Option` slot and given back with `Source::put_slot`, so guards are
//! dropped where they lie, as in user code (see `put_slot`).

use super::team::Job;
use super::{
    Bytes, CHANNEL_CAP, Kind, MIXED_SIZES, PAYLOAD, RAW_REQUEST, Request, Source, ZEROED_SIZE,
    big_size, sink,
};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::hint::black_box;

/// A buffer workload (each a criterion group; see the README's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Get a 4 KiB buffer, write 64 B, return it.
    Single,
    /// Hold `k` 4 KiB buffers (each written), then return them all.
    Hold(usize),
    /// Get a 256 KiB buffer, write 64 B into each of its 64 pages, return it.
    Big,
    /// Hold `k` 256 KiB buffers (each page written), then return them all.
    BigHold(usize),
    /// Buffers of 1, 4, 16, 64, 256 KiB in turn, every page written.
    Mixed,
    /// A 64 KiB zero-filled buffer; write 64 B at its start.
    Zeroed,
}

/// The job for `load` on `source`.
pub fn bytes_job<'s, S>(load: Load, source: &'s S) -> Box<Job<'s>>
where
    S: Source,
    S::Obj: Bytes,
{
    match load {
        Load::Single => Box::new(move |_, ops| single(source, ops)),
        Load::Hold(k) => {
            Box::new(move |_, ops| hold(source, k, ops, |o| o.start(black_box(&PAYLOAD))))
        }
        Load::Big => Box::new(move |_, ops| big(source, ops)),
        Load::BigHold(k) => Box::new(move |_, ops| {
            let len = big_size();
            hold(source, k, ops, move |o| {
                o.touch_pages(len, black_box(&PAYLOAD))
            })
        }),
        Load::Mixed => Box::new(move |index, ops| mixed(source, index, ops)),
        Load::Zeroed => Box::new(move |_, ops| zeroed(source, ops)),
    }
}

#[inline(never)]
fn single<S: Source>(source: &S, ops: u64)
where
    S::Obj: Bytes,
{
    for _ in 0..ops {
        let mut slot = Some(source.get());
        let obj = S::obj(slot.as_mut().expect("just set"));
        obj.start(black_box(&PAYLOAD));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

/// Holds up to `k` at once; exactly `ops` get+put cycles in all.
#[inline(never)]
fn hold<'s, S: Source>(source: &'s S, k: usize, ops: u64, write: impl Fn(&mut S::Obj))
where
    S::Obj: Bytes,
{
    let mut held: Vec<Option<S::Held<'s>>> = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut slot = Some(source.get());
            let obj = S::obj(slot.as_mut().expect("just set"));
            write(obj);
            sink(obj);
            held.push(slot);
        }
        for slot in held.iter_mut() {
            source.put_slot(slot);
        }
        held.clear();
        left -= batch;
    }
}

#[inline(never)]
fn big<S: Source>(source: &S, ops: u64)
where
    S::Obj: Bytes,
{
    let len = big_size();
    for _ in 0..ops {
        let mut slot = Some(source.get_sized(len));
        let obj = S::obj(slot.as_mut().expect("just set"));
        obj.touch_pages(len, black_box(&PAYLOAD));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

#[inline(never)]
fn mixed<S: Source>(source: &S, index: usize, ops: u64)
where
    S::Obj: Bytes,
{
    for i in 0..ops {
        let len = MIXED_SIZES[(i as usize + index) % MIXED_SIZES.len()];
        let mut slot = Some(source.get_sized(len));
        let obj = S::obj(slot.as_mut().expect("just set"));
        obj.touch_pages(len, black_box(&PAYLOAD));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

#[inline(never)]
fn zeroed<S: Source>(source: &S, ops: u64)
where
    S::Obj: Bytes,
{
    for _ in 0..ops {
        let mut slot = Some(source.get_zeroed(ZEROED_SIZE));
        let obj = S::obj(slot.as_mut().expect("just set"));
        obj.overwrite(black_box(&PAYLOAD));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

/// `request`: get a request object, parse the fixed request into it, return it.
pub fn request_job<'s, S>(source: &'s S) -> Box<Job<'s>>
where
    S: Source<Obj = Request>,
{
    Box::new(move |_, ops| request(source, ops))
}

#[inline(never)]
fn request<S: Source<Obj = Request>>(source: &S, ops: u64) {
    for _ in 0..ops {
        let mut slot = Some(source.get());
        let obj = S::obj(slot.as_mut().expect("just set"));
        black_box(obj.fill(black_box(RAW_REQUEST)));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

/// `handoff` on `pairs` producer/consumer pairs (threads `2i` and `2i+1`):
/// the producer gets and writes a buffer and sends it through a bounded
/// crossbeam channel; the consumer writes and returns it. Objects cross
/// threads every time. The team must have `2 * pairs` threads.
pub fn handoff_job<'s, S>(source: &'s S, pairs: usize) -> Box<Job<'s>>
where
    S: Source,
    S::Obj: Bytes,
{
    let channels: Vec<_> = (0..pairs)
        .map(|_| bounded::<S::Held<'s>>(CHANNEL_CAP))
        .collect();
    Box::new(move |index, ops| {
        let (tx, rx) = &channels[index / 2];
        if index % 2 == 0 {
            produce(source, tx, ops);
        } else {
            consume(source, rx, ops);
        }
    })
}

#[inline(never)]
fn produce<'s, S: Source>(source: &'s S, tx: &Sender<S::Held<'s>>, ops: u64)
where
    S::Obj: Bytes,
{
    for _ in 0..ops {
        let mut held = source.get();
        S::obj(&mut held).start(black_box(&PAYLOAD));
        tx.send(held).expect("consumer alive");
    }
}

#[inline(never)]
fn consume<'s, S: Source>(source: &'s S, rx: &Receiver<S::Held<'s>>, ops: u64)
where
    S::Obj: Bytes,
{
    for _ in 0..ops {
        let mut slot = Some(rx.recv().expect("producer alive"));
        let obj = S::obj(slot.as_mut().expect("just set"));
        obj.push_bytes(black_box(&PAYLOAD));
        sink(obj);
        source.put_slot(&mut slot);
    }
}

/// The floor for `handoff`: the consumer sends every buffer back to its
/// producer through a second bounded channel (a hand-built, unsynchronized-
/// apart-from-the-channel recycler for exactly this topology). Allocation-free
/// once warm, so it is the baseline carried across allocator binaries.
pub fn handoff_floor_job<K: Kind<T = Vec<u8>>>(pairs: usize) -> Box<Job<'static>> {
    type Chan = (Sender<Vec<u8>>, Receiver<Vec<u8>>);
    let channels: Vec<(Chan, Chan)> = (0..pairs)
        .map(|_| (bounded(CHANNEL_CAP), bounded(2 * CHANNEL_CAP)))
        .collect();
    Box::new(move |index, ops| {
        let ((tx, rx), (back_tx, back_rx)) = &channels[index / 2];
        if index % 2 == 0 {
            for _ in 0..ops {
                let mut v = back_rx.try_recv().unwrap_or_else(|_| K::create());
                v.start(black_box(&PAYLOAD));
                tx.send(v).expect("consumer alive");
            }
        } else {
            for _ in 0..ops {
                let mut v = rx.recv().expect("producer alive");
                v.push_bytes(black_box(&PAYLOAD));
                sink(&mut v);
                let _ = back_tx.try_send(v);
            }
        }
    })
}

/// The channel alone: the producer sends a 24-byte value (a `Vec`'s size),
/// the consumer receives it. What every `handoff` row pays before any pool.
pub fn channel_only_job(pairs: usize) -> Box<Job<'static>> {
    type Chan = (Sender<[usize; 3]>, Receiver<[usize; 3]>);
    let channels: Vec<Chan> = (0..pairs).map(|_| bounded(CHANNEL_CAP)).collect();
    Box::new(move |index, ops| {
        let (tx, rx) = &channels[index / 2];
        if index % 2 == 0 {
            for i in 0..ops {
                tx.send(black_box([i as usize; 3])).expect("consumer alive");
            }
        } else {
            for _ in 0..ops {
                black_box(rx.recv().expect("producer alive"));
            }
        }
    })
}
