//! Memory-pressure trimming (cargo feature `pressure`), opt-in at run time: a
//! [`PressureWatcher`] makes the background trimmer thread trim every pool
//! when the process's cgroup is short of memory, or when a check of the
//! user's says so.
//!
//! ```text
//! trimmer thread, each pass, per watcher whose poll is due:
//!   cgroup v2 memory.events (this cgroup and its ancestors): high/max/oom grew? ─┐
//!   cgroup v2 memory.pressure: "some avg10" above the threshold?                ─┼─ pending
//!   the user's check() (only asked when nothing else is pending)              ─┘
//!   pending and no pressure trim in the last min_interval → trim every pool
//! ```
//!
//! ```text
//! pressure/
//!   mod.rs     the public config and handle; a watcher as a trimmer hook
//!   decide.rs  when to trim, on readings and a clock passed in
//!   cgroup.rs  finding and parsing the cgroup v2 files
//! ```

mod cgroup;
mod decide;

use crate::BackgroundTrimmer;
use crate::trim::background::{self, Hook};
use crate::trim::interval::now_nanos;
use crate::trim::registry::live_pools;
use cgroup::CgroupFiles;
use decide::Watcher;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Default [`PressureConfig::min_interval`].
const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`PressureConfig::poll_interval`]: as often as the trimmer wakes
/// anyway, so a default watcher adds no wake-ups. Reading two small cgroup
/// files costs a few microseconds; PSI's `avg10` moves over seconds anyway.
const DEFAULT_POLL_INTERVAL: Duration = BackgroundTrimmer::MAX_SLEEP;
/// Default [`PressureConfig::psi_threshold`], in percent of wall time.
const DEFAULT_PSI_THRESHOLD: f64 = 10.0;

/// What a [`PressureWatcher`] watches and how often it may trim.
///
/// ```
/// use shardpool::PressureConfig;
/// use std::time::Duration;
///
/// let config = PressureConfig::default()       // cgroup v2 events and PSI
///     .psi_threshold(20.0)                     // "some avg10" above 20 %
///     .check(|| false)                         // your own signal, if any
///     .min_interval(Duration::from_secs(2))    // at most one pressure trim per 2 s
///     .release_to_os(true);                    // then glibc's malloc_trim(0)
/// # let _ = config;
/// ```
pub struct PressureConfig {
    cgroup: bool,
    psi_threshold: f64,
    check: Option<Box<dyn FnMut() -> bool + Send>>,
    min_interval: Duration,
    poll_interval: Duration,
    release_to_os: bool,
}

impl Default for PressureConfig {
    /// Each setting at the default its setter states: the cgroup v2 files
    /// watched, no check of the user's, no
    /// [`release_to_os`](crate::release_to_os).
    fn default() -> Self {
        PressureConfig {
            cgroup: true,
            psi_threshold: DEFAULT_PSI_THRESHOLD,
            check: None,
            min_interval: DEFAULT_MIN_INTERVAL,
            poll_interval: DEFAULT_POLL_INTERVAL,
            release_to_os: false,
        }
    }
}

impl PressureConfig {
    /// Whether to watch the process's cgroup v2 `memory.events` and
    /// `memory.pressure` files (default `true`). Where they do not exist
    /// (cgroup v1 only, not Linux, no PSI) watching them does nothing.
    pub fn cgroup(mut self, watch: bool) -> Self {
        self.cgroup = watch;
        self
    }

    /// Pressure is reported when the `some avg10` figure of `memory.pressure`
    /// (the share of the last 10 s in which some task of the cgroup stalled
    /// on memory, in percent) is above `percent`. Default 10.
    pub fn psi_threshold(mut self, percent: f64) -> Self {
        self.psi_threshold = percent;
        self
    }

    /// A check of your own, run on the trimmer thread at each poll: return
    /// `true` when memory is short (a resident-memory limit, a signal from
    /// your orchestrator). It is not called while a pressure trim would be
    /// rate-limited anyway. A panic in it counts as `false`.
    pub fn check<F>(mut self, check: F) -> Self
    where
        F: FnMut() -> bool + Send + 'static,
    {
        self.check = Some(Box::new(check));
        self
    }

    /// At most one pressure trim per `interval` (default 1 s), however long
    /// the pressure lasts, so trimming cannot spiral. Sustained pressure thus
    /// frees everything idle within two intervals (the victim rule: an object
    /// survives one trim, not two).
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// How often the trimmer thread looks (default
    /// [`BackgroundTrimmer::MAX_SLEEP`], as often as it wakes anyway).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Also call [`release_to_os`](crate::release_to_os) after each pressure
    /// trim (default `false`; it does something with glibc only).
    pub fn release_to_os(mut self, release: bool) -> Self {
        self.release_to_os = release;
        self
    }
}

impl fmt::Debug for PressureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PressureConfig")
            .field("cgroup", &self.cgroup)
            .field("psi_threshold", &self.psi_threshold)
            .field("check", &self.check.as_ref().map(|_| ".."))
            .field("min_interval", &self.min_interval)
            .field("poll_interval", &self.poll_interval)
            .field("release_to_os", &self.release_to_os)
            .finish()
    }
}

