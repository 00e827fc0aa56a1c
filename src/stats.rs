//! What a pool has done, counted without slowing it down.
//!
//! Each shard's counters are written only by its owner thread (a relaxed
//! load and store, never a shared atomic increment); the rare events that
//! have no owning shard — a trim run from any thread, a return from a thread
//! that is already exiting — go to pool-wide counters. [`Pool::stats`] sums
//! both. Under concurrent use the sum is a snapshot whose fields may be a few
//! operations apart; once the pool is quiet it is exact.
//!
//! [`Pool::stats`]: crate::Pool::stats

use crate::sync::{OwnerCounter, SharedCounter};

/// A snapshot of a pool's activity and of what it holds.
///
/// The counts obey, once the pool is quiet:
///
/// ```text
/// created + adopted == detached + dropped() + idle + in_use
/// gets              == private_hits + shared_hits + steals + created
/// ```
///
/// where `in_use` ([`Stats::in_use`]) is the number of objects currently out in
/// guards. Nothing the pool receives disappears without landing in one of these
/// fields.
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
    /// Idle objects dropped by trimming (the victim rule).
    pub dropped_by_trim: u64,
    /// Objects dropped because they came back during a panic (a guard dropped
    /// while unwinding, which the reset policy did not accept, or a reset
    /// function that panicked).
    pub dropped_by_panic: u64,
    /// Objects returned by a thread after its exit hook had run (from another
    /// thread-local's destructor), when there was no shared list to take them.
    pub dropped_by_exit: u64,
    /// Objects the pool holds right now, idle, in private stacks and shared lists.
    pub idle: u64,
    /// Bytes charged to the retained-bytes budget by idle objects in shared
    /// lists (0 without `max_idle_bytes`). Private stacks are not charged: that
    /// is the documented slack of one object per thread.
    pub idle_bytes: u64,
    /// Threads that have a shard in this pool (live ones, and exited ones whose
    /// thread id has not been reused yet).
    pub shards: u64,
    /// Trims so far (the current trim epoch).
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
    }

    /// Objects currently out in guards (`created + adopted - detached -
    /// dropped - idle`), saturating at 0 in a snapshot taken mid-flight.
    pub fn in_use(&self) -> u64 {
        (self.created + self.adopted).saturating_sub(self.detached + self.dropped() + self.idle)
    }

    /// Fraction of gets that reused an object instead of creating one.
    pub fn hit_rate(&self) -> f64 {
        if self.gets == 0 {
            0.0
        } else {
            (self.gets - self.created) as f64 / self.gets as f64
        }
    }
}

/// Counters one shard's owner writes. See [`OwnerCounter`].
#[derive(Debug, Default)]
pub(crate) struct ShardCounters {
    pub(crate) private_hits: OwnerCounter,
    pub(crate) shared_hits: OwnerCounter,
    pub(crate) steals: OwnerCounter,
    pub(crate) stolen: OwnerCounter,
    pub(crate) created: OwnerCounter,
    pub(crate) returned: OwnerCounter,
    pub(crate) adopted: OwnerCounter,
    pub(crate) detached: OwnerCounter,
    pub(crate) dropped_by_policy: OwnerCounter,
    pub(crate) dropped_by_cap: OwnerCounter,
    pub(crate) dropped_by_budget: OwnerCounter,
    pub(crate) dropped_by_trim: OwnerCounter,
    pub(crate) dropped_by_panic: OwnerCounter,
}

/// Counters for events that have no owning shard. See [`SharedCounter`].
#[derive(Debug, Default)]
pub(crate) struct PoolCounters {
    pub(crate) created: SharedCounter,
    pub(crate) returned: SharedCounter,
    pub(crate) adopted: SharedCounter,
    pub(crate) detached: SharedCounter,
    pub(crate) dropped_by_policy: SharedCounter,
    pub(crate) dropped_by_trim: SharedCounter,
    pub(crate) dropped_by_panic: SharedCounter,
    pub(crate) dropped_by_exit: SharedCounter,
}

/// Which counter an event goes to; lets one call site count in the current
/// thread's shard when it has one and in the pool-wide counters otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Created,
    Returned,
    Adopted,
    Detached,
    DroppedByPolicy,
    DroppedByTrim,
    DroppedByPanic,
    DroppedByExit,
}

impl ShardCounters {
    /// The counter for `event`, if shards count it (exit drops only happen
    /// without a shard at hand). Cap and budget drops, which only happen with
    /// a shard at hand, are counted on its fields directly.
    pub(crate) fn of(&self, event: Event) -> Option<&OwnerCounter> {
        Some(match event {
            Event::Created => &self.created,
            Event::Returned => &self.returned,
            Event::Adopted => &self.adopted,
            Event::Detached => &self.detached,
            Event::DroppedByPolicy => &self.dropped_by_policy,
            Event::DroppedByTrim => &self.dropped_by_trim,
            Event::DroppedByPanic => &self.dropped_by_panic,
            Event::DroppedByExit => return None,
        })
    }

    /// Adds this shard's counts into `stats`.
    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.private_hits += self.private_hits.get();
        stats.shared_hits += self.shared_hits.get();
        stats.steals += self.steals.get();
        stats.stolen += self.stolen.get();
        stats.created += self.created.get();
        stats.returned += self.returned.get();
        stats.adopted += self.adopted.get();
        stats.detached += self.detached.get();
        stats.dropped_by_policy += self.dropped_by_policy.get();
        stats.dropped_by_cap += self.dropped_by_cap.get();
        stats.dropped_by_budget += self.dropped_by_budget.get();
        stats.dropped_by_trim += self.dropped_by_trim.get();
        stats.dropped_by_panic += self.dropped_by_panic.get();
    }
}

impl PoolCounters {
    /// The counter for `event`, for events that happen without a shard.
    pub(crate) fn of(&self, event: Event) -> &SharedCounter {
        match event {
            Event::Created => &self.created,
            Event::Returned => &self.returned,
            Event::Adopted => &self.adopted,
            Event::Detached => &self.detached,
            Event::DroppedByPolicy => &self.dropped_by_policy,
            Event::DroppedByTrim => &self.dropped_by_trim,
            Event::DroppedByPanic => &self.dropped_by_panic,
            Event::DroppedByExit => &self.dropped_by_exit,
        }
    }

    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.created += self.created.get();
        stats.returned += self.returned.get();
        stats.adopted += self.adopted.get();
        stats.detached += self.detached.get();
        stats.dropped_by_policy += self.dropped_by_policy.get();
        stats.dropped_by_trim += self.dropped_by_trim.get();
        stats.dropped_by_panic += self.dropped_by_panic.get();
        stats.dropped_by_exit += self.dropped_by_exit.get();
    }
}

/// Derives the fields that are not counted directly.
pub(crate) fn finish(stats: &mut Stats) {
    stats.gets = stats.private_hits + stats.shared_hits + stats.steals + stats.created;
    // Everything that came back and was kept, minus everything that left the
    // pool's storage since. Signed: a snapshot can catch a count mid-flight.
    let kept = stats.returned as i128
        - (stats.dropped_by_policy
            + stats.dropped_by_cap
            + stats.dropped_by_budget
            + stats.dropped_by_panic
            + stats.dropped_by_exit) as i128;
    let left =
        (stats.private_hits + stats.shared_hits + stats.steals + stats.dropped_by_trim) as i128;
    stats.idle = (kept - left).max(0) as u64;
}
