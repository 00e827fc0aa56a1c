//! `perf_tables` with jemalloc as the global allocator: the floor, shardpool
//! and fresh allocation only. See `perf/mod.rs`.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;
#[path = "perf/mod.rs"]
mod perf;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    perf::main::<false>("jemalloc")
}
