//! Runs one benchmark workload through one implementation on the calling
//! thread, for instruction counting (`valgrind --tool=callgrind`) and
//! profiling (`perf record`), where criterion's own work would get in the way.
//! The code is the suite's (`examples/common`): `single`, `hold32`, `big` and
//! `request` run the user's loops (`common/user.rs`, the floor as the bare
//! loop, `shardpool` as `reset(clear).max_idle_per_thread(256)`);
//! `bighold16`, `mixed` and `zeroed` the older harness (`common/work.rs`).
//!
//! ```text
//! bench_probe <impl> <workload> <ops>
//!   impl:     floor free-list floor-guard fresh shardpool shardpool-noreset (user's loops)
//!             shardpool-recycle (older harness) regex-automata opool
//!             object-pool lockfree-linear lockfree-spinlock mutex-vec arrayqueue zeropool
//!   workload: single hold32 big bighold16 mixed zeroed request
//! ```
//!
//! `scripts/fast_path_instructions.sh --all` prints instructions per get+put
//! for every pair.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;

use common::impls::{Floor, FloorGuard, Fresh, FreshZeroed, shard, shard_recycle, shard_user};
use common::team::Job;
use common::user::{Loop, Work, floor_job, free_list_job, user_job};
use common::work::{Load, bytes_job};
use common::{Big, Grow, Kind, Req, Small, big_size, small_size};
use peers::{
    ArrayQ, LfLinear, LfSpin, MutexVec, OPool, ObjectPool, RegexPool, ZeroPool, ZeroPoolZeroed,
};
use std::process::ExitCode;

fn bytes<K: Kind<T = Vec<u8>>>(which: &str, load: Load, ops: u64) -> Option<()> {
    let zero_size = if matches!(load, Load::Single | Load::Hold(_)) {
        small_size()
    } else {
        big_size()
    };
    let run = |job: Box<Job<'_>>| job(0, ops);
    match which {
        "floor" => run(bytes_job(load, &Floor::<K>::new())),
        "floor-guard" => run(bytes_job(load, &FloorGuard::<K>::new())),
        "fresh" if load == Load::Zeroed => run(bytes_job(load, &FreshZeroed)),
        "fresh" => run(bytes_job(load, &Fresh::<K>::new())),
        "shardpool" => run(bytes_job(load, &shard::<K>())),
        "shardpool-recycle" => run(bytes_job(load, &shard_recycle::<K>())),
        "regex-automata" => run(bytes_job(load, &RegexPool::<K>::new())),
        "opool" => run(bytes_job(load, &OPool::<K>::new())),
        "object-pool" => run(bytes_job(load, &ObjectPool::<K>::new())),
        "lockfree-linear" => run(bytes_job(load, &LfLinear::<K>::new())),
        "lockfree-spinlock" => run(bytes_job(load, &LfSpin::<K>::new())),
        "mutex-vec" => run(bytes_job(load, &MutexVec::<K>::new())),
        "arrayqueue" => run(bytes_job(load, &ArrayQ::<K>::new())),
        "zeropool" if load == Load::Zeroed => run(bytes_job(load, &ZeroPoolZeroed::new())),
        "zeropool" => run(bytes_job(load, &ZeroPool::new(zero_size))),
        _ => return None,
    }
    Some(())
}

/// `single`, `hold32`, `big`, `request`: the user's loops.
fn user<K: Kind>(which: &str, shape: Loop, ops: u64) -> Option<()>
where
    K::T: Work<K> + Sync,
    [std::mem::MaybeUninit<u8>]: Work<K>,
{
    let zero_size = if std::any::TypeId::of::<K>() == std::any::TypeId::of::<Big>() {
        big_size()
    } else {
        small_size()
    };
    let is_req = std::any::TypeId::of::<K>() == std::any::TypeId::of::<Req>();
    let run = |job: Box<Job<'_>>| job(0, ops);
    match which {
        "floor" => run(floor_job::<K>(shape)),
        "free-list" => run(free_list_job::<K>(shape)),
        "floor-guard" => run(user_job::<K, _>(&FloorGuard::<K>::new(), shape)),
        "fresh" => run(user_job::<K, _>(&Fresh::<K>::new(), shape)),
        "shardpool" => run(user_job::<K, _>(&shard_user::<K>(), shape)),
        "shardpool-noreset" => run(user_job::<K, _>(&shard::<K>(), shape)),
        "regex-automata" => run(user_job::<K, _>(&RegexPool::<K>::new(), shape)),
        "opool" => run(user_job::<K, _>(&OPool::<K>::new(), shape)),
        "object-pool" => run(user_job::<K, _>(&ObjectPool::<K>::new(), shape)),
        "lockfree-linear" => run(user_job::<K, _>(&LfLinear::<K>::new(), shape)),
        "lockfree-spinlock" => run(user_job::<K, _>(&LfSpin::<K>::new(), shape)),
        "mutex-vec" => run(user_job::<K, _>(&MutexVec::<K>::new(), shape)),
        "arrayqueue" => run(user_job::<K, _>(&ArrayQ::<K>::new(), shape)),
        "zeropool" if !is_req => run(user_job::<K, _>(&ZeroPool::new(zero_size), shape)),
        _ => return None,
    }
    Some(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [which, workload, ops] = &args[..] else {
        eprintln!("usage: bench_probe <impl> <workload> <ops> (see the source's docs)");
        return ExitCode::from(2);
    };
    let Ok(ops) = ops.parse::<u64>() else {
        eprintln!("bench_probe: ops must be a number");
        return ExitCode::from(2);
    };
    let done = match workload.as_str() {
        "single" => user::<Small>(which, Loop::Single, ops),
        "hold32" => user::<Small>(which, Loop::Hold(32), ops),
        "big" => user::<Big>(which, Loop::Single, ops),
        "bighold16" => bytes::<Big>(which, Load::BigHold(16), ops),
        "mixed" => bytes::<Grow>(which, Load::Mixed, ops),
        "zeroed" => bytes::<Grow>(which, Load::Zeroed, ops),
        "request" => user::<Req>(which, Loop::Single, ops),
        _ => None,
    };
    match done {
        Some(()) => ExitCode::SUCCESS,
        None => {
            eprintln!("bench_probe: unknown impl `{which}` or workload `{workload}`");
            ExitCode::from(2)
        }
    }
}
