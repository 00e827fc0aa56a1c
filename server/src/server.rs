//! An HTTP/1.1 server on tokio whose per-request objects — the connection's
//! read buffer, the parsed request, the response buffer, a built body, the
//! gzip route's deflate state — come from `shardpool` pools that either
//! reuse them or, with pooling switched off (`Builder::pooling(false)`),
//! create each one fresh and drop it after use ([`Alloc`]); every line of
//! code is shared between the two modes, and both count what they did
//! (`GET /metrics`).
//!
//! ```text
//! accept ──► read buffer: OwnedPooled<Vec<u8>>                   one per connection,
//!            │                                                   moved into its task
//!            └─ per request: Request  (Pooled<'_, Request>)       parsed head + body
//!                            out buf  (Pooled<'_, Vec<u8>>)       the response head (and
//!                                                                 a small body)
//!                            body     (OwnedPooledBuf -> Bytes)   a body built for the
//!                                                                 response: /gzip, /metrics
//!                            encoder  (Pooled<'_, Compress>)      deflate state, /gzip
//! ```
//!
//! A built body goes to the connection as `bytes::Bytes` made from the pooled
//! buffer without a copy (`OwnedPooledBuf::into_bytes`), the type hyper and
//! axum take bodies in; the connection writes head and body in one vectored
//! write, and the buffer returns to its pool when the `Bytes` drops.
//!
//! Robustness: heads are capped at `max_head` bytes (431), bodies at
//! `max_body` (413), a connection's buffered bytes never exceed its read
//! buffer's bounded capacity, at most `max_connections` are served at once
//! (further clients wait in the listen backlog), an idle keep-alive
//! connection closes after `idle_timeout`, a request (and a response write)
//! must complete within `request_timeout` (else 408, or a close), parsing
//! uses checked arithmetic throughout, and each connection is its own task,
//! so one that fails (even by panicking) ends alone; panics are counted.
//! The per-connection loop is in `conn.rs`; this file holds the
//! configuration, the pools, the accept loop and the report.

use crate::alloc_counter;
use crate::conn::connection;
use crate::request::Request;
use flate2::Compress;
use shardpool::{BufferPool, OwnedPooled, OwnedPooledBuf, Pool, Pooled, Stats};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};

/// Initial capacity of a connection's read buffer.
pub const READ_BUF_CAPACITY: usize = 4096;
/// Initial capacity of a response buffer.
pub const OUT_BUF_CAPACITY: usize = 1024;
/// Request objects whose buffers grew past this (a large body) are dropped on
/// return instead of kept.
pub const REQUEST_KEEP_BYTES: usize = 16 * 1024;
/// Response buffers that grew past this are dropped on return.
pub const OUT_KEEP_BYTES: usize = 16 * 1024;
/// Largest size class of the body buffers: a gzip of the largest request
/// body fits. Larger bodies are allocated exactly and never kept.
pub const BODY_MAX_CLASS: usize = 128 * 1024;
/// Idle deflate encoders kept per thread. An encoder is held only while a
/// body compresses, which never awaits, so a worker thread has at most one
/// out at a time.
pub const GZIP_IDLE_PER_THREAD: usize = 2;

/// Where the per-request objects come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alloc {
    /// Made with the pool's own constructor at every `get`, dropped at
    /// every return: the pools are built with `pooling(false)`.
    Fresh,
    /// Taken from a `shardpool::Pool`, reset and returned after use.
    Pool,
}

impl FromStr for Alloc {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fresh" => Ok(Alloc::Fresh),
            "pool" => Ok(Alloc::Pool),
            other => Err(format!("--alloc must be fresh or pool, not {other:?}")),
        }
    }
}

