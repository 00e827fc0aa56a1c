//! The user's loops: every workload written the way a user writes it, on
//! the floors and on any [`Source`]. These are the loops behind the headline
//! numbers (`compare`, `benches/fast_path.rs`, the suite's
//! `single`/`parallel2`/`oversub8`/`hold32`/`hold32x2`/`big`/`big_x2`/
//! `request`/`request_x2`/`handoff` groups, `perf_tables`, `floor_check`, and
//! the callgrind probes).
//!
//! Two bare loops bound a pool from below; the tables take the faster of the
//! two in the same run as **the floor**:
//!
//! * **`floor`** ([`floor_job`]): a `thread_local!` `RefCell<Vec<T>>` free
//!   list used inline: per operation, pop (create on a miss) → the work →
//!   `black_box` of the bytes → reset → push. No guard, no `Option` slot, no
//!   dyn call, no extra move.
//! * **`free-list`** ([`free_list_job`], [`FreeList`]): the same list behind
//!   a small struct whose `get` and `put` are `#[inline]` methods: `get` =
//!   `with(|s| s.borrow_mut().pop()).unwrap_or_else(create)`, the work,
//!   `black_box(&mut v)`, then `put` = reset and push if fewer than 256 are
//!   idle. Which of the two is faster depends on the code the compiler
//!   emits for moving the 24-byte `Vec` in and out of the list (a pop whose
//!   16-byte load spans two 8-byte stores of the previous push cannot take
//!   its value from the store buffer and waits), so both run and the faster
//!   one is the floor.
//!
//! **floor-boxed** (not the floor; shown beside it): the same bare loop on a
//! free list of `Box<T>`, so only a one-word handle moves and the object
//! stays put: the bound for a pool that hands out pointer-stable objects.
//!
//! **A pool**, per operation: `let mut b = pool.get(); work(&mut b);
//! black_box(&mut *b); drop(b)`. shardpool is built the way a user configures
//! it ([`shard_user`](super::impls::shard_user): `reset` = the workload's reset,
//! `max_idle_per_thread(256)`), so its reset runs inside the pool. A pool
//! without a reset hook (every peer, fresh allocation) gets the same reset
//! right before the drop, so every implementation does the same work. A
//! hand-rolled pool without guards (`mutex-vec`, `arrayqueue`) gives the object
//! back with its own `put` in place of the drop.
//!
//! The work of each kind ([`Work`]):
//!
//! | kind    | object                    | work                                         | reset   |
//! |---------|---------------------------|----------------------------------------------|---------|
//! | `Small` | 4 KiB `Vec<u8>`           | `extend_from_slice(black_box(&PAYLOAD))`, 64 B (a `&[u8; 64]`: the copy is inlined) | `clear` |
//! | `Big`   | 256 KiB `Vec<u8>`         | one byte written in each 4 KiB page          | `clear` |
//! | `Req`   | [`Request`] (header vectors) | `fill(black_box(RAW_REQUEST))`            | none (`fill` overwrites) |
//!
//! Workloads ([`Loop`]): `Single` (get → work → return) and `Hold(k)` (get k,
//! work on each, return k), each on as many threads as the team has; and
//! [`handoff_job`]: per item, the producer gets and works and sends through a
//! bounded channel (64), the consumer receives, `black_box`es, and returns
//! it. The handoff floor is [`handoff_floor_job`] (the consumer sends each
//! buffer back to its producer through a second channel); the channel alone
//! is [`channel_only_job`](super::work::channel_only_job).

use super::team::Job;
use super::{Big, CHANNEL_CAP, Kind, PAGE, PAYLOAD, RAW_REQUEST, Req, Request, Small, Source};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::hint::black_box;
use std::mem::MaybeUninit;

/// What one use of an object does, for kind `K`, and how it is reset.
pub trait Work<K: Kind> {
    /// The work of one use.
    fn work(&mut self);
    /// The floor's `black_box(&mut *b)` after the work: the user's statement,
    /// which for a `Vec<u8>` held by value makes its bytes (`&mut [u8]`)
    /// observable without forcing the `Vec` itself onto the stack.
    #[inline(always)]
    fn observe(&mut self) {
        black_box(self);
    }
    /// What a reset policy does on return (the floor does it before its push).
    fn reset(&mut self);
}

