//! One connection: read requests off the socket into the read buffer, parse
//! each into a request object, answer it from a response buffer, until the
//! peer leaves, a timeout fires, or the server shuts down.
//!
//! Every wait races one per-connection timer, reset twice per request: to
//! `idle_timeout` while waiting for a request, and to `request_timeout` from
//! its first byte, for reading it and writing the response. So no read or
//! write can hang, and a reset to a later deadline costs tokio no lock.

use crate::request::{MAX_HEADERS, Request};
use crate::response::{CONTINUE, Response, Status};
use crate::routes;
use crate::server::{READ_BUF_CAPACITY, ReadBuf, RequestLease, Shared, read_limit};
use bytes::Buf;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// Longest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// Most bytes read and discarded while closing after an error response.
const LINGER_BYTES: usize = 256 * 1024;

/// How a connection's request loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The peer closed, reset, or failed; nothing more to say.
    Gone,
    /// No request arrived within the idle timeout.
    Idle,
    /// The server is shutting down and the connection was idle.
    Stopped,
    /// The response said `Connection: close`.
    Close,
    /// Answer with this error status, then close.
    Reject(Status),
}

/// The outcome of one read.
enum Read {
    Data,
    Eof,
    Timeout,
    Stopped,
    Full,
    Failed,
}

/// A connection: its socket, its read buffer, and one timer that is reset to
/// the current deadline (idle, request, write or linger).
struct Conn<'a, 't> {
    stream: TcpStream,
    buf: ReadBuf,
    shared: &'a Shared,
    timer: Pin<&'t mut Sleep>,
    stop: watch::Receiver<bool>,
}

/// Serves one connection to its end.
pub(crate) async fn connection(
    stream: TcpStream,
    buf: ReadBuf,
    shared: &Shared,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let timer = tokio::time::sleep(shared.config.idle_timeout);
    tokio::pin!(timer);
    let mut conn = Conn {
        stream,
        buf,
        shared,
        timer: timer.as_mut(),
        stop,
    };
    let counters = &shared.counters;
    match conn.serve().await {
        End::Gone | End::Stopped => {}
        End::Idle => {
            counters.timeouts.fetch_add(1, Relaxed);
        }
        End::Close => conn.linger().await,
        End::Reject(status) => {
            if status == Status::RequestTimeout {
                counters.timeouts.fetch_add(1, Relaxed);
            }
            // The request's deadline may have passed: the error response and
            // the lingering close get `linger` of their own.
            conn.set_deadline(shared.config.linger);
            if conn.respond(&Response::error(status)).await.is_ok() {
                conn.linger().await;
            }
        }
    }
}

