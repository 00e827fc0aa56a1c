//! Command line: parse flags, run the server until Ctrl-C or `--duration`,
//! print the report. Shared by the `http_server` and `http_server_mimalloc`
//! binaries, which differ only in their global allocator.

use crate::server::{Config, Server};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: http_server [--alloc fresh|pool] [--port N] [--duration SECS] [--threads N]
                   [--warmup SECS] [--idle-timeout SECS] [--trim-every SECS]
                   [--flush-on-park 1|0] [--release-to-os 1|0]

  --alloc         where read buffers, request objects, response and body buffers
                  and gzip encoders come from: `pool` (shardpool, default) or
                  `fresh` (the same pools with pooling off: created per use,
                  dropped after it)
  --port          TCP port on 127.0.0.1 (default 8080; 0 picks a free one)
  --duration      stop after SECS seconds (default: run until Ctrl-C or SIGTERM)
  --threads       tokio worker threads (default: one per core)
  --warmup        steady state starts SECS after the last connection change (default 1)
  --idle-timeout  close keep-alive connections idle this long (default 10)
  --trim-every    trim the pools this often (default 30; 0 = never): objects idle
                  through two trims are freed
  --flush-on-park a worker going idle hands its pooled objects to where other
                  workers and trims reach them (default 1; 0 = off)
  --release-to-os after each trim, glibc's malloc_trim(0) hands freed memory
                  back to the OS (default 0 = off; does nothing on mimalloc)

Routes: GET / (greeting), GET /echo-headers (request headers as text),
POST /sum (body of integers separated by spaces, commas or newlines),
POST /gzip (the body, gzip-compressed), GET /metrics (every pool's stats,
Prometheus text format).
On exit prints requests served, allocations per request, and pool stats.";

struct Args {
    config: Config,
    duration: Option<Duration>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut config = Config::default();
    let mut duration = None;
    let mut port = 8080u16;
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let secs = || {
            value
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("{flag}: not a number of seconds: {value:?}"))
        };
        match flag.as_str() {
            "--alloc" => config.alloc = value.parse()?,
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {value:?}"))?
            }
            "--duration" => duration = Some(secs()?),
            "--warmup" => config.warmup = secs()?,
            "--idle-timeout" => config.idle_timeout = secs()?,
            "--trim-every" => config.trim_every = Some(secs()?).filter(|d| !d.is_zero()),
            "--flush-on-park" => config.flush_on_park = switch(&flag, &value)?,
            "--release-to-os" => config.release_to_os = switch(&flag, &value)?,
            "--threads" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("--threads: not a count: {value:?}"))?;
                config.threads = Some(n.max(1));
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    config.addr = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(Some(Args { config, duration }))
}

/// A `1|0` flag's value.
fn switch(flag: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(format!("{flag}: 1 or 0, not {value:?}")),
    }
}

/// Runs the server from the command line.
pub fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let alloc = args.config.alloc;
    let server = match Server::start(args.config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot start the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `writeln!`, not `println!`: a closed stdout must not stop the server.
    let mut out = std::io::stdout();
    let addr = server.local_addr();
    server.wait(args.duration, || {
        let _ = writeln!(out, "listening on http://{addr} (alloc={alloc})");
        let _ = out.flush();
    });
    let report = server.shutdown();
    let _ = writeln!(out, "{report}");
    ExitCode::SUCCESS
}