impl Work<Small> for Vec<u8> {
    #[inline(always)]
    fn observe(&mut self) {
        black_box(&mut **self);
    }

    #[inline(always)]
    fn work(&mut self) {
        // `black_box` of the array reference, not of a slice: the length stays
        // a constant, so the 64-byte copy is inlined (as a user's literal `&[u8; 64]` would be).
        let payload: &[u8; 64] = black_box(&PAYLOAD);
        self.extend_from_slice(payload);
    }

    #[inline(always)]
    fn reset(&mut self) {
        self.clear();
    }
}

impl Work<Big> for Vec<u8> {
    /// The bytes written (in the spare capacity: the length stays 0).
    #[inline(always)]
    fn observe(&mut self) {
        black_box(self.spare_capacity_mut());
    }

    /// One byte in each 4 KiB page of the buffer's capacity (its length stays 0).
    #[inline(always)]
    fn work(&mut self) {
        for page in self.spare_capacity_mut().iter_mut().step_by(PAGE) {
            page.write(black_box(1));
        }
    }

    #[inline(always)]
    fn reset(&mut self) {
        self.clear();
    }
}

impl Work<Req> for Request {
    #[inline(always)]
    fn work(&mut self) {
        black_box(self.fill(black_box(RAW_REQUEST)));
    }

    #[inline(always)]
    fn reset(&mut self) {}
}

/// zeropool's uninitialized byte slices (`alloc_uninit(size)`).
impl Work<Small> for [MaybeUninit<u8>] {
    #[inline(always)]
    fn work(&mut self) {
        let payload: &[u8; 64] = black_box(&PAYLOAD);
        self[..PAYLOAD.len()].write_copy_of_slice(payload);
    }

    #[inline(always)]
    fn reset(&mut self) {}
}

impl Work<Big> for [MaybeUninit<u8>] {
    #[inline(always)]
    fn work(&mut self) {
        for page in self.iter_mut().step_by(PAGE) {
            page.write(black_box(1));
        }
    }

    #[inline(always)]
    fn reset(&mut self) {}
}

/// Never used: zeropool hands out byte buffers, not requests. The impl lets
/// generic code that lists zeropool compile for every kind; the suite leaves
/// zeropool out of `request`.
impl Work<Req> for [MaybeUninit<u8>] {
    fn work(&mut self) {
        unreachable!("zeropool is not run on the request workload")
    }

    fn reset(&mut self) {}
}

/// A workload's shape on each thread of the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// get → work → return, `ops` times.
    Single,
    /// get `k` (working on each) → return all `k`; `ops` get+put in all.
    Hold(usize),
}

/// The floor's job for kind `K`: the bare loop on `K`'s `thread_local!` free list.
pub fn floor_job<K: Kind>(shape: Loop) -> Box<Job<'static>>
where
    K::T: Work<K>,
{
    match shape {
        Loop::Single => Box::new(|_, ops| floor_single::<K>(ops)),
        Loop::Hold(k) => Box::new(move |_, ops| floor_hold::<K>(k, ops)),
    }
}

/// Most objects [`FreeList`] keeps per thread (as `max_idle_per_thread(256)`).
pub const FREE_LIST_CAP: usize = 256;

/// The floor as a small free list: a `const`-initialised `thread_local!`
/// `RefCell<Vec<T>>` behind two `#[inline]` methods.
pub struct FreeList<K>(std::marker::PhantomData<fn() -> K>);

impl<K: Kind> FreeList<K>
where
    K::T: Work<K>,
{
    pub const fn new() -> Self {
        FreeList(std::marker::PhantomData)
    }

    /// The most recently returned object, or a new one.
    #[inline]
    pub fn get(&self) -> K::T {
        K::free_list()
            .with(|s| s.borrow_mut().pop())
            .unwrap_or_else(K::create)
    }

    /// Resets `v` and keeps it if fewer than [`FREE_LIST_CAP`] are idle.
    #[inline]
    pub fn put(&self, mut v: K::T) {
        Work::<K>::reset(&mut v);
        K::free_list().with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < FREE_LIST_CAP {
                s.push(v)
            }
        })
    }
}