impl<'a> Conn<'a, '_> {
    /// Serves requests until the connection ends.
    async fn serve(&mut self) -> End {
        loop {
            let (head_len, mut req) = match self.read_head().await {
                Ok(head) => head,
                Err(end) => return end,
            };
            if let Err(end) = self.read_body(&mut req, head_len).await {
                return end;
            }
            let stopping = self.stop.has_changed().unwrap_or(true);
            let persistent = keep_alive(&req);
            let mut response = routes::route(&req, self.shared);
            response.close = !persistent || stopping;
            response.keep_alive = persistent && req.version() == 0;
            if let Err(end) = self.respond(&response).await {
                return end;
            }
            if response.close {
                return End::Close;
            }
        }
    }

    /// Waits for a complete request head and copies it into a request object.
    /// Returns the head's length in the read buffer.
    async fn read_head(&mut self) -> Result<(usize, RequestLease<'a>), End> {
        let shared: &'a Shared = self.shared;
        let config = &shared.config;
        if self.buf.is_empty() {
            self.set_deadline(config.idle_timeout);
            match self.fill(true).await {
                Read::Data => {}
                Read::Timeout => return Err(End::Idle),
                Read::Stopped => return Err(End::Stopped),
                Read::Eof | Read::Failed | Read::Full => return Err(End::Gone),
            }
        }
        // From the first byte, the whole request has `request_timeout`.
        self.set_deadline(config.request_timeout);
        loop {
            match parse_head(shared, &self.buf) {
                Head::Complete(len, req) => return Ok((len, req)),
                Head::Invalid(status) => return Err(End::Reject(status)),
                Head::Partial if self.buf.len() >= config.max_head => {
                    return Err(End::Reject(Status::HeadersTooLarge));
                }
                Head::Partial => {}
            }
            self.fill_request(Status::HeadersTooLarge).await?;
        }
    }

    /// Reads the body that the head announces into `req.body`, consuming the
    /// head and body from the read buffer (what follows is the next request).
    async fn read_body(&mut self, req: &mut Request, head_len: usize) -> Result<(), End> {
        self.consume(head_len);
        let framing = framing(req).map_err(End::Reject)?;
        let max_body = self.shared.config.max_body;
        if let Framing::Length(n) = framing
            && n > max_body as u64
        {
            return Err(End::Reject(Status::PayloadTooLarge));
        }
        // Expect is an HTTP/1.1 feature; HTTP/1.0 requests have it ignored.
        if let Some(expect) = req.header_values("expect").next()
            && req.version() == 1
        {
            if !expect.eq_ignore_ascii_case(b"100-continue") {
                return Err(End::Reject(Status::ExpectationFailed));
            }
            // Ask for the body only if the client is waiting for the go-ahead.
            if framing != Framing::Length(0) && framing != Framing::None && self.buf.is_empty() {
                self.write(CONTINUE).await?;
            }
        }
        match framing {
            Framing::None => Ok(()),
            Framing::Length(n) => {
                // `n <= max_body`, checked above.
                let n = usize::try_from(n).map_err(|_| End::Reject(Status::PayloadTooLarge))?;
                req.body.reserve(n);
                self.copy_body(req, n).await
            }
            Framing::Chunked => self.read_chunked(req).await,
        }
    }

    /// Moves `n` body bytes from the connection into `req.body`.
    async fn copy_body(&mut self, req: &mut Request, mut n: usize) -> Result<(), End> {
        loop {
            let take = n.min(self.buf.len());
            req.body.extend_from_slice(&self.buf[..take]);
            self.consume(take);
            n -= take;
            if n == 0 {
                return Ok(());
            }
            self.fill_request(Status::BadRequest).await?;
        }
    }

    /// Decodes a chunked body (RFC 9112 §7.1), trailers read and ignored.
    async fn read_chunked(&mut self, req: &mut Request) -> Result<(), End> {
        let max_body = self.shared.config.max_body;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.consume(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_CHUNK_LINE => {
                        self.fill_request(Status::BadRequest).await?;
                    }
                    _ => return Err(End::Reject(Status::BadRequest)),
                }
            };
            if size == 0 {
                break;
            }
            let room = max_body.saturating_sub(req.body.len());
            let size = match usize::try_from(size) {
                Ok(size) if size <= room => size,
                _ => return Err(End::Reject(Status::PayloadTooLarge)),
            };
            self.copy_body(req, size).await?;
            while self.buf.len() < 2 {
                self.fill_request(Status::BadRequest).await?;
            }
            if self.buf[..2] != *b"\r\n" {
                return Err(End::Reject(Status::BadRequest));
            }
            self.consume(2);
        }
        loop {
            match parse_trailers(&self.buf) {
                Head::Complete(used, ()) => {
                    self.consume(used);
                    return Ok(());
                }
                Head::Invalid(status) => return Err(End::Reject(status)),
                Head::Partial if self.buf.len() >= self.shared.config.max_head => {
                    return Err(End::Reject(Status::HeadersTooLarge));
                }
                Head::Partial => self.fill_request(Status::HeadersTooLarge).await?,
            }
        }
    }

    /// Writes a response: the head (and a small body) from an output
    /// buffer, a built body straight from its `Bytes`, in one vectored write.
    async fn respond(&mut self, response: &Response<'_>) -> Result<(), End> {
        let mut out = self.shared.out_buf();
        response.write_to(&mut out);
        // Counted before the write, so a client that has read the response
        // sees it counted.
        let counters = &self.shared.counters;
        counters.requests.fetch_add(1, Relaxed);
        if response.status.code() >= 400 {
            counters.errors.fetch_add(1, Relaxed);
        }
        // Before the request's deadline: `request_timeout` covers reading a
        // request and writing its response.
        match response.trailing_body() {
            None => self.write(&out).await,
            Some(body) => self.write_buf(Buf::chain(&out[..], &body[..])).await,
        }
    }

    /// Writes all of `bytes` before the current deadline.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), End> {
        tokio::select! {
            biased;
            written = self.stream.write_all(bytes) => written.map_err(|_| End::Gone),
            _ = self.timer.as_mut() => Err(End::Gone),
        }
    }

    /// Writes all of `buf` before the current deadline, in vectored writes
    /// (one `writev` for a head and body that fit the socket's buffer).
    async fn write_buf(&mut self, mut buf: impl Buf + Unpin) -> Result<(), End> {
        tokio::select! {
            biased;
            written = self.stream.write_all_buf(&mut buf) => written.map_err(|_| End::Gone),
            _ = self.timer.as_mut() => Err(End::Gone),
        }
    }

    /// After a last response: stop sending, then read and discard what the
    /// client still sends (bounded in bytes and time) before closing, so that
    /// closing with unread data does not reset the connection before the
    /// client has read the response.
    async fn linger(&mut self) {
        if self.stream.shutdown().await.is_err() {
            return;
        }
        self.set_deadline(self.shared.config.linger);
        let mut drained = 0usize;
        while drained < LINGER_BYTES {
            self.buf.clear();
            match self.fill(false).await {
                Read::Data => drained = drained.saturating_add(self.buf.len()),
                _ => return,
            }
        }
    }

    /// Reads more of a request that has started: a timeout is answered with
    /// 408, a full buffer with `full`, a hang-up ends the connection.
    async fn fill_request(&mut self, full: Status) -> Result<(), End> {
        match self.fill(false).await {
            Read::Data => Ok(()),
            Read::Timeout => Err(End::Reject(Status::RequestTimeout)),
            Read::Full => Err(End::Reject(full)),
            Read::Eof | Read::Failed | Read::Stopped => Err(End::Gone),
        }
    }

    /// Reads once into the read buffer's spare capacity, growing it (up to
    /// its limit) if it is full. While `idle`, a shutdown also ends the wait.
    async fn fill(&mut self, idle: bool) -> Read {
        let limit = read_limit(&self.shared.config);
        let Conn {
            stream,
            buf,
            timer,
            stop,
            ..
        } = self;
        let buf: &mut Vec<u8> = buf;
        if buf.len() == buf.capacity() {
            if buf.len() >= limit {
                return Read::Full;
            }
            let target = buf
                .capacity()
                .saturating_mul(2)
                .clamp(READ_BUF_CAPACITY, limit);
            buf.reserve_exact(target - buf.len());
        }
        let read = async {
            match stream.read_buf(buf).await {
                Ok(0) => Read::Eof,
                Ok(_) => Read::Data,
                Err(_) => Read::Failed,
            }
        };
        if idle {
            tokio::select! {
                biased;
                read = read => read,
                _ = timer.as_mut() => Read::Timeout,
                _ = stop.changed() => Read::Stopped,
            }
        } else {
            tokio::select! {
                biased;
                read = read => read,
                _ = timer.as_mut() => Read::Timeout,
            }
        }
    }

    fn set_deadline(&mut self, after: Duration) {
        let now = Instant::now();
        // A timeout too large to add means "no deadline" (a year will do).
        let deadline = now
            .checked_add(after)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
        self.timer.as_mut().reset(deadline);
    }

    /// Drops `n` bytes from the front of the read buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }
}