impl fmt::Display for Alloc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alloc::Fresh => "fresh",
            Alloc::Pool => "pool",
        })
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub alloc: Alloc,
    /// Prefix of the pools' names (`<name>/read`, `<name>/request`,
    /// `<name>/out`, `<name>/body/<class size>`, `<name>/gzip`), as
    /// `GET /metrics` and `shardpool::stats_all` show them.
    pub name: String,
    pub addr: SocketAddr,
    /// Runtime worker threads; `None` is tokio's default (one per core).
    pub threads: Option<usize>,
    /// Largest request head (request line and header fields), in bytes.
    pub max_head: usize,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a keep-alive connection may sit between requests.
    ///
    /// Defaults to `request_timeout`: the connection's one timer then only
    /// ever moves later (idle deadline, then request deadline, then the next
    /// idle deadline), which tokio does without taking its timer-wheel lock;
    /// a shorter idle timeout costs a re-registration per request.
    pub idle_timeout: Duration,
    /// How long a request may take, from its first byte until its response
    /// is written.
    pub request_timeout: Duration,
    /// How long an error response may take to write, and how long to keep
    /// reading (and discarding) after a last response before closing, so the
    /// client reads the response instead of a reset.
    pub linger: Duration,
    /// How long shutdown waits for open connections to finish.
    pub grace: Duration,
    /// Steady state starts this long after the last connection opened or
    /// closed (see [`Steady`]).
    pub warmup: Duration,
    /// Trim the pools this often (`None`: never). An object left idle
    /// through two trims is dropped, so memory held after a burst of
    /// connections goes back to the allocator within two periods.
    pub trim_every: Option<Duration>,
    /// After each periodic trim, ask glibc's malloc to hand free memory back
    /// to the operating system (`shardpool::release_to_os`, `malloc_trim(0)`;
    /// nothing on other allocators). Off by default, as in the crate.
    pub release_to_os: bool,
    /// Each runtime worker calls `shardpool::flush_local_all` when it parks
    /// (`on_thread_park`), so what an idle worker holds privately becomes
    /// reachable by other workers and by trims.
    pub flush_on_park: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            alloc: Alloc::Pool,
            name: "http".to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            threads: None,
            max_head: 8 * 1024,
            max_body: 64 * 1024,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(1),
            grace: Duration::from_secs(1),
            warmup: Duration::from_secs(1),
            trim_every: Some(Duration::from_secs(30)),
            release_to_os: false,
            flush_on_park: true,
        }
    }
}

/// A connection's read buffer: `'static`, so it can be taken in the accept
/// loop and moved into the connection's task.
pub type ReadBuf = OwnedPooled<Vec<u8>>;
pub(crate) type RequestLease<'a> = Pooled<'a, Request>;
pub(crate) type OutBuf<'a> = Pooled<'a, Vec<u8>>;

fn new_read_buf() -> Vec<u8> {
    Vec::with_capacity(READ_BUF_CAPACITY)
}

fn new_out_buf() -> Vec<u8> {
    Vec::with_capacity(OUT_BUF_CAPACITY)
}

/// The pools. The buffer and request pools use the ready-made `recycle`
/// policy: clear on return, drop instead of keeping anything that grew past
/// a bound. In `fresh` mode all are pass-through (`pooling(false)`): same
/// guards, same counters, no reuse.
struct Pools {
    /// Taken with `get_owned`: its guards are `OwnedPooled` ('static, Send),
    /// so a connection's buffer moves into the connection's task.
    read: Pool<Vec<u8>>,
    request: Pool<Request>,
    out: Pool<Vec<u8>>,
    /// Size classes, since built bodies range from a few bytes to a
    /// compressed 64 KiB. Its guards are `OwnedPooledBuf`s, which
    /// `into_bytes` needs ('static: a `Bytes` may outlive the request).
    body: BufferPool,
    /// Deflate state, rewound by `Compress::reset` on return.
    gzip: Pool<Compress>,
}

impl Pools {
    fn new(config: &Config) -> Pools {
        let pooling = config.alloc == Alloc::Pool;
        let name = |what: &str| format!("{}/{what}", config.name);
        Pools {
            // One read buffer per open connection: keep enough idle for a
            // wave of reconnects, and bound them in bytes as well.
            read: Pool::builder()
                .name(name("read"))
                .pooling(pooling)
                .recycle(read_limit(config))
                .max_idle_per_thread(128)
                .max_idle_bytes(8 << 20)
                .build(new_read_buf),
            request: Pool::builder()
                .name(name("request"))
                .pooling(pooling)
                .recycle(REQUEST_KEEP_BYTES)
                .build(Request::new),
            out: Pool::builder()
                .name(name("out"))
                .pooling(pooling)
                .recycle(OUT_KEEP_BYTES)
                .build(new_out_buf),
            body: BufferPool::builder()
                .name(name("body"))
                .pooling(pooling)
                .max_class_size(BODY_MAX_CLASS)
                .max_idle_bytes(8 << 20)
                .build(),
            gzip: Pool::builder()
                .name(name("gzip"))
                .pooling(pooling)
                .reset(|encoder: &mut Compress| {
                    encoder.reset();
                    true
                })
                .max_idle_per_thread(GZIP_IDLE_PER_THREAD)
                .build(crate::gzip::new_encoder),
        }
    }
}

