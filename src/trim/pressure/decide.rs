//! When to make a pressure trim, on inputs passed in: the parsed cgroup
//! readings ([`Sources`]), the user's check, and the time. Nothing here reads
//! a file or a clock, so the tests below drive it with fake readings on a
//! fake clock (`now` in nanoseconds, as [`now_nanos`](crate::trim::interval::now_nanos)).

use std::time::Duration;

/// The `memory.events` counters that mean a cgroup hit its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Events {
    pub(super) high: u64,
    pub(super) max: u64,
    pub(super) oom: u64,
}

impl Events {
    fn grew_since(&self, before: &Events) -> bool {
        self.high > before.high || self.max > before.max || self.oom > before.oom
    }
}

/// Where the readings come from: the cgroup files, or a test.
pub(super) trait Sources {
    /// Each watched `memory.events`, in a fixed order (`None` where
    /// unreadable or unparsable).
    fn events(&self) -> Vec<Option<Events>>;
    /// `memory.pressure`'s `some avg10`, in percent, if there is one.
    fn psi_some_avg10(&self) -> Option<f64>;
}

/// Why a pressure trim is called for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Reason {
    /// A `high`, `max` or `oom` counter in some `memory.events` grew.
    Events,
    /// `some avg10` was this many percent, above the threshold.
    Psi(f64),
    /// The user's check returned true.
    Check,
}

/// One watcher's decision, fed time and readings.
#[derive(Debug)]
pub(super) struct Watcher {
    detector: Detector,
    limit: RateLimit,
    poll_interval: u64,
    /// When the next poll is due (`now_nanos` scale).
    next_poll: u64,
    /// A signal seen while rate-limited, acted on when the limit allows.
    pending: Option<Reason>,
}

impl Watcher {
    /// A watcher whose first poll is due at `now`.
    pub(super) fn new(
        psi_threshold: f64,
        min_interval: Duration,
        poll_interval: Duration,
        now: u64,
    ) -> Watcher {
        Watcher {
            detector: Detector::new(psi_threshold),
            limit: RateLimit::new(min_interval),
            poll_interval: nanos(poll_interval).max(1),
            next_poll: now,
            pending: None,
        }
    }

    /// When the next poll is due.
    pub(super) fn next_poll(&self) -> u64 {
        self.next_poll
    }

    /// One poll at `now`: returns why to trim, if a pressure trim is due now
    /// (and counts it against the rate limit). Does nothing before the next
    /// poll is due.
    pub(super) fn tick(
        &mut self,
        now: u64,
        sources: &impl Sources,
        check: &mut dyn FnMut() -> bool,
    ) -> Option<Reason> {
        if now < self.next_poll {
            return None;
        }
        self.next_poll = now.saturating_add(self.poll_interval);
        // Read the counters on every poll, rate-limited or not, so that an
        // increase is measured against the last reading.
        let events = sources.events();
        let psi = sources.psi_some_avg10();
        if let Some(reason) = self.detector.observe(&events, psi) {
            self.pending.get_or_insert(reason);
        }
        if !self.limit.ready(now) {
            return None;
        }
        if self.pending.is_none() && check() {
            self.pending = Some(Reason::Check);
        }
        let reason = self.pending.take()?;
        self.limit.fired(now);
        Some(reason)
    }
}

/// At most one event per interval, on a clock passed in.
#[derive(Debug)]
struct RateLimit {
    interval: u64,
    last: Option<u64>,
}

impl RateLimit {
    fn new(interval: Duration) -> RateLimit {
        RateLimit {
            interval: nanos(interval),
            last: None,
        }
    }

    /// Whether an event may happen at `now`.
    fn ready(&self, now: u64) -> bool {
        self.last
            .is_none_or(|last| now.saturating_sub(last) >= self.interval)
    }

