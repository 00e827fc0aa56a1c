//! The process-wide background trimmer: one thread, started explicitly, that
//! runs the automatic trims of every pool built with `trim_interval`, then
//! the [`Hook`]s other parts run on it.
//!
//! ```text
//! trimmer thread, each pass:
//!   every live pool:   trim if its interval is due; note when it is next due
//!   every hook:        registered ones (with a handle), then standing ones
//!   sleep until the earliest due time, at most MAX_SLEEP, or until stopped
//! ```
//!
//! User code runs on this thread: a pool's `T::drop` during a trim, or when
//! the trimmer held a pool's last handle; whatever a hook calls. Each pool's
//! turn and each hook's turn is run by [`contain`]: a panic there is counted
//! ([`BackgroundTrimmer::caught_panics`]) and the pass goes on, so one bad
//! `Drop` cannot end trimming for every pool in the process.

mod hooks;

pub(crate) use hooks::Hook;

use crate::trim::interval::now_nanos;
use crate::trim::registry::live_pools;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A handle on the process-wide background trimmer thread.
///
/// Pools built with [`trim_interval`](crate::Builder::trim_interval) trim
/// themselves on their slow paths, but a pool that goes completely quiet has
/// no slow paths. Start the trimmer once (for example in `main`) and it trims
/// every such pool on schedule, holding them weakly. It never touches pools
/// without an interval (use [`trim_all`](crate::trim_all) or
/// [`Pool::trim`](crate::Pool::trim) for those).
///
/// There is one trimmer thread per process however many handles exist; it
/// stops (and is joined) when the last handle is stopped or dropped.
///
/// A panic on the trimmer thread (a `T::drop` run by a trim, say) is caught
/// there and counted in [`caught_panics`](BackgroundTrimmer::caught_panics);
/// the thread goes on trimming every pool, including the one that panicked.
///
/// If you already run an event loop or timer, you can drive trimming from it
/// instead, with no extra thread:
///
/// ```no_run
/// # // A stand-in for tokio's timer, so the crate needs no tokio to test this.
/// # mod tokio { pub mod time {
/// #     pub struct Interval;
/// #     impl Interval { pub async fn tick(&mut self) {} }
/// #     pub fn interval(_: std::time::Duration) -> Interval { Interval }
/// # } }
/// # async fn example() {
/// // e.g. in a tokio task
/// let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
/// loop {
///     every.tick().await;
///     shardpool::trim_all();
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the trimmer stops when its handle is dropped"]
pub struct BackgroundTrimmer {
    /// The hook this handle registered, removed when the handle goes.
    hook: Option<u64>,
}

/// The trimmer's process-wide state. Locked briefly by handles (start,
/// drop), by `is_running`, and by the thread to count a caught panic; no
/// user code runs under it.
struct State {
    /// The thread and its handles, while any handle exists.
    running: Option<Running>,
    /// Panics caught on the trimmer thread since the process started.
    caught_panics: u64,
    /// The id of the next registered hook.
    next_hook: u64,
}

struct Running {
    handles: usize,
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

/// What one trimmer thread shares with its handles.
struct Shared {
    /// Stop requested; waited on with `wake`.
    stop: Mutex<bool>,
    wake: Condvar,
    /// Hooks registered by live handles, in registration order. Handles add
    /// and remove (under `STATE`, then this lock); the thread copies the list
    /// once per pass and runs it with no lock held.
    registered: Mutex<Vec<(u64, Arc<dyn Hook>)>>,
    /// The parts' standing hooks, fixed when the thread starts.
    standing: Vec<Arc<dyn Hook>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    running: None,
    caught_panics: 0,
    next_hook: 0,
});