/// A read buffer grows up to the larger of its initial size and `max_head`.
pub(crate) fn read_limit(config: &Config) -> usize {
    config.max_head.max(READ_BUF_CAPACITY)
}

/// Counters, each a relaxed atomic bumped once per event.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) closed: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) panics: AtomicU64,
}

/// A snapshot of the server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Responses sent (or being sent), errors included.
    pub requests: u64,
    /// Responses with a 4xx or 5xx status.
    pub errors: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections finished.
    pub closed: u64,
    /// Connections closed by the idle or request timeout.
    pub timeouts: u64,
    /// Connection tasks that panicked (the server went on serving).
    pub panics: u64,
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pools: Pools,
    pub(crate) counters: Counters,
    /// Allocation-counter slots of the runtime's threads.
    slots: Mutex<Vec<usize>>,
}

impl Shared {
    pub(crate) fn read_buf(&self) -> ReadBuf {
        self.pools.read.get_owned()
    }

    pub(crate) fn request(&self) -> RequestLease<'_> {
        self.pools.request.get()
    }

    pub(crate) fn out_buf(&self) -> OutBuf<'_> {
        self.pools.out.get()
    }

    /// An empty buffer for a response body of up to about `len` bytes.
    pub(crate) fn body_buf(&self, len: usize) -> OwnedPooledBuf {
        self.pools.body.get_owned(len)
    }

    /// Deflate state at the start of a stream.
    pub(crate) fn encoder(&self) -> Pooled<'_, Compress> {
        self.pools.gzip.get()
    }

    fn counts(&self) -> Counts {
        let c = &self.counters;
        Counts {
            requests: c.requests.load(Relaxed),
            errors: c.errors.load(Relaxed),
            accepted: c.accepted.load(Relaxed),
            closed: c.closed.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            panics: c.panics.load(Relaxed),
        }
    }

    fn allocations(&self) -> u64 {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        alloc_counter::allocations(&slots)
    }

    /// Counts a finished connection task.
    fn reap(&self, result: Result<(), JoinError>) {
        self.counters.closed.fetch_add(1, Relaxed);
        if result.is_err_and(|e| e.is_panic()) {
            self.counters.panics.fetch_add(1, Relaxed);
        }
    }
}

/// Stats of the pools (in `fresh` mode they count pass-through: every get
/// creates, every return drops).
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub read: Stats,
    pub request: Stats,
    pub out: Stats,
    /// The body buffers' classes, summed.
    pub body: Stats,
    pub gzip: Stats,
}

/// Allocations in steady state: summed over the 100 ms sampling intervals in
/// which no connection opened or closed and that began at least
/// `Config::warmup` after the last one did. This leaves out connection setup
/// and teardown (tokio's task and socket registration, the read buffer) and
/// the pools' warm-up, and keeps everything a keep-alive request costs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Steady {
    pub allocations: u64,
    pub requests: u64,
    pub duration: Duration,
}

