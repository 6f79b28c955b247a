//! A load generator for the SignalR hub: CONNECTIONS websockets, each
//! negotiated and handshaken as `@microsoft/signalr` does, each keeping up to
//! IN_FLIGHT `SendEventData` invocations outstanding (as a client that does
//! not await each call), or with `--parameters ROWS`, `SendParameterData`
//! of ROWS rows each (the body of `local/bench/parameters.lua`). Calls
//! freed together go out in one frame, as the JavaScript client sends them.
//! A Node.js client cannot drive this on two shared cores.
//!
//! `hub-load URL TOKEN CONNECTIONS IN_FLIGHT SECONDS [--parameters ROWS]`
//! stops calling after SECONDS, waits for the calls outstanding, and prints
//! `RESULT rps=… ok=… errors=… p50_ms=… p99_ms=…` (rps: completed calls per
//! second).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, token, connections, in_flight, seconds, rows) = match args.as_slice() {
        [_, url, token, c, f, s] => (url, token, c, f, s, None),
        [_, url, token, c, f, s, flag, rows] if flag == "--parameters" => (
            url,
            token,
            c,
            f,
            s,
            Some(rows.parse::<usize>().expect("ROWS is a number")),
        ),
        _ => {
            eprintln!(
                "usage: hub-load URL TOKEN CONNECTIONS IN_FLIGHT SECONDS [--parameters ROWS]"
            );
            std::process::exit(2);
        }
    };
    let connections: usize = connections.parse().expect("CONNECTIONS is a number");
    let in_flight: usize = in_flight.parse().expect("IN_FLIGHT is a number");
    let duration = Duration::from_secs(seconds.parse().expect("SECONDS is a number"));
    let call = match rows {
        None => r#"{"type":1,"invocationId":"ID","target":"SendEventData","arguments":["telemetry","bench-hub-events",[{"id":"lap","timestamp":1700000000000000000,"value":"Lap 12 completed in 81.3 s","tags":{"car":"7","driver":"ann"}}]]}"#.to_owned(),
        Some(rows) => format!(
            r#"{{"type":1,"invocationId":"ID","target":"SendParameterData","arguments":["telemetry","bench-hub-params",{}]}}"#,
            parameters(rows)
        ),
    };
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (url, token, call) = (url.clone(), token.clone(), call.clone());
            tokio::spawn(async move { connection(&url, &token, &call, in_flight, until).await })
        })
        .collect();
    let (mut latencies, mut ok, mut errors) = (Vec::new(), 0u64, 0u64);
    for task in tasks {
        let stats = task.await.expect("a connection task");
        latencies.extend(stats.latencies);
        ok += stats.ok;
        errors += stats.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = inlet_e2e::load::Latencies::new(latencies);
    let at = |q: f64| latencies.ms(q);
    println!(
        "RESULT rps={:.0} ok={ok} errors={errors} p50_ms={:.2} p99_ms={:.2}",
        (ok + errors) as f64 / elapsed,
        at(0.50),
        at(0.99),
    );
}

/// The parameter data of `parameters.lua`, with `rows` rows.
fn parameters(rows: usize) -> String {
    let column = |f: &dyn Fn(usize) -> String| {
        format!("[{}]", (0..rows).map(f).collect::<Vec<_>>().join(","))
    };
    format!(
        r#"{{"epoch":1700000000000000000,"timestamps":{},"numericValues":{{"speed":{},"rpm":{},"throttle":{}}},"stringValues":{{"gear":{}}},"tagValues":{{"lap":{}}}}}"#,
        column(&|i| (i * 10_000_000).to_string()),
        column(&|i| format!("{:.2}", 200.0 + i as f64 * 0.37)),
        column(&|i| (9000 + i).to_string()),
        column(&|i| format!("{:.3}", (i % 10) as f64 / 10.0)),
        column(&|i| format!("\"{}\"", i % 7 + 1)),
        column(&|_| "\"12\"".to_owned()),
    )
}

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    ok: u64,
    errors: u64,
}

async fn connection(url: &str, token: &str, call: &str, in_flight: usize, until: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut ws = inlet_e2e::load::open_hub(url, token).await;
    let mut outstanding: HashMap<u64, Instant> = HashMap::new();
    let mut next = 0u64;
    let mut handshaken = false;
    loop {
        if handshaken && Instant::now() < until && outstanding.len() < in_flight {
            let mut frame = String::new();
            while outstanding.len() < in_flight {
                frame.push_str(&call.replacen("\"ID\"", &format!("\"{next}\""), 1));
                frame.push('\u{1e}');
                outstanding.insert(next, Instant::now());
                next += 1;
            }
            ws.send(Message::text(frame)).await.expect("calls are sent");
        }
        if handshaken && outstanding.is_empty() {
            break;
        }
        let frame = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => {
                stats.errors += outstanding.len() as u64;
                break;
            }
        };
        for message in frame.split('\u{1e}').filter(|m| !m.is_empty()) {
            let message: Value = serde_json::from_str(message).expect("a hub message");
            if !handshaken {
                handshaken = message.as_object().is_some_and(|m| m.is_empty());
                assert!(handshaken, "the handshake failed: {message}");
                continue;
            }
            if message["type"] != 3 {
                continue;
            }
            let id: u64 = message["invocationId"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .expect("an invocation id");
            if let Some(sent) = outstanding.remove(&id) {
                stats.latencies.push(sent.elapsed());
            }
            if message.get("error").is_some() {
                stats.errors += 1;
            } else {
                stats.ok += 1;
            }
        }
    }
    let _ = ws.close(None).await;
    stats
}