/// The result of parsing a head (or a trailer section).
enum Head<T> {
    Complete(usize, T),
    Partial,
    Invalid(Status),
}

/// Parses a request head; on success copies it into a request object.
fn parse_head<'a>(shared: &'a Shared, buf: &[u8]) -> Head<RequestLease<'a>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    match head.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            if len > shared.config.max_head {
                return Head::Invalid(Status::HeadersTooLarge);
            }
            let mut req = shared.request();
            if req.fill(&head).is_err() {
                return Head::Invalid(Status::HeadersTooLarge);
            }
            // HTTP/1.1 requires exactly one Host field (RFC 9112 §3.2).
            let hosts = req.header_values("host").count();
            if hosts > 1 || (hosts == 0 && req.version() == 1) {
                return Head::Invalid(Status::BadRequest);
            }
            Head::Complete(len, req)
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(httparse::Error::TooManyHeaders) => Head::Invalid(Status::HeadersTooLarge),
        Err(_) => Head::Invalid(Status::BadRequest),
    }
}

/// Parses the trailer section that ends a chunked body.
fn parse_trailers(buf: &[u8]) -> Head<()> {
    let mut trailers = [httparse::EMPTY_HEADER; 16];
    match httparse::parse_headers(buf, &mut trailers) {
        Ok(httparse::Status::Complete((len, _))) => Head::Complete(len, ()),
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(httparse::Error::TooManyHeaders) => Head::Invalid(Status::HeadersTooLarge),
        Err(_) => Head::Invalid(Status::BadRequest),
    }
}

/// How a request's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

fn framing(req: &Request) -> Result<Framing, Status> {
    let mut encodings = req.header_values("transfer-encoding");
    let mut lengths = req.header_values("content-length");
    if let Some(encoding) = encodings.next() {
        // Both framings at once is how requests are smuggled: refuse.
        if lengths.next().is_some() || req.version() == 0 {
            return Err(Status::BadRequest);
        }
        if encodings.next().is_some() || !encoding.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Err(Status::NotImplemented);
        }
        return Ok(Framing::Chunked);
    }
    match (lengths.next(), lengths.next()) {
        (None, _) => Ok(Framing::None),
        (Some(value), None) => parse_length(value)
            .map(Framing::Length)
            .ok_or(Status::BadRequest),
        (Some(_), Some(_)) => Err(Status::BadRequest),
    }
}

/// A `Content-Length` value: ASCII digits only, checked against overflow.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the connection stays open after this request.
fn keep_alive(req: &Request) -> bool {
    if req.version() == 1 {
        !req.has_token("connection", "close")
    } else {
        req.has_token("connection", "keep-alive")
    }
}