/// What the server did, printed at shutdown.
#[derive(Debug, Clone)]
pub struct Report {
    pub alloc: Alloc,
    pub elapsed: Duration,
    pub counts: Counts,
    /// Allocations on the runtime's threads over the whole run.
    pub allocations: u64,
    pub steady: Steady,
    pub pools: PoolStats,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        let per = |allocs: u64, requests: u64| {
            if requests == 0 {
                f64::NAN
            } else {
                allocs as f64 / requests as f64
            }
        };
        writeln!(f, "mode: {}", self.alloc)?;
        writeln!(
            f,
            "requests served: {} in {:.1} s ({} with an error status)",
            c.requests,
            self.elapsed.as_secs_f64(),
            c.errors
        )?;
        writeln!(
            f,
            "connections: {} accepted, {} closed, {} timed out, {} panicked",
            c.accepted, c.closed, c.timeouts, c.panics
        )?;
        writeln!(
            f,
            "allocations, whole run: {} = {:.3} per request (includes connection setup and warm-up)",
            self.allocations,
            per(self.allocations, c.requests)
        )?;
        let s = &self.steady;
        writeln!(
            f,
            "allocations, steady state: {} over {} requests in {:.1} s = {:.4} per request",
            s.allocations,
            s.requests,
            s.duration.as_secs_f64(),
            per(s.allocations, s.requests)
        )?;
        let p = &self.pools;
        writeln!(f, "pool stats, read buffers: {:?}", p.read)?;
        writeln!(f, "pool stats, requests: {:?}", p.request)?;
        writeln!(f, "pool stats, response buffers: {:?}", p.out)?;
        writeln!(f, "pool stats, body buffers: {:?}", p.body)?;
        writeln!(f, "pool stats, gzip encoders: {:?}", p.gzip)?;
        write!(
            f,
            "summary: mode={} requests={} allocs_per_request={:.4} steady_requests={} steady_allocs_per_request={:.4}",
            self.alloc,
            c.requests,
            per(self.allocations, c.requests),
            s.requests,
            per(s.allocations, s.requests)
        )
    }
}

/// A running server: its own tokio runtime, an accept loop, a task per
/// connection, and a sampler thread for the steady-state allocation count.
pub struct Server {
    runtime: Option<Runtime>,
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    acceptor: Option<tokio::task::JoinHandle<()>>,
    sampler: Option<(Arc<AtomicBool>, std::thread::JoinHandle<Steady>)>,
    started: std::time::Instant,
}

