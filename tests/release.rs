//! `release_to_os`: glibc's `malloc_trim(0)` on Linux with glibc, a no-op
//! returning `false` elsewhere. The pool never calls it; these tests do.
//! They take turns: one test's call could release the other's free pages.

use std::sync::{Mutex, MutexGuard};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// With glibc, free memory in the middle of the heap (pinned there by a live
/// block above it, so glibc's automatic top trimming cannot return it) is
/// released, and the call says so. Elsewhere the call reports doing nothing.
#[test]
#[cfg_attr(miri, ignore = "calls C; under Miri it is the no-op (checked below)")]
fn releases_free_heap_pages_with_glibc() {
    let _serial = serial();
    // 32 MiB in 16 KiB blocks: below glibc's mmap threshold, so they come
    // from an arena heap, not from their own mappings.
    let blocks: Vec<Box<[u8; 16 * 1024]>> = (0..2048).map(|_| Box::new([1u8; 16 * 1024])).collect();
    let pin = Box::new([1u8; 16 * 1024]);
    drop(blocks);
    let released = shardpool::release_to_os();
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            released,
            "malloc_trim found nothing to release after freeing 32 MiB"
        );
    } else {
        assert!(!released);
    }
    drop(pin);
}

/// It may be called from any thread, at any time, as often as one likes.
#[test]
fn callable_from_many_threads() {
    let _serial = serial();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let v = vec![0u8; 1 << 20];
                drop(v);
                shardpool::release_to_os()
            })
        })
        .collect();
    for t in threads {
        let released = t.join().unwrap();
        if cfg!(any(miri, not(all(target_os = "linux", target_env = "gnu")))) {
            assert!(!released);
        }
    }
}
