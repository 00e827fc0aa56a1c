//! Replays the fuzzer's programs under plain `cargo test`.
//!
//! - `regression_files`: every file in `fuzz/regressions/` (minimized crashes
//!   found by `cargo fuzz`, named `crash-<what>`, and the seeds below), through
//!   the same interpreter the fuzz target uses (`tests/common/fuzz_program.rs`),
//!   with all its checks (I1, I2, I4, I5; see that file). Replay one with
//!   `SHARDPOOL_FUZZ_TRACE=1` to print each step and the pool's stats. The
//!   published crate has no `fuzz/` folder: there this test and
//!   `seed_files_are_current` return early, printing why.
//!
//! Crashes found so far:
//! - `crash-i4-exit-flush-then-return` (`max_idle_per_thread(0)`: get and
//!   return, thread exit, put on the thread that adopts the shard): the exit
//!   flush fills the shared list to the shard's cap, then a return fills the
//!   private stack on top of it, so the shard holds 2 > 1 + 0 idle objects
//!   (I4). `flush_local` followed by returns does the same.
//! - `hand_written_seeds`: readable programs that together use every
//!   operation and configuration bit (`seed-faults`: the fault mode,
//!   where callbacks panic); they are also the fuzzer's seed corpus.
//!   Under Miri (no file access) only these run, each cut short.
//! - `seed_files_are_current`: the seed files match the programs here
//!   (`SHARDPOOL_WRITE_SEEDS=1 cargo test --test it fuzz_regressions` rewrites them).

use crate::fuzz_program as program;
use program::{Config, Op, Reset, Take};
use std::path::{Path, PathBuf};

