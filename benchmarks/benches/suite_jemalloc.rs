//! The suite's floor and fresh allocation with jemalloc
//! (`tikv-jemallocator`) as the global allocator. Results are named
//! `floor@jemalloc` and `fresh@jemalloc`; compare them through the floor,
//! which does not allocate.

#[path = "../../examples/common/mod.rs"]
mod common;
mod peers;

mod suite;

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn benches(c: &mut Criterion) {
    suite::all::<false>(c, suite::Bin { alloc: "jemalloc" });
}

criterion_group! {
    name = suite_jemalloc;
    config = suite::config();
    targets = benches
}
criterion_main!(suite_jemalloc);