impl Server {
    /// Binds `config.addr` (port 0 picks a free port) and starts serving.
    pub fn start(config: Config) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            pools: Pools::new(&config),
            config,
            counters: Counters::default(),
            slots: Mutex::new(Vec::new()),
        });
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = shared.config.threads {
            builder.worker_threads(n.max(1));
        }
        if shared.config.flush_on_park {
            // A worker about to sleep hands its private pooled objects to
            // its shared lists, where other workers can take them and trims
            // reach them: an idle server gives its memory back.
            builder.on_thread_park(shardpool::flush_local_all);
        }
        let on_start = Arc::clone(&shared);
        let runtime = builder
            .enable_all()
            .thread_name("http-worker")
            .on_thread_start(move || {
                if let Some(slot) = alloc_counter::register_thread() {
                    let mut slots = on_start.slots.lock().unwrap_or_else(|e| e.into_inner());
                    slots.push(slot);
                }
            })
            .build()?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (stop, stop_rx) = watch::channel(false);
        let acceptor = runtime.spawn(accept_loop(listener, Arc::clone(&shared), stop_rx));
        if let (Alloc::Pool, Some(every)) = (shared.config.alloc, shared.config.trim_every) {
            runtime.spawn(trim_pools(Arc::clone(&shared), every));
        }
        let sampler_stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&sampler_stop));
            std::thread::Builder::new()
                .name("alloc-sampler".into())
                .spawn(move || sample_steady_state(&shared, &stop))?
        };
        Ok(Server {
            runtime: Some(runtime),
            shared,
            addr,
            stop,
            acceptor: Some(acceptor),
            sampler: Some((sampler_stop, sampler)),
            started: std::time::Instant::now(),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        self.shared.counts()
    }

    /// Allocations so far on the server's runtime threads (with the counting
    /// allocator installed; 0 without it).
    pub fn allocations(&self) -> u64 {
        self.shared.allocations()
    }

    /// The pools' stats.
    pub fn pool_stats(&self) -> PoolStats {
        let pools = &self.shared.pools;
        PoolStats {
            read: pools.read.stats(),
            request: pools.request.stats(),
            out: pools.out.stats(),
            body: pools.body.stats().total,
            gzip: pools.gzip.stats(),
        }
    }

    /// Calls `ready` once Ctrl-C (SIGINT) and SIGTERM are being handled, then
    /// blocks until one arrives or `duration` has passed. (`ready` is where
    /// to announce the server: a script that signals it as soon as it is
    /// announced must not find the signal still at its default action, or
    /// ignored, as it is for a background job of a script.)
    pub fn wait(&self, duration: Option<Duration>, ready: impl FnOnce()) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        runtime.block_on(async {
            let timer = async {
                match duration {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(unix)]
            let signalled = {
                use tokio::signal::unix::{SignalKind, signal};
                // Registered here, before `ready`, not on first poll.
                let interrupt = signal(SignalKind::interrupt());
                let terminate = signal(SignalKind::terminate());
                async move {
                    match (interrupt, terminate) {
                        (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
                            _ = interrupt.recv() => {}
                            _ = terminate.recv() => {}
                        },
                        _ => std::future::pending().await,
                    }
                }
            };
            #[cfg(not(unix))]
            let signalled = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            ready();
            tokio::select! {
                _ = timer => {}
                _ = signalled => {}
            }
        });
    }

    /// Stops accepting, lets open connections finish for up to
    /// `Config::grace`, stops the runtime, and reports.
    pub fn shutdown(mut self) -> Report {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Report {
        self.stop.send_replace(true);
        if let (Some(runtime), Some(acceptor)) = (&self.runtime, self.acceptor.take()) {
            let bound = self.shared.config.grace + Duration::from_secs(1);
            let _ = runtime.block_on(async move { tokio::time::timeout(bound, acceptor).await });
        }
        let steady = match self.sampler.take() {
            Some((stop, thread)) => {
                stop.store(true, Relaxed);
                thread.thread().unpark();
                thread.join().unwrap_or_default()
            }
            None => Steady::default(),
        };
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
        Report {
            alloc: self.shared.config.alloc,
            elapsed: self.started.elapsed(),
            counts: self.shared.counts(),
            allocations: self.shared.allocations(),
            steady,
            pools: self.pool_stats(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.runtime.is_some() {
            self.stop_all();
        }
    }
}

/// Samples the counters every 100 ms and sums the quiet intervals (see
/// [`Steady`]). Runs on its own thread, which the counter does not count.
fn sample_steady_state(shared: &Shared, stop: &AtomicBool) -> Steady {
    const TICK: Duration = Duration::from_millis(100);
    let snapshot = || {
        (
            std::time::Instant::now(),
            shared.counts(),
            shared.allocations(),
        )
    };
    let mut steady = Steady::default();
    let mut prev = snapshot();
    let mut quiet_since = prev.0;
    while !stop.load(Relaxed) {
        let wake = prev.0 + TICK;
        while !stop.load(Relaxed) {
            let now = std::time::Instant::now();
            if now >= wake {
                break;
            }
            std::thread::park_timeout(wake - now);
        }
        let next = snapshot();
        let (then, now) = (&prev.1, &next.1);
        if now.accepted != then.accepted || now.closed != then.closed {
            quiet_since = next.0;
        } else if prev.0.duration_since(quiet_since) >= shared.config.warmup {
            steady.allocations += next.2.saturating_sub(prev.2);
            steady.requests += now.requests.saturating_sub(then.requests);
            steady.duration += next.0.duration_since(prev.0);
        }
        prev = next;
    }
    steady
}

/// Trims the pools every `every`, on a runtime thread: the tokio
/// version of `shardpool::BackgroundTrimmer`, with no thread of its own.
async fn trim_pools(shared: Arc<Shared>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        ticks.tick().await;
        let pools = &shared.pools;
        pools.read.trim();
        pools.request.trim();
        pools.out.trim();
        pools.body.trim();
        pools.gzip.trim();
        if shared.config.release_to_os {
            // Walks glibc's arenas under their locks: a few microseconds to
            // milliseconds on this worker, once per period.
            shardpool::release_to_os();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => shared.reap(done),
            accepted = listener.accept(), if connections.len() < shared.config.max_connections => {
                match accepted {
                    Ok((stream, _peer)) => {
                        shared.counters.accepted.fetch_add(1, Relaxed);
                        // Taken here, on the accepting thread, and moved into
                        // the task: what `OwnedPooled` is for.
                        let buf = shared.read_buf();
                        let shared = Arc::clone(&shared);
                        let stop = stop.clone();
                        connections.spawn(async move { connection(stream, buf, &shared, stop).await });
                    }
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: pause briefly rather than spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
    }
    drop(listener);
    let grace = tokio::time::sleep(shared.config.grace);
    tokio::pin!(grace);
    let mut aborted = false;
    while !connections.is_empty() {
        tokio::select! {
            biased;
            Some(done) = connections.join_next() => shared.reap(done),
            _ = &mut grace, if !aborted => {
                connections.abort_all();
                aborted = true;
            }
        }
    }
}