/// `fuzz/regressions/`, or `None` (with the reason printed) when testing
/// the published crate: `fuzz/` is a package of its own, which `cargo
/// package` leaves out, so an unpacked `.crate` has no `fuzz/regressions/`
/// (its `Cargo.toml.orig` tells it apart from a checkout, where a missing
/// folder is a failure). The seeds still run there, from
/// `hand_written_seeds`.
fn regressions_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fuzz/regressions");
    let packaged = root.join("Cargo.toml.orig").exists();
    if packaged && !dir.exists() {
        eprintln!(
            "skipped: {} is not in the published crate (the fuzz package lives in the repository)",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

const DEFAULT: Config = Config {
    max_idle_per_thread: 2,
    max_idle_bytes: None,
    weigh_by_field: false,
    reset: Reset::None,
    drop_pool_early: false,
};

fn hold() -> Op {
    Op::Hold {
        take: Take::Get,
        weight: None,
    }
}

fn hold_owned() -> Op {
    Op::Hold {
        take: Take::GetOwned,
        weight: None,
    }
}

/// Hand-written programs: (file name, what it exercises, config, steps).
fn seeds() -> Vec<(&'static str, Config, Vec<Op>)> {
    use Op::*;
    vec![
        (
            // Every operation once on one thread, then on another.
            "seed-every-op",
            DEFAULT,
            vec![
                GetPut,
                hold(),
                hold_owned(),
                Op::Hold {
                    take: Take::TryGet,
                    weight: Some(5),
                },
                Op::Hold {
                    take: Take::TryGetOwned,
                    weight: None,
                },
                HoldMany(3),
                PutBack(0),
                Detach(1),
                PutForeign {
                    detached: Some(0),
                    weight: 1,
                },
                PutForeign {
                    detached: None,
                    weight: 7,
                },
                Trim,
                FlushLocal,
                Switch(1),
                GetPut,
                PutBack(0),
                ExitThread,
                Switch(0),
                Quiesce,
            ],
        ),
        (
            // Objects returned on one thread are stolen by another: owned
            // guards cross threads, then a flushed shard is stolen from.
            "seed-steal",
            Config {
                max_idle_per_thread: 8,
                ..DEFAULT
            },
            vec![
                HoldMany(9),
                hold_owned(),
                hold_owned(),
                Switch(1),
                PutBack(9),
                PutBack(9),
                Switch(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                FlushLocal,
                Switch(2),
                HoldMany(4),
                Switch(1),
                HoldMany(4),
                PutBack(0),
                PutBack(0),
                Switch(2),
                Trim,
                Trim,
            ],
        ),
        (
            // A thread exits with objects: they move to its shared list, a
            // replacement thread adopts the shard, others steal from it.
            "seed-exit",
            Config {
                max_idle_per_thread: 4,
                ..DEFAULT
            },
            vec![
                HoldMany(5),
                hold_owned(),
                PutBack(0),
                PutBack(0),
                ExitThread,
                Switch(1),
                HoldMany(2),
                Switch(0),
                GetPut,
                HoldMany(3),
                ExitThread,
                Switch(2),
                ExitThread,
                Switch(1),
                ExitThread,
                Trim,
                Trim,
                Quiesce,
            ],
        ),
        (
            // Budget, weighed by field: private slot of one, the rest charged;
            // objects grow while held and are rejected as oversized.
            "seed-budget",
            Config {
                max_idle_per_thread: 6,
                max_idle_bytes: Some(20),
                weigh_by_field: true,
                reset: Reset::RejectHeavierThan(12),
                ..DEFAULT
            },
            vec![
                HoldMany(8),
                Op::Hold {
                    take: Take::Get,
                    weight: Some(16),
                },
                Op::Hold {
                    take: Take::GetOwned,
                    weight: Some(3),
                },
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutForeign {
                    detached: None,
                    weight: 9,
                },
                Switch(1),
                HoldMany(3),
                FlushLocal,
                Trim,
                ExitThread,
                Switch(2),
                Quiesce,
            ],
        ),
        (
            // Default-size budget and a policy that rejects every 2nd return.
            "seed-reject",
            Config {
                max_idle_per_thread: 3,
                max_idle_bytes: Some(200),
                reset: Reset::RejectEvery(2),
                ..DEFAULT
            },
            vec![
                GetPut,
                GetPut,
                GetPut,
                HoldMany(6),
                PutBack(2),
                PutBack(2),
                Detach(0),
                PutForeign {
                    detached: Some(0),
                    weight: 1,
                },
                GetPut,
                Switch(2),
                HoldMany(2),
                Switch(0),
                PutBack(0),
                PutBack(0),
            ],
        ),
        (
            // The victim rule: survive one trim, not two; use in between
            // renews; other threads' private stacks catch up on their next use.
            "seed-trim",
            Config {
                max_idle_per_thread: 5,
                reset: Reset::RejectEvery(3),
                ..DEFAULT
            },
            vec![
                HoldMany(4),
                PutBack(0),
                PutBack(0),
                Switch(1),
                HoldMany(2),
                PutBack(2),
                Trim,
                Switch(0),
                GetPut,
                Trim,
                Switch(1),
                GetPut,
                Trim,
                Trim,
                Switch(0),
                FlushLocal,
                Trim,
            ],
        ),
        (
            // max_idle_per_thread 40: the private stack (32) overflows into
            // the shared list, which the owner refills from.
            "seed-big-shard",
            Config {
                max_idle_per_thread: 40,
                ..DEFAULT
            },
            vec![
                HoldMany(40),
                HoldMany(5),
                Switch(1),
                hold_owned(),
                Switch(0),
                ExitThread,
                Switch(1),
                PutBack(0),
                HoldMany(40),
                Switch(2),
                HoldMany(3),
                Switch(1),
                ExitThread,
                Switch(2),
                HoldMany(36),
                FlushLocal,
                Quiesce,
            ],
        ),
        (
            // The pool is dropped while the workers still run and owned guards
            // are out; the last guard's return drops it on a worker.
            "seed-drop-early",
            Config {
                max_idle_per_thread: 1,
                drop_pool_early: true,
                ..DEFAULT
            },
            vec![
                hold_owned(),
                hold_owned(),
                HoldMany(3),
                Switch(1),
                hold_owned(),
                GetPut,
                Switch(2),
                Detach(0),
                PutBack(0),
                hold(),
            ],
        ),
        (
            // max_idle_per_thread 0: only the private slot.
            "seed-zero-idle",
            Config {
                max_idle_per_thread: 0,
                max_idle_bytes: Some(0),
                weigh_by_field: true,
                ..DEFAULT
            },
            vec![
                HoldMany(3),
                PutBack(0),
                PutBack(0),
                FlushLocal,
                Switch(1),
                GetPut,
                ExitThread,
                Switch(0),
                PutBack(0),
                Quiesce,
            ],
        ),
        (
            // Fault mode: each callback panics once where the pool
            // runs it — create in a get, reset and weigh on returns, T::drop
            // in a trim, and weigh and T::drop in a thread's exit hook.
            "seed-faults",
            Config {
                max_idle_per_thread: 1,
                max_idle_bytes: Some(64),
                weigh_by_field: true,
                reset: Reset::RejectEvery(2),
                ..DEFAULT
            },
            vec![
                Fault(program::FAULT_CREATE),
                GetPut,
                hold(),
                Fault(program::FAULT_RESET),
                PutBack(0),
                HoldMany(4),
                Fault(program::FAULT_WEIGH),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                PutBack(0),
                Fault(program::FAULT_DROP),
                Trim,
                Trim,
                HoldMany(3),
                PutBack(0),
                PutBack(0),
                Fault(program::FAULT_WEIGH | program::FAULT_DROP),
                ExitThread,
                Quiesce,
            ],
        ),
    ]
}

/// Steps per program: all of them, or a few under Miri.
fn max_ops() -> usize {
    if cfg!(miri) { 12 } else { program::MAX_OPS }
}

#[test]
fn hand_written_seeds() {
    for (name, config, ops) in seeds() {
        eprintln!("seed {name}");
        program::run_with(&program::encode(&config, &ops), max_ops());
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads files; the seeds run under Miri instead")]
fn seed_files_are_current() {
    let Some(dir) = regressions_dir() else {
        return;
    };
    let write = std::env::var_os("SHARDPOOL_WRITE_SEEDS").is_some();
    for (name, config, ops) in seeds() {
        let bytes = program::encode(&config, &ops);
        let (decoded_config, decoded_ops) = program::decode(&bytes, usize::MAX);
        assert_eq!((decoded_config, &decoded_ops), (config, &ops), "{name}");
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let on_disk = std::fs::read(&path).unwrap_or_default();
            assert!(
                on_disk == bytes,
                "{} is not the seed in this file; rerun with SHARDPOOL_WRITE_SEEDS=1",
                path.display()
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads files; the seeds run under Miri instead")]
fn regression_files() {
    let Some(dir) = regressions_dir() else {
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fuzz/regressions exists")
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no programs in fuzz/regressions");
    for path in paths {
        eprintln!("replaying {}", path.display());
        program::run(&std::fs::read(&path).unwrap());
    }
}