/// Trims every pool ([`trim_all`](crate::trim_all)) when memory is short:
/// when the process's cgroup v2 `memory.events` counters `high`, `max` or
/// `oom` grow (in its own cgroup or an ancestor's), when `memory.pressure`
/// reports `some avg10` above a threshold, or when a check of yours returns
/// `true`; at most once per [`min_interval`](PressureConfig::min_interval).
///
/// It runs on the [`BackgroundTrimmer`] thread, which it keeps running while
/// it lives (it holds a handle). Several watchers may run at once, each with
/// its own rate limit. Dropping it (or [`stop`](PressureWatcher::stop))
/// stops watching. Nothing watches unless you start one.
///
/// ```
/// use shardpool::{PressureConfig, PressureWatcher};
///
/// let watcher = PressureWatcher::start(PressureConfig::default())
///     .expect("spawn the trimmer thread");
/// // e.g. ["/sys/fs/cgroup/app.slice/memory.events", "/sys/fs/cgroup/app.slice/memory.pressure"]
/// println!("watching {:?}", watcher.watched_files());
/// watcher.stop();
/// ```
#[must_use = "the watcher stops when its handle is dropped"]
pub struct PressureWatcher {
    watch: Arc<Watch>,
    /// Keeps `watch` registered with the trimmer, and the trimmer running.
    _trimmer: BackgroundTrimmer,
}

impl PressureWatcher {
    /// Starts watching, on the background trimmer thread (started if it is
    /// not running yet).
    pub fn start(config: PressureConfig) -> io::Result<PressureWatcher> {
        let files = if config.cgroup {
            CgroupFiles::discover()
        } else {
            CgroupFiles::default()
        };
        let watcher = Watcher::new(
            config.psi_threshold,
            config.min_interval,
            config.poll_interval,
            now_nanos(),
        );
        let watch = Arc::new(Watch {
            logic: Mutex::new(Logic {
                watcher,
                check: config.check,
            }),
            files,
            release_to_os: config.release_to_os,
            trims: Mutex::new(0),
        });
        let trimmer = BackgroundTrimmer::start_with_hook(Arc::clone(&watch) as Arc<dyn Hook>)?;
        Ok(PressureWatcher {
            watch,
            _trimmer: trimmer,
        })
    }

    /// Pressure trims this watcher has made so far.
    pub fn pressure_trims(&self) -> u64 {
        *lock(&self.watch.trims)
    }

    /// The cgroup files it reads (empty if it found none, or with
    /// [`cgroup(false)`](PressureConfig::cgroup)).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let files = &self.watch.files;
        files
            .events
            .iter()
            .chain(&files.pressure)
            .cloned()
            .collect()
    }

    /// Stops watching; if no other handle keeps the trimmer thread running,
    /// stops it too.
    pub fn stop(self) {
        // Dropping the trimmer handle unregisters the watch.
    }
}

impl fmt::Debug for PressureWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PressureWatcher")
            .field("watched_files", &self.watched_files())
            .field("pressure_trims", &self.pressure_trims())
            .finish()
    }
}

/// One started watcher, shared by its handle and the trimmer thread.
struct Watch {
    /// Locked by the trimmer thread only, for a poll (including the user's
    /// check); never held across a trim.
    logic: Mutex<Logic>,
    /// Fixed at start.
    files: CgroupFiles,
    release_to_os: bool,
    /// Pressure trims so far; a lock of its own so the user's check may read it.
    trims: Mutex<u64>,
}

struct Logic {
    watcher: Watcher,
    check: Option<Box<dyn FnMut() -> bool + Send>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The user's check runs under `logic` but inside `catch_unwind`, so no
    // lock here is poisoned by it; recover anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hook for Watch {
    /// Polls if a poll is due, makes the pressure trim it calls for, and
    /// returns when the next poll is due.
    fn tick(&self) -> Option<u64> {
        let (trim, next_poll) = {
            let mut logic = lock(&self.logic);
            let Logic { watcher, check } = &mut *logic;
            let mut ask = || match check {
                Some(check) => catch_unwind(AssertUnwindSafe(&mut **check)).unwrap_or(false),
                None => false,
            };
            let trim = watcher.tick(now_nanos(), &self.files, &mut ask);
            (trim.is_some(), watcher.next_poll())
        };
        if trim {
            trim_all();
            if self.release_to_os {
                crate::release_to_os();
            }
            *lock(&self.trims) += 1;
        }
        Some(next_poll)
    }
}

/// [`trim_all`](crate::trim_all), each pool's trim contained: a panicking
/// `T::drop` in one pool is counted by the trimmer and the other pools are
/// still trimmed.
fn trim_all() {
    for pool in live_pools() {
        background::contain(|| pool.trim_now());
        // If its owner dropped the pool meanwhile, it is dropped here.
        background::contain(move || drop(pool));
    }
}
