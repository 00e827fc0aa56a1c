//! A concurrent object pool for servers: Go's `sync.Pool` shape, made bounded,
//! trimmable, observable, and checked with loom and Miri.
//!
//! Servers allocate the same things for every request: a read buffer, a parse
//! buffer, a request struct full of header strings. A [`Pool`] hands back one
//! used before, already sized, so a request costs no allocator round trips.
//!
//! ```
//! use shardpool::{Pool, Pooled, OwnedPooled, Stats};
//!
//! let pool: Pool<Vec<u8>> = Pool::builder()
//!     .reset(|b: &mut Vec<u8>| { b.clear(); b.capacity() <= 64 * 1024 })
//!     .max_idle_per_thread(64)
//!     .build(|| Vec::with_capacity(4096));
//! let pool2 = Pool::new(|| String::new());     // defaults
//! let mut buf: Pooled<'_, Vec<u8>> = pool.get();  // Deref/DerefMut to Vec<u8>
//! buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
//! let v: Vec<u8> = Pooled::detach(buf);        // keep it; the pool forgets it
//! pool.put(v);                                 // hand a value in (policy applies)
//! let shared = std::sync::Arc::new(pool);
//! let o: OwnedPooled<Vec<u8>> = shared.get_owned(); // 'static, Send; holds the pool
//! drop(o);
//! pool2.trim();                                // one epoch of trimming
//! let s: Stats = pool2.stats();                // created, reused, stolen, dropped, idle...
//! assert_eq!(s.idle, 0);
//! ```
//!
//! # Shape
//!
//! ```text
//! Pool<T>
//!  ├─ policy   create() -> T, reset(&mut T) -> bool, weigh(&T) -> usize
//!  ├─ limits   max idle per thread, optional retained-bytes budget
//!  ├─ epoch    trim generation (Go's GC-time clearing, without a GC)
//!  └─ shards   one per thread that used the pool (thread_local::ThreadLocal)
//!       ├─ private stack  owner thread only: the fast path, no atomic RMW
//!       ├─ shared ring    owner pushes; anyone steals half in one claim
//!       └─ counters       written by the owner only, summed by stats()
//! ```
//!
//! * **get**: private stack → own shared list (a batch) → steal a batch from
//!   another thread's shared list, starting where it last succeeded → `create`.
//! * **return** (guard drop or [`Pool::put`]): reset policy → private stack →
//!   own shared list if under the cap and budget → drop, counted.
//! * **trim**: advance the epoch; anything idle through two trims is dropped
//!   (Go's victim rule). See [`Pool::trim`] for exactly what one call reaches,
//!   [`trim_all`] for every pool at once, [`BackgroundTrimmer`] for pools that
//!   go quiet.
//! * **thread exit**: the thread's private objects move to its shared list,
//!   where others steal them and trims drop them; nothing is stranded.
//!
//! The design, its invariants and the measurements behind it are on the
//! [`implementation`] page.

#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod budget;
mod buffer;
mod builder;
#[cfg(feature = "bytes")]
mod bytes;
mod config;
mod guard;
#[cfg(feature = "metrics")]
mod metrics;
pub mod policy;
mod pool;
mod release;
mod shard;
mod stats;
mod sync;
mod trim;
mod unwind;

pub mod implementation;

#[cfg(feature = "metrics")]
pub use crate::metrics::record_metrics;
pub use buffer::{
    BufferBuildError, BufferPool, BufferPoolBuilder, BufferStats, ClassStats, OwnedPooledBuf,
    PooledBuf,
};
pub use builder::{Builder, NoCreate, WithCreate};
pub use config::{BuildError, DEFAULT_MAX_IDLE_PER_THREAD, MAX_IDLE_PER_THREAD_LIMIT};
pub use guard::{OwnedPooled, Pooled};
pub use pool::Pool;
pub use release::release_to_os;
pub use stats::{PoolStats, Stats};
pub use trim::background::BackgroundTrimmer;
#[cfg(feature = "pressure")]
pub use trim::pressure::{PressureConfig, PressureWatcher};
pub use trim::registry::{stats_all, trim_all};

/// Flushes the calling thread's private stacks of every live pool it has
/// used (what [`Pool::flush_local`] does for one), so that other threads can
/// take those objects and any thread's trim can reach them.
///
/// Cheap enough to call whenever a worker goes idle, for example from
/// tokio's `runtime::Builder::on_thread_park`: it walks the short list of
/// pools this thread holds a shard in, and does nothing for a pool whose
/// private stack is empty.
pub fn flush_local_all() {
    shard::exit::flush_local_all();
}

#[cfg(all(test, shardpool_loom))]
mod tests;

// The README's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
