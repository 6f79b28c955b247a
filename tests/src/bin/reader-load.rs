//! A load generator for the Reader hub: SUBSCRIBERS connections subscribe
//! to the packages of TOPIC, one writer connection calls `SendEventData`
//! RATE times a second (without awaiting each call), and every subscriber
//! times each `PackageReceived` from the moment its call was sent (the
//! event's value carries that moment). Negotiates and handshakes as
//! `@microsoft/signalr` does.
//!
//! `reader-load URL TOKEN TOPIC SUBSCRIBERS RATE SECONDS` prints
//! `RESULT pushes_per_s=… pushes=… expected=… p50_ms=… p99_ms=… max_ms=…`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use inlet_e2e::load::Socket;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, topic, subscribers, rate, seconds] = args.as_slice() else {
        eprintln!("usage: reader-load URL TOKEN TOPIC SUBSCRIBERS RATE SECONDS");
        std::process::exit(2);
    };
    let subscribers: usize = subscribers.parse().expect("SUBSCRIBERS is a number");
    let rate: u64 = rate.parse().expect("RATE is a number");
    let duration = Duration::from_secs(seconds.parse().expect("SECONDS is a number"));
    let epoch = Instant::now();

    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let mut ws = inlet_e2e::load::open_hub(url, token).await;
        call(&mut ws, "SubscribeToPackages", &serde_json::json!([topic])).await;
        readers.push(ws);
    }
    let sent = (rate as f64 * duration.as_secs_f64()) as usize;
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|ws| tokio::spawn(read(ws, epoch, sent)))
        .collect();

    let mut writer = inlet_e2e::load::open_hub(url, token).await;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let started = Instant::now();
    for i in 0..sent {
        tick.tick().await;
        let at = epoch.elapsed().as_micros().to_string();
        let message = serde_json::json!({
            "type": 1, "invocationId": i.to_string(), "target": "SendEventData",
            "arguments": [topic, "reader-load", [{"id": "tick", "timestamp": i, "value": at}]],
        });
        writer
            .send(Message::text(format!("{message}\u{1e}")))
            .await
            .expect("a call is sent");
        // Completions are read so the writer's socket never fills.
        while let Some(Some(Ok(_))) = futures_util::FutureExt::now_or_never(writer.next()) {}
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a reader"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = inlet_e2e::load::Latencies::new(latencies);
    let at = |q: f64| latencies.ms(q);
    println!(
        "RESULT pushes_per_s={:.0} pushes={} expected={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        latencies.len() as f64 / elapsed,
        latencies.len(),
        sent * subscribers,
        at(0.5),
        at(0.99),
        latencies.max_ms(),
    );
}

/// Invokes `target` and waits for its Completion (after the handshake's).
async fn call(ws: &mut Socket, target: &str, arguments: &Value) {
    let message = serde_json::json!({"type": 1, "invocationId": "s", "target": target, "arguments": arguments});
    ws.send(Message::text(format!("{message}\u{1e}")))
        .await
        .expect("sent");
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the socket closed before {target} completed");
        };
        if text.as_str().contains("\"invocationId\":\"s\"") {
            assert!(
                !text.as_str().contains("\"error\""),
                "{target} failed: {text}"
            );
            return;
        }
    }
}

/// Reads pushes until `expected` arrived or 5 s pass without one; the
/// latency of each.
async fn read(mut ws: Socket, epoch: Instant, expected: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_secs(5), ws.next()).await
        else {
            break;
        };
        let now = epoch.elapsed();
        for message in text.as_str().split('\u{1e}').filter(|m| !m.is_empty()) {
            let message: Value = serde_json::from_str(message).expect("a hub message");
            if message["target"] != "PackageReceived" {
                continue;
            }
            let package: Value = serde_json::from_str(
                message["arguments"][0]["value"]
                    .as_str()
                    .expect("a package value"),
            )
            .expect("package JSON");
            let sent: u64 = package[0]["Value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .expect("the send time");
            latencies.push(now.saturating_sub(Duration::from_micros(sent)));
        }
    }
    latencies
}
