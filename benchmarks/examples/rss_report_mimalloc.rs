//! The RSS report (`examples/rss_report/`) with mimalloc as the global
//! allocator. Run: `cargo run --release -p shardpool-benchmarks --example rss_report_mimalloc`
//! (`scripts/rss_table.sh` runs every variant).

#[path = "../../examples/rss_report/scenario.rs"]
mod scenario;

use mimalloc::MiMalloc;
use scenario::Counting;

#[global_allocator]
static GLOBAL: Counting<MiMalloc> = Counting(MiMalloc);

unsafe extern "C" {
    /// mimalloc, `mimalloc.h`: `void mi_collect(bool force);` (linked in by
    /// `libmimalloc-sys`; its Rust binding needs the `extended` feature).
    fn mi_collect(force: bool);
}

fn collect() {
    // SAFETY: `mi_collect` is declared with mimalloc's C signature; it takes
    // no pointers and only returns free memory that mimalloc holds to the OS.
    unsafe { mi_collect(true) }
}

fn main() {
    scenario::main(scenario::Variant {
        name: "mimalloc 3",
        purge: Some(("mi_collect(true)", collect)),
    });
}
