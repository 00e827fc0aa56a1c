//! The floor, checked side by side: the free-list floor written out
//! literally (below, not generic), the same loop through the suite's generic
//! code (`common::user::FreeList`), the suite's other bare loop (`floor`),
//! floor-boxed, shardpool and regex-automata's pool, interleaved on one team
//! of threads, in one process. Prints each one's median ns per get+put per
//! thread and the median of its same-round ratios to the literal free list;
//! each round starts with a different implementation.
//!
//! ```text
//! floor_check [--ms MS] [--rounds N] [--workloads single,parallel2,threads8,hold32,hold32x2]
//! ```
//!
//! The literal free list: a `const`-initialised `thread_local!` of
//! `RefCell<Vec<Vec<u8>>>`; `get` = `with(|s| s.borrow_mut().pop())
//! .unwrap_or_else(create)` (a 4 KiB `Vec<u8>`); the loop writes 64 bytes
//! (`extend_from_slice`), `black_box(&mut v)`, then `put` = `v.clear()` and a
//! push if fewer than 256 are idle; `get` and `put` are `#[inline]` methods of
//! a small struct. `hold32`: 32 gets (each written and `black_box`ed), then 32
//! puts. `scripts/floor_table.sh` writes its output to `docs/perf/floors.md`.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../benches/peers.rs"]
mod peers;

use common::Small;
use common::impls::shard_user;
use common::team::{Job, with_team};
use common::user::{Loop, floor_boxed_job, floor_job, free_list_job, user_job};
use peers::RegexPool;
use std::cell::RefCell;
use std::hint::black_box;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

const PAYLOAD: [u8; 64] = [0xAB; 64];

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn create() -> Vec<u8> {
    Vec::with_capacity(4096)
}

/// The free list, exactly as written out in the module docs.
struct Literal;

impl Literal {
    #[inline]
    fn get(&self) -> Vec<u8> {
        FREE.with(|s| s.borrow_mut().pop()).unwrap_or_else(create)
    }

    #[inline]
    fn put(&self, mut v: Vec<u8>) {
        v.clear();
        FREE.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 256 {
                s.push(v)
            }
        })
    }
}

#[inline(never)]
fn literal_single(ops: u64) {
    let f = Literal;
    for _ in 0..ops {
        let mut v = f.get();
        v.extend_from_slice(&PAYLOAD);
        black_box(&mut v);
        f.put(v);
    }
}

#[inline(never)]
fn literal_hold(k: usize, ops: u64) {
    let f = Literal;
    let mut held = Vec::with_capacity(k);
    let mut left = ops;
    while left > 0 {
        let batch = left.min(k as u64);
        for _ in 0..batch {
            let mut v = f.get();
            v.extend_from_slice(&PAYLOAD);
            black_box(&mut v);
            held.push(v);
        }
        for v in held.drain(..) {
            f.put(v);
        }
        left -= batch;
    }
}

fn literal_job(shape: Loop) -> Box<Job<'static>> {
    match shape {
        Loop::Single => Box::new(|_, ops| literal_single(ops)),
        Loop::Hold(k) => Box::new(move |_, ops| literal_hold(k, ops)),
    }
}

const WORKLOADS: [(&str, usize, Loop); 5] = [
    ("single", 1, Loop::Single),
    ("parallel2", 2, Loop::Single),
    ("threads8", 8, Loop::Single),
    ("hold32", 1, Loop::Hold(32)),
    ("hold32x2", 2, Loop::Hold(32)),
];

struct Options {
    slice: Duration,
    rounds: usize,
    workloads: Vec<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        slice: Duration::from_millis(10),
        rounds: 21,
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
            eprintln!("floor_check: {e}");
            return ExitCode::from(2);
        }
    };
    let names = [
        "free-list (literal)",
        "free-list",
        "floor",
        "floor-boxed",
        "shardpool",
        "regex-automata",
    ];
    println!(
        "ns per get+put per thread: median of {} interleaved slices of {} ms; ratio: median of the same-round \
         ratios to `free-list (literal)`; faster: rounds in which it beat `free-list (literal)`.\n",
        o.rounds,
        o.slice.as_millis()
    );
    print!("| workload |");
    for n in names {
        print!(" {n} ns |");
    }
    for n in &names[1..] {
        print!(" {n} ratio |");
    }
    println!(" floor faster |");
    print!("|---|");
    for _ in 0..(2 * names.len()) {
        print!("--:|");
    }
    println!();
    for &(name, threads, shape) in WORKLOADS
        .iter()
        .filter(|w| o.workloads.iter().any(|x| x == w.0))
    {
        let (pool, regex) = (shard_user::<Small>(), RegexPool::<Small>::new());
        let entries: Vec<Box<Job<'_>>> = vec![
            literal_job(shape),
            free_list_job::<Small>(shape),
            floor_job::<Small>(shape),
            floor_boxed_job::<Small>(shape),
            user_job::<Small, _>(&pool, shape),
            user_job::<Small, _>(&regex, shape),
        ];
        let jobs: Vec<&Job<'_>> = entries.iter().map(|j| &**j).collect();
        let samples = with_team(threads, &jobs, |team| {
            let ops: Vec<u64> = (0..jobs.len())
                .map(|j| team.calibrate(j, o.slice))
                .collect();
            let mut samples = vec![Vec::new(); jobs.len()];
            for round in 0..o.rounds {
                eprint!(
                    "\r\x1b[2Kfloor_check {name}: slice {}/{}",
                    round + 1,
                    o.rounds
                );
                let _ = std::io::stderr().flush();
                // Each round starts with the next implementation, so none
                // always runs first after the others (or after the pause).
                for step in 0..jobs.len() {
                    let j = (round + step) % jobs.len();
                    samples[j].push(team.run(j, ops[j]).as_nanos() as f64 / ops[j] as f64);
                }
            }
            samples
        });
        print!("| {name} |");
        for s in &samples {
            print!(" {:.1} |", median(s.clone()));
        }
        for s in &samples[1..] {
            let ratios = s.iter().zip(&samples[0]).map(|(a, b)| a / b).collect();
            print!(" {:.2}x |", median(ratios));
        }
        let faster = samples[2]
            .iter()
            .zip(&samples[0])
            .filter(|(a, b)| a < b)
            .count();
        println!(" {faster}/{} |", o.rounds);
    }
    eprintln!("\r\x1b[2Kfloor_check: done");
    ExitCode::SUCCESS
}
