//! Configuring a [`BufferPool`].

use super::classes::SizeClasses;
use super::{BufferPool, private_slots};
use crate::budget::Budget;
use crate::config::BuildError;
use crate::pool::Pool;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`BufferPool`]; start with [`BufferPool::builder`].
///
/// ```
/// use shardpool::BufferPool;
/// use std::time::Duration;
///
/// let pool = BufferPool::builder()
///     .min_class_size(1024)           // classes 1 KiB, 2 KiB, ...
///     .max_class_size(1 << 20)        // ... up to 1 MiB; larger requests are not pooled
///     .max_idle_bytes(16 << 20)       // one budget for all classes
///     .max_idle_per_thread(8)         // per class, per thread
///     .trim_interval(Duration::from_secs(10))
///     .build();
/// assert_eq!(pool.class_sizes().count(), 11);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct BufferPoolBuilder {
    min_class_size: usize,
    max_class_size: usize,
    max_idle_bytes: usize,
    max_idle_per_thread: usize,
    trim_interval: Option<Duration>,
    name: Option<String>,
    pooling: bool,
}

impl Default for BufferPoolBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BufferPoolBuilder {
    /// The defaults of [`BufferPool::new`]: classes from
    /// [`DEFAULT_MIN_CLASS_SIZE`](BufferPool::DEFAULT_MIN_CLASS_SIZE) to
    /// [`DEFAULT_MAX_CLASS_SIZE`](BufferPool::DEFAULT_MAX_CLASS_SIZE), a
    /// budget of [`DEFAULT_MAX_IDLE_BYTES`](BufferPool::DEFAULT_MAX_IDLE_BYTES),
    /// no automatic trimming.
    pub fn new() -> Self {
        BufferPoolBuilder {
            min_class_size: BufferPool::DEFAULT_MIN_CLASS_SIZE,
            max_class_size: BufferPool::DEFAULT_MAX_CLASS_SIZE,
            max_idle_bytes: BufferPool::DEFAULT_MAX_IDLE_BYTES,
            max_idle_per_thread: BufferPool::DEFAULT_MAX_IDLE_PER_THREAD,
            trim_interval: None,
            name: None,
            pooling: true,
        }
    }

    /// Names the pool. Each size class appears in
    /// [`stats_all`](crate::stats_all) as `<name>/<class size in bytes>`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `false` turns pooling off in every class (see
    /// [`Builder::pooling`](crate::Builder::pooling)): every `get` allocates,
    /// every return frees, all counted.
    pub fn pooling(mut self, enabled: bool) -> Self {
        self.pooling = enabled;
        self
    }

    /// Capacity of the smallest class, rounded up to a power of two (`0`
    /// counts as 1). Smaller requests get a buffer of this capacity.
    pub fn min_class_size(mut self, bytes: usize) -> Self {
        self.min_class_size = bytes;
        self
    }

    /// Capacity of the largest class, rounded up to a power of two. Larger
    /// requests are allocated at exactly their size and never kept.
    pub fn max_class_size(mut self, bytes: usize) -> Self {
        self.max_class_size = bytes;
        self
    }

    /// The retained-bytes budget shared by all classes: idle buffers in shared
    /// lists never hold more than this, by capacity. A return that would
    /// exceed it is dropped (counted in `dropped_by_budget`). The slack
    /// outside it is described at [`BufferPool`](BufferPool#the-budget).
    pub fn max_idle_bytes(mut self, bytes: usize) -> Self {
        self.max_idle_bytes = bytes;
        self
    }

    /// Most idle buffers one thread keeps in each class's shared list (see
    /// [`Builder::max_idle_per_thread`](crate::Builder::max_idle_per_thread));
    /// the budget usually binds first. Each thread's list has this many slots,
    /// allocated up front, in every class (40 bytes each).
    pub fn max_idle_per_thread(mut self, n: usize) -> Self {
        self.max_idle_per_thread = n;
        self
    }

