//! The light integration tests, in one test binary (one link instead of a
//! dozen; `cargo test --test it`, or `cargo test --test it MODULE::` for one
//! module). Each module's doc comment says which invariants it proves.
//!
//! Kept out of this binary, in their own: `tests/memory.rs` (it installs a
//! counting global allocator), `tests/stress.rs` (its trimmer thread calls
//! `trim_all`, which would age every other test's pools), and
//! `tests/http_server.rs`. Scenarios here that abort the process on a buggy
//! pool, or that trim every pool in the process, run in a child process
//! (`child.rs`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fuzz_program.rs"]
mod fuzz_program;

mod auto_traits;
mod buffer_pool;
mod callbacks;
mod child;
mod config_edges;
mod fault_injection;
mod fuzz_regressions;
mod invariants;
mod model;
mod policy;
mod scale;
mod smoke;
mod stats;
mod trim;
