//! Configuring a pool.
//!
//! `Pool::builder()...build(create)` names `create` last, so a closure given
//! to an earlier setter (`reset`, `weigh`) must spell out `T`.
//! `Pool::builder_with(create)...build()` names it first, which fixes `T` for
//! every closure after it. One `Builder` type serves both: its second type
//! parameter records whether it holds `create` yet ([`NoCreate`],
//! [`WithCreate`]), so each form has exactly one `build`.

use crate::budget::Budget;
use crate::config::{BuildError, Config, DEFAULT_MAX_IDLE_PER_THREAD};
use crate::policy::Recycle;
use crate::pool::Pool;
use crate::pool::{Inner, ResetFn, WeighFn};
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`Pool`]; start with [`Pool::builder`] (`create` given last,
/// to [`build`](Builder::build)) or [`Pool::builder_with`] (`create` first).
///
/// ```
/// use shardpool::Pool;
/// use std::time::Duration;
///
/// let pool: Pool<String> = Pool::builder()
///     .recycle(16 * 1024)             // clear on return, drop if > 16 KiB
///     .max_idle_per_thread(32)
///     .max_idle_bytes(1 << 20)        // keep at most 1 MiB idle
///     .trim_interval(Duration::from_secs(10))
///     .build(String::new);
///
/// // `create` first: the closures after it need no type annotations.
/// let buffers = Pool::builder_with(|| Vec::<u8>::with_capacity(4096))
///     .reset(|b| { b.clear(); b.capacity() <= 64 * 1024 })
///     .build();
/// # drop((pool, buffers));
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<T, C = NoCreate> {
    /// [`NoCreate`], or the `create` function in [`WithCreate`].
    create: C,
    reset: Option<ResetFn<T>>,
    weigh: Option<WeighFn<T>>,
    max_idle_per_thread: usize,
    max_idle_bytes: Option<usize>,
    /// A budget shared with other pools (a `BufferPool`'s size classes);
    /// takes precedence over `max_idle_bytes`.
    shared_budget: Option<Arc<Budget>>,
    /// With a budget: objects the private stack holds (default 1), the
    /// budget's slack per thread.
    private_slack: Option<usize>,
    trim_interval: Option<Duration>,
    name: Option<String>,
    pooling: bool,
}

/// The state of a [`Builder`] without its `create` function: finish it
/// with [`build(create)`](Builder::build).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCreate;

/// The state of a [`Builder`] that holds its `create` function
/// ([`Pool::builder_with`], [`Builder::create`]): finish it with `.build()`,
/// which takes no argument.
#[derive(Clone, Copy)]
pub struct WithCreate<F>(F);

impl<F> std::fmt::Debug for WithCreate<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithCreate(..)")
    }
}

impl<T, C> std::fmt::Debug for Builder<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field(
                "create",
                &(std::any::type_name::<C>() != std::any::type_name::<NoCreate>()),
            )
            .field("reset", &self.reset.is_some())
            .field("weigh", &self.weigh.is_some())
            .field("max_idle_per_thread", &self.max_idle_per_thread)
            .field("max_idle_bytes", &self.max_idle_bytes)
            .field("trim_interval", &self.trim_interval)
            .field("name", &self.name)
            .field("pooling", &self.pooling)
            .finish()
    }
}