/// Locks `m`. No user code runs under the trimmer's locks, so none is
/// poisoned by a user panic; recover anyway rather than spread one.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl BackgroundTrimmer {
    /// The longest the trimmer thread sleeps between passes. It bounds how
    /// late the thread sees a pool built with a schedule, or a hook
    /// registered, after it went to sleep: nothing wakes it but its own
    /// schedule and [`stop`](BackgroundTrimmer::stop).
    pub const MAX_SLEEP: Duration = Duration::from_millis(250);

    /// Starts the trimmer thread, or joins the one already running.
    pub fn start() -> io::Result<BackgroundTrimmer> {
        Self::start_inner(None)
    }

    /// Starts (or joins) the trimmer thread with `hook` run at each of its
    /// passes while the returned handle lives. A thread already running
    /// finds the hook at its next pass, within [`Self::MAX_SLEEP`].
    #[allow(
        dead_code,
        reason = "unused in a build with no part that registers a hook"
    )]
    pub(crate) fn start_with_hook(hook: Arc<dyn Hook>) -> io::Result<BackgroundTrimmer> {
        Self::start_inner(Some(hook))
    }

    fn start_inner(hook: Option<Arc<dyn Hook>>) -> io::Result<BackgroundTrimmer> {
        let mut state = lock(&STATE);
        let State {
            running, next_hook, ..
        } = &mut *state;
        let running = match running {
            // Every panic on the thread is contained, so it ends only when
            // stopped; should it have ended anyway, it is started again here.
            Some(r) if r.thread.is_finished() => {
                r.thread = spawn(&r.shared)?;
                r
            }
            Some(r) => r,
            None => {
                let shared = Arc::new(Shared {
                    stop: Mutex::new(false),
                    wake: Condvar::new(),
                    registered: Mutex::new(Vec::new()),
                    standing: hooks::standing(),
                });
                running.insert(Running {
                    handles: 0,
                    thread: spawn(&shared)?,
                    shared,
                })
            }
        };
        let id = hook.map(|hook| {
            let id = *next_hook;
            *next_hook += 1;
            lock(&running.shared.registered).push((id, hook));
            id
        });
        running.handles += 1;
        Ok(BackgroundTrimmer { hook: id })
    }

    /// Whether a trimmer thread is running in this process.
    pub fn is_running() -> bool {
        lock(&STATE)
            .running
            .as_ref()
            .is_some_and(|r| !r.thread.is_finished())
    }

    /// Panics caught on the trimmer thread since the process started: from
    /// a `T::drop` during a trim (automatic, or a pressure watcher's) or when
    /// the trimmer drops a pool's last handle, and from a `metrics` recorder.
    /// Each also went through the panic hook (printed, by default); each
    /// pool's counts stay exact, and the thread goes on with its pass.
    pub fn caught_panics() -> u64 {
        lock(&STATE).caught_panics
    }

    /// Releases this handle; if it was the last, stops the thread and waits
    /// for it to finish its current pass.
    pub fn stop(self) {
        // Drop does the work.
    }
}

impl Drop for BackgroundTrimmer {
    fn drop(&mut self) {
        let (last, _unregistered) = {
            let mut state = lock(&STATE);
            let r = state
                .running
                .as_mut()
                .expect("a handle exists, so the trimmer runs");
            // Removed under the lock, dropped after it (the thread may hold
            // the other clone; whoever drops the hook last runs its `Drop`).
            let unregistered = self.hook.and_then(|id| {
                let mut registered = lock(&r.shared.registered);
                let at = registered.iter().position(|(i, _)| *i == id)?;
                Some(registered.remove(at))
            });
            r.handles -= 1;
            let last = if r.handles == 0 {
                state.running.take()
            } else {
                None
            };
            (last, unregistered)
        };
        if let Some(r) = last {
            *lock(&r.shared.stop) = true;
            r.shared.wake.notify_all();
            // A pool's `T::drop` running on the trimmer thread could drop the
            // last handle; joining ourselves would deadlock, so just let it end.
            if r.thread.thread().id() != thread::current().id() {
                let _ = r.thread.join();
            }
        }
    }
}

/// Runs `f`, user code on the trimmer thread, catching a panic: the panic is
/// counted and `None` returned, and the caller goes on with its pass.
pub(crate) fn contain<R>(f: impl FnOnce() -> R) -> Option<R> {
    let payload = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => return Some(value),
        Err(payload) => payload,
    };
    lock(&STATE).caught_panics += 1;
    // The payload is the user's too; its own `Drop` may panic. Such a second
    // payload is leaked rather than dropped: nothing more can escape.
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    None
}

fn spawn(shared: &Arc<Shared>) -> io::Result<JoinHandle<()>> {
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("shardpool-trimmer".into())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let max_sleep = u64::try_from(BackgroundTrimmer::MAX_SLEEP.as_nanos()).unwrap_or(u64::MAX);
    loop {
        let mut wake_at = now_nanos().saturating_add(max_sleep);
        for pool in live_pools() {
            contain(|| pool.auto_trim_if_due(now_nanos()));
            if let Some((due, _)) = pool.auto_trim_due() {
                wake_at = wake_at.min(due);
            }
            // `pool` was taken from the registry as a strong handle; if it was
            // the last, the pool is dropped here, on this thread.
            contain(move || drop(pool));
        }
        let registered: Vec<Arc<dyn Hook>> = lock(&shared.registered)
            .iter()
            .map(|(_, hook)| Arc::clone(hook))
            .collect();
        let hooks = registered
            .into_iter()
            .chain(shared.standing.iter().cloned());
        for hook in hooks {
            if let Some(due) = contain(|| hook.tick()).flatten() {
                wake_at = wake_at.min(due);
            }
            // A hook unregistered meanwhile is dropped here.
            contain(move || drop(hook));
        }
        let sleep = Duration::from_nanos(wake_at.saturating_sub(now_nanos()));
        let mut stop = lock(&shared.stop);
        if !*stop {
            stop = shared
                .wake
                .wait_timeout(stop, sleep)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if *stop {
            return;
        }
    }
}
