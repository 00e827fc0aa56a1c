//! Memory-pressure trimming, opt-in: a [`PressureWatcher`] makes the
//! background trimmer thread call [`trim_all`](crate::trim_all) when the
//! process's cgroup is short of memory, or when a check of the user's says so.
//!
//! ```text
//! trimmer thread, every poll interval, per watcher:
//!   cgroup v2 memory.events (this cgroup and its ancestors): high/max/oom grew? ─┐
//!   cgroup v2 memory.pressure: "some avg10" above the threshold?                ─┼─ pending
//!   the user's check() (only asked when nothing else is pending)              ─┘
//!   pending and no pressure trim in the last min_interval → trim_all()
//! ```
//!
//! The decision logic ([`Detector`], [`RateLimit`], [`Watcher`]) takes file
//! contents and the time as inputs, so the unit tests below drive it with fake
//! `memory.events`/`memory.pressure` text and a fake clock; only
//! [`CgroupFiles`] touches the file system.

use crate::BackgroundTrimmer;
use crate::trim::interval::now_nanos;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Default [`PressureConfig::min_interval`]: at most one pressure trim a second.
const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`PressureConfig::poll_interval`]. Reading two small cgroup files
/// costs a few microseconds; PSI's `avg10` moves over seconds anyway.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Default [`PressureConfig::psi_threshold`], in percent of wall time.
const DEFAULT_PSI_THRESHOLD: f64 = 10.0;

/// What a [`PressureWatcher`] watches and how often it may trim.
///
/// ```
/// use shardpool::PressureConfig;
/// use std::time::Duration;
///
/// let config = PressureConfig::default()       // cgroup v2 events and PSI, 10 %
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
    /// Watches the cgroup v2 files, with a PSI threshold of 10 %, no check of
    /// the user's, at most one pressure trim per second, polled every 250 ms,
    /// and does not call [`release_to_os`](crate::release_to_os).
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

    /// How often the trimmer thread looks (default 250 ms).
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
    /// Dropped after `Drop::drop` has unregistered `watch`.
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
        let watch = Arc::new(Watch {
            logic: Mutex::new(Logic {
                watcher: Watcher::new(&config, now_nanos()),
                check: config.check,
            }),
            files,
            release_to_os: config.release_to_os,
            trims: Mutex::new(0),
        });
        let trimmer = BackgroundTrimmer::start()?;
        // The trimmer thread finds it at its next pass (within 250 ms).
        watches().push(Arc::clone(&watch));
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
        // Drop does the work.
    }
}

impl Drop for PressureWatcher {
    fn drop(&mut self) {
        watches().retain(|w| !Arc::ptr_eq(w, &self.watch));
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
    /// check); never held across `trim_all`.
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

/// The watchers the trimmer thread polls.
static WATCHES: Mutex<Vec<Arc<Watch>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // User code (the check) runs under `logic` but inside `catch_unwind`, so
    // no lock here is poisoned by it; recover anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn watches() -> MutexGuard<'static, Vec<Arc<Watch>>> {
    lock(&WATCHES)
}

/// Called by the trimmer thread on each pass: polls the watchers that are due,
/// makes the pressure trims they call for, and returns how long until the
/// next poll is due (`None` without watchers).
pub(crate) fn poll() -> Option<Duration> {
    let list: Vec<Arc<Watch>> = watches().clone();
    let mut next_due: Option<u64> = None;
    for watch in list {
        let (trim, due) = {
            let mut logic = lock(&watch.logic);
            let Logic { watcher, check } = &mut *logic;
            let mut ask = || match check {
                Some(check) => catch_unwind(AssertUnwindSafe(&mut **check)).unwrap_or(false),
                None => false,
            };
            let trim = watcher.tick(now_nanos(), &watch.files, &mut ask);
            (trim.is_some(), watcher.next_poll)
        };
        if trim {
            crate::trim_all();
            if watch.release_to_os {
                crate::release_to_os();
            }
            *lock(&watch.trims) += 1;
        }
        next_due = Some(next_due.map_or(due, |d| d.min(due)));
        // `watch` may be the last handle (its watcher was stopped meanwhile);
        // it drops here, outside every lock.
    }
    next_due.map(|due| Duration::from_nanos(due.saturating_sub(now_nanos())))
}

/// Why a pressure trim is called for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reason {
    /// A `high`, `max` or `oom` counter in some `memory.events` grew.
    Events,
    /// `some avg10` was this many percent, above the threshold.
    Psi(f64),
    /// The user's check returned true.
    Check,
}