    /// Records an event at `now`.
    fn fired(&mut self, now: u64) {
        self.last = Some(now);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Turns successive readings into pressure signals: a counter that grew since
/// the previous reading, or PSI above the threshold. The first reading of a
/// file is a baseline (counts from before the watcher started are history).
#[derive(Debug)]
struct Detector {
    psi_threshold: f64,
    last: Vec<Option<Events>>,
}

impl Detector {
    fn new(psi_threshold: f64) -> Detector {
        Detector {
            psi_threshold,
            last: Vec::new(),
        }
    }

    fn observe(&mut self, events: &[Option<Events>], psi: Option<f64>) -> Option<Reason> {
        self.last.resize(events.len(), None);
        let mut grew = false;
        for (now, last) in events.iter().zip(&mut self.last) {
            let Some(now) = now else {
                continue;
            };
            grew |= last.is_some_and(|before| now.grew_since(&before));
            *last = Some(*now);
        }
        if grew {
            return Some(Reason::Events);
        }
        let avg10 = psi?;
        (avg10 > self.psi_threshold).then_some(Reason::Psi(avg10))
    }
}

#[cfg(all(test, not(shardpool_loom)))]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    const MS: u64 = 1_000_000;

    /// Readings a test sets by hand.
    #[derive(Default)]
    struct Fake {
        events: RefCell<Vec<Option<Events>>>,
        psi: Cell<Option<f64>>,
    }

    impl Sources for Fake {
        fn events(&self) -> Vec<Option<Events>> {
            self.events.borrow().clone()
        }
        fn psi_some_avg10(&self) -> Option<f64> {
            self.psi.get()
        }
    }

    fn events(high: u64, max: u64, oom: u64) -> Option<Events> {
        Some(Events { high, max, oom })
    }

    /// A watcher with a 10 % PSI threshold, started at time 0.
    fn watcher(min_interval_ms: u64, poll_ms: u64) -> Watcher {
        Watcher::new(
            10.0,
            Duration::from_millis(min_interval_ms),
            Duration::from_millis(poll_ms),
            0,
        )
    }

    #[test]
    fn no_readings_never_trim() {
        let none = Fake::default();
        let mut w = watcher(0, 1);
        for t in 0..10 {
            assert_eq!(w.tick(t * MS, &none, &mut || false), None);
        }
    }

    #[test]
    fn growing_events_trigger_and_history_does_not() {
        let fake = Fake::default();
        *fake.events.borrow_mut() = vec![events(5, 5, 1), None];
        let mut w = watcher(0, 1);
        let mut no = || false;
        // Counts from before the watcher started are a baseline.
        assert_eq!(w.tick(0, &fake, &mut no), None);
        assert_eq!(w.tick(MS, &fake, &mut no), None);
        // Each counter, and a parent's file appearing then growing.
        for next in [events(6, 5, 1), events(6, 6, 1), events(6, 6, 2)] {
            fake.events.borrow_mut()[0] = next;
            assert_eq!(w.tick(w.next_poll, &fake, &mut no), Some(Reason::Events));
            assert_eq!(
                w.tick(w.next_poll, &fake, &mut no),
                None,
                "once per increase"
            );
        }
        fake.events.borrow_mut()[1] = events(0, 7, 0);
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), None, "baseline");
        fake.events.borrow_mut()[1] = events(0, 8, 0);
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), Some(Reason::Events));
        // A counter that goes down (a new cgroup) is a new baseline, not pressure.
        fake.events.borrow_mut()[1] = events(0, 0, 0);
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), None);
        // An unreadable file keeps the last reading as the baseline.
        fake.events.borrow_mut()[1] = None;
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), None);
        fake.events.borrow_mut()[1] = events(0, 1, 0);
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), Some(Reason::Events));
    }

    #[test]
    fn psi_above_threshold_triggers() {
        let fake = Fake::default();
        let mut w = watcher(0, 1);
        let mut no = || false;
        fake.psi.set(Some(10.0));
        assert_eq!(
            w.tick(0, &fake, &mut no),
            None,
            "at the threshold is not above it"
        );
        fake.psi.set(Some(10.01));
        assert_eq!(w.tick(MS, &fake, &mut no), Some(Reason::Psi(10.01)));
        fake.psi.set(None);
        assert_eq!(w.tick(2 * MS, &fake, &mut no), None);
    }

    #[test]
    fn check_is_asked_only_when_it_could_trim() {
        let fake = Fake::default();
        let mut w = watcher(100, 10);
        let asked = Cell::new(0);
        let mut yes = || {
            asked.set(asked.get() + 1);
            true
        };
        assert_eq!(w.tick(0, &fake, &mut yes), Some(Reason::Check));
        // Rate-limited for 100 ms: polls happen, the check is not asked.
        for t in (10..100).step_by(10) {
            assert_eq!(w.tick(t * MS, &fake, &mut yes), None, "at {t} ms");
        }
        assert_eq!(asked.get(), 1);
        assert_eq!(w.tick(100 * MS, &fake, &mut yes), Some(Reason::Check));
        assert_eq!(asked.get(), 2);
        // Before the next poll is due nothing is read or asked.
        let mut w = watcher(0, 10);
        assert_eq!(w.tick(0, &fake, &mut yes), Some(Reason::Check));
        assert_eq!(w.tick(5 * MS, &fake, &mut yes), None);
        assert_eq!(asked.get(), 3);
    }

    #[test]
    fn rate_limit_holds_under_constant_pressure() {
        let fake = Fake::default();
        fake.psi.set(Some(80.0));
        let mut w = watcher(1000, 7);
        let mut trims = Vec::new();
        // 10.5 s of polling every 1 ms of fake time (most polls are not due).
        for t in 0..10_500u64 {
            if w.tick(t * MS, &fake, &mut || true).is_some() {
                trims.push(t);
            }
        }
        // One at once, then one per second (rounded up to the 7 ms poll grid):
        // 11 in 10.5 s, the bound `elapsed / interval + 1`.
        assert_eq!(trims.len(), 11, "{trims:?}");
        assert_eq!(trims[0], 0);
        for pair in trims.windows(2) {
            assert!((1000..1007).contains(&(pair[1] - pair[0])), "{trims:?}");
        }
    }

    #[test]
    fn signal_during_the_limit_is_kept_until_it_ends() {
        let fake = Fake::default();
        *fake.events.borrow_mut() = vec![events(0, 0, 0)];
        let mut w = watcher(100, 10);
        let mut no = || false;
        assert_eq!(w.tick(0, &fake, &mut no), None);
        *fake.events.borrow_mut() = vec![events(1, 0, 0)];
        assert_eq!(w.tick(10 * MS, &fake, &mut no), Some(Reason::Events));
        // Another increase inside the 100 ms window is not lost...
        *fake.events.borrow_mut() = vec![events(2, 0, 0)];
        assert_eq!(w.tick(20 * MS, &fake, &mut no), None);
        assert_eq!(w.tick(30 * MS, &fake, &mut no), None);
        // ...it trims once the window ends, and only once.
        assert_eq!(w.tick(110 * MS, &fake, &mut no), Some(Reason::Events));
        assert_eq!(w.tick(300 * MS, &fake, &mut no), None);
    }

    #[test]
    fn rate_limit_alone() {
        let mut limit = RateLimit::new(Duration::from_millis(50));
        assert!(limit.ready(0));
        limit.fired(0);
        assert!(!limit.ready(49 * MS));
        assert!(limit.ready(50 * MS));
        limit.fired(70 * MS);
        assert!(!limit.ready(119 * MS));
        assert!(limit.ready(120 * MS));
        // Zero interval: always ready.
        let mut zero = RateLimit::new(Duration::ZERO);
        zero.fired(5);
        assert!(zero.ready(5));
    }
}
