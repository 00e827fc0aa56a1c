//! Resident memory and live heap through a burst, one trim and two, with and
//! without `shardpool::release_to_os()`, under the system allocator (glibc's
//! malloc on Linux). The scenario is in `scenario.rs`; the mimalloc and
//! jemalloc variants are in `benchmarks/examples/`, and `scripts/rss_table.sh`
//! runs them all into `docs/perf/rss.md`.
//!
//! Run: `cargo run --release --example rss_report`

#[path = "scenario.rs"]
mod scenario;

use scenario::Counting;
use std::alloc::System;

#[global_allocator]
static GLOBAL: Counting<System> = Counting(System);

fn main() {
    scenario::main(scenario::Variant {
        name: if cfg!(all(target_os = "linux", target_env = "gnu")) {
            "glibc malloc"
        } else {
            "system"
        },
        purge: None,
    });
}