    /// Trims every class automatically, at most once per `every` (see
    /// [`Builder::trim_interval`](crate::Builder::trim_interval)).
    pub fn trim_interval(mut self, every: Duration) -> Self {
        self.trim_interval = Some(every);
        self
    }

    /// Builds the pool.
    ///
    /// # Panics
    /// If the configuration is invalid (see [`try_build`](Self::try_build)).
    pub fn build(self) -> BufferPool {
        self.try_build()
            .unwrap_or_else(|e| panic!("shardpool: {e}"))
    }

    /// Builds the pool, or says why the configuration is invalid.
    pub fn try_build(self) -> Result<BufferPool, BufferBuildError> {
        let classes = self.classes()?;
        let budget = Arc::new(Budget::new(self.max_idle_bytes));
        let pools = (0..classes.len())
            .map(|class| self.class_pool(classes.size(class), &budget))
            .collect::<Result<Box<[_]>, _>>()
            .map_err(BufferBuildError::Pool)?;
        Ok(BufferPool::from_parts(pools, classes, budget))
    }

    /// Validates and rounds the class range.
    fn classes(&self) -> Result<SizeClasses, BufferBuildError> {
        let round = |bytes: usize| {
            bytes
                .max(1)
                .checked_next_power_of_two()
                .filter(|&size| size <= BufferPool::MAX_CLASS_SIZE_LIMIT)
                .ok_or(BufferBuildError::ClassTooLarge {
                    requested: bytes,
                    limit: BufferPool::MAX_CLASS_SIZE_LIMIT,
                })
        };
        let (min, max) = (round(self.min_class_size)?, round(self.max_class_size)?);
        if min > max {
            return Err(BufferBuildError::EmptyClassRange { min, max });
        }
        Ok(SizeClasses::new(min.trailing_zeros(), max.trailing_zeros()))
    }

    /// One class: an ordinary pool of `Vec<u8>` that clears on return,
    /// weighs by capacity, charges the shared budget, and keeps
    /// `private_slots(size)` buffers per thread outside it.
    fn class_pool(&self, size: usize, budget: &Arc<Budget>) -> Result<Pool<Vec<u8>>, BuildError> {
        let mut builder = Pool::builder()
            .reset(|buf: &mut Vec<u8>| {
                buf.clear();
                true
            })
            .weigh(Vec::capacity)
            .max_idle_per_thread(self.max_idle_per_thread)
            .shared_budget(Arc::clone(budget))
            .private_slack(private_slots(size))
            .pooling(self.pooling);
        if let Some(name) = &self.name {
            builder = builder.name(format!("{name}/{size}"));
        }
        if let Some(every) = self.trim_interval {
            builder = builder.trim_interval(every);
        }
        builder.try_build(move || Vec::with_capacity(size))
    }
}

/// Why [`BufferPoolBuilder::try_build`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BufferBuildError {
    /// The smallest class is larger than the largest (after rounding both up
    /// to powers of two).
    EmptyClassRange {
        /// The smallest class's size, rounded.
        min: usize,
        /// The largest class's size, rounded.
        max: usize,
    },
    /// A class size rounds up beyond
    /// [`MAX_CLASS_SIZE_LIMIT`](BufferPool::MAX_CLASS_SIZE_LIMIT).
    ClassTooLarge {
        /// What was asked for.
        requested: usize,
        /// The largest accepted class size.
        limit: usize,
    },
    /// The per-class pool settings were refused (`max_idle_per_thread`,
    /// `trim_interval`).
    Pool(BuildError),
}

impl fmt::Display for BufferBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferBuildError::EmptyClassRange { min, max } => write!(
                f,
                "min_class_size ({min}) is above max_class_size ({max}), after rounding to powers of two"
            ),
            BufferBuildError::ClassTooLarge { requested, limit } => write!(
                f,
                "class size {requested} rounds up beyond the largest supported class ({limit})"
            ),
            BufferBuildError::Pool(e) => write!(f, "size class: {e}"),
        }
    }
}

impl std::error::Error for BufferBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BufferBuildError::Pool(e) => Some(e),
            _ => None,
        }
    }
}
