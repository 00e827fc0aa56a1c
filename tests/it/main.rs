//! The light integration tests, in one test binary (one link instead of a
//! dozen; `cargo test --test it`, or `cargo test --test it MODULE::` for one
//! module). Modules are named for what they prove; each one's doc comment
//! says which invariants (I1 to I11, defined in the implementation page).
//!
//! - `invariants`: I1 (one holder at a time), I2 (dropped exactly once), I4
//!   (bounded retention), I6 (a thread that exits strands nothing);
//! - `trim`: I5 (two trims with no use release everything idle);
//! - `scale`: I11 (cost independent of threads with nothing to give);
//! - `auto_traits`: I8 (`Send`, `Sync`, unwind safety exactly as documented);
//! - `callbacks`: I7 and I9 case by case: callbacks that panic (`panics`),
//!   guards dropped while unwinding (`unwinding`), a thread's exit hook and
//!   thread-local destructors (`thread_exit`), callbacks that use the pool
//!   (`reentry`);
//! - `fault_injection`: I9 systematically (a proptest of callbacks that
//!   panic or re-enter anywhere);
//! - `model`: a proptest state machine checked step by step against a model
//!   (I1, I2, I4, I5);
//! - `fuzz_regressions`: the fuzzer's programs, replayed;
//! - `overflow`: where returns go when the private stack is full;
//! - `config_edges`: zero caps, zero budget, invalid configuration;
//! - `stats`: what each counter counts;
//! - `policy`: the ready-made reset policies;
//! - `buffer_pool`: `BufferPool`'s size classes and shared budget;
//! - `smoke`: one pass through the main paths;
//! - `child`: not tests; runs a scenario in a child process.
//!
//! Kept out of this binary, in their own: `tests/memory.rs` (it installs a
//! counting global allocator), `tests/stress.rs` (its trimmer thread calls
//! `trim_all`, which would age every other test's pools), `tests/trimmer.rs`
//! and `tests/pressure.rs` (the process-wide background trimmer),
//! `tests/metrics.rs` (a global recorder), `tests/production.rs` (pools
//! listed process-wide, pass-through set by the environment),
//! `tests/release.rs` (it hands the process's free heap pages back to the
//! OS), and the example server's tests (`server/tests/`). Scenarios here
//! that abort the process on a buggy pool, or that trim every pool in the
//! process, run in a child process (`child.rs`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fuzz_program.rs"]
mod fuzz_program;

mod auto_traits;
mod buffer_pool;
#[cfg(feature = "bytes")]
mod bytes;
mod callbacks;
mod child;
mod config_edges;
mod fault_injection;
mod fuzz_regressions;
mod invariants;
mod model;
mod overflow;
mod policy;
mod scale;
mod smoke;
mod stats;
mod trim;