/// The free-list floor's job for kind `K`.
pub fn free_list_job<K: Kind>(shape: Loop) -> Box<Job<'static>>
where
    K::T: Work<K>,
{
    match shape {
        Loop::Single => Box::new(|_, ops| free_list_single::<K>(ops)),
        Loop::Hold(k) => Box::new(move |_, ops| free_list_hold::<K>(k, ops)),
    }
}

/// get → work → `black_box(&mut v)` → put.
#[inline(never)]
pub fn free_list_single<K: Kind>(ops: u64)
where
    K::T: Work<K>,
{
    let f = FreeList::<K>::new();
    for _ in 0..ops {
        let mut v = f.get();
        Work::<K>::work(&mut v);
        black_box(&mut v);
        f.put(v);
    }
}

/// get `k` (work, `black_box` each), then put all `k`.
#[inline(never)]
pub fn free_list_hold<K: Kind>(k: usize, ops: u64)
where
    K::T: Work<K>,
{
    let f = FreeList::<K>::new();
    let mut held: Vec<K::T> = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut v = f.get();
            Work::<K>::work(&mut v);
            black_box(&mut v);
            held.push(v);
        }
        for v in held.drain(..) {
            f.put(v);
        }
        left -= batch;
    }
}

/// `floor-boxed`: the floor's bare loop on a free list of `Box<K::T>`.
pub fn floor_boxed_job<K: Kind>(shape: Loop) -> Box<Job<'static>>
where
    K::T: Work<K>,
{
    match shape {
        Loop::Single => Box::new(|_, ops| floor_boxed_single::<K>(ops)),
        Loop::Hold(k) => Box::new(move |_, ops| floor_boxed_hold::<K>(k, ops)),
    }
}

/// `floor-boxed`, `single`: the bare loop, objects boxed.
#[inline(never)]
pub fn floor_boxed_single<K: Kind>(ops: u64)
where
    K::T: Work<K>,
{
    let free = K::floor_boxed();
    for _ in 0..ops {
        let mut b = free
            .with(|f| f.borrow_mut().pop())
            .unwrap_or_else(|| Box::new(K::create()));
        Work::<K>::work(&mut *b);
        black_box(&mut *b);
        Work::<K>::reset(&mut *b);
        free.with(|f| f.borrow_mut().push(b));
    }
}

/// `floor-boxed`, `hold32`.
#[inline(never)]
pub fn floor_boxed_hold<K: Kind>(k: usize, ops: u64)
where
    K::T: Work<K>,
{
    let free = K::floor_boxed();
    let mut held: Vec<Box<K::T>> = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut b = free
                .with(|f| f.borrow_mut().pop())
                .unwrap_or_else(|| Box::new(K::create()));
            Work::<K>::work(&mut *b);
            black_box(&mut *b);
            held.push(b);
        }
        for mut b in held.drain(..) {
            Work::<K>::reset(&mut *b);
            free.with(|f| f.borrow_mut().push(b));
        }
        left -= batch;
    }
}

/// The user's loop on `source`, for kind `K`.
pub fn user_job<'s, K: Kind, S: Source>(source: &'s S, shape: Loop) -> Box<Job<'s>>
where
    S::Obj: Work<K>,
{
    match shape {
        Loop::Single => Box::new(move |_, ops| user_single::<K, S>(source, ops)),
        Loop::Hold(k) => Box::new(move |_, ops| user_hold::<K, S>(source, k, ops)),
    }
}

/// The floor, one thread's `ops` operations:
/// pop (or create) → work → `black_box` → reset → push.
#[inline(never)]
pub fn floor_single<K: Kind>(ops: u64)
where
    K::T: Work<K>,
{
    let free = K::floor();
    for _ in 0..ops {
        let mut b = free
            .with(|f| f.borrow_mut().pop())
            .unwrap_or_else(K::create);
        Work::<K>::work(&mut b);
        Work::<K>::observe(&mut b);
        Work::<K>::reset(&mut b);
        free.with(|f| f.borrow_mut().push(b));
    }
}

