//! A small binary for instruction counting with callgrind: N get+put cycles
//! of a 4 KiB `Vec<u8>` (write 64 bytes each time) through one implementation.
//!
//! Usage: fast_path_probe <floor|pool|pool-noreset> <single|hold32> <N>
//! `scripts/fast_path_instructions.sh` runs it under callgrind and prints the
//! per-operation counts side by side.

use shardpool::Pool;
use std::cell::RefCell;
use std::hint::black_box;

const PAYLOAD: [u8; 64] = [0xAB; 64];

thread_local! {
    static FLOOR: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

#[inline(never)]
fn floor_get() -> Vec<u8> {
    FLOOR
        .with(|f| f.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(4096))
}

#[inline(never)]
fn floor_put(mut v: Vec<u8>) {
    v.clear();
    FLOOR.with(|f| f.borrow_mut().push(v));
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
    let reset = Pool::builder()
        .reset(|v: &mut Vec<u8>| {
            v.clear();
            true
        })
        .build(|| Vec::with_capacity(4096));
    let plain = Pool::new(|| Vec::with_capacity(4096));
    match (which, pattern) {
        ("floor", "single") => {
            for _ in 0..n {
                let mut v = floor_get();
                v.extend_from_slice(black_box(&PAYLOAD));
                floor_put(black_box(v));
            }
        }
        ("floor", "hold32") => {
            let mut held = Vec::with_capacity(32);
            for _ in 0..n / 32 {
                for _ in 0..32 {
                    let mut v = floor_get();
                    v.extend_from_slice(black_box(&PAYLOAD));
                    held.push(v);
                }
                held.drain(..).for_each(floor_put);
            }
        }
        (p, "single") => {
            let pool = if p == "pool" { &reset } else { &plain };
            for _ in 0..n {
                let mut v = pool.get();
                if p != "pool" {
                    v.clear();
                }
                v.extend_from_slice(black_box(&PAYLOAD));
                black_box(&v);
            }
        }
        (p, "hold32") => {
            let pool = if p == "pool" { &reset } else { &plain };
            let mut held = Vec::with_capacity(32);
            for _ in 0..n / 32 {
                for _ in 0..32 {
                    let mut v = pool.get();
                    if p != "pool" {
                        v.clear();
                    }
                    v.extend_from_slice(black_box(&PAYLOAD));
                    held.push(v);
                }
                held.clear();
            }
        }
        _ => panic!("usage: fast_path_probe <floor|pool|pool-noreset> <single|hold32> <N>"),
    }
}
