//! The modules of the example HTTP/1.1 server, shared by its two binaries
//! (`http_server` on the system allocator, `http_server_mimalloc` on
//! mimalloc, which differ only in their global allocator) and by its tests.
//!
//! Start at [`server`]: the configuration, the pools, the accept loop and the
//! report; [`conn`] is the per-connection loop; [`metrics`] writes
//! `GET /metrics`. [`alloc_counter`] counts
//! allocations when a binary installs it as the global allocator.

pub mod alloc_counter;
pub mod cli;
pub mod conn;
pub mod gzip;
pub mod metrics;
pub mod request;
pub mod response;
pub mod routes;
pub mod server;
