//! Turns the suite's criterion results into a markdown summary and SVG charts.
//!
//! ```text
//! cargo run --release --example bench_report -- [--criterion DIR] [--out DIR] [--svg DIR]
//! ```
//!
//! Reads `<criterion>/**/new/{benchmark,estimates}.json` (default
//! `$CARGO_TARGET_DIR/criterion`, else `target/criterion`), writes
//! `<out>/summary.md` (default `$CARGO_TARGET_DIR/bench-report`, else
//! `target/bench-report`), including `<out>/memory.md` if `benches/memory.rs`
//! wrote one, and `<svg>/workloads.svg` and `<svg>/scaling.svg` (default
//! `docs/perf`). `scripts/bench_all.sh` runs it after the suite.
//!
//! Every time is criterion's median of per-iteration sample times (robust to
//! the odd preempted sample), in ns per get+put per thread. Results from the
//! mimalloc, mimalloc-v2 and jemalloc binaries are compared through each
//! binary's own floor (which does not allocate): their ratio to that floor is
//! exact within the binary; their "ns" in the tables is that ratio times the
//! system binary's floor.

use plotters::prelude::*;
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn Error>>;

/// Workloads in table order, with a one-line description.
const WORKLOADS: [(&str, &str); 13] = [
    (
        "single",
        "1 thread: 4 KiB buffer, write 64 B, return (user's loop; floor = bare loop)",
    ),
    ("parallel2", "`single` on 2 threads"),
    ("oversub8", "`single` on 8 threads (2 cores)"),
    (
        "handoff",
        "producer gets+writes, bounded channel (64), consumer returns",
    ),
    ("hold32", "hold 32 buffers, then return all"),
    ("hold32x2", "`hold32` on 2 threads"),
    ("big", "256 KiB buffer, one byte written per 4 KiB page"),
    ("big_x2", "`big` on 2 threads"),
    (
        "request",
        "parse a 16-header HTTP request into a pooled struct",
    ),
    ("request_x2", "`request` on 2 threads"),
    (
        "bighold16",
        "hold 16 × 256 KiB buffers (every page written), return all (older harness)",
    ),
    (
        "mixed",
        "1/4/16/64/256 KiB buffers in turn, every page written (older harness)",
    ),
    (
        "zeroed",
        "64 KiB zero-filled buffer (fresh: `vec![0; n]`), write 64 B (older harness)",
    ),
];

/// Allocator binaries other than the system one.
const ALLOCS: [&str; 3] = ["mimalloc", "mimalloc-v2", "jemalloc"];

const PEERS: [&str; 9] = [
    "regex-automata",
    "opool",
    "object-pool",
    "lockfree-linear",
    "lockfree-spinlock",
    "zeropool",
    "mutex-vec",
    "arrayqueue",
    "shardpool-recycle",
];

/// (group, function, parameter) → median ns.
#[derive(Default)]
struct Results {
    map: BTreeMap<(String, String, String), f64>,
}

impl Results {
    fn get(&self, group: &str, function: &str) -> Option<f64> {
        self.param(group, function, "")
    }

    /// The system binary's floor in `group`: the faster of its two bare
    /// loops, `floor` and `free-list` (where that one ran).
    fn floor(&self, group: &str) -> Option<f64> {
        let floor = self.get(group, "floor")?;
        Some(
            self.get(group, "free-list")
                .map_or(floor, |list| list.min(floor)),
        )
    }

    fn param(&self, group: &str, function: &str, param: &str) -> Option<f64> {
        self.map
            .get(&(group.into(), function.into(), param.into()))
            .copied()
    }

    /// The time of `function@alloc` normalized through the floors:
    /// `t(function@alloc) / t(floor@alloc) × t(floor)`.
    fn via_floor(&self, group: &str, function: &str, alloc: &str) -> Option<f64> {
        let t = self.get(group, &format!("{function}@{alloc}"))?;
        let own = self.get(group, &format!("floor@{alloc}"))?;
        // This binary's `floor` loop over the system binary's: the same
        // loop, so the ratio carries the run-to-run drift between binaries.
        let floor = self.get(group, "floor")?;
        Some(t / own * floor)
    }

