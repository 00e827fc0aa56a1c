//! Exporting every pool's statistics through the [`metrics`] facade (cargo
//! feature `metrics`), so whatever exporter a service already installs
//! (Prometheus, StatsD, OpenTelemetry...) shows its pools.

use crate::Stats;
use crate::trim::background::Hook;

/// The background trimmer's standing hook: it records at each pass, so a
/// running trimmer exports every pool without a timer of the user's.
pub(crate) struct RecordOnTick;

impl Hook for RecordOnTick {
    fn tick(&self) -> Option<u64> {
        record_metrics();
        None
    }
}

/// Records every live pool's counters and gauges through the `metrics`
/// facade (cargo feature `metrics`).
///
/// Reads [`stats_all`](crate::stats_all) and sets, for
/// each pool, with the label `pool` = its name (or `unnamed-<n>`):
///
/// | metric | kind | from [`Stats`] |
/// |---|---|---|
/// | `shardpool_gets_total` | counter | `gets` |
/// | `shardpool_private_hits_total` | counter | `private_hits` |
/// | `shardpool_shared_hits_total` | counter | `shared_hits` |
/// | `shardpool_steals_total` | counter | `steals` |
/// | `shardpool_stolen_total` | counter | `stolen` |
/// | `shardpool_created_total` | counter | `created` |
/// | `shardpool_returned_total` | counter | `returned` |
/// | `shardpool_adopted_total` | counter | `adopted` |
/// | `shardpool_detached_total` | counter | `detached` |
/// | `shardpool_dropped_total{reason}` | counter | `dropped_by_<reason>`: `policy`, `cap`, `budget`, `trim`, `panic`, `exit`, `passthrough` |
/// | `shardpool_trims_total` | counter | `trims` |
/// | `shardpool_idle` | gauge | `idle` |
/// | `shardpool_idle_bytes` | gauge | `idle_bytes` |
/// | `shardpool_in_use` | gauge | [`Stats::in_use`] |
/// | `shardpool_shards` | gauge | `shards` |
///
/// Counters are set to the pool's running totals
/// ([`Counter::absolute`](::metrics::Counter::absolute)), so calling it
/// often or rarely gives the same series. Pools that share a name are
/// reported as one: their statistics are added up. Unnamed pools are
/// numbered in the order they were built among the live unnamed pools, so
/// their labels move when one is dropped: name the pools you watch
/// ([`Builder::name`](crate::Builder::name)).
///
/// A running [`BackgroundTrimmer`](crate::BackgroundTrimmer) also records at
/// each of its passes (at least every
/// [`MAX_SLEEP`](crate::BackgroundTrimmer::MAX_SLEEP)); without a trimmer, call
/// `record_metrics` from a timer or just before your exporter is scraped.
///
/// ```
/// use shardpool::Pool;
///
/// let pool = Pool::builder().name("read-bufs").build(|| Vec::<u8>::with_capacity(4096));
/// drop(pool.get());
/// // With an exporter installed (e.g. `metrics-exporter-prometheus`), this
/// // shows up as `shardpool_gets_total{pool="read-bufs"} 1`, ...
/// shardpool::record_metrics();
/// ```
pub fn record_metrics() {
    for (pool, stats) in labelled(crate::stats_all()) {
        record(pool, &stats);
    }
}

/// Pairs each pool's statistics with its label, adding up pools that share
/// a name, in `stats_all` order (the first of a name fixes its place).
fn labelled(all: Vec<crate::PoolStats>) -> Vec<(String, Stats)> {
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

fn record(pool: String, s: &Stats) {
    use ::metrics::{counter, gauge};
    let counters = [
        ("shardpool_gets_total", s.gets),
        ("shardpool_private_hits_total", s.private_hits),
        ("shardpool_shared_hits_total", s.shared_hits),
        ("shardpool_steals_total", s.steals),
        ("shardpool_stolen_total", s.stolen),
        ("shardpool_created_total", s.created),
        ("shardpool_returned_total", s.returned),
        ("shardpool_adopted_total", s.adopted),
        ("shardpool_detached_total", s.detached),
        ("shardpool_trims_total", s.trims),
    ];
    for (name, value) in counters {
        counter!(name, "pool" => pool.clone()).absolute(value);
    }
    let dropped = [
        ("policy", s.dropped_by_policy),
        ("cap", s.dropped_by_cap),
        ("budget", s.dropped_by_budget),
        ("trim", s.dropped_by_trim),
        ("panic", s.dropped_by_panic),
        ("exit", s.dropped_by_exit),
        ("passthrough", s.dropped_by_passthrough),
    ];
    for (reason, value) in dropped {
        counter!("shardpool_dropped_total", "pool" => pool.clone(), "reason" => reason)
            .absolute(value);
    }
    let gauges = [
        ("shardpool_idle", s.idle),
        ("shardpool_idle_bytes", s.idle_bytes),
        ("shardpool_in_use", s.in_use()),
        ("shardpool_shards", s.shards),
    ];
    for (name, value) in gauges {
        // f64 holds every count below 2^53 exactly.
        gauge!(name, "pool" => pool.clone()).set(value as f64);
    }
}
