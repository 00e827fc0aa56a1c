//! The `http_server` binary on mimalloc instead of the system allocator:
//! the same modules, only the global allocator differs.
//!
//! ```text
//! cargo run --release -p shardpool-server --features mimalloc --bin http_server_mimalloc -- --alloc pool
//! ```

use shardpool_server::{alloc_counter, cli};

#[global_allocator]
static GLOBAL: alloc_counter::Counting<mimalloc::MiMalloc> =
    alloc_counter::Counting(mimalloc::MiMalloc);

fn main() -> std::process::ExitCode {
    cli::main()
}
