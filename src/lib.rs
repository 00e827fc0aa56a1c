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
//!  ├─ shortcut one thread's token and shard: that thread skips its shard cache
//!  └─ shards   one per thread using the pool, in the pool's shard directory
//!       ├─ private stack  owner thread only: the fast path, no atomic RMW
//!       ├─ shared ring    owner pushes; anyone steals half in one claim
//!       └─ counters       written by the owner only, summed by stats()
//! ```
//!
//! * **get**: private stack → own shared list (a batch) → steal a batch from
//!   a shard the directory marks stealable → `create`.
//! * **return** (guard drop or [`Pool::put`]): reset policy → private stack →
//!   own shared list if under the cap and budget → drop, counted.
//! * **trim**: advance the epoch; anything idle through two trims is dropped
//!   (Go's victim rule). See [`Pool::trim`] for exactly what one call reaches,
//!   [`trim_all`] for every pool at once, [`BackgroundTrimmer`] for pools that
//!   go quiet.
//! * **thread exit**: the thread's private objects move to its shared list,
//!   where others steal them and trims drop them; nothing is stranded.
//!
//! # Guides
//!
//! * [`guide::production`]: names and [`stats_all`], metrics, pass-through
//!   A/B, [`Pool::clear`], the idle-worker flush, buffer policies.
//! * [`guide::memory`]: resident memory through a burst and two trims,
//!   [`release_to_os`], memory-pressure trimming, allocators.
//! * [`guide::performance`]: every workload against the floor, every peer
//!   pool and allocator, instruction counts.
//! * [`implementation`]: the design, its invariants and the measurements
//!   behind it.
//!
//! # Features
//!
//! * `pressure` (default): `PressureWatcher` and `PressureConfig`, trimming
//!   every pool when cgroup v2 memory files (or a check of yours) say memory
//!   is short. It adds no dependency.
//! * `bytes`: reset policies for `bytes::BytesMut` (`Recycle` for
//!   `BytesMut`, and `policy::reclaim_bytes_mut` for buffers whose frames
//!   leave with `split().freeze()`), and `into_bytes()` on owned pooled
//!   buffers, which hands them on as `bytes::Bytes` without a copy.
//! * `metrics`: `record_metrics()` sets every pool's statistics through the
//!   `metrics` facade; a running [`BackgroundTrimmer`] records them at each
//!   wake-up.
//!
//! # Loom: model-checking code that uses a pool
//!
//! Built with `RUSTFLAGS="--cfg shardpool_loom"`, the crate takes its
//! atomics, cells and thread-locals from [loom](https://docs.rs/loom) 0.7
//! instead of `std`, so a `loom::model` of yours that shares a [`Pool`] (or a
//! [`BufferPool`]) between `loom::thread`s explores the pool's interleavings
//! together with your code's. Depend on loom 0.7, as this crate does, so
//! that cargo builds one loom for both and one scheduler sees every atomic;
//! switch your own code to loom on a cfg of yours (`loom` is usual) and set
//! both:
//!
//! ```toml
//! [target.'cfg(loom)'.dependencies]
//! loom = "0.7"
//! ```
//!
//! ```ignore
//! // RUSTFLAGS="--cfg loom --cfg shardpool_loom" cargo test --release
//! #[test]
//! fn two_threads_share_a_pool() {
//!     loom::model(|| {
//!         let pool = shardpool::Pool::new(Vec::<u8>::new);
//!         let other = pool.clone();
//!         let t = loom::thread::spawn(move || other.get().push(1));
//!         pool.get().push(2);
//!         t.join().unwrap();
//!         assert_eq!(pool.stats().in_use(), 0);
//!     });
//! }
//! ```
//!
//! What such a model covers, and what it does not:
//!
//! * **Modelled**: every atomic, fence and cell of the pool's own
//!   protocols: the private stacks, the shared lists and their segments,
//!   batch steals, the shard directory with its stealable and vacant sets,
//!   shard ownership and adoption, the trim epoch ([`Pool::trim`],
//!   [`Pool::clear`], [`Pool::flush_local`], [`flush_local_all`]), and the
//!   byte budget. The pool uses no other crate's concurrent structure, so
//!   nothing is a stand-in. Under the cfg, shared-list segments and
//!   directory groups are a few entries long instead of tens, so that small
//!   models cross their boundaries.
//! * **Thread exit**: loom does not allow the pool's exit hook in its
//!   thread-local destructors, so a loom thread that ends keeps its shard,
//!   and the objects in its private stack stay there until the pool is
//!   dropped; another thread may then create an object where, outside loom,
//!   it would have stolen one. Call [`Pool::flush_local`] at the end of a
//!   model's thread to make them stealable.
//! * **Not modelled**: `Arc` (std's: a `Pool` handle and an
//!   [`OwnedPooled`] hold one), the process-wide registry behind
//!   [`stats_all`] and [`trim_all`] (a std mutex), and the statistics
//!   counters (std atomics, written by one thread each).
//! * **Not for use inside a model**: [`BackgroundTrimmer`] and
//!   `PressureWatcher` run on an OS thread that loom does not schedule,
//!   and `Builder::trim_interval` trims when the clock says so, which differs
//!   between loom's runs of one model. Trim from a model's thread with
//!   [`Pool::trim`] instead.

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

pub mod guide;
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
