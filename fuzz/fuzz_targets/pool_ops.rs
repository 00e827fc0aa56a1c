//! Interprets the input as a program of pool operations (get, hold, put back,
//! detach, put foreign, trim, flush, thread exit, worker switch) run one at a
//! time on a fixed set of worker threads, checking the pool against a model
//! after each step. The interpreter is shared with `tests/it/fuzz_regressions.rs`;
//! see its module docs for the format and the checks.

#![no_main]

#[path = "../../tests/common/fuzz_program.rs"]
mod program;

libfuzzer_sys::fuzz_target!(|data: &[u8]| program::run(data));
