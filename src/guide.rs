//! Guides: running pools in production, how idle memory goes back, and the
//! measurements. Each page is a file of the repository's `docs/` folder,
//! shown here as it is.
//!
//! * [`production`]: names and [`stats_all`](crate::stats_all), metrics,
//!   pass-through A/B, [`Pool::clear`](crate::Pool::clear), the idle-worker
//!   flush, buffer policies.
//! * [`memory`]: resident memory through a burst and two trims,
//!   [`release_to_os`](crate::release_to_os), memory-pressure trimming,
//!   allocators.
//! * [`performance`]: every workload, every peer pool and allocator,
//!   instruction counts; [`perf`] holds the generated tables it quotes.
//! * [`server`]: where pooling pays in the example HTTP server, measured
//!   under load; [`soak`]: its memory through 12 minutes of idle / burst
//!   cycles.
//!
//! The design and the reasons behind it are on the
//! [`implementation`](crate::implementation) page.
//!
//! These pages name the commands that produced their numbers
//! (`scripts/perf_tables.sh`, `scripts/rss_table.sh`, `scripts/load.sh`,
//! `scripts/soak.sh`, the comparison suite in `benchmarks/`, the example
//! server in `server/`). Those are in the repository, not in the published
//! crate; the crate's own tests and examples (`cargo test`,
//! `cargo run --release --example compare`) run from either.

// How the pages link each other: the markdown files use reference-style
// links (`[text][spread]`) whose definitions at the end of each file are
// relative paths, right for a reader of the repository. Here each page is
// preceded by definitions of the same labels as intra-doc paths; in markdown
// the first definition of a label wins, so on docs.rs the links go to these
// modules, and rustdoc checks that they resolve.

#[doc = include_str!("../docs/production.md")]
pub mod production {}

#[doc = "[rss]: crate::guide::perf::rss"]
#[doc = ""]
#[doc = include_str!("../docs/memory.md")]
pub mod memory {}

#[doc = "[server-runs]: https://docs.rs/crate/shardpool/latest/source/docs/server-runs.txt"]
#[doc = "[soak]: crate::guide::soak"]
#[doc = ""]
#[doc = include_str!("../docs/server.md")]
pub mod server {}

#[doc = "[soak-chart]: #chart"]
#[doc = ""]
#[doc = include_str!("../docs/soak.md")]
#[doc = ""]
#[doc = "## Chart"]
#[doc = ""]
#[doc = include_str!("../docs/soak.svg")]
pub mod soak {}

#[doc = "[tables]: crate::guide::perf::tables"]
#[doc = "[floors]: crate::guide::perf::floors"]
#[doc = "[scale-chart]: crate::guide::perf::scale"]
#[doc = "[scale-before]: crate::guide::perf::scale_before"]
#[doc = "[before-after]: crate::guide::perf::before_after"]
#[doc = "[before-after-aa]: crate::guide::perf::before_after_aa"]
#[doc = ""]
#[doc = include_str!("../docs/performance.md")]
pub mod performance {}

/// The generated tables the [`performance`] and
/// [`memory`] pages quote, each with the command, commit and
/// machine that produced it. `tests/doc_numbers.rs` fails if a table on
/// those pages, or in the README, is not found verbatim in one of these.
pub mod perf {
    /// shardpool's time over the floor's, floor-boxed's and the fastest
    /// peer's in three full runs, and their medians.
    ///
    #[doc = include_str!("../docs/perf/spread.md")]
    pub mod spread {}

    /// Every workload against the floor, every peer pool and fresh
    /// allocation, in one run.
    ///
    #[doc = include_str!("../docs/perf/tables.md")]
    pub mod tables {}

    /// Resident memory through a burst and two trims, for each allocator and
    /// each way of giving memory back.
    ///
    #[doc = include_str!("../docs/perf/rss.md")]
    pub mod rss {}

    /// single and hold32 on the core before objects stopped moving: the
    /// "before" side of the performance guide's before-and-after table.
    ///
    #[doc = include_str!("../docs/perf/before.md")]
    pub mod before {}

    /// The two floors (the free list over `Vec<u8>` and over `Box<Vec<u8>>`)
    /// side by side in each harness.
    ///
    #[doc = include_str!("../docs/perf/floors.md")]
    pub mod floors {}

    /// The fast-path workloads, every peer and the callgrind counts on the
    /// core before the shard directory.
    ///
    #[doc = include_str!("../docs/perf/fastpath-before.md")]
    pub mod fastpath_before {}

    /// The fast-path workloads on this core and on the previous one,
    /// side by side in one process.
    ///
    #[doc = include_str!("../docs/perf/before-after.md")]
    pub mod before_after {}

    /// A get that misses, a steal, a trim and a `stats` call against the
    /// number of idle shards K. The table, with the command, commit and
    /// machine, is in the repository's `docs/perf/scale.md` and quoted in the
    /// [performance guide](crate::guide::performance#scale-idle-shards); its
    /// chart (`docs/perf/scale.svg`), the previous core's rows dashed:
    ///
    #[doc = include_str!("../docs/perf/scale.svg")]
    pub mod scale {}

    /// An A/A run of the side-by-side comparison (both sides the same
    /// code): how far its ratios stray when nothing changed.
    ///
    #[doc = include_str!("../docs/perf/before-after-aa.md")]
    pub mod before_after_aa {}

    /// A get that misses, a steal, a trim and a `stats` call against the
    /// number of idle shards K, on the core before the shard directory. The
    /// table, with the command, commit and machine, is in the repository's
    /// `docs/perf/scale-before.md` and quoted in the
    /// [performance guide](crate::guide::performance#scale-idle-shards);
    /// its chart (`docs/perf/scale-before.svg`):
    ///
    #[doc = include_str!("../docs/perf/scale-before.svg")]
    pub mod scale_before {}
}