impl<T: Send + 'static> Default for Builder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Builder<T> {
    /// Default settings: no reset policy, 64 idle objects per thread, no
    /// byte budget, no automatic trimming.
    pub fn new() -> Self {
        Builder {
            create: NoCreate,
            reset: None,
            weigh: None,
            max_idle_per_thread: DEFAULT_MAX_IDLE_PER_THREAD,
            max_idle_bytes: None,
            shared_budget: None,
            private_slack: None,
            trim_interval: None,
            name: None,
            pooling: true,
        }
    }

    /// Gives the builder its `create` function now rather than at
    /// [`build`](Builder::build), which fixes `T` for the closures given to
    /// later setters; finish with `.build()`, which then takes no argument.
    pub fn create<F>(self, create: F) -> Builder<T, WithCreate<F>>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.with_state(WithCreate(create))
    }

    /// Builds the pool.
    ///
    /// # Panics
    /// If the configuration is invalid (see [`try_build`](Builder::try_build)).
    pub fn build<F>(self, create: F) -> Pool<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.create(create).build()
    }

    /// Builds the pool, or says why the configuration is invalid.
    pub fn try_build<F>(self, create: F) -> Result<Pool<T>, BuildError>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.create(create).try_build()
    }
}

impl<T, F> Builder<T, WithCreate<F>>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    /// Builds the pool with the `create` function given earlier.
    ///
    /// # Panics
    /// If the configuration is invalid (see `try_build`, just below).
    pub fn build(self) -> Pool<T> {
        self.try_build()
            .unwrap_or_else(|e| panic!("shardpool: {e}"))
    }

    /// Builds the pool, or says why the configuration is invalid: a
    /// `max_idle_per_thread` above
    /// [`MAX_IDLE_PER_THREAD_LIMIT`](crate::MAX_IDLE_PER_THREAD_LIMIT), or a
    /// zero `trim_interval`.
    pub fn try_build(self) -> Result<Pool<T>, BuildError> {
        let budget = self
            .shared_budget
            .or_else(|| self.max_idle_bytes.map(|b| Arc::new(Budget::new(b))));
        let slack = budget.as_ref().map(|_| self.private_slack.unwrap_or(1));
        let mut config = Config::new(self.max_idle_per_thread, slack, self.trim_interval)?;
        config.name = self.name;
        config.pooling = self.pooling && crate::config::pooling_enabled_by_env();
        let create = self.create.0;
        let inner = Inner::new(Box::new(create), self.reset, self.weigh, config, budget);
        Ok(Pool::from_inner(inner))
    }
}

