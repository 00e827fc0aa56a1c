//! The `http_server` example, tested in-process: each test starts the
//! package's own server module on an ephemeral port and talks to it over
//! plain `std::net::TcpStream`s. Every read has a 10 s deadline, so a server
//! that hangs fails the test instead of stalling it; nothing passes or fails
//! on timing.

use shardpool_server::server::{Alloc, Config, Server};
use shardpool_server::{alloc_counter, routes};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// Counts allocations on the server's runtime threads, as in the example.
#[global_allocator]
static GLOBAL: alloc_counter::Counting<std::alloc::System> =
    alloc_counter::Counting(std::alloc::System);

const DEADLINE: Duration = Duration::from_secs(10);
const MODES: [Alloc; 2] = [Alloc::Fresh, Alloc::Pool];

fn start(alloc: Alloc, tweak: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config {
        alloc,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        threads: Some(2),
        ..Config::default()
    };
    tweak(&mut config);
    Server::start(config).expect("the server starts")
}

/// A parsed response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }
}

/// A blocking HTTP/1.1 client on one connection.
struct Client {
    stream: TcpStream,
    /// Bytes read but not yet parsed (the start of the next response).
    pending: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.set_write_timeout(Some(DEADLINE)).unwrap();
        Client {
            stream,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("send");
    }

    fn request(&mut self, raw: &[u8]) -> Reply {
        self.send(raw);
        self.reply()
    }

