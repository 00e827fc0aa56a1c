//! The suite's floor and fresh allocation with mimalloc (the
//! `mimalloc` crate's default, mimalloc v3) as the global allocator. Results
//! are named `floor@mimalloc` and `fresh@mimalloc`;
//! compare them through the floor, which does not allocate.
//! mimalloc v2 is measured by the separate package in `benches/mimalloc_v2/`.

#[path = "../../examples/common/mod.rs"]
mod common;
mod peers;

mod suite;

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn benches(c: &mut Criterion) {
    suite::all::<false>(c, suite::Bin { alloc: "mimalloc" });
}

criterion_group! {
    name = suite_mimalloc;
    config = suite::config();
    targets = benches
}
criterion_main!(suite_mimalloc);
