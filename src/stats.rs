//! What a pool has done, counted without slowing it down.
//!
//! The fast path counts nothing of its own: the private stack's height is
//! `pushes - pops`, two counters it keeps anyway, so private hits and private
//! returns are derived from them. Slow-path events are counted in the
//! shard's owner-written counters (a relaxed load and store, never a shared
//! atomic increment); events with no owning shard (a trim run from any
//! thread, a return on a thread that is exiting) go to pool-wide counters.
//! `idle` is derived from the flows: everything returned and kept, minus
//! everything that left the pool's storage since. (Reading the stacks and
//! rings directly would count an object twice while another thread moves it
//! from one to the other; each flow is counted before the move it
//! describes, so a snapshot can only be off by the operations in flight,
//! one per thread.) [`Pool::stats`] adds it all up; once the pool is quiet
//! it is exact, and `tests` check it against the objects actually held.
//!
//! [`Pool::stats`]: crate::Pool::stats

use crate::sync::{OwnerCounter, SharedCounter};

/// A snapshot of a pool's activity and of what it holds.
///
/// The counts obey, once the pool is quiet:
///
/// ```text
/// created + adopted == idle + dropped() + detached + in_use
/// gets              == private_hits + shared_hits + steals + created
/// ```
///
/// where `in_use` ([`Stats::in_use`]) is the number of objects currently out
/// in guards: an object lost without a count would show up as a guard that
/// does not exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls that handed out an object (`get`, `get_owned`, successful `try_get`).
    pub gets: u64,
    /// Gets served from the calling thread's private stack (the fast path).
    pub private_hits: u64,
    /// Gets served by refilling from the calling thread's own shared list.
    pub shared_hits: u64,
    /// Gets served by stealing from another thread's shared list (one per batch).
    pub steals: u64,
    /// Objects moved by those steals (each steal takes up to half of a victim's list).
    pub stolen: u64,
    /// Objects made by the pool's `create` function.
    pub created: u64,
    /// Objects handed back, by dropping a guard or by [`Pool::put`](crate::Pool::put),
    /// whether or not the pool kept them.
    pub returned: u64,
    /// Values handed in with [`Pool::put`](crate::Pool::put).
    pub adopted: u64,
    /// Objects taken out of the pool's care with `detach`.
    pub detached: u64,
    /// Returns the reset policy rejected (for example, an oversized buffer).
    pub dropped_by_policy: u64,
    /// Returns dropped because the thread's shard was full (`max_idle_per_thread`).
    pub dropped_by_cap: u64,
    /// Returns dropped because keeping them would exceed `max_idle_bytes`.
    pub dropped_by_budget: u64,
    /// Idle objects dropped by trimming (the victim rule) or by [`Pool::clear`](crate::Pool::clear).
    pub dropped_by_trim: u64,
    /// Objects dropped because user code panicked with them in hand: a guard
    /// dropped while unwinding that the reset policy did not accept, or a
    /// `reset` or `weigh` that panicked.
    pub dropped_by_panic: u64,
    /// Objects returned by a thread after its exit hook had run (from another
    /// thread-local's destructor), when there was no shared list to take them.
    pub dropped_by_exit: u64,
    /// Returns dropped because pooling is off ([`Builder::pooling`](crate::Builder::pooling)).
    pub dropped_by_passthrough: u64,
    /// Objects the pool holds right now, idle, in private stacks and shared lists.
    pub idle: u64,
    /// Bytes charged to the retained-bytes budget by idle objects in shared
    /// lists (0 without `max_idle_bytes`). Private stacks are not charged: that
    /// is the documented slack.
    pub idle_bytes: u64,
    /// Threads that have a shard in this pool (live ones, and exited ones whose
    /// thread id has not been reused yet).
    pub shards: u64,
    /// Trims so far (calls to `trim`, automatic trims, `trim_all`).
    pub trims: u64,
}

impl Stats {
    /// All objects the pool dropped, for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_by_policy
            + self.dropped_by_cap
            + self.dropped_by_budget
            + self.dropped_by_trim
            + self.dropped_by_panic
            + self.dropped_by_exit
            + self.dropped_by_passthrough
    }

    /// Objects currently out in guards (`created + adopted - detached -
    /// dropped - idle`), saturating at 0 in a snapshot taken mid-flight.
    pub fn in_use(&self) -> u64 {
        (self.created + self.adopted).saturating_sub(self.detached + self.dropped() + self.idle)
    }

    /// Adds `other`'s counts into `self` (a `BufferPool`'s total over its
    /// classes): every count is summed; `shards` and `trims`, which the
    /// classes share, take the larger.
    pub(crate) fn merge(&mut self, other: &Stats) {
        let (shards, trims) = (self.shards.max(other.shards), self.trims.max(other.trims));
        *self += other;
        (self.shards, self.trims) = (shards, trims);
    }

    /// Fraction of gets that reused an object instead of creating one.
    pub fn hit_rate(&self) -> f64 {
        if self.gets == 0 {
            0.0
        } else {
            self.gets.saturating_sub(self.created) as f64 / self.gets as f64
        }
    }
}