/// Where the cgroup text comes from: the file system, or a test.
pub(crate) trait Sources {
    /// The text of each `memory.events` watched, in a fixed order (`None`
    /// where unreadable).
    fn events(&self) -> Vec<Option<String>>;
    /// The text of `memory.pressure`, if there is one.
    fn pressure(&self) -> Option<String>;
}

/// The pieces of one watcher's decision, fed time and file contents.
#[derive(Debug)]
pub(crate) struct Watcher {
    detector: Detector,
    limit: RateLimit,
    poll_interval: u64,
    /// When the next poll is due (`now_nanos` scale).
    next_poll: u64,
    /// A signal seen while rate-limited, acted on when the limit allows.
    pending: Option<Reason>,
}

impl Watcher {
    fn new(config: &PressureConfig, now: u64) -> Watcher {
        Watcher {
            detector: Detector::new(config.psi_threshold),
            limit: RateLimit::new(config.min_interval),
            poll_interval: nanos(config.poll_interval).max(1),
            next_poll: now,
            pending: None,
        }
    }

    /// One poll at `now`: returns why to trim, if a pressure trim is due now
    /// (and counts it against the rate limit). Does nothing before the next
    /// poll is due.
    pub(crate) fn tick(
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
        let pressure = sources.pressure();
        if let Some(reason) = self.detector.observe(&events, pressure.as_deref()) {
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
pub(crate) struct RateLimit {
    interval: u64,
    last: Option<u64>,
}

impl RateLimit {
    pub(crate) fn new(interval: Duration) -> RateLimit {
        RateLimit {
            interval: nanos(interval),
            last: None,
        }
    }

    /// Whether an event may happen at `now`.
    pub(crate) fn ready(&self, now: u64) -> bool {
        self.last
            .is_none_or(|last| now.saturating_sub(last) >= self.interval)
    }

    /// Records an event at `now`.
    pub(crate) fn fired(&mut self, now: u64) {
        self.last = Some(now);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The `memory.events` counters that mean a cgroup hit its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Events {
    pub(crate) high: u64,
    pub(crate) max: u64,
    pub(crate) oom: u64,
}

impl Events {
    /// Parses `memory.events` (`key value` lines); `None` if it has none of
    /// the three keys.
    pub(crate) fn parse(text: &str) -> Option<Events> {
        let mut events = Events::default();
        let mut seen = false;
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            let (Some(key), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            let slot = match key {
                "high" => &mut events.high,
                "max" => &mut events.max,
                "oom" => &mut events.oom,
                _ => continue,
            };
            if let Ok(v) = value.parse() {
                *slot = v;
                seen = true;
            }
        }
        seen.then_some(events)
    }

    fn grew_since(&self, before: &Events) -> bool {
        self.high > before.high || self.max > before.max || self.oom > before.oom
    }
}

/// The `some avg10=` figure of a PSI file such as `memory.pressure`.
pub(crate) fn psi_some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// Turns successive readings into pressure signals: a counter that grew since
/// the previous reading, or PSI above the threshold. The first reading of a
/// file is a baseline (counts from before the watcher started are history).
#[derive(Debug)]
pub(crate) struct Detector {
    psi_threshold: f64,
    last: Vec<Option<Events>>,
}

impl Detector {
    pub(crate) fn new(psi_threshold: f64) -> Detector {
        Detector {
            psi_threshold,
            last: Vec::new(),
        }
    }

    pub(crate) fn observe(
        &mut self,
        events: &[Option<String>],
        psi: Option<&str>,
    ) -> Option<Reason> {
        self.last.resize(events.len(), None);
        let mut grew = false;
        for (text, last) in events.iter().zip(&mut self.last) {
            let Some(now) = text.as_deref().and_then(Events::parse) else {
                continue;
            };
            grew |= last.is_some_and(|before| now.grew_since(&before));
            *last = Some(now);
        }
        if grew {
            return Some(Reason::Events);
        }
        let avg10 = psi.and_then(psi_some_avg10)?;
        (avg10 > self.psi_threshold).then_some(Reason::Psi(avg10))
    }
}

/// The cgroup v2 files of this process: `memory.events` of its cgroup and of
/// each ancestor up to the cgroup2 mount (a limit set on a parent slice shows
/// only in the parent's file), and its own `memory.pressure`.
#[derive(Debug, Default)]
pub(crate) struct CgroupFiles {
    events: Vec<PathBuf>,
    pressure: Option<PathBuf>,
}

impl CgroupFiles {
    /// Finds the files from `/proc/self/cgroup` (the `0::/path` line) and the
    /// cgroup2 mount in `/proc/self/mountinfo` (`/sys/fs/cgroup` on a pure
    /// v2 system; `/sys/fs/cgroup/unified` on a hybrid one). Empty if any of
    /// it is missing.
    fn discover() -> CgroupFiles {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let (Some(cgroup), mountinfo) = (read("/proc/self/cgroup"), read("/proc/self/mountinfo"))
        else {
            return CgroupFiles::default();
        };
        let Some(dirs) = cgroup_dirs(&cgroup, mountinfo.as_deref()) else {
            return CgroupFiles::default();
        };
        CgroupFiles::in_dirs(&dirs, |p| p.exists())
    }

    /// The files among `dirs` (own cgroup first, then its ancestors) that
    /// `exists` accepts.
    pub(crate) fn in_dirs(dirs: &[PathBuf], exists: impl Fn(&Path) -> bool) -> CgroupFiles {
        let events = dirs
            .iter()
            .map(|d| d.join("memory.events"))
            .filter(|p| exists(p))
            .collect();
        let pressure = dirs
            .first()
            .map(|d| d.join("memory.pressure"))
            .filter(|p| exists(p));
        CgroupFiles { events, pressure }
    }
}

impl Sources for CgroupFiles {
    fn events(&self) -> Vec<Option<String>> {
        self.events
            .iter()
            .map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    fn pressure(&self) -> Option<String> {
        std::fs::read_to_string(self.pressure.as_ref()?).ok()
    }
}

/// The directories of this process's cgroup v2 and its ancestors, own first,
/// down to the cgroup2 mount point, from the texts of `/proc/self/cgroup`
/// and `/proc/self/mountinfo` (`/sys/fs/cgroup` is assumed without one).
pub(crate) fn cgroup_dirs(proc_cgroup: &str, mountinfo: Option<&str>) -> Option<Vec<PathBuf>> {
    let path = proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let (root, mount) = match mountinfo.and_then(cgroup2_mount) {
        Some((root, mount)) => (root, PathBuf::from(mount)),
        None => ("/".to_owned(), PathBuf::from("/sys/fs/cgroup")),
    };
    // The process's path is relative to the hierarchy's root; the mount shows
    // the hierarchy from `root` down.
    let relative = if root == "/" {
        path
    } else {
        path.strip_prefix(root.as_str())?
    };
    let mut dir = mount.clone();
    let mut dirs = vec![mount];
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return None;
        }
        dir.push(part);
        dirs.push(dir.clone());
    }
    dirs.reverse();
    Some(dirs)
}

/// `(root, mount point)` of the first cgroup2 mount in a mountinfo text.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_ascii_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_ascii_whitespace().skip(3);
        let root = unescape(fields.next()?);
        let point = unescape(fields.next()?);
        Some((root, point))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(all(test, not(shardpool_loom)))]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const MS: u64 = 1_000_000;

    #[derive(Default)]
    struct Fake {
        events: RefCell<Vec<Option<String>>>,
        pressure: RefCell<Option<String>>,
    }

    impl Sources for Fake {
        fn events(&self) -> Vec<Option<String>> {
            self.events.borrow().clone()
        }
        fn pressure(&self) -> Option<String> {
            self.pressure.borrow().clone()
        }
    }

    fn events(high: u64, max: u64, oom: u64) -> String {
        format!("low 0\nhigh {high}\nmax {max}\noom {oom}\noom_kill {oom}\noom_group_kill 0\n")
    }

    fn psi(avg10: f64) -> String {
        format!(
            "some avg10={avg10:.2} avg60=1.00 avg300=0.50 total=12345\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        )
    }

    fn watcher(min_interval_ms: u64, poll_ms: u64) -> Watcher {
        let config = PressureConfig::default()
            .min_interval(Duration::from_millis(min_interval_ms))
            .poll_interval(Duration::from_millis(poll_ms));
        Watcher::new(&config, 0)
    }

    #[test]
    fn parses_memory_events() {
        assert_eq!(
            Events::parse(&events(3, 2, 1)),
            Some(Events {
                high: 3,
                max: 2,
                oom: 1
            })
        );
        // `oom_kill` and `oom_group_kill` are not `oom`.
        assert_eq!(
            Events::parse("oom_kill 5\nmax 1\n"),
            Some(Events {
                high: 0,
                max: 1,
                oom: 0
            })
        );
        assert_eq!(Events::parse(""), None);
        assert_eq!(Events::parse("low 4\ngarbage\n"), None);
    }

    #[test]
    fn parses_psi_some_avg10() {
        assert_eq!(psi_some_avg10(&psi(12.5)), Some(12.5));
        // `full` is not `some`, whatever its order.
        assert_eq!(
            psi_some_avg10(
                "full avg10=99.00 avg60=0 avg300=0 total=0\nsome avg10=0.25 avg60=0.00 avg300=0.00 total=1\n"
            ),
            Some(0.25)
        );
        assert_eq!(psi_some_avg10("some avg60=1.00\n"), None);
        assert_eq!(psi_some_avg10(""), None);
    }

    #[test]
    fn finds_cgroup_dirs_pure_v2() {
        let dirs = cgroup_dirs(
            "0::/system.slice/app.service\n",
            Some(
                "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
            ),
        )
        .unwrap();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/system.slice/app.service",
                "/sys/fs/cgroup/system.slice",
                "/sys/fs/cgroup",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn finds_cgroup_dirs_hybrid_and_namespaced() {
        // Hybrid (v1 controllers plus a v2 `unified` mount), as on the CI box.
        let cgroup = "4:memory:/x\n1:cpu:/\n0::/\n";
        let mountinfo = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                         41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs(cgroup, Some(mountinfo)).unwrap(),
            [PathBuf::from("/sys/fs/cgroup/unified")]
        );
        // A container that bind-mounts its own subtree (mount root not `/`).
        let mountinfo = "1 0 0:5 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs("0::/docker/abc/inner\n", Some(mountinfo)).unwrap(),
            ["/sys/fs/cgroup/inner", "/sys/fs/cgroup"].map(PathBuf::from)
        );
        // Escaped spaces in the mount point.
        let mountinfo = "1 0 0:5 / /mnt/cg\\040two - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs("0::/a\n", Some(mountinfo)).unwrap(),
            ["/mnt/cg two/a", "/mnt/cg two"].map(PathBuf::from)
        );
        // No mountinfo: the usual place.
        assert_eq!(
            cgroup_dirs("0::/a\n", None).unwrap(),
            ["/sys/fs/cgroup/a", "/sys/fs/cgroup"].map(PathBuf::from)
        );
    }

    #[test]
    fn no_cgroup_v2_means_no_files() {
        // cgroup v1 only: no `0::` line.
        assert_eq!(cgroup_dirs("4:memory:/x\n1:cpu:/\n", None), None);
        // A path outside the mounted subtree.
        let mountinfo = "1 0 0:5 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup_dirs("0::/elsewhere\n", Some(mountinfo)), None);
        // Files that do not exist are not watched.
        let dirs = ["/cg/a", "/cg"].map(PathBuf::from);
        let files = CgroupFiles::in_dirs(&dirs, |p| p == Path::new("/cg/memory.events"));
        assert_eq!(files.events, [PathBuf::from("/cg/memory.events")]);
        assert_eq!(files.pressure, None);
        let none = CgroupFiles::in_dirs(&dirs, |_| false);
        assert!(none.events.is_empty() && none.pressure.is_none());
        // And a watcher over nothing never trims.
        let mut w = watcher(0, 1);
        for t in 0..10 {
            assert_eq!(w.tick(t * MS, &none, &mut || false), None);
        }
    }

    #[test]
    fn growing_events_trigger_and_history_does_not() {
        let fake = Fake::default();
        *fake.events.borrow_mut() = vec![Some(events(5, 5, 1)), None];
        let mut w = watcher(0, 1);
        let mut no = || false;
        // Counts from before the watcher started are a baseline.
        assert_eq!(w.tick(0, &fake, &mut no), None);
        assert_eq!(w.tick(MS, &fake, &mut no), None);
        // Each counter, and a parent's file appearing then growing.
        for next in [events(6, 5, 1), events(6, 6, 1), events(6, 6, 2)] {
            fake.events.borrow_mut()[0] = Some(next);
            assert_eq!(w.tick(w.next_poll, &fake, &mut no), Some(Reason::Events));
            assert_eq!(
                w.tick(w.next_poll, &fake, &mut no),
                None,
                "once per increase"
            );
        }
        fake.events.borrow_mut()[1] = Some(events(0, 7, 0));
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), None, "baseline");
        fake.events.borrow_mut()[1] = Some(events(0, 8, 0));
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), Some(Reason::Events));
        // A counter that goes down (a new cgroup) is a new baseline, not pressure.
        fake.events.borrow_mut()[1] = Some(events(0, 0, 0));
        assert_eq!(w.tick(w.next_poll, &fake, &mut no), None);
    }

    #[test]
    fn psi_above_threshold_triggers() {
        let fake = Fake::default();
        let mut w = watcher(0, 1);
        let mut no = || false;
        *fake.pressure.borrow_mut() = Some(psi(10.0));
        assert_eq!(
            w.tick(0, &fake, &mut no),
            None,
            "at the threshold is not above it"
        );
        *fake.pressure.borrow_mut() = Some(psi(10.01));
        assert_eq!(w.tick(MS, &fake, &mut no), Some(Reason::Psi(10.01)));
        *fake.pressure.borrow_mut() = Some("garbage".into());
        assert_eq!(w.tick(2 * MS, &fake, &mut no), None);
    }

    #[test]
    fn check_is_asked_only_when_it_could_trim() {
        let fake = Fake::default();
        let mut w = watcher(100, 10);
        let asked = std::cell::Cell::new(0);
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
        *fake.pressure.borrow_mut() = Some(psi(80.0));
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
        *fake.events.borrow_mut() = vec![Some(events(0, 0, 0))];
        let mut w = watcher(100, 10);
        let mut no = || false;
        assert_eq!(w.tick(0, &fake, &mut no), None);
        *fake.events.borrow_mut() = vec![Some(events(1, 0, 0))];
        assert_eq!(w.tick(10 * MS, &fake, &mut no), Some(Reason::Events));
        // Another increase inside the 100 ms window is not lost...
        *fake.events.borrow_mut() = vec![Some(events(2, 0, 0))];
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
