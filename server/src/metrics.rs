//! `GET /metrics`: every pool in the process, from `shardpool::stats_all()`,
//! in the Prometheus text exposition format (version 0.0.4), written by hand
//! so the server needs no metrics crate.
//!
//! The names and labels are those of shardpool's own `metrics` feature
//! (`shardpool::record_metrics`), so a dashboard works with either:
//! counters `shardpool_<stat>_total`, `shardpool_dropped_total{reason=...}`,
//! gauges `shardpool_idle`, `shardpool_idle_bytes`, `shardpool_in_use`,
//! `shardpool_shards`, each labelled `pool` = the pool's name (or
//! `unnamed-<n>`). Pools that share a name are added up into one series, as
//! the format requires.

use shardpool::{PoolStats, Stats};
use std::fmt::Write;

/// A metric's values for one pool: `(reason label, value)`, the label only
/// for `shardpool_dropped_total`.
type Values = Vec<(Option<&'static str>, u64)>;

/// One metric: its name, kind, help text, and how to read it.
struct Metric {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    values: fn(&Stats) -> Values,
}

const METRICS: &[Metric] = &[
    Metric {
        name: "shardpool_gets_total",
        kind: "counter",
        help: "Objects handed out.",
        values: |s| vec![(None, s.gets)],
    },
    Metric {
        name: "shardpool_private_hits_total",
        kind: "counter",
        help: "Gets served from the calling thread's private stack.",
        values: |s| vec![(None, s.private_hits)],
    },
    Metric {
        name: "shardpool_shared_hits_total",
        kind: "counter",
        help: "Gets served from the calling thread's own shared list.",
        values: |s| vec![(None, s.shared_hits)],
    },
    Metric {
        name: "shardpool_steals_total",
        kind: "counter",
        help: "Gets served by stealing a batch from another thread.",
        values: |s| vec![(None, s.steals)],
    },
    Metric {
        name: "shardpool_stolen_total",
        kind: "counter",
        help: "Objects moved by steals.",
        values: |s| vec![(None, s.stolen)],
    },
    Metric {
        name: "shardpool_created_total",
        kind: "counter",
        help: "Objects made by the pool's create function.",
        values: |s| vec![(None, s.created)],
    },
    Metric {
        name: "shardpool_returned_total",
        kind: "counter",
        help: "Objects handed back, kept or not.",
        values: |s| vec![(None, s.returned)],
    },
    Metric {
        name: "shardpool_adopted_total",
        kind: "counter",
        help: "Values handed in with put.",
        values: |s| vec![(None, s.adopted)],
    },
    Metric {
        name: "shardpool_detached_total",
        kind: "counter",
        help: "Objects taken out of the pool's care with detach.",
        values: |s| vec![(None, s.detached)],
    },
    Metric {
        name: "shardpool_dropped_total",
        kind: "counter",
        help: "Objects the pool dropped, by reason.",
        values: |s| {
            vec![
                (Some("policy"), s.dropped_by_policy),
                (Some("cap"), s.dropped_by_cap),
                (Some("budget"), s.dropped_by_budget),
                (Some("trim"), s.dropped_by_trim),
                (Some("panic"), s.dropped_by_panic),
                (Some("exit"), s.dropped_by_exit),
                (Some("passthrough"), s.dropped_by_passthrough),
            ]
        },
    },
    Metric {
        name: "shardpool_trims_total",
        kind: "counter",
        help: "Trims run.",
        values: |s| vec![(None, s.trims)],
    },
    Metric {
        name: "shardpool_idle",
        kind: "gauge",
        help: "Objects the pool holds idle now.",
        values: |s| vec![(None, s.idle)],
    },
    Metric {
        name: "shardpool_idle_bytes",
        kind: "gauge",
        help: "Bytes charged to the retained-bytes budget by idle objects.",
        values: |s| vec![(None, s.idle_bytes)],
    },
    Metric {
        name: "shardpool_in_use",
        kind: "gauge",
        help: "Objects out in guards now.",
        values: |s| vec![(None, s.in_use())],
    },
    Metric {
        name: "shardpool_shards",
        kind: "gauge",
        help: "Threads with a shard in the pool.",
        values: |s| vec![(None, s.shards)],
    },
];

/// The exposition of `all` (from `shardpool::stats_all()`).
pub fn prometheus_text(all: Vec<PoolStats>) -> String {
    let mut out = String::new();
    write_prometheus(all, &mut out);
    out
}

/// Appends the exposition of `all` to `out`: a `String`, or a pooled buffer
/// through [`Utf8`].
pub fn write_prometheus(all: Vec<PoolStats>, out: &mut impl Write) {
    let pools = labelled(all);
    for metric in METRICS {
        // Writing to a String or a `Utf8` buffer cannot fail.
        let _ = writeln!(out, "# HELP {} {}", metric.name, metric.help);
        let _ = writeln!(out, "# TYPE {} {}", metric.name, metric.kind);
        for (pool, stats) in &pools {
            for (reason, value) in (metric.values)(stats) {
                let _ = write!(out, "{}{{pool=\"", metric.name);
                escape_label(pool, out);
                if let Some(reason) = reason {
                    let _ = write!(out, "\",reason=\"{reason}");
                }
                let _ = writeln!(out, "\"}} {value}");
            }
        }
    }
}

/// `fmt::Write` for a byte buffer (text written to it stays UTF-8).
pub struct Utf8<'a>(pub &'a mut Vec<u8>);

impl Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Each pool's label and statistics, same-name pools added up, in
/// `stats_all` order.
fn labelled(all: Vec<PoolStats>) -> Vec<(String, Stats)> {
    let mut out: Vec<(String, Stats)> = Vec::with_capacity(all.len());
    let mut unnamed = 0usize;
    for entry in all {
        let label = entry.name.unwrap_or_else(|| {
            unnamed += 1;
            format!("unnamed-{unnamed}")
        });
        match out.iter_mut().find(|(l, _)| *l == label) {
            Some((_, sum)) => *sum += &entry.stats,
            None => out.push((label, entry.stats)),
        }
    }
    out
}

/// A label value with `\`, `"` and newlines escaped, as the format says.
fn escape_label(value: &str, out: &mut impl Write) {
    for c in value.chars() {
        let _ = match c {
            '\\' => out.write_str("\\\\"),
            '"' => out.write_str("\\\""),
            '\n' => out.write_str("\\n"),
            c => out.write_char(c),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: Option<&str>, gets: u64) -> PoolStats {
        let mut stats = Stats::default();
        stats.gets = gets;
        PoolStats {
            name: name.map(str::to_owned),
            stats,
        }
    }

    /// Names are escaped, unnamed pools numbered, same-name pools added up.
    #[test]
    fn labels_escape_number_and_add_up() {
        let text = prometheus_text(vec![
            entry(Some("a\"b\\c\nd"), 1),
            entry(None, 2),
            entry(Some("twice"), 3),
            entry(None, 4),
            entry(Some("twice"), 5),
        ]);
        assert!(
            text.contains("shardpool_gets_total{pool=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("shardpool_gets_total{pool=\"unnamed-1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("shardpool_gets_total{pool=\"unnamed-2\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("shardpool_gets_total{pool=\"twice\"} 8\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE shardpool_idle gauge\n"), "{text}");
        assert!(
            text.contains("shardpool_dropped_total{pool=\"twice\",reason=\"passthrough\"} 0\n"),
            "{text}"
        );
    }
}
