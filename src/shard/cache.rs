//! The calling thread's shortcut from a pool to its shard. (One thread per
//! pool finds it in the pool itself first: `hot.rs`.)
//!
//! The fast path reads one line of a small direct-mapped table in a `const`
//! thread-local (no lazy-initialisation check): `(pool key, shard)`. Pool
//! keys are unique for the life of the process, so a line for a dropped pool
//! can never match again. Keys are handed out consecutively, so pools built
//! together (a `BufferPool`'s size classes) land on distinct lines. A miss
//! (two pools sharing a line) costs the thread's sorted list of adopted
//! shards (`exit.rs`), never correctness.
//!
//! Soundness rests on three rules, kept by `pool.rs` and `exit.rs`:
//! 1. a line is filled only by the thread that currently owns the shard (its
//!    `owner` token matches), and only before that thread's exit hook runs;
//! 2. the exit hook clears every line before it gives up ownership of any shard;
//! 3. a thread never gives up ownership otherwise.
//!
//! So a hit always yields a shard the calling thread owns, in a pool that is
//! alive (the caller holds a reference to it).

use std::cell::Cell;
use std::ptr::NonNull;

/// Lines in the table; a power of two. Sixteen bytes a line: 1 KiB per
/// thread, enough for a few `BufferPool`s (one pool per size class,
/// consecutive keys) side by side.
const LINES: usize = 64;

#[derive(Clone, Copy)]
struct Line {
    key: u64,
    /// Non-null even in an empty line (dangling there, never read: key 0
    /// matches no pool), so a hit needs no null check.
    shard: NonNull<()>,
}

impl Line {
    const EMPTY: Line = Line {
        key: 0,
        shard: NonNull::dangling(),
    };
}

crate::sync::const_thread_local! {
    static TABLE: [Cell<Line>; LINES] = [const { Cell::new(Line::EMPTY) }; LINES];
}

fn index(key: u64) -> usize {
    key as usize & (LINES - 1)
}

/// The shard cached for pool `key`, if any. Key 0 is never a pool's.
#[inline(always)]
pub(crate) fn lookup(key: u64) -> Option<NonNull<()>> {
    TABLE
        .try_with(|table| {
            let line = table[index(key)].get();
            (line.key == key).then_some(line.shard)
        })
        .ok()
        .flatten()
}

/// Remembers `shard` as the calling thread's shard of pool `key`. Callers
/// keep the rules in the module docs.
pub(crate) fn fill(key: u64, shard: NonNull<()>) {
    let _ = TABLE.try_with(|table| table[index(key)].set(Line { key, shard }));
}

/// Forgets every line (the exit hook, before it releases its shards).
pub(crate) fn clear() {
    let _ = TABLE.try_with(|table| table.iter().for_each(|line| line.set(Line::EMPTY)));
}
