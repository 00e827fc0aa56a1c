//! The process-wide background trimmer: one thread, started explicitly, that
//! runs the automatic trims of every pool built with `trim_interval`.

use crate::trim::interval::now_nanos;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

/// Longest the trimmer sleeps without looking at the registry again: it
/// bounds how late a new pool's schedule is seen (the registry does not wake
/// the trimmer; the trimmer asks the registry).
const MAX_SLEEP: Duration = Duration::from_millis(250);

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
    _private: (),
}

struct Running {
    handles: usize,
    signal: Arc<Signal>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct Signal {
    /// Stop requested.
    state: Mutex<bool>,
    wake: Condvar,
}

impl Signal {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

fn running() -> MutexGuard<'static, Option<Running>> {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner())
}

impl BackgroundTrimmer {
    /// Starts the trimmer thread, or joins the one already running.
    pub fn start() -> io::Result<BackgroundTrimmer> {
        let mut running = running();
        if let Some(r) = running.as_mut() {
            r.handles += 1;
        } else {
            let signal = Arc::new(Signal::default());
            let thread = thread::Builder::new()
                .name("shardpool-trimmer".into())
                .spawn({
                    let signal = Arc::clone(&signal);
                    move || run(&signal)
                })?;
            *running = Some(Running {
                handles: 1,
                signal,
                thread,
            });
        }
        Ok(BackgroundTrimmer { _private: () })
    }

    /// Whether a trimmer thread is running in this process.
    pub fn is_running() -> bool {
        running().is_some()
    }

    /// Releases this handle; if it was the last, stops the thread and waits
    /// for it to finish its current pass.
    pub fn stop(self) {
        // Drop does the work.
    }
}

impl Drop for BackgroundTrimmer {
    fn drop(&mut self) {
        let last = {
            let mut running = running();
            let r = running
                .as_mut()
                .expect("a handle exists, so the trimmer runs");
            r.handles -= 1;
            if r.handles == 0 { running.take() } else { None }
        };
        if let Some(r) = last {
            {
                *r.signal.lock() = true;
            }
            r.signal.wake.notify_all();
            // A pool's `T::drop` running on the trimmer thread could drop the
            // last handle; joining ourselves would deadlock, so just let it end.
            if r.thread.thread().id() != current_id() {
                let _ = r.thread.join();
            }
        }
    }
}

fn current_id() -> ThreadId {
    thread::current().id()
}

fn run(signal: &Signal) {
    loop {
        let now = now_nanos();
        let mut sleep = MAX_SLEEP;
        for pool in crate::trim::registry::live_pools() {
            pool.auto_trim_if_due(now);
            if let Some((due, _)) = pool.auto_trim_due() {
                let until = Duration::from_nanos(due.saturating_sub(now_nanos()));
                sleep = sleep.min(until);
            }
            // `pool` drops here, outside the registry lock; if it was the last
            // handle, the pool is dropped on this thread.
        }
        // Memory-pressure trimming (issue 13, `trim/pressure.rs`): poll the
        // `PressureWatcher`s, trim on pressure, wake for the next poll.
        if let Some(next_poll) = crate::trim::pressure::poll() {
            sleep = sleep.min(next_poll);
        }
        crate::metrics::on_trimmer_tick();
        let mut stop = signal.lock();
        if !*stop {
            stop = signal
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