/// Sums every field: the statistics of several pools taken together (for
/// example, pools that share a name in a metrics export).
impl std::ops::AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, other: &Stats) {
        // Destructured, so a new field cannot be forgotten here.
        let Stats {
            gets,
            private_hits,
            shared_hits,
            steals,
            stolen,
            created,
            returned,
            adopted,
            detached,
            dropped_by_policy,
            dropped_by_cap,
            dropped_by_budget,
            dropped_by_trim,
            dropped_by_panic,
            dropped_by_exit,
            dropped_by_passthrough,
            idle,
            idle_bytes,
            shards,
            trims,
        } = *other;
        self.gets += gets;
        self.private_hits += private_hits;
        self.shared_hits += shared_hits;
        self.steals += steals;
        self.stolen += stolen;
        self.created += created;
        self.returned += returned;
        self.adopted += adopted;
        self.detached += detached;
        self.dropped_by_policy += dropped_by_policy;
        self.dropped_by_cap += dropped_by_cap;
        self.dropped_by_budget += dropped_by_budget;
        self.dropped_by_trim += dropped_by_trim;
        self.dropped_by_panic += dropped_by_panic;
        self.dropped_by_exit += dropped_by_exit;
        self.dropped_by_passthrough += dropped_by_passthrough;
        self.idle += idle;
        self.idle_bytes += idle_bytes;
        self.shards += shards;
        self.trims += trims;
    }
}

/// One pool's statistics, with its name, as [`stats_all`](crate::stats_all)
/// returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The name given with [`Builder::name`](crate::Builder::name), if any.
    pub name: Option<String>,
    /// The pool's statistics.
    pub stats: Stats,
}

/// Declares the slow-path event counters once: the counter sets of shards
/// and of the pool, and the plain sum they add up to.
macro_rules! events {
    ($($(#[$doc:meta])* $event:ident,)*) => {
        /// A slow-path event; each has a counter in every counter set. Most
        /// are counted through their field directly; the enum serves the
        /// call sites that pick the shard's or the pool's set at run time.
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Event { $($(#[$doc])* $event,)* }

        /// One counter per [`Event`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters<C> { $(pub(crate) $event: C,)* }

        /// Plain sums of the counters, before the derived fields.
        #[derive(Debug, Default, Clone, Copy)]
        pub(crate) struct Tally { $(pub(crate) $event: u64,)* }

        impl<C> Counters<C> {
            pub(crate) fn of(&self, event: Event) -> &C {
                match event { $(Event::$event => &self.$event,)* }
            }
        }

        impl<C: Read> Counters<C> {
            pub(crate) fn add_to(&self, tally: &mut Tally) {
                $(tally.$event += self.$event.read();)*
            }
        }
    };
}

events! {
    created,
    adopted,
    detached,
    /// Gets served by a refill from the caller's own shared list.
    shared_hits,
    /// Gets served by a steal.
    steals,
    /// Objects moved by steals.
    stolen,
    /// Returns that did not end on the private stack (ring, or dropped).
    returned_elsewhere,
    /// Boxes the pool itself placed on a private stack (refill, steal).
    moved_in,
    /// Boxes the pool itself took off a private stack (trim, flush, clear).
    moved_out,
    dropped_by_policy,
    dropped_by_cap,
    dropped_by_budget,
    dropped_by_trim,
    dropped_by_panic,
    dropped_by_exit,
    dropped_by_passthrough,
    /// Trims run (pool-wide only).
    trims,
}

/// A counter that can be read for a report.
pub(crate) trait Read {
    fn read(&self) -> u64;
}
impl Read for OwnerCounter {
    fn read(&self) -> u64 {
        self.get()
    }
}
impl Read for SharedCounter {
    fn read(&self) -> u64 {
        self.get()
    }
}

/// Counters one shard's owner writes.
pub(crate) type ShardCounters = Counters<OwnerCounter>;
/// Counters for events that have no owning shard.
pub(crate) type PoolCounters = Counters<SharedCounter>;

/// What one shard contributes beyond its counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flows {
    /// Boxes ever pushed onto / popped off private stacks.
    pub(crate) pushes: u64,
    pub(crate) pops: u64,
    pub(crate) shards: u64,
}

/// Builds the public snapshot from the sums.
pub(crate) fn finish(t: &Tally, f: &Flows) -> Stats {
    let private_hits = f.pops.saturating_sub(t.moved_out);
    let private_returns = f.pushes.saturating_sub(t.moved_in);
    let returned = private_returns + t.returned_elsewhere;
    // Kept: returned minus what was dropped on the way in. Left: handed out
    // again (a refill or steal hands out one; the rest of its batch stays
    // idle) or trimmed.
    let kept = returned as i128
        - (t.dropped_by_policy
            + t.dropped_by_cap
            + t.dropped_by_budget
            + t.dropped_by_panic
            + t.dropped_by_exit
            + t.dropped_by_passthrough) as i128;
    let left = (private_hits + t.shared_hits + t.steals + t.dropped_by_trim) as i128;
    Stats {
        gets: private_hits + t.shared_hits + t.steals + t.created,
        private_hits,
        shared_hits: t.shared_hits,
        steals: t.steals,
        stolen: t.stolen,
        created: t.created,
        returned,
        adopted: t.adopted,
        detached: t.detached,
        dropped_by_policy: t.dropped_by_policy,
        dropped_by_cap: t.dropped_by_cap,
        dropped_by_budget: t.dropped_by_budget,
        dropped_by_trim: t.dropped_by_trim,
        dropped_by_panic: t.dropped_by_panic,
        dropped_by_exit: t.dropped_by_exit,
        dropped_by_passthrough: t.dropped_by_passthrough,
        idle: (kept - left).max(0) as u64,
        idle_bytes: 0,
        shards: f.shards,
        trims: t.trims,
    }
}
