//! A real HTTP/1.1 server that takes its read buffers, request objects,
//! response buffers and gzip encoders from `shardpool` pools, or allocates
//! them fresh, for a side-by-side measurement under load (`scripts/load.sh`).
//!
//! ```text
//! cargo run --release -p shardpool-server --bin http_server -- --alloc pool --port 8080
//! curl -s localhost:8080/ ; curl -s localhost:8080/echo-headers
//! curl -s --data '1 2 3' localhost:8080/sum
//! curl -s --data-binary @Cargo.toml localhost:8080/gzip | gunzip
//! ```
//!
//! This binary uses the system allocator; `http_server_mimalloc` is the same
//! server on mimalloc. Both count allocations with
//! [`alloc_counter`](shardpool_server::alloc_counter).

use shardpool_server::{alloc_counter, cli};

#[global_allocator]
static GLOBAL: alloc_counter::Counting<std::alloc::System> =
    alloc_counter::Counting(std::alloc::System);

fn main() -> std::process::ExitCode {
    cli::main()
}
