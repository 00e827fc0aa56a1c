//! The RSS report (`examples/rss_report/`) with jemalloc as the global
//! allocator. Run: `cargo run --release -p shardpool-benchmarks --example rss_report_jemalloc`
//! (`scripts/rss_table.sh` runs every variant).

#[path = "../../examples/rss_report/scenario.rs"]
mod scenario;

use scenario::Counting;
use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Counting<Jemalloc> = Counting(Jemalloc);

/// `arena.<i>.purge` for every arena (`MALLCTL_ARENAS_ALL` is 4096): return
/// all unused dirty pages now instead of after the decay time (10 s).
fn purge() {
    let name = c"arena.4096.purge";
    // SAFETY: a "purge" control takes and returns nothing, so null old/new
    // pointers with zero lengths are what it expects; the name is a valid
    // NUL-terminated string.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, 0, "mallctl arena.4096.purge failed");
}

fn main() {
    scenario::main(scenario::Variant {
        name: "jemalloc 5.3",
        purge: Some(("arena.<all>.purge", purge)),
    });
}
