//! Writing responses into an output buffer, without allocating beyond the
//! buffer's own growth; a body built apart (`Body::Bytes`) is sent after it.

use crate::request::Request;
use bytes::Bytes;
use std::cell::Cell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    ExpectationFailed,
    HeadersTooLarge,
    NotImplemented,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::PayloadTooLarge => 413,
            Status::ExpectationFailed => 417,
            Status::HeadersTooLarge => 431,
            Status::NotImplemented => 501,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::PayloadTooLarge => "Content Too Large",
            Status::ExpectationFailed => "Expectation Failed",
            Status::HeadersTooLarge => "Request Header Fields Too Large",
            Status::NotImplemented => "Not Implemented",
        }
    }

    /// The body sent with an error status.
    pub fn message(self) -> &'static str {
        match self {
            Status::Ok => "OK\n",
            Status::BadRequest => "bad request\n",
            Status::NotFound => "not found\n",
            Status::MethodNotAllowed => "method not allowed\n",
            Status::RequestTimeout => "request timeout\n",
            Status::PayloadTooLarge => "body too large\n",
            Status::ExpectationFailed => "expectation failed\n",
            Status::HeadersTooLarge => "headers too large\n",
            Status::NotImplemented => "transfer coding not implemented\n",
        }
    }
}

/// What a response carries; its length is known before it is written, so
/// the head can go first into the same buffer.
#[derive(Debug)]
pub enum Body<'r> {
    Text(&'static str),
    /// The request's header fields, one `name: value` line each.
    Headers(&'r Request),
    /// A number in decimal, and a newline.
    Number(i128),
    /// A body built for this response in a pooled buffer and handed on
    /// without a copy (`POST /gzip`, `GET /metrics`). Not copied into the
    /// output buffer: the connection writes it after the head, in the same
    /// vectored write. The buffer returns to its pool when this drops.
    Bytes(Bytes),
}

impl Body<'_> {
    fn len(&self) -> usize {
        match self {
            Body::Text(s) => s.len(),
            Body::Headers(req) => req.headers().map(|(n, v)| n.len() + 2 + v.len() + 1).sum(),
            Body::Number(n) => decimal_len(*n) + 1,
            Body::Bytes(b) => b.len(),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Body::Text(s) => out.extend_from_slice(s.as_bytes()),
            // Sent after the buffer: see `Response::trailing_body`.
            Body::Bytes(_) => {}
            Body::Headers(req) => {
                for (name, value) in req.headers() {
                    out.extend_from_slice(name);
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(value);
                    out.push(b'\n');
                }
            }
            // Writing to a Vec cannot fail.
            Body::Number(n) => {
                let _ = writeln!(out, "{n}");
            }
        }
    }
}

fn decimal_len(n: i128) -> usize {
    let sign = usize::from(n < 0);
    let digits = n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    sign + digits
}

/// A response to write.
#[derive(Debug)]
pub struct Response<'r> {
    pub status: Status,
    pub body: Body<'r>,
    /// Send `Connection: close` (the connection ends after this response).
    pub close: bool,
    /// Send `Connection: keep-alive` (for HTTP/1.0 clients that asked for it).
    pub keep_alive: bool,
    /// A reply to `HEAD`: the head only, with the length the body would have.
    pub head_only: bool,
    /// For 405: the methods the resource allows.
    pub allow: Option<&'static str>,
    pub content_type: &'static str,
}

/// The `Content-Type` of every response but `POST /gzip`'s.
pub const TEXT: &str = "text/plain; charset=utf-8";

impl<'r> Response<'r> {
    pub fn new(status: Status, body: Body<'r>) -> Self {
        Response {
            status,
            body,
            close: false,
            keep_alive: false,
            head_only: false,
            allow: None,
            content_type: TEXT,
        }
    }

    /// An error response with its standard message; the connection closes
    /// after it unless the caller clears `close`.
    pub fn error(status: Status) -> Response<'static> {
        Response {
            close: true,
            ..Response::new(status, Body::Text(status.message()))
        }
    }

    /// Appends the head and, unless it is a [`Body::Bytes`] (see
    /// [`trailing_body`](Response::trailing_body)), the body to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let len = self.body.len();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nServer: shardpool-example\r\nDate: ",
            self.status.code(),
            self.status.reason()
        );
        write_date(out);
        let _ = write!(
            out,
            "\r\nContent-Type: {}\r\nContent-Length: {len}\r\n",
            self.content_type
        );
        if let Some(allow) = self.allow {
            out.extend_from_slice(b"Allow: ");
            out.extend_from_slice(allow.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if self.close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.keep_alive {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            self.body.write_to(out);
        }
    }

    /// The body to send after what [`write_to`](Response::write_to) wrote:
    /// a [`Body::Bytes`], unless this answers `HEAD`.
    pub fn trailing_body(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Bytes(bytes) if !self.head_only => Some(bytes),
            _ => None,
        }
    }
}

/// The interim response to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

thread_local! {
    /// The IMF-fixdate of the current second, formatted once per second per
    /// thread: `(unix seconds, "Sun, 06 Nov 1994 08:49:37 GMT")`.
    static DATE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [b' '; 29])) };
}

/// Appends the current time as an HTTP date (RFC 9110 §5.6.7).
fn write_date(out: &mut Vec<u8>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (cached_at, mut text) = DATE.with(Cell::get);
    if cached_at != now {
        format_date(now, &mut text);
        DATE.with(|d| d.set((now, text)));
    }
    out.extend_from_slice(&text);
}

/// Formats `secs` since the Unix epoch as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_date(secs: u64, text: &mut [u8; 29]) {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days, on days since 1970-01-01 (a Thursday).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + u64::from(month <= 2)) % 10_000;
    let mut cursor = &mut text[..];
    // 29 bytes exactly, for any year below 10 000; a short write leaves spaces.
    let _ = write!(
        cursor,
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[((month + 11) % 12) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}
