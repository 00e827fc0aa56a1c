//! The README's "Memory and trimming" figure: live heap bytes after a burst,
//! after one trim, and after two, measured with a counting global allocator.
//!
//! The burst: 4 threads each take 256 buffers of 64 KiB at once, return them
//! and exit. Run: `cargo run --release --example trim_report`.

use shardpool::Pool;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BUF: usize = 64 * 1024;

fn mib(bytes: isize) -> String {
    format!("{:>9.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() {
    let pool = Arc::new(
        Pool::builder()
            .recycle(1 << 20)
            .build(|| Vec::<u8>::with_capacity(BUF)),
    );
    let base = LIVE.load(Relaxed);
    let peak = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (pool, peak) = (Arc::clone(&pool), Arc::clone(&peak));
            thread::spawn(move || {
                let held: Vec<_> = (0..256).map(|_| pool.get()).collect();
                peak.wait();
                drop(held);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let rows = [
        (
            "after the burst (threads exited)",
            LIVE.load(Relaxed) - base,
            pool.stats(),
        ),
        (
            "after one trim",
            {
                pool.trim();
                LIVE.load(Relaxed) - base
            },
            pool.stats(),
        ),
        (
            "after two trims",
            {
                pool.trim();
                LIVE.load(Relaxed) - base
            },
            pool.stats(),
        ),
    ];
    println!("4 threads x 256 buffers of 64 KiB (64 MiB at the peak); max_idle_per_thread 64\n");
    println!(
        "{:<34} {:>13} {:>12} {:>8}",
        "", "heap held", "idle objects", "dropped"
    );
    for (label, bytes, stats) in rows {
        println!(
            "{label:<34} {} {:>12} {:>8}",
            mib(bytes),
            stats.idle,
            stats.dropped()
        );
    }
    println!("\n(heap held = live heap bytes above the level before the pool was used)");
}
