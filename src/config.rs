//! Validated limits, fixed when a pool is built.

use std::fmt;
use std::time::Duration;

/// How many objects a private stack holds at most.
///
/// A thread holding up to this many objects at once (a request with several
/// buffers; the `hold32` benchmark holds 32) never leaves its private stack.
/// Smaller stacks cost a shared-list claim per batch: measured on `hold32`,
/// 8 gave 2.6× the floor, 16 gave 2.1×, 32 gave 1.46× (the rest is the cost
/// of a 32-byte guard; see `implementation`). The price is what an idle live
/// thread can keep out of reach of other threads' trims: at most this many
/// objects, until its next operation on the pool, `flush_local`, or exit.
/// Loom models use 2 to keep the state space small.
#[cfg(not(shardpool_loom))]
pub(crate) const PRIVATE_STACK: usize = 32;
#[cfg(shardpool_loom)]
pub(crate) const PRIVATE_STACK: usize = 32;

/// Default for [`Builder::max_idle_per_thread`](crate::Builder::max_idle_per_thread).
pub const DEFAULT_MAX_IDLE_PER_THREAD: usize = 64;

/// Largest accepted [`Builder::max_idle_per_thread`](crate::Builder::max_idle_per_thread)
/// (each shard's shared list is allocated up front at this size, rounded up
/// to a power of two).
pub const MAX_IDLE_PER_THREAD_LIMIT: usize = crate::ring::MAX_CAPACITY - 1;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Most objects in one private stack (at most half the shard).
    pub(crate) private_capacity: usize,
    /// Most idle objects in one shard, private and shared together:
    /// `1 + max_idle_per_thread` (the "1" is the private slot of the design).
    /// The shared ring is allocated this large, so a flush of the private
    /// stack always fits; see `Local::limit` for how the total is kept.
    pub(crate) shard_capacity: usize,
    /// Automatic trimming interval.
    pub(crate) trim_interval: Option<Duration>,
}

impl Config {
    /// `budget_slack`: `None` without a byte budget; with one, how many
    /// objects each private stack may hold (the budget's slack per thread).
    pub(crate) fn new(
        max_idle_per_thread: usize,
        budget_slack: Option<usize>,
        trim_interval: Option<Duration>,
    ) -> Result<Config, BuildError> {
        if max_idle_per_thread > MAX_IDLE_PER_THREAD_LIMIT {
            return Err(BuildError::MaxIdleTooLarge {
                requested: max_idle_per_thread,
                limit: MAX_IDLE_PER_THREAD_LIMIT,
            });
        }
        if trim_interval == Some(Duration::ZERO) {
            return Err(BuildError::ZeroTrimInterval);
        }
        let shard_capacity = max_idle_per_thread + 1;
        // At most half the shard is private, so that at least half stays where
        // other threads can steal it: a consumer that only returns objects
        // would otherwise keep all of them out of the producer's reach (found
        // by `tests/invariants.rs`, owned guards crossing threads with a cap
        // of 8: no reuse at all). With a byte budget, the private stack is the
        // budget's slack, exact everywhere else: one object unless asked.
        let most_private = PRIVATE_STACK.min(shard_capacity.div_ceil(2));
        let private_capacity = match budget_slack {
            None => most_private,
            Some(slack) => slack.clamp(1, most_private),
        };
        Ok(Config {
            private_capacity,
            shard_capacity,
            trim_interval,
        })
    }
}

/// Why [`Builder::try_build`](crate::Builder::try_build) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_idle_per_thread` is above [`MAX_IDLE_PER_THREAD_LIMIT`].
    MaxIdleTooLarge {
        /// What was asked for.
        requested: usize,
        /// The largest accepted value.
        limit: usize,
    },
    /// `trim_interval` was zero; automatic trimming needs a positive interval.
    ZeroTrimInterval,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MaxIdleTooLarge { requested, limit } => write!(
                f,
                "max_idle_per_thread({requested}) is above the limit of {limit} \
                 (each thread's shared list is allocated at that size)"
            ),
            BuildError::ZeroTrimInterval => {
                write!(
                    f,
                    "trim_interval must be positive (use Duration::from_millis(1) or more)"
                )
            }
        }
    }
}

impl std::error::Error for BuildError {}
