//! `GET /metrics` of `inlet serve`: Prometheus text counting each webhook
//! by source and outcome, each rejection by reason, and what was published;
//! every way in and out moving its counters, read with `prometheus_client`'s
//! parser; none with metrics off.

mod common;

use std::process::Command;

#[test]
fn metrics_count_webhooks_by_source_outcome_and_reason_in_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve(dir.path());
    let published = Command::new("sh")
        .arg("-c")
        .arg(&server.curl)
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
    let client = reqwest::blocking::Client::new();
    let refused = client
        .post(format!("{}/webhooks/segment", server.base_url))
        .header("content-type", "application/json")
        .header("x-signature", "00")
        .body(r#"{"type":"track"}"#)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);

    let answer = client
        .get(format!("{}/metrics", server.base_url))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = answer.text().unwrap();
    for line in [
        r#"inlet_webhook_requests_total{source="segment",outcome="published"} 1"#,
        r#"inlet_webhook_requests_total{source="segment",outcome="rejected"} 1"#,
        r#"inlet_webhook_rejections_total{source="segment",reason="no_match"} 1"#,
        r#"inlet_records_published_total{topic="webhooks"} 1"#,
        r#"inlet_publish_seconds_count{topic="webhooks"} 1"#,
        "inlet_log_write_seconds_count ",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    assert!(
        text.contains("inlet_publish_seconds_bucket{topic=\"webhooks\",le=\"0.005\"}"),
        "{text}"
    );
}

/// `/metrics` parsed by `prometheus_client`'s own text parser (PyPI, in the
/// repository's `.venv`): every sample as `[name, labels, value]`.
fn parsed(base_url: &str) -> Vec<(String, serde_json::Value, f64)> {
    let text = reqwest::blocking::get(format!("{base_url}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let script = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        print(json.dumps([[s.name, s.labels, s.value]\n\
            for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]))";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the .venv has prometheus-client (tests/run.sh installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A metric, (some of) its labels, and the value it should have.
type Expected = (&'static str, &'static [(&'static str, &'static str)], f64);

/// The value of `name` with (at least) `labels`, summed; 0 when absent.
fn value(samples: &[(String, serde_json::Value, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
        .map(|(_, _, v)| v)
        .sum()
}

/// A poll target on loopback answering the same two items each time.
fn poll_target() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/items", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = r#"{"items":[{"id":"a","n":10},{"id":"b","n":11}]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn every_way_in_and_out_moves_its_counters_by_the_right_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = inlet_e2e::receiver::Receiver::start(inlet_e2e::receiver::SECRET);
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[topics.orders]
[topics.f1-data]

[sources.shop]
scheme = "none"
topic = "orders"
event_id = "/n"
delivery_id = "header:x-delivery"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "orders"

[pollers.prices]
url = "{}"
every = "1s"
items = "/items"
key = "/id"
topic = "orders"

[destinations.hook]
topic = "orders"
kind = "http"
url = "{}"
secrets = ["env:HOOK_SECRET"]

[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["f1-data"]
read = ["f1-data"]

[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["f1-data"]
"#,
            poll_target(),
            receiver.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = common::serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[
            ("SEGMENT_SECRET", "segment-secret"),
            ("HOOK_SECRET", inlet_e2e::receiver::SECRET),
            ("DASHBOARD_TOKEN", "dashboard-token-1234"),
            ("DEVICE_TOKEN", "device-token-1234"),
        ],
    );
    let base = &server.base_url;
    let client = reqwest::blocking::Client::new();
    // Three webhooks, one sent twice, and one with a wrong signature.
    for (n, delivery) in [(1, "d1"), (2, "d2"), (3, "d3"), (3, "d3")] {
        let answer = client
            .post(format!("{base}/webhooks/shop"))
            .header("x-delivery", delivery)
            .json(&serde_json::json!({"n": n}))
            .send()
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }
    let refused = client
        .post(format!("{base}/webhooks/segment"))
        .header("content-type", "application/json")
        .header("x-signature", "00")
        .body(r#"{"type":"track"}"#)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);
    // One Writer API request.
    let written = client
        .post(format!("{base}/topics/f1-data/streams/car-1/events/data"))
        .bearer_auth("device-token-1234")
        .json(&serde_json::json!([{"id": "lap", "timestamp": 1, "value": "1"}]))
        .send()
        .unwrap();
    assert!(written.status().is_success(), "{written:?}");
    // The two poll items and the three webhooks delivered.
    receiver.wait_for("five records", |r| r.delivered().len() == 5);

    let samples = parsed(base);
    let at = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    let webhook = "inlet_webhook_requests_total";
    let expected: [Expected; 11] = [
        (
            webhook,
            &[("source", "shop"), ("outcome", "published")],
            3.0,
        ),
        (
            webhook,
            &[("source", "shop"), ("outcome", "duplicate")],
            1.0,
        ),
        (
            webhook,
            &[("source", "segment"), ("outcome", "rejected")],
            1.0,
        ),
        (
            "inlet_webhook_rejections_total",
            &[("source", "segment"), ("reason", "no_match")],
            1.0,
        ),
        (
            "inlet_writer_writes_total",
            &[("topic", "f1-data"), ("outcome", "published")],
            1.0,
        ),
        ("inlet_records_published_total", &[("topic", "orders")], 5.0),
        (
            "inlet_records_published_total",
            &[("topic", "f1-data")],
            1.0,
        ),
        // One publish per webhook, one for the poll run's two items.
        ("inlet_publish_seconds_count", &[("topic", "orders")], 4.0),
        (
            "inlet_poller_items_published_total",
            &[("target", "prices")],
            2.0,
        ),
        (
            "inlet_destination_records_total",
            &[("destination", "hook"), ("outcome", "delivered")],
            5.0,
        ),
        (
            "inlet_destination_disabled",
            &[("destination", "hook")],
            0.0,
        ),
    ];
    for (name, labels, amount) in expected {
        assert_eq!(at(name, labels), amount, "{name} {labels:?}");
    }
    assert!(
        at(
            "inlet_poller_runs_total",
            &[("target", "prices"), ("outcome", "published")]
        ) >= 1.0
    );
    assert!(
        samples
            .iter()
            .any(|(n, l, _)| n == "inlet_destination_behind_records" && l["destination"] == "hook"),
        "the records behind are measured"
    );
    // Appends that arrive together share one fsync.
    assert!(at("inlet_log_write_seconds_count", &[]) >= 1.0);
    assert!(at("inlet_log_segments", &[("topic", "orders")]) >= 1.0);

    // The hub, through the official client: a reader subscribes and gets
    // pushes while a writer writes; both gone, no subscriber is left.
    let hub = Command::new("node")
        .arg(format!("{}/signalr/reader-client.mjs", common::TESTS))
        .args([
            &format!("{base}/hub"),
            "dashboard-token-1234",
            "device-token-1234",
            "f1-data",
        ])
        .current_dir(common::TESTS)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&hub.stdout).contains("reader ok"),
        "{hub:?}"
    );
    let samples = parsed(base);
    let at = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert!(at("inlet_hub_pushes_total", &[("topic", "f1-data")]) >= 1.0);
    assert!(at("inlet_hub_push_frames_total", &[]) >= 1.0);
    assert!(
        at(
            "inlet_writer_writes_total",
            &[("topic", "f1-data"), ("outcome", "published")]
        ) > 1.0
    );
    // Connections close a moment after the client has gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let samples = parsed(base);
        let open = value(&samples, "inlet_hub_connections", &[]);
        let subscribed: f64 = samples
            .iter()
            .filter(|(n, _, _)| n == "inlet_hub_subscribers")
            .map(|(_, _, v)| v)
            .sum();
        if open == 0.0 && subscribed == 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} connections, {subscribed} subscribers left"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn with_metrics_off_there_is_no_metrics_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve_with(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("INLET_NO_METRICS", "1")],
    );
    let answer = reqwest::blocking::get(format!("{}/metrics", server.base_url)).unwrap();
    assert_eq!(answer.status(), 404);
}