impl<T: Send + 'static, C> Builder<T, C> {
    fn with_state<D>(self, create: D) -> Builder<T, D> {
        Builder {
            create,
            reset: self.reset,
            weigh: self.weigh,
            max_idle_per_thread: self.max_idle_per_thread,
            max_idle_bytes: self.max_idle_bytes,
            shared_budget: self.shared_budget,
            private_slack: self.private_slack,
            trim_interval: self.trim_interval,
            name: self.name,
            pooling: self.pooling,
        }
    }

    /// Names the pool, for [`stats_all`](crate::stats_all), metrics and
    /// `Debug`. Names need not be unique.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `false` turns pooling off: `get` always creates and every return
    /// drops (counted in [`Stats::dropped_by_passthrough`](crate::Stats::dropped_by_passthrough)),
    /// with the same API and guards, so a service can compare with and
    /// without pooling in production, or hunt a leak.
    ///
    /// **The environment wins over this setting.** `SHARDPOOL_POOLING=0` (or
    /// `false`, `off`, `no`), read once per process, turns pooling off for
    /// every pool, including one built with `pooling(true)`: it is the
    /// operator's switch, and reaches pools built inside libraries the
    /// operator cannot change. Any other value, or none, leaves this
    /// setting in charge. [`Pool::is_pooling`] says what a pool does.
    pub fn pooling(mut self, enabled: bool) -> Self {
        self.pooling = enabled;
        self
    }

    /// Runs `reset` on every object coming back; if it returns `false` the
    /// object is dropped (counted in `dropped_by_policy`) instead of kept.
    /// This is where to clear a buffer and reject one that grew too large.
    ///
    /// `reset` may use the pool itself; if it panics, the object is dropped,
    /// counted in `dropped_by_panic`, and the panic propagates.
    pub fn reset<F>(mut self, reset: F) -> Self
    where
        F: Fn(&mut T) -> bool + Send + Sync + 'static,
    {
        self.reset = Some(Box::new(reset));
        self
    }

    /// The ready-made policy for containers: clear on return, and drop any
    /// whose capacity exceeds `max_capacity_bytes` (the fix for Go's issue
    /// 23199, where a few huge buffers stayed pinned). Also measures objects
    /// by capacity for [`max_idle_bytes`](Builder::max_idle_bytes), unless
    /// [`weigh`](Builder::weigh) set a measure already.
    pub fn recycle(mut self, max_capacity_bytes: usize) -> Self
    where
        T: Recycle,
    {
        self.reset = Some(Box::new(crate::policy::recycle(max_capacity_bytes)));
        if self.weigh.is_none() {
            self.weigh = Some(Box::new(T::capacity_bytes));
        }
        self
    }

    /// How to measure an object for [`max_idle_bytes`](Builder::max_idle_bytes).
    /// Defaults to the container's capacity in bytes with
    /// [`recycle`](Builder::recycle), else to `size_of::<T>()`.
    pub fn weigh<F>(mut self, weigh: F) -> Self
    where
        F: Fn(&T) -> usize + Send + Sync + 'static,
    {
        self.weigh = Some(Box::new(weigh));
        self
    }

    /// Most idle objects one thread's shard keeps besides its private slot:
    /// at most `1 + n` per thread in all, so the pool holds at most
    /// `threads × (1 + n)` idle objects. Returns beyond that are dropped and
    /// counted in `dropped_by_cap`.
    ///
    /// `0` keeps only the private slot: each thread reuses one object, and an
    /// exiting thread's object moves to where others can take it. The largest
    /// accepted value is [`MAX_IDLE_PER_THREAD_LIMIT`](crate::MAX_IDLE_PER_THREAD_LIMIT).
    pub fn max_idle_per_thread(mut self, n: usize) -> Self {
        self.max_idle_per_thread = n;
        self
    }

    /// Caps the bytes idle objects may hold in shared lists, measured by
    /// [`weigh`](Builder::weigh); a return that would exceed it is dropped
    /// and counted in `dropped_by_budget`.
    ///
    /// Slack: each thread's private slot is not charged (charging it would
    /// put a shared atomic on the fast path), so with a budget the private
    /// stack holds one object and the pool holds at most `bytes` plus one
    /// object per thread. `0` keeps nothing but those slots: no object, not
    /// even one that weighs nothing, is kept in a shared list.
    pub fn max_idle_bytes(mut self, bytes: usize) -> Self {
        self.max_idle_bytes = Some(bytes);
        self
    }

    /// Charges this pool's shared lists to `budget`, which other pools may
    /// charge too (the size classes of a `BufferPool` share one). Takes
    /// precedence over [`max_idle_bytes`](Builder::max_idle_bytes); the slack
    /// is the same (the private stack: one object per thread, per pool,
    /// unless [`private_slack`](Builder::private_slack) says otherwise).
    pub(crate) fn shared_budget(mut self, budget: Arc<Budget>) -> Self {
        self.shared_budget = Some(budget);
        self
    }

    /// With a budget, lets each thread's private stack hold up to `n` objects
    /// (clamped to `1..=PRIVATE_STACK` and half the shard's capacity) instead of
    /// one: the budget's slack becomes `n` objects per thread. For small
    /// objects (a `BufferPool`'s small classes) that keeps a thread holding a
    /// few at once on the fast path. Without a budget it has no effect.
    pub(crate) fn private_slack(mut self, n: usize) -> Self {
        self.private_slack = Some(n);
        self
    }

    /// Trims automatically, at most once per `every`: on the pool's own slow
    /// paths, and from the [`BackgroundTrimmer`](crate::BackgroundTrimmer) if
    /// one is running (which is what reaches a pool that has gone quiet).
    /// Zero is refused.
    pub fn trim_interval(mut self, every: Duration) -> Self {
        self.trim_interval = Some(every);
        self
    }
}
