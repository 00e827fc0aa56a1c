//! The suite's floor and fresh allocation with mimalloc v2 (the
//! `mimalloc` crate's `v2` feature) as the global allocator. See Cargo.toml
//! here for why this is a separate package.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;
#[path = "../benches/suite/mod.rs"]
mod suite;

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn benches(c: &mut Criterion) {
    suite::all::<false>(
        c,
        suite::Bin {
            alloc: "mimalloc-v2",
        },
    );
}

criterion_group! {
    name = suite_mimalloc_v2;
    config = suite::config();
    targets = benches
}
criterion_main!(suite_mimalloc_v2);
