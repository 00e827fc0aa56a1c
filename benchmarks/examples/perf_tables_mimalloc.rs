//! `perf_tables` with mimalloc (the crate's default, v3) as the global
//! allocator: the floor, shardpool and fresh allocation only. See `perf/mod.rs`.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;
#[path = "perf/mod.rs"]
mod perf;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    perf::main::<false>("mimalloc")
}
