//! The `http_server` example on mimalloc instead of the system allocator:
//! the same modules, only the global allocator differs.
//!
//! ```text
//! cargo run --release -p shardpool-benchmarks --example http_server_mimalloc -- --alloc pool
//! ```

#[path = "../../examples/http_server/alloc_counter.rs"]
mod alloc_counter;
#[path = "../../examples/http_server/cli.rs"]
mod cli;
#[path = "../../examples/http_server/conn.rs"]
mod conn;
#[path = "../../examples/http_server/request.rs"]
mod request;
#[path = "../../examples/http_server/response.rs"]
mod response;
#[path = "../../examples/http_server/routes.rs"]
mod routes;
#[path = "../../examples/http_server/server.rs"]
mod server;

#[global_allocator]
static GLOBAL: alloc_counter::Counting<mimalloc::MiMalloc> =
    alloc_counter::Counting(mimalloc::MiMalloc);

fn main() -> std::process::ExitCode {
    cli::main()
}
