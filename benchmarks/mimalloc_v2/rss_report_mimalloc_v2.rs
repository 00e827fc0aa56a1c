//! The RSS report (`examples/rss_report/`) with mimalloc v2 (this package's `v2` feature) as the global
//! allocator. Run: `cargo run --release --manifest-path benchmarks/mimalloc_v2/Cargo.toml --example rss_report_mimalloc_v2`
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
        name: "mimalloc 2",
        purge: Some(("mi_collect(true)", collect)),
    });
}
