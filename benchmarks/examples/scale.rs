//! The `scale` table: what a get that finds nothing (miss), a steal, a trim
//! and a stats snapshot cost with `K` idle shards in the pool (threads that
//! used it once and are still alive), next to a get on a `pooling(false)`
//! pool. Markdown on stdout; `scripts/scale_table.sh` writes it to
//! `docs/perf/scale.md`. The fixture and every measurement are in
//! `benchmarks/benches/scale_fixture/mod.rs`.
//!
//! ```text
//! scale [--ks 0,1,64,512,2048,4096] [--runs 15] [--ms 1]
//!       [--tsv FILE] [--svg FILE] [--before FILE.tsv]
//! ```
//!
//! `--tsv` writes the rows (`K`, measure, ns) for a later `--before`;
//! `--svg` draws miss, steal, trim and stats against K (log scale), with
//! the rows of `--before` (an earlier `--tsv`) dashed beside them.
//!
//! `--runs`: runs per measurement, the fastest is shown (on a machine shared
//! with other work, more runs leave out more of its interference); `--ms`:
//! the least length of one miss/trim/stats run (a steal run is always 1000
//! gets).
//! K grows in one process: the threads of one row stay for the next. For
//! each K: miss (and, at K = 0, the pass-through pool and a plain
//! `Vec::with_capacity(4096)`, interleaved with it), then trim and stats on
//! the empty pool, then steal (its filler thread exits after the row).

#[path = "../benches/scale_fixture/mod.rs"]
mod scale;

use scale::{Filler, Idle};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

struct Options {
    ks: Vec<usize>,
    runs: usize,
    span: Duration,
    tsv: Option<String>,
    svg: Option<String>,
    before: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        ks: vec![0, 1, 64, 512, 2048, 4096],
        runs: 15,
        span: Duration::from_millis(1),
        tsv: None,
        svg: None,
        before: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--ks" => {
                o.ks = value()?.split(',').map(number).collect::<Result<_, _>>()?;
                o.ks.sort_unstable();
                o.ks.dedup();
            }
            "--runs" => o.runs = number(&value()?)?.max(1),
            "--ms" => o.span = Duration::from_millis(number(&value()?)?.max(1) as u64),
            "--tsv" => o.tsv = Some(value()?),
            "--svg" => o.svg = Some(value()?),
            "--before" => o.before = Some(value()?),
            "-h" | "--help" => return Err("see the source's docs".into()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if o.ks.is_empty() {
        return Err("--ks: at least one K".into());
    }
    Ok(o)
}

/// One K's results; times in ns.
struct Row {
    k: usize,
    shards: u64,
    miss: f64,
    /// A `pooling(false)` get at this K, interleaved with the miss: what the
    /// allocator alone costs with this many threads alive.
    pass: f64,
    steal: f64,
    /// Steal operations (each takes a batch) per 1000 gets in the steal runs.
    steals_per_1000: f64,
    trim: f64,
    stats: f64,
}

