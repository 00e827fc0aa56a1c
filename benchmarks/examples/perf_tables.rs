//! The headline workloads in the user's loops, every peer, system allocator;
//! markdown tables on stdout. See `perf/mod.rs`; `scripts/perf_tables.sh`
//! runs it (and the allocator variants) and writes `docs/perf/`.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;
#[path = "perf/mod.rs"]
mod perf;

fn main() -> std::process::ExitCode {
    perf::main::<true>("sys")
}
