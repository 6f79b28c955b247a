//! A load generator for signed Segment webhooks that each carry a distinct
//! `messageId`, signed as they are sent (wrk's Lua cannot compute an HMAC,
//! and a pre-signed list repeats its ids), so the dedupe store sees a new
//! delivery every time, as it does in production.
//!
//! `webhook-load URL SECRET CONNECTIONS SECONDS` prints one line in the
//! form of `local/bench/common.lua`'s, plus the slowest request:
//! `RESULT rps=… ok=… non2xx=… socket_errors=… p50_ms=… p99_ms=… max_ms=…`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use inlet_shared::signature::{Scheme, Secret, SignWith};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, secret, connections, seconds] = args.as_slice() else {
        eprintln!("usage: webhook-load URL SECRET CONNECTIONS SECONDS");
        std::process::exit(2);
    };
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let connections: usize = connections.parse().expect("CONNECTIONS is a number");
    let duration = Duration::from_secs(seconds.parse().expect("SECONDS is a number"));
    let secret = Secret::new(secret.clone());
    let run = std::process::id();
    let until = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (authority, secret) = (authority.clone(), secret.clone());
            tokio::spawn(async move { connection(&authority, &secret, run, c, until).await })
        })
        .collect();
    let (mut latencies, mut ok, mut non2xx, mut errors) = (Vec::new(), 0u64, 0u64, 0u64);
    for task in tasks {
        let stats = task.await.expect("a connection task");
        latencies.extend(stats.latencies);
        ok += stats.ok;
        non2xx += stats.non2xx;
        errors += stats.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = inlet_e2e::load::Latencies::new(latencies);
    let at = |q: f64| latencies.ms(q);
    println!(
        "RESULT rps={:.0} ok={ok} non2xx={non2xx} socket_errors={errors} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        (ok + non2xx) as f64 / elapsed,
        at(0.50),
        at(0.99),
        latencies.max_ms(),
    );
}

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    ok: u64,
    non2xx: u64,
    errors: u64,
}

async fn connection(
    authority: &str,
    secret: &Secret,
    run: u32,
    id: usize,
    until: Instant,
) -> Stats {
    let mut stats = Stats::default();
    let mut sent = 0u64;
    while Instant::now() < until {
        let Ok(stream) = tokio::net::TcpStream::connect(authority).await else {
            stats.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            stats.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < until {
            sent += 1;
            let body = inlet_e2e::segment_body(run, id, sent);
            let signed = Scheme::Segment.sign(&SignWith::new(secret, body.as_bytes()));
            let request = Request::post("/webhooks/segment")
                .header("host", authority)
                .header("content-type", "application/json")
                .header(signed[0].0.as_str(), signed[0].1.as_str())
                .body(Full::new(Bytes::from(body)))
                .expect("a request");
            let started = Instant::now();
            let answer = match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status();
                    response.into_body().collect().await.map(|_| status)
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok(status) => {
                    stats.latencies.push(started.elapsed());
                    if status.is_success() {
                        stats.ok += 1;
                    } else {
                        stats.non2xx += 1;
                    }
                }
                Err(_) => {
                    stats.errors += 1;
                    break;
                }
            }
        }
    }
    stats
}