    /// Reads more bytes; false at end of stream. Panics on a timeout.
    fn read_more(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.pending.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no response within {DEADLINE:?}")
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read: {e}"),
        }
    }

    fn reply(&mut self) -> Reply {
        self.reply_to(false)
    }

    /// Reads one response (`head_only`: the answer to a HEAD request).
    fn reply_to(&mut self, head_only: bool) -> Reply {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.pending).expect("a well-formed response") {
                httparse::Status::Complete(head_len) => {
                    let status = parsed.code.unwrap();
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            let value = String::from_utf8_lossy(h.value).into_owned();
                            (h.name.to_owned(), value)
                        })
                        .collect();
                    let length = if head_only || status == 100 {
                        0
                    } else {
                        let value = headers
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                            .expect("a Content-Length");
                        value.1.parse::<usize>().unwrap()
                    };
                    while self.pending.len() < head_len + length {
                        assert!(self.read_more(), "connection closed mid-body");
                    }
                    let body = self.pending[head_len..head_len + length].to_vec();
                    self.pending.drain(..head_len + length);
                    return Reply {
                        status,
                        headers,
                        body,
                    };
                }
                httparse::Status::Partial => {
                    assert!(self.read_more(), "connection closed before a response")
                }
            }
        }
    }

    /// Asserts that the server closes the connection (within the deadline)
    /// without sending anything more.
    fn expect_closed(&mut self) {
        while self.read_more() {}
        assert!(
            self.pending.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

fn post_sum(body: &str) -> String {
    format!(
        "POST /sum HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn routes_answer_in_both_modes() {
    for mode in MODES {
        let server = start(mode, |_| {});
        let mut c = Client::connect(server.local_addr());

        let r = c.request(get("/").as_bytes());
        assert_eq!((r.status, r.text()), (200, routes::HELLO), "{mode}");
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));

        let r = c.request(get("/?name=x").as_bytes());
        assert_eq!((r.status, r.text()), (200, routes::HELLO), "query string");

        c.send(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
        let r = c.reply_to(true);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("22"));

        let r = c.request(
            b"GET /echo-headers HTTP/1.1\r\nHost: test\r\nX-One: 1\r\nx-two: two words\r\n\r\n",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "Host: test\nX-One: 1\nx-two: two words\n");

        let r = c.request(post_sum("1 2 3\n-4,10").as_bytes());
        assert_eq!((r.status, r.text()), (200, "12\n"));
        let r = c.request(post_sum("").as_bytes());
        assert_eq!((r.status, r.text()), (200, "0\n"), "empty body");
        let big = "9223372036854775807 9223372036854775807 -1";
        let r = c.request(post_sum(big).as_bytes());
        assert_eq!(r.text(), "18446744073709551613\n", "sum beyond i64");

        // Chunked, with a chunk extension and a trailer field.
        let r = c.request(
            b"POST /sum HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
              4;ext=1\r\n1 2 \r\n3\r\n3 4\r\n0\r\nX-Trailer: t\r\n\r\n",
        );
        assert_eq!((r.status, r.text()), (200, "10\n"), "chunked");

        let r = c.request(post_sum("1 two 3").as_bytes());
        assert_eq!(r.status, 400, "not a number");
        let r = c.request(get("/nowhere").as_bytes());
        assert_eq!(r.status, 404);
        let r = c.request(get("/sum").as_bytes());
        assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
        let r = c.request(b"DELETE / HTTP/1.1\r\nHost: test\r\n\r\n");
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));

        // All of the above on one connection: these statuses keep it open.
        assert_eq!(server.counts().accepted, 1);
        let report = server.shutdown();
        assert_eq!(report.counts.requests, 12, "{report}");
        assert_eq!(report.counts.panics, 0);
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    for mode in MODES {
        let server = start(mode, |_| {});
        let mut c = Client::connect(server.local_addr());
        for i in 0..100 {
            let r = c.request(post_sum(&format!("{i} 1")).as_bytes());
            assert_eq!(r.text(), format!("{}\n", i + 1));
            assert_eq!(r.header("connection"), None);
        }
        // Pipelined: three requests in one write, three answers in order.
        let three = format!("{}{}{}", get("/"), post_sum("5 5"), get("/echo-headers"));
        c.send(three.as_bytes());
        assert_eq!(c.reply().text(), routes::HELLO);
        assert_eq!(c.reply().text(), "10\n");
        assert_eq!(c.reply().text(), "Host: test\n");
        assert_eq!(server.counts().accepted, 1, "one connection for all");

        // `Connection: close` ends it after the response.
        let r = c.request(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        assert_eq!((r.status, r.header("connection")), (200, Some("close")));
        c.expect_closed();

        // HTTP/1.0 closes by default, and keeps alive when asked.
        let mut c = Client::connect(server.local_addr());
        let r = c.request(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!((r.status, r.header("connection")), (200, Some("close")));
        c.expect_closed();
        let mut c = Client::connect(server.local_addr());
        for _ in 0..3 {
            let r = c.request(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            assert_eq!(r.header("connection"), Some("keep-alive"));
        }
        assert_eq!(server.counts().accepted, 3);
        assert_eq!(server.counts().requests, 100 + 3 + 1 + 1 + 3);
    }
}

#[test]
fn errors_have_their_status_and_close_the_connection() {
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: test\r\nX-Long: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: test\r\n{}\r\n",
        (0..100)
            .map(|i| format!("X-{i}: {i}\r\n"))
            .collect::<String>()
    );
    let big_chunked = format!(
        "POST /sum HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         8000\r\n{0}\r\n8000\r\n{0}\r\n8000\r\n{0}\r\n0\r\n\r\n",
        "1".repeat(0x8000)
    );
    let cases: &[(&str, &[u8], u16)] = &[
        ("garbage request line", b"hello there\r\n\r\n", 400),
        ("bad version", b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", 400),
        ("space in a header name", b"GET / HTTP/1.1\r\nHo st: t\r\n\r\n", 400),
        ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("two Host fields", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("Content-Length not a number", b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", 400),
        ("Content-Length overflowing", b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
        ("two Content-Lengths", b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n1", 400),
        ("both framings", b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("bad chunk size", b"POST /sum HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("chunk without its CRLF", b"POST /sum HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n1XX0\r\n\r\n", 400),
        ("unknown transfer coding", b"POST /sum HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("unknown expectation", b"POST /sum HTTP/1.1\r\nHost: t\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n1", 417),
        ("head too large", long_header.as_bytes(), 431),
        ("too many header fields", many_headers.as_bytes(), 431),
        ("Content-Length too large", b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", 413),
        ("chunked body too large", big_chunked.as_bytes(), 413),
    ];
    for mode in MODES {
        let server = start(mode, |_| {});
        for &(what, raw, status) in cases {
            let mut c = Client::connect(server.local_addr());
            let r = c.request(raw);
            assert_eq!(r.status, status, "{what} ({mode}): {r:?}");
            assert_eq!(r.header("connection"), Some("close"), "{what}");
            c.expect_closed();
        }
        // 100-continue: the go-ahead first, then the answer.
        let mut c = Client::connect(server.local_addr());
        c.send(
            b"POST /sum HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(c.reply().status, 100);
        let r = c.request(b"1 2");
        assert_eq!((r.status, r.text()), (200, "3\n"));
        // ... and a refusal instead of the go-ahead when the body is too large.
        c.send(b"POST /sum HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n");
        assert_eq!(c.reply().status, 413);
        c.expect_closed();

        let report = server.shutdown();
        assert_eq!(report.counts.errors, cases.len() as u64 + 1, "{report}");
        assert_eq!(report.counts.panics, 0);
    }
}

#[test]
fn idle_and_slow_connections_time_out() {
    let server = start(Alloc::Pool, |c| {
        c.idle_timeout = Duration::from_millis(200);
        c.request_timeout = Duration::from_millis(300);
    });
    // Idle after a response: closed silently.
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.request(get("/").as_bytes()).status, 200);
    c.expect_closed();
    // Never sends anything: closed silently.
    let mut c = Client::connect(server.local_addr());
    c.expect_closed();
    // Starts a request and stalls: 408, then closed.
    let mut c = Client::connect(server.local_addr());
    c.send(b"GET / HTTP/1.1\r\nHost: te");
    assert_eq!(c.reply().status, 408);
    c.expect_closed();
    // Stalls in the middle of a body: 408 too.
    let mut c = Client::connect(server.local_addr());
    c.send(b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n1 2");
    assert_eq!(c.reply().status, 408);
    c.expect_closed();
    assert_eq!(server.counts().timeouts, 4);
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_flood_does_not_disturb_another_connection() {
    for mode in MODES {
        let server = start(mode, |_| {});
        let addr = server.local_addr();
        let flood = std::thread::spawn(move || {
            let mut rng = Rng(0x5eed);
            for round in 0..40 {
                let Ok(mut s) = TcpStream::connect(addr) else {
                    continue;
                };
                s.set_write_timeout(Some(DEADLINE)).unwrap();
                // Random bytes, or a header line that never ends.
                let junk = if round % 2 == 0 {
                    rng.bytes(256 * 1024)
                } else {
                    let mut j = b"GET / HTTP/1.1\r\nX: ".to_vec();
                    j.resize(256 * 1024, b'a');
                    j
                };
                // The server answers and closes early: write errors are expected.
                let _ = s.write_all(&junk);
            }
        });
        let mut c = Client::connect(addr);
        let mut i = 0u64;
        while !flood.is_finished() || i < 200 {
            let r = c.request(post_sum(&format!("{i} {i}")).as_bytes());
            assert_eq!((r.status, r.text()), (200, format!("{}\n", 2 * i).as_str()));
            i += 1;
        }
        flood.join().unwrap();
        let r = Client::connect(addr).request(get("/").as_bytes());
        assert_eq!(r.status, 200, "still serving new connections");
        let report = server.shutdown();
        assert_eq!(report.counts.panics, 0, "{report}");
    }
}

#[test]
fn mutated_requests_never_panic_the_server() {
    let valid: [&[u8]; 4] = [
        b"GET /echo-headers HTTP/1.1\r\nHost: t\r\nA: b\r\n\r\n",
        b"POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n1 2 3",
        b"POST /sum HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\n1 2\r\n0\r\n\r\n",
        b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ];
    let server = start(Alloc::Pool, |_| {});
    let mut rng = Rng(42);
    for _ in 0..300 {
        let mut input = valid[rng.below(valid.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            if input.is_empty() {
                break;
            }
            let at = rng.below(input.len());
            match rng.below(4) {
                0 => input[at] = rng.next() as u8,
                1 => input.insert(at, rng.next() as u8),
                2 => {
                    input.remove(at);
                }
                _ => input.truncate(at),
            }
        }
        let mut c = Client::connect(server.local_addr());
        c.send(&input);
        let _ = c.stream.shutdown(Shutdown::Write);
        // Whatever comes back must be HTTP, and the server must hang up.
        while c.read_more() {}
        if !c.pending.is_empty() {
            assert!(c.pending.starts_with(b"HTTP/1.1 "), "{input:?}");
        }
    }
    let r = Client::connect(server.local_addr()).request(get("/").as_bytes());
    assert_eq!(r.status, 200);
    let report = server.shutdown();
    assert_eq!(report.counts.panics, 0, "{report}");
    assert_eq!(report.counts.accepted, report.counts.closed);
}

/// The target: in `pool` mode a keep-alive request allocates nothing
/// once the pools are warm. One worker thread, so the connection's task
/// always runs where the pool's objects are (with more threads, a thread
/// seeing its first requests creates objects once, which is warm-up too).
/// `fresh` mode must allocate, or this test could not fail.
///
/// Without flushing on park.
#[test]
fn warm_keep_alive_requests_allocate_nothing_in_pool_mode() {
    warm_keep_alive_allocations(false);
}

/// The same with the server's default `on_thread_park(flush_local_all)`.
/// Caught a cost of the first core: each park cost about three allocations
/// (294 in 100 rounds of three requests), because `flush_local_all` collected
/// the thread's pools into a `Vec` and the refill after a flush moved its
/// batch through another. Neither allocates now.
#[test]
fn warm_keep_alive_requests_allocate_nothing_with_flush_on_park() {
    warm_keep_alive_allocations(true);
}

fn warm_keep_alive_allocations(flush_on_park: bool) {
    let round = format!(
        "{}{}{}",
        get("/"),
        "GET /echo-headers HTTP/1.1\r\nHost: test\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
        post_sum("1 2 3 4 5 6 7 8 9 10")
    );
    for mode in MODES {
        let server = start(mode, |c| {
            c.threads = Some(1);
            c.flush_on_park = flush_on_park;
        });
        let mut c = Client::connect(server.local_addr());
        let mut run = |rounds: usize| {
            for _ in 0..rounds {
                c.send(round.as_bytes());
                for _ in 0..3 {
                    assert_eq!(c.reply().status, 200);
                }
            }
        };
        run(20);
        let before = server.allocations();
        run(100);
        let allocations = server.allocations() - before;
        match mode {
            Alloc::Pool => assert_eq!(allocations, 0, "allocations in 300 warm requests"),
            Alloc::Fresh => assert!(allocations >= 300, "{allocations} in 300 requests"),
        }
        drop(c);
        server.shutdown();
    }
}

#[test]
fn shutdown_closes_idle_connections_and_returns_every_object() {
    let server = start(Alloc::Pool, |_| {});
    let mut clients: Vec<Client> = (0..8)
        .map(|_| Client::connect(server.local_addr()))
        .collect();
    for c in &mut clients {
        assert_eq!(c.request(post_sum("1 2").as_bytes()).status, 200);
    }
    let report = server.shutdown();
    for c in &mut clients {
        c.expect_closed();
    }
    let counts = report.counts;
    assert_eq!((counts.accepted, counts.closed, counts.requests), (8, 8, 8));
    let pools = report.pools;
    for (name, stats) in [
        ("read", pools.read),
        ("request", pools.request),
        ("out", pools.out),
    ] {
        assert_eq!(stats.in_use(), 0, "{name}: {stats:?}");
        assert_eq!(stats.gets, 8, "{name}: {stats:?}");
    }
}

#[test]
fn periodic_trims_release_what_a_burst_left_idle() {
    let server = start(Alloc::Pool, |c| {
        c.trim_every = Some(Duration::from_millis(20));
    });
    let mut clients: Vec<Client> = (0..8)
        .map(|_| Client::connect(server.local_addr()))
        .collect();
    for c in &mut clients {
        assert_eq!(c.request(get("/").as_bytes()).status, 200);
    }
    drop(clients);
    // Eight read buffers were in use at once; once their connections are gone
    // they sit idle, and two trims later all of them are freed: a worker that
    // parks flushes its private stacks (`on_thread_park(flush_local_all)`),
    // which trims run from another thread could not otherwise reach.
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let read = server.pool_stats().read;
        if server.counts().closed == 8 && read.idle == 0 {
            assert_eq!(read.created, 8, "{read:?}");
            assert_eq!(read.dropped_by_trim, 8, "{read:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing trimmed: {read:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The scraped exposition as `series -> value`, e.g.
/// `shardpool_gets_total{pool="x/read"}` -> 3; checks the format's shape on
/// the way (every series has a `# TYPE` line before it).
fn scrape(addr: SocketAddr) -> std::collections::HashMap<String, f64> {
    let r = Client::connect(addr).request(get("/metrics").as_bytes());
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let mut typed = std::collections::HashSet::new();
    let mut series = std::collections::HashMap::new();
    for line in r.text().lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(kind == "counter" || kind == "gauge", "{line}");
            typed.insert(name.to_owned());
        } else if !line.starts_with('#') {
            let (key, value) = line.rsplit_once(' ').expect("series value");
            let name = key.split('{').next().unwrap();
            assert!(typed.contains(name), "no # TYPE before {line}");
            series.insert(key.to_owned(), value.parse().expect("a number"));
        }
    }
    series
}

/// `GET /metrics` serves every pool in the process (from `stats_all`) in
/// the Prometheus text format; in `pool` mode a few objects serve every
/// request, in `fresh` mode the pass-through pools (`pooling(false)`) create
/// at every get and drop at every return, and count both.
#[test]
fn metrics_endpoint_shows_the_pools_in_both_modes() {
    for mode in MODES {
        let name = format!("metrics-{mode}");
        let server = start(mode, |c| c.name = name.clone());
        let mut c = Client::connect(server.local_addr());
        for _ in 0..20 {
            assert_eq!(c.request(post_sum("1 2 3").as_bytes()).status, 200);
        }
        drop(c);
        let m = scrape(server.local_addr());
        let at = |metric: &str, pool: &str| {
            let key = format!("{metric}{{pool=\"{name}/{pool}\"}}");
            *m.get(&key).unwrap_or_else(|| panic!("no {key} in {m:?}"))
        };
        let dropped = |pool: &str, reason: &str| {
            let key =
                format!("shardpool_dropped_total{{pool=\"{name}/{pool}\",reason=\"{reason}\"}}");
            *m.get(&key).unwrap_or_else(|| panic!("no {key}"))
        };
        // 20 requests, plus the scrape's own request object.
        let gets = at("shardpool_gets_total", "request");
        assert!(gets >= 20.0, "{gets}");
        let created = at("shardpool_created_total", "request");
        match mode {
            Alloc::Pool => {
                assert!(created <= 4.0, "a few objects served all: {created}");
                assert_eq!(dropped("request", "passthrough"), 0.0);
            }
            Alloc::Fresh => {
                assert_eq!(created, gets, "pass-through creates at every get");
                let returned = at("shardpool_returned_total", "out");
                assert!(returned >= 20.0, "{returned}");
                assert_eq!(
                    dropped("out", "passthrough"),
                    returned,
                    "and drops at every return"
                );
                assert_eq!(at("shardpool_idle", "out"), 0.0, "keeps nothing");
            }
        }
        server.shutdown();
    }
}

/// A JSON text of about `n` bytes, like an API response: records with ids,
/// names and flags.
fn json_body(n: usize) -> String {
    let mut out = String::from("[");
    let mut i = 0;
    while out.len() < n {
        out.push_str(&format!(
            "{{\"id\":{i},\"name\":\"user-{i}\",\"email\":\"user{i}@example.com\",\"active\":{},\"score\":{}}},",
            i % 3 != 0,
            i * 37 % 1000
        ));
        i += 1;
    }
    out.pop();
    out.push(']');
    out
}

fn post_gzip(body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST /gzip HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("a valid gzip member");
    out
}

/// `POST /gzip` answers the body as a gzip file, from a pooled encoder and a
/// pooled body buffer sent as `Bytes`: in `pool` mode a couple of encoders
/// serve every request, in `fresh` mode each request makes one; in both,
/// every body buffer and encoder is back (or dropped) at the end.
#[test]
fn gzip_answers_the_body_compressed() {
    let json = json_body(3500);
    let mut noise = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        })
        .collect();
    for mode in MODES {
        let server = start(mode, |_| {});
        let mut c = Client::connect(server.local_addr());
        let bodies: [&[u8]; 4] = [json.as_bytes(), b"", b"x", &random];
        for _ in 0..5 {
            for body in bodies {
                let r = c.request(&post_gzip(body));
                assert_eq!(r.status, 200, "{mode}");
                assert_eq!(r.header("content-type"), Some(routes::GZIP));
                assert_eq!(gunzip(&r.body), body, "{mode}");
            }
        }
        let r = c.request(&post_gzip(json.as_bytes()));
        assert!(
            r.body.len() < json.len() / 3,
            "compressed: {}",
            r.body.len()
        );
        // Chunked request bodies too.
        let r = c.request(
            b"POST /gzip HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        );
        assert_eq!(gunzip(&r.body), b"hello world");
        let r = c.request(get("/gzip").as_bytes());
        assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
        // HEAD of a built body: the length, no body, and the connection
        // still in step.
        c.send(b"HEAD /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
        let r = c.reply_to(true);
        assert!(
            r.header("content-length")
                .unwrap()
                .parse::<usize>()
                .unwrap()
                > 100
        );
        assert_eq!(c.request(get("/").as_bytes()).text(), routes::HELLO);
        drop(c);

        let gzips = 5 * bodies.len() as u64 + 2;
        let report = server.shutdown();
        let (gzip, body) = (report.pools.gzip, report.pools.body);
        assert_eq!(gzip.gets, gzips, "{report}");
        match mode {
            Alloc::Pool => assert!(gzip.created <= 2, "{report}"),
            Alloc::Fresh => assert_eq!(gzip.created, gzips, "{report}"),
        }
        // Every body (gzip answers, and the HEAD's built-and-unsent one) back.
        assert_eq!(body.gets, gzips + 1, "{report}");
        for stats in [gzip, body] {
            assert_eq!(stats.in_use(), 0, "{report}");
            assert_eq!(stats.returned, stats.gets, "{report}");
        }
    }
}

/// Allocations per warm `POST /gzip` on one keep-alive connection: in `pool`
/// mode only the `Bytes` header of the body (one), in `fresh` mode the
/// encoder's boxes, the body buffer and the request object besides.
#[test]
fn warm_gzip_requests_allocate_once_in_pool_mode() {
    let request = post_gzip(json_body(3500).as_bytes());
    let mut per_request = Vec::new();
    for mode in MODES {
        let server = start(mode, |c| c.threads = Some(1));
        let mut c = Client::connect(server.local_addr());
        let mut run = |n: usize| {
            for _ in 0..n {
                assert_eq!(c.request(&request).status, 200);
            }
        };
        run(20);
        let before = server.allocations();
        run(100);
        per_request.push((server.allocations() - before) as f64 / 100.0);
        drop(c);
        server.shutdown();
    }
    let [fresh, pool] = per_request[..] else {
        unreachable!()
    };
    assert_eq!(pool, 1.0, "pool mode: {pool} allocations per request");
    assert!(fresh >= 4.0, "fresh mode: {fresh} allocations per request");
}
