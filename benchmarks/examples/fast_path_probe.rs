//! A small binary for instruction counting with callgrind: `N` get+put
//! cycles of a 4 KiB `Vec<u8>` on one thread, written out as a user writes
//! them, through the bare floors or through shardpool.
//!
//! ```text
//! fast_path_probe <floor|free-list|pool|pool-noreset> <single|hold32> <N>
//! fast_path_probe floor-boxed single <N>
//! ```
//!
//! * `floor`: a `thread_local!` `RefCell<Vec<Vec<u8>>>`: pop (create on a
//!   miss) → `extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD))` (a fixed
//!   64-byte copy, inlined; `black_box` of a slice would hide the length and
//!   call `memcpy`) → `black_box(&mut *b)` (here `*b` is the `[u8]`, so the
//!   `Vec` is not forced onto the stack) → `clear()` → push. Nothing else.
//! * `free-list`: the same list behind a small struct whose `#[inline]`
//!   `get` is `with(|s| s.borrow_mut().pop()).unwrap_or_else(create)` and
//!   whose `#[inline]` `put` clears and pushes if fewer than 256 are idle;
//!   the loop: get → `extend_from_slice(&PAYLOAD)` → `black_box(&mut v)` →
//!   put.
//! * `pool`: `Pool::builder().reset(clear).max_idle_per_thread(256)`:
//!   `let mut b = pool.get(); b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
//!   black_box(&mut *b); drop(b)`.
//! * `pool-noreset`: `Pool::new(create)`, the loop clears before the drop.
//! * `floor-boxed` (not the floor): the same bare loop on a free list of
//!   `Box<Vec<u8>>`, one-word handles to objects that never move.
//! * `hold32`: 32 gets (each written), then all 32 returned.
//!
//! `scripts/fast_path_instructions.sh` runs it under callgrind and prints the
//! per-operation counts side by side (built with `--profile perf`: fat LTO,
//! one codegen unit).

use shardpool::Pool;
use std::cell::RefCell;
use std::hint::black_box;

static PAYLOAD: [u8; 64] = [7; 64];

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

#[inline(never)]
fn floor_single(n: u64) {
    for _ in 0..n {
        let mut b = FREE
            .with(|f| f.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(4096));
        b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
        black_box(&mut *b);
        b.clear();
        FREE.with(|f| f.borrow_mut().push(b));
    }
}

thread_local! {
    // Boxed on purpose: the free list holds one-word handles.
    #[allow(clippy::vec_box)]
    static FREE_BOXED: RefCell<Vec<Box<Vec<u8>>>> = const { RefCell::new(Vec::new()) };
}

/// Not the floor: the same bare loop on a free list of `Box<Vec<u8>>`
/// (one-word handles, the object never moves), for comparison.
#[inline(never)]
fn floor_boxed_single(n: u64) {
    for _ in 0..n {
        let mut b = FREE_BOXED
            .with(|f| f.borrow_mut().pop())
            .unwrap_or_else(|| Box::new(Vec::with_capacity(4096)));
        b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
        black_box(&mut *b);
        b.clear();
        FREE_BOXED.with(|f| f.borrow_mut().push(b));
    }
}

thread_local! {
    static LIST: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// The `free-list` floor: the list behind two `#[inline]` methods.
struct FreeList;

impl FreeList {
    #[inline]
    fn get(&self) -> Vec<u8> {
        LIST.with(|s| s.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(4096))
    }

    #[inline]
    fn put(&self, mut v: Vec<u8>) {
        v.clear();
        LIST.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 256 {
                s.push(v)
            }
        })
    }
}

#[inline(never)]
fn free_list_single(n: u64) {
    let f = FreeList;
    for _ in 0..n {
        let mut v = f.get();
        v.extend_from_slice(&PAYLOAD);
        black_box(&mut v);
        f.put(v);
    }
}

#[inline(never)]
fn free_list_hold32(n: u64) {
    let f = FreeList;
    let mut held: Vec<Vec<u8>> = Vec::with_capacity(32);
    for _ in 0..n / 32 {
        for _ in 0..32 {
            let mut v = f.get();
            v.extend_from_slice(&PAYLOAD);
            black_box(&mut v);
            held.push(v);
        }
        for v in held.drain(..) {
            f.put(v);
        }
    }
}

#[inline(never)]
fn floor_hold32(n: u64) {
    let mut held: Vec<Vec<u8>> = Vec::with_capacity(32);
    for _ in 0..n / 32 {
        for _ in 0..32 {
            let mut b = FREE
                .with(|f| f.borrow_mut().pop())
                .unwrap_or_else(|| Vec::with_capacity(4096));
            b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
            black_box(&mut *b);
            held.push(b);
        }
        for mut b in held.drain(..) {
            b.clear();
            FREE.with(|f| f.borrow_mut().push(b));
        }
    }
}

#[inline(never)]
fn pool_single(pool: &Pool<Vec<u8>>, clear: bool, n: u64) {
    for _ in 0..n {
        let mut b = pool.get();
        b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
        black_box(&mut *b);
        if clear {
            b.clear();
        }
        drop(b);
    }
}

#[inline(never)]
fn pool_hold32(pool: &Pool<Vec<u8>>, clear: bool, n: u64) {
    let mut held = Vec::with_capacity(32);
    for _ in 0..n / 32 {
        for _ in 0..32 {
            let mut b = pool.get();
            b.extend_from_slice(black_box::<&[u8; 64]>(&PAYLOAD));
            black_box(&mut *b);
            held.push(b);
        }
        if clear {
            held.iter_mut().for_each(|b| b.clear());
        }
        held.clear();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (which, pattern) = (
        args.get(1).map_or("pool", |s| s),
        args.get(2).map_or("single", |s| s),
    );
    let n: u64 = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let user = Pool::builder()
        .reset(|b: &mut Vec<u8>| {
            b.clear();
            true
        })
        .max_idle_per_thread(256)
        .build(|| Vec::with_capacity(4096));
    let plain = Pool::new(|| Vec::with_capacity(4096));
    match (which, pattern) {
        ("floor", "single") => floor_single(n),
        ("floor", "hold32") => floor_hold32(n),
        ("floor-boxed", "single") => floor_boxed_single(n),
        ("free-list", "single") => free_list_single(n),
        ("free-list", "hold32") => free_list_hold32(n),
        ("pool", "single") => pool_single(&user, false, n),
        ("pool", "hold32") => pool_hold32(&user, false, n),
        ("pool-noreset", "single") => pool_single(&plain, true, n),
        ("pool-noreset", "hold32") => pool_hold32(&plain, true, n),
        _ => {
            panic!("usage: fast_path_probe <floor|free-list|pool|pool-noreset> <single|hold32> <N>")
        }
    }
}
