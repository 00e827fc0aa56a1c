//! The request object: everything a handler needs from one request, owned,
//! in a few flat buffers that keep their capacity when cleared. That is what
//! makes it worth pooling: a reused `Request` parses the next request without
//! touching the allocator.

use shardpool::policy::Recycle;
use std::mem::size_of;

/// Most header fields a request may carry; more is answered with 431.
pub const MAX_HEADERS: usize = 64;

/// A byte range in [`Request::text`]. `u32` is enough: the head is bounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// One parsed HTTP/1.x request.
///
/// Method, path, and header names and values are copied back to back into
/// one byte buffer and addressed by ranges, so a request of any shape is
/// three buffers (`text`, `headers`, `body`), not one `String` per field.
#[derive(Debug)]
pub struct Request {
    /// Method, path, then each header name and value.
    text: Vec<u8>,
    method: Span,
    path: Span,
    /// `(name, value)` ranges into `text`.
    headers: Vec<(Span, Span)>,
    /// Minor version: `0` for HTTP/1.0, `1` for HTTP/1.1.
    version: u8,
    /// The decoded body (after `Content-Length` or chunked framing).
    pub body: Vec<u8>,
}

/// Why a parsed head could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadTooLarge;

impl Request {
    /// A request object sized for typical requests. Both allocation modes
    /// make request objects with this function: `fresh` for every request,
    /// `pool` once per object the pool creates.
    pub fn new() -> Request {
        Request {
            text: Vec::with_capacity(1024),
            method: Span::default(),
            path: Span::default(),
            headers: Vec::with_capacity(16),
            version: 1,
            body: Vec::new(),
        }
    }

    /// Copies a complete `httparse` head into this (cleared) request.
    pub fn fill(&mut self, head: &httparse::Request<'_, '_>) -> Result<(), HeadTooLarge> {
        self.method = push(&mut self.text, head.method.unwrap_or("").as_bytes())?;
        self.path = push(&mut self.text, head.path.unwrap_or("").as_bytes())?;
        self.version = head.version.unwrap_or(1);
        for h in head.headers.iter() {
            let name = push(&mut self.text, h.name.as_bytes())?;
            let value = push(&mut self.text, h.value)?;
            self.headers.push((name, value));
        }
        Ok(())
    }

    pub fn method(&self) -> &str {
        self.str_at(self.method)
    }

    /// The request target as sent, query string included.
    pub fn target(&self) -> &str {
        self.str_at(self.path)
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    /// Header fields in the order received: name (a token, so ASCII; kept as
    /// bytes so that lookups need no UTF-8 check) and raw value bytes.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|&(name, value)| (self.bytes_at(name), self.bytes_at(value)))
    }

    /// Values of every field called `name` (case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether any `name` field lists `token` (comma-separated,
    /// case-insensitive), as `Connection: close` or `Connection: keep-alive`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    fn bytes_at(&self, span: Span) -> &[u8] {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    fn str_at(&self, span: Span) -> &str {
        // Method and path were `&str` in httparse, so this never fails.
        std::str::from_utf8(self.bytes_at(span)).unwrap_or("")
    }
}

impl Default for Request {
    fn default() -> Self {
        Request::new()
    }
}

fn push(text: &mut Vec<u8>, bytes: &[u8]) -> Result<Span, HeadTooLarge> {
    let start = u32::try_from(text.len()).map_err(|_| HeadTooLarge)?;
    let len = u32::try_from(bytes.len()).map_err(|_| HeadTooLarge)?;
    let end = start.checked_add(len).ok_or(HeadTooLarge)?;
    text.extend_from_slice(bytes);
    Ok(Span { start, end })
}

/// Lets the pool use its ready-made policy, `Builder::recycle(max)`: clear
/// every buffer (keeping capacity) on return, and drop a request whose
/// buffers grew past `max` bytes in all (a huge body) instead of keeping it.
impl Recycle for Request {
    fn clear_for_reuse(&mut self) {
        self.text.clear();
        self.method = Span::default();
        self.path = Span::default();
        self.headers.clear();
        self.version = 1;
        self.body.clear();
    }

    fn capacity_bytes(&self) -> usize {
        self.text.capacity()
            + self.headers.capacity() * size_of::<(Span, Span)>()
            + self.body.capacity()
    }
}
