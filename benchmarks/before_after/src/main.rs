//! shardpool against an earlier version of itself (`shardpool_before`,
//! exported by `scripts/before_after.sh <rev>`), in one process: each
//! fast-path workload runs the current pool, the earlier one and the floors
//! interleaved on one team of threads, and the table gives each one's median
//! ns per get+put per thread and the median of the same-round ratios of the
//! current pool to the earlier one. Both pools are built the same way:
//! `Pool::builder().reset(clear).max_idle_per_thread(256)`, 4 KiB `Vec<u8>`,
//! 64-byte write, in the user's loops (`examples/common/user.rs`).
//!
//! ```text
//! before_after [--ms MS] [--rounds N] [--workloads single,parallel2,threads8,hold32,hold32x2,handoff]
//! ```

#[path = "../../../examples/common/mod.rs"]
mod common;

use common::impls::shard_user;
use common::team::{Job, with_team};
use common::user::{Loop, Work, floor_job, free_list_job, handoff_job, user_job};
use common::{Kind, Small, Source};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// The earlier pool, configured as `shard_user` configures the current one.
struct Before(shardpool_before::Pool<Vec<u8>>);

impl Before {
    fn new() -> Self {
        Before(
            shardpool_before::Pool::builder()
                .reset(|b: &mut Vec<u8>| {
                    Work::<Small>::reset(b);
                    true
                })
                .max_idle_per_thread(256)
                .build(Small::create),
        )
    }
}

impl Source for Before {
    type Obj = Vec<u8>;
    type Held<'a> = shardpool_before::Pooled<'a, Vec<u8>>;
    const RESETS: bool = true;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.get()
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Self::Held<'a>) -> &'h mut Vec<u8>
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: Self::Held<'_>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// (name, threads, shape; `None`: handoff on one producer/consumer pair).
const WORKLOADS: [(&str, usize, Option<Loop>); 6] = [
    ("single", 1, Some(Loop::Single)),
    ("parallel2", 2, Some(Loop::Single)),
    ("threads8", 8, Some(Loop::Single)),
    ("hold32", 1, Some(Loop::Hold(32))),
    ("hold32x2", 2, Some(Loop::Hold(32))),
    ("handoff", 2, None),
];

struct Options {
    slice: Duration,
    rounds: usize,
    workloads: Vec<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        slice: Duration::from_millis(10),
        rounds: 31,
        workloads: WORKLOADS.iter().map(|w| w.0.to_string()).collect(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ms" => {
                let v = value()?;
                let ms: u64 = v.parse().map_err(|_| format!("--ms: not a number: {v}"))?;
                o.slice = Duration::from_millis(ms.max(1));
            }
            "--rounds" => {
                let v = value()?;
                o.rounds = v
                    .parse::<usize>()
                    .map_err(|_| format!("--rounds: {v}"))?
                    .max(1);
            }
            "--workloads" => {
                o.workloads = value()?.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = o
                    .workloads
                    .iter()
                    .find(|w| !WORKLOADS.iter().any(|x| x.0 == w.as_str()))
                {
                    return Err(format!("unknown workload `{bad}`"));
                }
            }
            other => return Err(format!("unknown option `{other}` (see the source's docs)")),
        }
    }
    Ok(o)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("before_after: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "ns per get+put per thread: median of {} interleaved rounds of {} ms slices (each round starts \
         with the next implementation); `now ÷ before`: median of the same-round ratios of the current \
         pool's time to the earlier one's, with the lowest and highest quartile of those ratios; `now \
         faster`: rounds in which the current pool was faster. The floor is the faster of the bare \
         loops `floor` and `free-list` (`examples/common/user.rs`); handoff's floor returns buffers \
         through a second channel.\n",
        o.rounds,
        o.slice.as_millis()
    );
    println!(
        "| workload | floor ns | shardpool before ns | shardpool now ns | now ÷ before | quartiles | now faster | before ÷ floor | now ÷ floor |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for &(name, threads, shape) in WORKLOADS
        .iter()
        .filter(|w| o.workloads.iter().any(|x| x == w.0))
    {
        let (now, before) = (shard_user::<Small>(), Before::new());
        // Indices: 0 = before, 1 = now, then the floors.
        let entries: Vec<Box<Job<'_>>> = match shape {
            Some(shape) => vec![
                user_job::<Small, _>(&before, shape),
                user_job::<Small, _>(&now, shape),
                floor_job::<Small>(shape),
                free_list_job::<Small>(shape),
            ],
            None => vec![
                handoff_job(&before, 1),
                handoff_job(&now, 1),
                common::user::handoff_floor_job(1),
            ],
        };
        let jobs: Vec<&Job<'_>> = entries.iter().map(|j| &**j).collect();
        let samples = with_team(threads, &jobs, |team| {
            let ops: Vec<u64> = (0..jobs.len())
                .map(|j| team.calibrate(j, o.slice))
                .collect();
            let mut samples = vec![Vec::new(); jobs.len()];
            for round in 0..o.rounds {
                eprint!(
                    "\r\x1b[2Kbefore_after {name}: round {}/{}",
                    round + 1,
                    o.rounds
                );
                let _ = std::io::stderr().flush();
                for step in 0..jobs.len() {
                    let j = (round + step) % jobs.len();
                    samples[j].push(team.run(j, ops[j]).as_nanos() as f64 / ops[j] as f64);
                }
            }
            samples
        });
        let mut ratios: Vec<f64> = samples[1]
            .iter()
            .zip(&samples[0])
            .map(|(n, b)| n / b)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
        let faster = samples[1]
            .iter()
            .zip(&samples[0])
            .filter(|(n, b)| n < b)
            .count();
        let (b, n) = (median(samples[0].clone()), median(samples[1].clone()));
        let floor = samples[2..]
            .iter()
            .map(|s| median(s.clone()))
            .fold(f64::INFINITY, f64::min);
        println!(
            "| {name} | {floor:.1} | {b:.1} | {n:.1} | {:.3}x | {:.3}–{:.3} | {faster}/{} | {:.2}x | {:.2}x |",
            median(ratios.clone()),
            q(0.25),
            q(0.75),
            o.rounds,
            b / floor,
            n / floor
        );
    }
    eprintln!("\r\x1b[2Kbefore_after: done");
    ExitCode::SUCCESS
}
