//! Asking the C allocator to hand freed memory back to the operating system.
//!
//! A trim drops idle objects, which frees them to the global allocator; whether
//! the process's resident memory then shrinks is the allocator's business.
//! glibc's `malloc` keeps freed chunks in its arenas and returns only the top
//! of each heap on its own; `malloc_trim` also gives back the free pages in the
//! middle. The measurements are in `docs/memory.md`.

/// Asks glibc's `malloc` to return the free memory it holds to the operating
/// system, with `malloc_trim(0)`. Returns `true` if glibc reports that it
/// released some; `false` if it released nothing, or on any platform that is
/// not Linux with glibc (or under Miri), where this does nothing at all.
///
/// **glibc only, and opt-in.** The pool never calls this itself: a trim frees
/// objects to the global allocator and stops there. Call it after
/// [`trim_all`](crate::trim_all) (or [`Pool::trim`](crate::Pool::trim)) when
/// resident memory matters more than the next burst's allocation speed, for
/// example after a traffic spike. It walks every glibc arena under its lock,
/// so it costs time in proportion to the heap, and the next allocations fault
/// pages back in; do not call it on a hot path.
///
/// It acts on glibc's own heap only. With another global allocator (mimalloc,
/// jemalloc) it has nothing of the pool's to release; use that allocator's own
/// call (`mi_collect(true)`, jemalloc's `arena.<i>.purge`), as
/// `docs/memory.md` shows.
///
/// ```
/// shardpool::trim_all();
/// shardpool::trim_all(); // the victim rule: two trims free what sat idle
/// let released: bool = shardpool::release_to_os();
/// # let _ = released;
/// ```
pub fn release_to_os() -> bool {
    imp::release_to_os()
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
mod imp {
    use std::ffi::c_int;

    unsafe extern "C" {
        /// glibc, `<malloc.h>`: `int malloc_trim(size_t pad);` Returns 1 if
        /// memory was released to the system, 0 otherwise.
        fn malloc_trim(pad: usize) -> c_int;
    }

    pub(super) fn release_to_os() -> bool {
        // SAFETY:
        // - `malloc_trim` is declared above with glibc's signature
        //   (`size_t` is `usize`, `int` is `c_int`), and this module is only
        //   built for Linux with glibc, where the symbol exists.
        // - It takes no pointers and touches only glibc's own arenas, under
        //   their locks, so it is thread-safe and cannot invalidate any live
        //   allocation: it releases free pages only.
        // - A `pad` of 0 asks it to keep nothing spare at the top of the heap.
        unsafe { malloc_trim(0) != 0 }
    }
}

// Miri cannot call C; under it this is the no-op too.
#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
mod imp {
    pub(super) fn release_to_os() -> bool {
        false
    }
}