    fn fresh(&self, group: &str, alloc: &str) -> Option<f64> {
        if alloc == "sys" {
            self.get(group, "fresh@sys")
        } else {
            self.via_floor(group, "fresh", alloc)
        }
    }
}

/// The string value of `"key":"..."` in a flat JSON object (criterion's
/// benchmark.json), or `None` if absent or null.
fn json_str(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let rest = json[json.find(&pat)? + pat.len()..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// `point_estimate` of the `"median"` estimate in criterion's estimates.json.
fn json_median(json: &str) -> Option<f64> {
    let at = json.find("\"median\":{")?;
    let rest = &json[at..];
    let pat = "\"point_estimate\":";
    let rest = &rest[rest.find(pat)? + pat.len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

fn collect(dir: &Path, results: &mut Results) -> Res<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let (bench, est) = (path.join("benchmark.json"), path.join("estimates.json"));
            if let (Ok(bench), Ok(est)) = (
                std::fs::read_to_string(&bench),
                std::fs::read_to_string(&est),
            ) && let (Some(group), Some(function), Some(median)) = (
                json_str(&bench, "group_id"),
                json_str(&bench, "function_id"),
                json_median(&est),
            ) {
                let param = json_str(&bench, "value_str").unwrap_or_default();
                results.map.insert((group, function, param), median);
            }
        } else if path
            .file_name()
            .is_some_and(|n| n != "report" && n != "base")
        {
            collect(&path, results)?;
        }
    }
    Ok(())
}

fn fmt_ns(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.0}", v)
    } else if v >= 100.0 {
        format!("{:.1}", v)
    } else {
        format!("{:.2}", v)
    }
}

/// `12.3 (1.05×)`: time and ratio to `base`.
fn cell(v: Option<f64>, base: Option<f64>) -> String {
    match (v, base) {
        (Some(v), Some(b)) => format!("{} ({:.2}×)", fmt_ns(v), v / b),
        (Some(v), None) => fmt_ns(v),
        _ => "–".into(),
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |s| s.trim().to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let glibc = std::process::Command::new("ldd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.to_string())
        })
        .unwrap_or_default();
    format!(
        "{model}, {cpus} CPUs, {:.0} GiB RAM, Linux {}, {rustc}, {glibc}",
        mem_kb as f64 / (1 << 20) as f64,
        kernel.trim()
    )
}

