//! The full suite with the system allocator (glibc malloc): every workload,
//! every implementation (shardpool and its variants, fresh allocation, the
//! floor, and the peers). See `benches/suite/mod.rs` for what runs and
//! `scripts/bench_all.sh` for the whole suite in one command.
//!
//! `cargo bench --bench suite_sys` (filter: `-- 'handoff/'`).

#[path = "../../examples/common/mod.rs"]
mod common;
mod peers;

mod suite;

use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    suite::all::<true>(c, suite::Bin::SYS);
}

criterion_group! {
    name = suite_sys;
    config = suite::config();
    targets = benches
}
criterion_main!(suite_sys);
