//! Validated limits, fixed when a pool is built.

use std::fmt;
use std::time::Duration;

/// How many objects a private stack holds at most.
///
/// A thread holding up to this many objects at once (a request with several
/// buffers; the `hold32` benchmark holds 32) never leaves its private stack;
/// the measurement that chose the size is on the
/// [`implementation`](crate::implementation#why-a-private-stack-not-gos-single-slot)
/// page. The price is what an idle live thread can keep out of reach of
/// other threads' trims: at most this many objects, until its next
/// operation on the pool, `flush_local`, or exit. Loom models keep their
/// caps small, which bounds it by the rule below (at most half the shard).
pub(crate) const PRIVATE_STACK: usize = 32;

/// Default for [`Builder::max_idle_per_thread`](crate::Builder::max_idle_per_thread).
pub const DEFAULT_MAX_IDLE_PER_THREAD: usize = 64;

/// Largest accepted [`Builder::max_idle_per_thread`](crate::Builder::max_idle_per_thread).
/// Storage grows with what a thread's shared list holds, not with this cap,
/// so the limit is not about memory: a larger cap per thread is almost
/// certainly a mistake (use [`max_idle_bytes`](crate::Builder::max_idle_bytes)
/// to bound by bytes instead).
pub const MAX_IDLE_PER_THREAD_LIMIT: usize = (1 << 16) - 1;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Most objects in one private stack (at most half the shard).
    pub(crate) private_capacity: usize,
    /// Most idle objects in one shard, private and shared together:
    /// `1 + max_idle_per_thread` (the "1" is the private slot of the design).
    /// See `Private::limit` for how the total is kept.
    pub(crate) shard_capacity: usize,
    /// Automatic trimming interval.
    pub(crate) trim_interval: Option<Duration>,
    /// The pool's name, for `stats_all` and metrics.
    pub(crate) name: Option<String>,
    /// `false`: pass-through (always create, always drop).
    pub(crate) pooling: bool,
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
        // by `tests/it/invariants.rs`, owned guards crossing threads with a cap
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
            name: None,
            pooling: true,
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
                "max_idle_per_thread({requested}) is above the limit of {limit}"
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

/// Whether the environment turns pooling off for every pool:
/// `SHARDPOOL_POOLING=0` (or `false`, `off`, `no`), read once per process.
pub(crate) fn pooling_enabled_by_env() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        let off = std::env::var("SHARDPOOL_POOLING").is_ok_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            matches!(v.as_str(), "0" | "false" | "off" | "no")
        });
        !off
    })
}
