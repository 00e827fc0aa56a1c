//! Runs one benchmark workload through one implementation on the calling
//! thread, for instruction counting (`valgrind --tool=callgrind`) and
//! profiling (`perf record`), where criterion's own work would get in the way.
//! The code is the suite's (`benches/common`).
//!
//! ```text
//! bench_probe <impl> <workload> <ops>
//!   impl:     floor floor-guard fresh shardpool shardpool-recycle regex-automata opool
//!             object-pool lockfree-linear lockfree-spinlock mutex-vec arrayqueue zeropool
//!   workload: single hold32 big bighold16 mixed zeroed request
//! ```
//!
//! `scripts/fast_path_instructions.sh --all` prints instructions per get+put
//! for every pair.

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/peers.rs"]
mod peers;

use common::impls::{Floor, FloorGuard, Fresh, FreshZeroed, shard, shard_recycle};
use common::team::Job;
use common::work::{Load, bytes_job, request_job};
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

fn request(which: &str, ops: u64) -> Option<()> {
    let run = |job: Box<Job<'_>>| job(0, ops);
    match which {
        "floor" => run(request_job(&Floor::<Req>::new())),
        "floor-guard" => run(request_job(&FloorGuard::<Req>::new())),
        "fresh" => run(request_job(&Fresh::<Req>::new())),
        "shardpool" => run(request_job(&shard::<Req>())),
        "regex-automata" => run(request_job(&RegexPool::<Req>::new())),
        "opool" => run(request_job(&OPool::<Req>::new())),
        "object-pool" => run(request_job(&ObjectPool::<Req>::new())),
        "lockfree-linear" => run(request_job(&LfLinear::<Req>::new())),
        "lockfree-spinlock" => run(request_job(&LfSpin::<Req>::new())),
        "mutex-vec" => run(request_job(&MutexVec::<Req>::new())),
        "arrayqueue" => run(request_job(&ArrayQ::<Req>::new())),
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
        "single" => bytes::<Small>(which, Load::Single, ops),
        "hold32" => bytes::<Small>(which, Load::Hold(32), ops),
        "big" => bytes::<Big>(which, Load::Big, ops),
        "bighold16" => bytes::<Big>(which, Load::BigHold(16), ops),
        "mixed" => bytes::<Grow>(which, Load::Mixed, ops),
        "zeroed" => bytes::<Grow>(which, Load::Zeroed, ops),
        "request" => request(which, ops),
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