fn summary(r: &Results, out_dir: &Path) -> String {
    let mut s = String::new();
    let w = &mut s;
    writeln!(w, "# shardpool benchmark summary\n").unwrap();
    writeln!(w, "Machine: {}.\n", machine()).unwrap();
    writeln!(
        w,
        "ns per get+put per thread (criterion median). `(n×)` is the ratio to the floor \
         (a `thread_local!` `RefCell<Vec<T>>` free list; in `handoff`, a second channel that \
         returns each buffer to the producer). Fresh allocation with mimalloc / mimalloc v2 / \
         jemalloc runs in its own binary and is shown as its ratio to that binary's floor, times \
         this binary's floor. Timings on a shared machine are noisy: read ratios, and repeat.\n"
    )
    .unwrap();

    // Main table.
    writeln!(
        w,
        "| workload | floor | shardpool | fresh@sys | fresh@mimalloc | fresh@mimalloc-v2 | fresh@jemalloc | best peer | shardpool ÷ best fresh |"
    )
    .unwrap();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|").unwrap();
    for (g, _) in WORKLOADS {
        let floor = r.floor(g);
        if floor.is_none() && r.get(g, "shardpool").is_none() {
            continue;
        }
        let pool = r.get(g, "shardpool");
        let fresh: Vec<Option<f64>> = ["sys"]
            .into_iter()
            .chain(ALLOCS)
            .map(|a| r.fresh(g, a))
            .collect();
        let best_peer = PEERS
            .iter()
            .filter(|p| **p != "shardpool-recycle")
            .filter_map(|p| r.get(g, p).map(|t| (*p, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let best_fresh = fresh.iter().flatten().copied().min_by(f64::total_cmp);
        let vs_fresh = match (pool, best_fresh) {
            (Some(p), Some(f)) => format!("{:.2}×", p / f),
            _ => "–".into(),
        };
        let peer = best_peer.map_or("–".into(), |(n, t)| {
            format!("{n} {}", cell(Some(t), floor))
        });
        writeln!(
            w,
            "| {g} | {} | {} | {} | {} | {} | {} | {peer} | {vs_fresh} |",
            floor.map_or("–".into(), fmt_ns),
            cell(pool, floor),
            cell(fresh[0], floor),
            cell(fresh[1], floor),
            cell(fresh[2], floor),
            cell(fresh[3], floor),
        )
        .unwrap();
    }
    writeln!(w, "\nWorkloads:\n").unwrap();
    for (g, d) in WORKLOADS {
        writeln!(w, "- `{g}`: {d}").unwrap();
    }

    // Peers and variants.
    writeln!(
        w,
        "\n## Every implementation (system allocator), ratio to shardpool\n\n\
         `<1` means faster than shardpool. `floor-guard` is the floor behind a 32-byte drop \
         guard (what a guard costs by itself)."
    )
    .unwrap();
    let mut cols: Vec<&str> = vec!["floor", "free-list", "floor-guard", "fresh@sys"];
    cols.extend(PEERS);
    cols.extend([
        "shardpool-owned",
        "shardpool-detach",
        "shardpool-idle128",
        "channel-only",
    ]);
    write!(w, "\n| workload | shardpool ns |").unwrap();
    for c in &cols {
        write!(w, " {c} |").unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "|---|---|{}", "---|".repeat(cols.len())).unwrap();
    for (g, _) in WORKLOADS {
        let Some(pool) = r.get(g, "shardpool") else {
            continue;
        };
        write!(w, "| {g} | {} |", fmt_ns(pool)).unwrap();
        for c in &cols {
            match r.get(g, c) {
                Some(t) => write!(w, " {:.2} |", t / pool).unwrap(),
                None => write!(w, " |").unwrap(),
            }
        }
        writeln!(w).unwrap();
    }

    // Targets.
    writeln!(
        w,
        "\n## Targets\n\n\
         Ratios of shardpool to the floor (the faster of the bare loops `floor` and \
         `free-list`), and to the floor behind a 32-byte drop guard (`floor-guard`: the \
         `floor` list, returned by a guard's `Drop`, so both sides pay what holding a guard \
         costs the compiler). `met` is judged against the floor.\n"
    )
    .unwrap();
    writeln!(
        w,
        "| target | vs floor | vs floor-guard | met |\n|---|---|---|---|"
    )
    .unwrap();
    let pool_over = |g: &str, base: &str| {
        let base = if base == "floor" {
            r.floor(g)?
        } else {
            r.get(g, base)?
        };
        Some(r.get(g, "shardpool")? / base)
    };
    for (g, limit) in [
        ("single", 1.00),
        ("parallel2", 1.05),
        ("oversub8", 1.15),
        ("hold32", 1.15),
        ("hold32x2", 1.20),
        ("big", 1.10),
        ("big_x2", 1.15),
        ("request", 1.10),
        ("request_x2", 1.15),
    ] {
        let (v, vg) = (pool_over(g, "floor"), pool_over(g, "floor-guard"));
        let ok = match v {
            Some(v) if v <= limit => "yes",
            Some(_) => "**no**",
            None => "–",
        };
        let f = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.2}×"));
        writeln!(w, "| {g} ≤ {limit}× floor | {} | {} | {ok} |", f(v), f(vg)).unwrap();
    }
    // handoff: judged inside each allocator binary (same run), because the
    // handoff floor's time swings with thread wake-ups from run to run.
    for alloc in ["mimalloc", "mimalloc-v2", "jemalloc"] {
        let fresh = r.get("handoff", &format!("fresh@{alloc}"));
        for pool in ["shardpool", "shardpool-idle128"] {
            let v = r
                .get("handoff", &format!("{pool}@{alloc}"))
                .zip(fresh)
                .map(|(p, f)| p / f);
            let ok = match v {
                Some(v) if v <= 0.6 => "yes",
                Some(_) => "**no**",
                None => "–",
            };
            writeln!(
                w,
                "| handoff: {pool} ≤ 0.6× fresh, both in the {alloc} binary | {} | | {ok} |",
                v.map_or("–".into(), |x| format!("{x:.2}× fresh"))
            )
            .unwrap();
        }
    }

    // Scaling.
    for (group, what) in [
        ("scaling_single", "threads"),
        ("scaling_handoff", "producer/consumer pairs"),
    ] {
        let mut functions: Vec<&str> = r
            .map
            .keys()
            .filter(|(g, _, _)| g == group)
            .map(|(_, f, _)| f.as_str())
            .collect();
        functions.dedup();
        if functions.is_empty() {
            continue;
        }
        functions.sort_by_key(|f| order(f));
        writeln!(w, "\n## `{group}`: ns per get+put per thread, by {what}\n").unwrap();
        write!(w, "| {what} |").unwrap();
        for f in &functions {
            write!(w, " {f} |").unwrap();
        }
        writeln!(w, "\n|---|{}", "---|".repeat(functions.len())).unwrap();
        for n in [1, 2, 4, 8, 16, 32] {
            write!(w, "| {n} |").unwrap();
            for f in &functions {
                match r.param(group, f, &n.to_string()) {
                    Some(t) => write!(w, " {} |", fmt_ns(t)).unwrap(),
                    None => write!(w, " – |").unwrap(),
                }
            }
            writeln!(w).unwrap();
        }
    }

    if let Ok(memory) = std::fs::read_to_string(out_dir.join("memory.md")) {
        writeln!(
            w,
            "\n## Memory held after `handoff` (benches/memory.rs)\n\n{memory}"
        )
        .unwrap();
    }
    s
}

/// Sort key: floor, shardpool, fresh, then peers.
fn order(f: &str) -> (usize, String) {
    let rank = if f.starts_with("floor") {
        0
    } else if f.starts_with("shardpool") {
        1
    } else if f.starts_with("fresh") {
        2
    } else {
        3
    };
    (rank, f.to_string())
}

const COLORS: [RGBColor; 9] = [
    RGBColor(90, 90, 90),    // floor
    RGBColor(214, 39, 40),   // shardpool
    RGBColor(31, 119, 180),  // fresh@sys
    RGBColor(44, 160, 44),   // fresh@mimalloc
    RGBColor(152, 223, 138), // fresh@mimalloc-v2
    RGBColor(148, 103, 189), // fresh@jemalloc
    RGBColor(255, 127, 14),  // regex-automata
    RGBColor(140, 86, 75),   // lockfree-linear
    RGBColor(227, 119, 194), // opool
];

fn workloads_svg(r: &Results, path: &Path) -> Res<()> {
    type Getter<'a> = Box<dyn Fn(&str) -> Option<f64> + 'a>;
    let series: Vec<(&str, Getter<'_>)> = vec![
        ("floor", Box::new(|g| r.floor(g))),
        ("shardpool", Box::new(|g| r.get(g, "shardpool"))),
        ("fresh@sys", Box::new(|g| r.fresh(g, "sys"))),
        ("fresh@mimalloc", Box::new(|g| r.fresh(g, "mimalloc"))),
        ("fresh@mimalloc-v2", Box::new(|g| r.fresh(g, "mimalloc-v2"))),
        ("fresh@jemalloc", Box::new(|g| r.fresh(g, "jemalloc"))),
        ("regex-automata", Box::new(|g| r.get(g, "regex-automata"))),
        ("lockfree-linear", Box::new(|g| r.get(g, "lockfree-linear"))),
        ("opool", Box::new(|g| r.get(g, "opool"))),
    ];
    let groups: Vec<&str> = WORKLOADS
        .iter()
        .map(|(g, _)| *g)
        .filter(|g| r.get(g, "floor").is_some())
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    let values: Vec<f64> = groups
        .iter()
        .flat_map(|g| series.iter().filter_map(|(_, f)| f(g)))
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = values.iter().copied().fold(0.0, f64::max) * 2.0;
    let root = SVGBackend::new(path, (1400, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = groups.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "ns per get+put per thread (log scale; lower is better)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                groups
                    .get(i as usize)
                    .map_or(String::new(), |g| g.to_string())
            } else {
                String::new()
            }
        })
        .y_desc("ns")
        .y_label_formatter(&|y| fmt_ns(*y))
        .draw()?;
    let width = 0.84 / series.len() as f64;
    for (k, (name, f)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let bars: Vec<_> = groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let v = f(g)?;
                let x0 = i as f64 - 0.42 + k as f64 * width;
                Some(Rectangle::new([(x0, lo), (x0 + width, v)], color.filled()))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn scaling_svg(r: &Results, path: &Path) -> Res<()> {
    let root = SVGBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    for (panel, (group, title)) in panels.iter().zip([
        ("scaling_single", "single: N threads"),
        ("scaling_handoff", "handoff: N producer/consumer pairs"),
    ]) {
        let mut functions: Vec<&str> = r
            .map
            .keys()
            .filter(|(g, f, _)| g == group && (!f.contains('@') || f == "fresh@sys"))
            .map(|(_, f, _)| f.as_str())
            .collect();
        functions.dedup();
        functions.sort_by_key(|f| order(f));
        let points: Vec<(usize, f64)> = functions
            .iter()
            .flat_map(|f| {
                (0..6).filter_map(move |i| {
                    r.param(group, f, &(1usize << i).to_string())
                        .map(|t| (i, t))
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) / 1.5;
        let hi = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.5;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{title} — ns per op per thread"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.2f64..5.2, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && (0.0..=5.0).contains(&i) {
                    format!("{}", 1usize << i as usize)
                } else {
                    String::new()
                }
            })
            .x_desc(if group == "scaling_single" {
                "threads"
            } else {
                "pairs"
            })
            .y_label_formatter(&|y| fmt_ns(*y))
            .draw()?;
        for (k, f) in functions.iter().enumerate() {
            let color = match *f {
                "floor" => COLORS[0],
                "shardpool" => COLORS[1],
                "fresh@sys" => COLORS[2],
                "regex-automata" => COLORS[6],
                "lockfree-linear" => COLORS[7],
                "opool" => COLORS[8],
                _ => {
                    let (r, g, b) = Palette99::pick(k + 20).rgb();
                    RGBColor(r, g, b)
                }
            };
            let line: Vec<(f64, f64)> = (0..6)
                .filter_map(|i| {
                    r.param(group, f, &(1usize << i).to_string())
                        .map(|t| (i as f64, t))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
                .label(*f)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Res<()> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut criterion = PathBuf::from(&target).join("criterion");
    let mut out = PathBuf::from(&target).join("bench-report");
    let mut svg = PathBuf::from("docs/perf");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--criterion" => criterion = value()?,
            "--out" => out = value()?,
            "--svg" => svg = value()?,
            "-h" | "--help" => {
                println!("bench_report [--criterion DIR] [--out DIR] [--svg DIR]");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let mut results = Results::default();
    collect(&criterion, &mut results)
        .map_err(|e| format!("reading {}: {e}", criterion.display()))?;
    if results.map.is_empty() {
        return Err(format!("no criterion results under {}", criterion.display()).into());
    }
    std::fs::create_dir_all(&out)?;
    std::fs::create_dir_all(&svg)?;
    let md = summary(&results, &out);
    std::fs::write(out.join("summary.md"), &md)?;
    workloads_svg(&results, &svg.join("workloads.svg"))?;
    scaling_svg(&results, &svg.join("scaling.svg"))?;
    println!("{md}");
    eprintln!(
        "bench_report: {} results; wrote {}, {}, {}",
        results.map.len(),
        out.join("summary.md").display(),
        svg.join("workloads.svg").display(),
        svg.join("scaling.svg").display()
    );
    Ok(())
}
