//! The routes: three that exercise the pools, and `GET /metrics`.

use crate::request::Request;
use crate::response::{Body, Response, Status};

/// The body of `GET /`.
pub const HELLO: &str = "Hello from shardpool!\n";

/// Answers a complete request.
pub fn route(req: &Request) -> Response<'_> {
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
        "/metrics" if get => Response::new(
            Status::Ok,
            Body::Owned(crate::metrics::prometheus_text(shardpool::stats_all())),
        ),
        "/" | "/echo-headers" | "/metrics" => Response {
            allow: Some("GET, HEAD"),
            ..Response::new(Status::MethodNotAllowed, Body::Text("use GET\n"))
        },
        "/sum" => Response {
            allow: Some("POST"),
            ..Response::new(Status::MethodNotAllowed, Body::Text("use POST\n"))
        },
        _ => Response::new(Status::NotFound, Body::Text(Status::NotFound.message())),
    };
    response.head_only = head;
    response
}

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