/// `31779` → `31,779`.
fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant digits, thousands grouped.
fn num(v: f64) -> String {
    if v >= 100.0 {
        group(v.round() as u64)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scale: {e}");
            return ExitCode::from(2);
        }
    };
    // One thread that never uses the pool stays alive throughout, so every
    // row, K = 0 included, runs with the allocator in its multi-thread mode
    // (glibc's malloc takes a faster path while a process has one thread; a
    // K = 0 measured single-threaded would count that switch as the cost of
    // the first idle shard).
    let (bystander_done, bystander_wait) = std::sync::mpsc::channel::<()>();
    let bystander = std::thread::spawn(move || {
        let _ = bystander_wait.recv();
    });
    let pool = scale::pool();
    let pass = scale::pass_through();
    // The calling thread's own shard, and the allocator's caches, warmed up.
    for _ in 0..1000 {
        scale::miss_once(&pool);
        scale::miss_once(&pass);
    }
    let mut idle = Idle::new(&pool);
    let mut rows = Vec::new();
    // At K = 0: (miss, pass-through get, plain allocation), interleaved.
    let mut creates: Option<(f64, f64, f64)> = None;
    for &k in &o.ks {
        eprint!("\r\x1b[2Kscale: K = {k}: spawning");
        if let Err(e) = idle.grow_to(k) {
            eprintln!("\nscale: could not spawn {k} idle threads: {e} (see `ulimit -u`)");
            return ExitCode::FAILURE;
        }
        assert!(
            scale::is_empty(&pool),
            "the pool should hold nothing between rows"
        );
        // The calling thread's shard, the idle threads', and any left by
        // the filler threads of earlier rows (a new thread may take one over).
        let shards = pool.stats().shards;
        eprint!("\r\x1b[2Kscale: K = {k}: miss, trim, stats");
        // Interleaved, so they see the same machine.
        let (mut miss, mut pass_get, mut alloc) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        for _ in 0..o.runs {
            miss = miss.min(scale::fastest(1, o.span, || scale::miss_once(&pool)));
            pass_get = pass_get.min(scale::fastest(1, o.span, || scale::miss_once(&pass)));
            if k == 0 {
                alloc = alloc.min(scale::fastest(1, o.span, || {
                    drop(black_box(scale::create()))
                }));
            }
        }
        if k == 0 {
            creates = Some((miss, pass_get, alloc));
        }
        let trim = scale::fastest(o.runs, o.span, || {
            black_box(pool.trim());
        });
        let stats = scale::fastest(o.runs, o.span, || {
            black_box(pool.stats());
        });
        eprint!("\r\x1b[2Kscale: K = {k}: steal");
        let filler = Filler::new(&pool);
        let before = pool.stats().steals;
        let steal = scale::steal(&pool, &filler, o.runs);
        let steals = pool.stats().steals - before;
        drop(filler);
        rows.push(Row {
            k,
            shards,
            miss,
            pass: pass_get,
            steal,
            steals_per_1000: steals as f64 * 1000.0 / (o.runs * scale::STEAL_BATCH) as f64,
            trim,
            stats,
        });
    }
    eprint!("\r\x1b[2Kscale: joining the idle threads");
    drop(idle);
    drop(bystander_done);
    bystander.join().expect("the bystander thread");
    eprintln!("\r\x1b[2Kscale: done");
    print(&o, &rows, creates);
    let series = series(&rows);
    if let Some(path) = &o.tsv {
        let mut tsv = String::new();
        for (name, points) in &series {
            for (k, v) in points {
                tsv.push_str(&format!("{k}\t{name}\t{v:.1}\n"));
            }
        }
        if let Err(e) = std::fs::write(path, tsv) {
            eprintln!("scale: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &o.svg {
        let before = match o.before.as_deref().map(read_tsv).transpose() {
            Ok(before) => before,
            Err(e) => {
                eprintln!("scale: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = std::fs::write(path, svg(&series, before.as_ref())) {
            eprintln!("scale: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// (measure, [(K, ns)]) for each line of the chart.
type Series = Vec<(String, Vec<(usize, f64)>)>;

const MEASURES: [&str; 4] = ["miss", "steal", "trim", "stats"];

fn series(rows: &[Row]) -> Series {
    let pick: [fn(&Row) -> f64; 4] = [|r| r.miss, |r| r.steal, |r| r.trim, |r| r.stats];
    MEASURES
        .iter()
        .zip(pick)
        .map(|(name, f)| (name.to_string(), rows.iter().map(|r| (r.k, f(r))).collect()))
        .collect()
}

fn read_tsv(path: &str) -> Result<Series, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out: Series = MEASURES
        .iter()
        .map(|m| (m.to_string(), Vec::new()))
        .collect();
    for line in text.lines() {
        let mut f = line.split('\t');
        let (Some(k), Some(name), Some(v)) = (f.next(), f.next(), f.next()) else {
            return Err(format!("{path}: bad line `{line}`"));
        };
        let (k, v) = (
            k.parse().map_err(|_| format!("{path}: bad K `{k}`"))?,
            v.parse().map_err(|_| format!("{path}: bad ns `{v}`"))?,
        );
        if let Some((_, points)) = out.iter_mut().find(|(n, _)| n == name) {
            points.push((k, v));
        }
    }
    Ok(out)
}

/// A line chart: ns (log scale) against K (one column per K measured),
/// one colour per measure; `before`'s lines dashed.
fn svg(now: &Series, before: Option<&Series>) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 420.0, 70.0, 150.0, 30.0, 50.0);
    let mut ks: Vec<usize> = now
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(k, _)| k))
        .collect();
    ks.sort_unstable();
    ks.dedup();
    let all = now.iter().chain(before.into_iter().flatten());
    let values: Vec<f64> = all.flat_map(|(_, p)| p.iter().map(|&(_, v)| v)).collect();
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(1.0)
        .log10()
        .floor();
    let hi = values
        .iter()
        .copied()
        .fold(1.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let x = |k: usize| {
        let i = ks.iter().position(|&x| x == k).unwrap_or(0) as f64;
        left + i * (w - left - right) / (ks.len().max(2) - 1) as f64
    };
    let y = |v: f64| top + (hi - v.max(1.0).log10()) / (hi - lo) * (h - top - bottom);
    let colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for e in lo as i32..=hi as i32 {
        let yy = y(10f64.powi(e));
        let label = match e {
            0..=2 => format!("{} ns", 10u64.pow(e as u32)),
            3..=5 => format!("{} µs", 10u64.pow(e as u32 - 3)),
            _ => format!("{} ms", 10u64.pow(e as u32 - 6)),
        };
        out += &format!(
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\n",
            w - right,
            left - 6.0,
            yy + 4.0
        );
    }
    for &k in &ks {
        out += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{k}</text>\n",
            x(k),
            h - bottom + 18.0
        );
    }
    out += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">idle shards K (one column each)</text>\n\
         <text x=\"{left}\" y=\"{:.1}\">time per operation, log scale: miss, steal = one get; \
         trim, stats = one call</text>\n",
        (left + w - right) / 2.0,
        h - 12.0,
        top - 12.0
    );
    let mut legend = 0;
    for (set, dash) in [(Some(now), ""), (before, " stroke-dasharray=\"5,4\"")] {
        let Some(set) = set else { continue };
        for (i, (name, points)) in set.iter().enumerate() {
            let points: Vec<String> = points
                .iter()
                .filter(|(k, _)| ks.contains(k))
                .map(|&(k, v)| format!("{:.1},{:.1}", x(k), y(v)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let color = colors[i % colors.len()];
            out += &format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>\n",
                points.join(" ")
            );
            let ly = top + 10.0 + 18.0 * legend as f64;
            let label = if dash.is_empty() {
                name.clone()
            } else {
                format!("{name} (before)")
            };
            out += &format!(
                "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" \
                 stroke-width=\"2\"{dash}/>\n<text x=\"{:.1}\" y=\"{:.1}\">{label}</text>\n",
                w - right + 12.0,
                w - right + 36.0,
                w - right + 42.0,
                ly + 4.0
            );
            legend += 1;
        }
    }
    out + "</svg>\n"
}

fn print(o: &Options, rows: &[Row], creates: Option<(f64, f64, f64)>) {
    let at = |k: usize| rows.iter().find(|r| r.k == k);
    let miss_base = &rows[0];
    let steal_base = at(1).unwrap_or(&rows[0]);
    println!(
        "`Pool<Vec<u8>>`, 4 KiB buffers, `max_idle_per_thread({max})`; K idle threads ({stack} KiB stacks) \
         each took one object, detached it, and wait alive. On the calling thread, the fastest of {runs} \
         runs: miss = `Pooled::detach(pool.get())` on the empty pool (runs of at least {ms} ms); steal = a \
         filler thread got {n}, dropped them and called `flush_local`, then {n} detached gets, time per \
         get; trim = `pool.trim()`; stats = `pool.stats()`. `shards` (the pool's count before the steal \
         runs, the calling thread's included) and `steals / 1000 gets` (steal operations, each taking a \
         batch) are from `pool.stats()`. `pass-through ns`: a `pooling(false)` pool's get at the same K, \
         interleaved with the miss: the allocator's share, so `miss ÷ pass` is the pool's. One thread that \
         never uses the pool is alive in every row, K = 0 included: glibc's malloc takes a faster path \
         while a process has a single thread, which would otherwise show as the cost of the first idle \
         shard.\n",
        max = scale::MAX_IDLE,
        stack = scale::idle_stack_kib(),
        runs = o.runs,
        ms = o.span.as_millis(),
        n = scale::STEAL_BATCH,
    );
    println!(
        "| idle shards K | shards | miss ns | × K={} | pass-through ns | miss ÷ pass | steal ns | × K={} | steals / 1000 gets | trim µs | stats µs |",
        miss_base.k, steal_base.k
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
            group(r.k as u64),
            group(r.shards),
            num(r.miss),
            num(r.miss / miss_base.miss),
            num(r.pass),
            num(r.miss / r.pass),
            num(r.steal),
            num(r.steal / steal_base.steal),
            r.steals_per_1000,
            num(r.trim / 1e3),
            num(r.stats / 1e3)
        );
    }
    if let Some((m, p, a)) = creates {
        println!(
            "\nAt K = 0, a get that creates, interleaved with the miss (fastest of {} runs each):\n",
            o.runs
        );
        println!("| get | ns | miss ÷ this |");
        println!("|---|--:|--:|");
        println!(
            "| miss: `Pooled::detach(pool.get())`, empty pool | {} | 1.00 |",
            num(m)
        );
        println!(
            "| `pooling(false)` pool: `Pooled::detach(pool.get())` | {} | {} |",
            num(p),
            num(m / p)
        );
        println!(
            "| `Vec::with_capacity(4096)` and drop | {} | {} |",
            num(a),
            num(m / a)
        );
        println!("\nBars (ratios within this run):\n");
        println!("| bar | value | met |");
        println!("|---|--:|---|");
        let bar = |what: String, v: f64, limit: f64| {
            let met = if v <= limit { "yes" } else { "no" };
            println!("| {what} ≤ {limit}× | {}× | {met} |", num(v));
        };
        bar("miss at K=0 ÷ `pooling(false)` get".into(), m / p, 1.2);
        for k in [2048, 4096] {
            if let (Some(r), Some(r1)) = (at(k), at(1)) {
                bar(
                    format!("miss at K={k} ÷ miss at K=0"),
                    r.miss / miss_base.miss,
                    1.5,
                );
                bar(
                    format!("steal at K={k} ÷ steal at K=1"),
                    r.steal / r1.steal,
                    1.5,
                );
            }
        }
    }
}
