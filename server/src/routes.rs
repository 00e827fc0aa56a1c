//! The routes: three that exercise the request and buffer pools, `POST
//! /gzip` for pooled encoder state, and `GET /metrics`.

use crate::gzip;
use crate::request::Request;
use crate::response::{Body, Response, Status};
use crate::server::Shared;

/// The body of `GET /`.
pub const HELLO: &str = "Hello from shardpool!\n";

/// The `Content-Type` of `POST /gzip`'s answer: a gzip file of the request
/// body (`curl --data-binary @file …/gzip | gunzip` gives the file back).
pub const GZIP: &str = "application/gzip";

/// Answers a complete request.
pub(crate) fn route<'r>(req: &'r Request, shared: &Shared) -> Response<'r> {
    let (method, path) = (req.method(), req.path());
    let head = method == "HEAD";
    let get = method == "GET" || head;
    let mut response = match path {
        "/" if get => Response::new(Status::Ok, Body::Text(HELLO)),
        "/echo-headers" if get => Response::new(Status::Ok, Body::Headers(req)),
        "/sum" if method == "POST" => match sum(&req.body) {
            Some(total) => Response::new(Status::Ok, Body::Number(total)),
            None => Response::new(
                Status::BadRequest,
                Body::Text("expected integers separated by spaces, commas or newlines\n"),
            ),
        },
        "/gzip" if method == "POST" => {
            let mut body = shared.body_buf(gzip::max_len(req.body.len()));
            gzip::compress(&mut shared.encoder(), &req.body, &mut body);
            Response {
                content_type: GZIP,
                ..Response::new(Status::Ok, Body::Bytes(body.into_bytes()))
            }
        }
        "/metrics" if get => {
            let pools = shardpool::stats_all();
            let mut body = shared.body_buf(METRICS_HEAD + pools.len() * METRICS_PER_POOL);
            crate::metrics::write_prometheus(pools, &mut crate::metrics::Utf8(&mut body));
            Response::new(Status::Ok, Body::Bytes(body.into_bytes()))
        }
        "/" | "/echo-headers" | "/metrics" => Response {
            allow: Some("GET, HEAD"),
            ..Response::new(Status::MethodNotAllowed, Body::Text("use GET\n"))
        },
        "/sum" | "/gzip" => Response {
            allow: Some("POST"),
            ..Response::new(Status::MethodNotAllowed, Body::Text("use POST\n"))
        },
        _ => Response::new(Status::NotFound, Body::Text(Status::NotFound.message())),
    };
    response.head_only = head;
    response
}

/// Room for a `GET /metrics` body: the `# HELP` and `# TYPE` lines, and 21
/// series of up to about 75 bytes per pool. A body that outgrows its buffer
/// still goes out, but the buffer then returns to a larger size class than
/// it came from, leaving its own class to make a new one next time.
const METRICS_HEAD: usize = 2048;
const METRICS_PER_POOL: usize = 21 * 75;

/// The sum of the `i64`s in `body`, separated by ASCII whitespace or commas;
/// `None` if a token is not an integer. The sum is an `i128`, which no
/// bounded body can overflow; it is still added with a check.
pub fn sum(body: &[u8]) -> Option<i128> {
    body.split(|b| b.is_ascii_whitespace() || *b == b',')
        .filter(|token| !token.is_empty())
        .try_fold(0i128, |total, token| {
            let n: i64 = std::str::from_utf8(token).ok()?.parse().ok()?;
            total.checked_add(i128::from(n))
        })
}