/// The floor holding `k`: pop `k` (working on each), then reset and push `k`.
#[inline(never)]
pub fn floor_hold<K: Kind>(k: usize, ops: u64)
where
    K::T: Work<K>,
{
    let free = K::floor();
    let mut held: Vec<K::T> = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut b = free
                .with(|f| f.borrow_mut().pop())
                .unwrap_or_else(K::create);
            Work::<K>::work(&mut b);
            Work::<K>::observe(&mut b);
            held.push(b);
        }
        for mut b in held.drain(..) {
            Work::<K>::reset(&mut b);
            free.with(|f| f.borrow_mut().push(b));
        }
        left -= batch;
    }
}

/// The user's loop: `let mut b = pool.get(); work; black_box(&mut *b); drop(b)`.
#[inline(never)]
pub fn user_single<K: Kind, S: Source>(source: &S, ops: u64)
where
    S::Obj: Work<K>,
{
    for _ in 0..ops {
        let mut b = source.get();
        let obj = S::obj(&mut b);
        Work::<K>::work(obj);
        black_box(&mut *obj);
        if !S::RESETS {
            Work::<K>::reset(obj);
        }
        source.put(b);
    }
}

/// Holding `k`: `held.push(pool.get())` with work on each, then return all.
#[inline(never)]
pub fn user_hold<'s, K: Kind, S: Source>(source: &'s S, k: usize, ops: u64)
where
    S::Obj: Work<K>,
{
    let mut held: Vec<S::Held<'s>> = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut b = source.get();
            let obj = S::obj(&mut b);
            Work::<K>::work(obj);
            black_box(&mut *obj);
            held.push(b);
        }
        if S::RESETS {
            // What a user writes: the guards go back as the vector empties
            // (a source with a reset hook returns on drop).
            held.clear();
        } else {
            for mut b in held.drain(..) {
                if !S::RESETS {
                    Work::<K>::reset(S::obj(&mut b));
                }
                source.put(b);
            }
        }
        left -= batch;
    }
}

/// `handoff` on `pairs` producer/consumer pairs (threads `2i`, `2i+1`), per
/// item: the producer gets, works (64 B) and sends through a bounded channel
/// (64); the consumer receives, `black_box`es, and returns it (`drop`, or
/// reset and `put`). Objects cross threads every time.
pub fn handoff_job<'s, S: Source>(source: &'s S, pairs: usize) -> Box<Job<'s>>
where
    S::Obj: Work<Small>,
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
    S::Obj: Work<Small>,
{
    for _ in 0..ops {
        let mut b = source.get();
        Work::<Small>::work(S::obj(&mut b));
        tx.send(b).expect("consumer alive");
    }
}

#[inline(never)]
fn consume<'s, S: Source>(source: &'s S, rx: &Receiver<S::Held<'s>>, ops: u64)
where
    S::Obj: Work<Small>,
{
    for _ in 0..ops {
        let mut b = rx.recv().expect("producer alive");
        let obj = S::obj(&mut b);
        black_box(&mut *obj);
        if !S::RESETS {
            Work::<Small>::reset(obj);
        }
        source.put(b);
    }
}

/// The floor for `handoff`: a free list for exactly this topology. The
/// producer takes a buffer back from a second bounded channel (or creates
/// one), works, sends; the consumer receives, `black_box`es, clears, and
/// sends it back (`try_send`: dropped if the return channel is full).
pub fn handoff_floor_job(pairs: usize) -> Box<Job<'static>> {
    type Chan = (Sender<Vec<u8>>, Receiver<Vec<u8>>);
    let channels: Vec<(Chan, Chan)> = (0..pairs)
        .map(|_| (bounded(CHANNEL_CAP), bounded(2 * CHANNEL_CAP)))
        .collect();
    Box::new(move |index, ops| {
        let ((tx, rx), (back_tx, back_rx)) = &channels[index / 2];
        if index % 2 == 0 {
            for _ in 0..ops {
                let mut b = back_rx.try_recv().unwrap_or_else(|_| Small::create());
                Work::<Small>::work(&mut b);
                tx.send(b).expect("consumer alive");
            }
        } else {
            for _ in 0..ops {
                let mut b = rx.recv().expect("producer alive");
                Work::<Small>::observe(&mut b);
                Work::<Small>::reset(&mut b);
                let _ = back_tx.try_send(b);
            }
        }
    })
}
