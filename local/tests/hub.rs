//! The SignalR hub of `inlet serve` through real clients: the official
//! `@microsoft/signalr` client in Node.js, and the Quix documentation's mouse
//! page in headless Chromium on another origin.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{TESTS, in_chromium, serve_with, tail};

/// `inlet serve` with a topic the token may write, one it may not, and
/// browser pages of any origin allowed.
fn hub_server(dir: &Path) -> common::Server {
    let config = dir.join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.telemetry]
[topics.private]
[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["telemetry"]
[writer]
cors_origins = ["*"]
"#,
    )
    .unwrap();
    let data = dir.join("data");
    serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("DEVICE_TOKEN", "device-token-1234")],
    )
}

fn node(script: &str, args: &[&str]) -> std::process::Output {
    Command::new("node")
        .arg(format!("{TESTS}/{script}"))
        .args(args)
        .current_dir(TESTS)
        .output()
        .expect("node runs (tests/run.sh installs @microsoft/signalr with npm ci)")
}

#[test]
fn the_official_node_client_calls_every_writer_method() {
    let dir = tempfile::tempdir().unwrap();
    let server = hub_server(dir.path());
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains(&format!("{}/hub", server.base_url))),
        "the banner shows the hub URL: {:#?}",
        server.banner
    );
    let url = format!("{}/hub", server.base_url);
    let output = node(
        "signalr/writer-client.mjs",
        &[&url, "device-token-1234", "telemetry", "private"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wrote: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let stream = wrote["stream"].as_str().unwrap();

    let records = tail(&dir.path().join("data"), "telemetry");
    let of_stream: Vec<&Value> = records.iter().filter(|r| r["subject"] == stream).collect();
    let kinds: Vec<String> = of_stream
        .iter()
        .map(|r| {
            let data_id = r["data"]["id"].as_str().unwrap_or("");
            format!("{} {data_id}", r["type"].as_str().unwrap())
        })
        .collect();
    let mut expected = vec![
        "io.quix.stream.properties ".to_owned(),
        "io.quix.stream.properties ".to_owned(),
        "io.quix.parameters ".to_owned(),
        "io.quix.parameters ".to_owned(),
        "io.quix.events mouse position".to_owned(),
        "io.quix.events sent".to_owned(),
    ];
    expected.extend((0..200).map(|_| "io.quix.events burst".to_owned()));
    expected.push("io.quix.stream.end ".to_owned());
    assert_eq!(kinds, expected);

    assert_eq!(of_stream[0]["data"]["name"], "car-1");
    assert_eq!(of_stream[1]["data"]["metadata"]["fruit"], "apple");
    let parameters = &of_stream[2]["data"];
    assert_eq!(parameters["epoch"], 1_700_000_000_000_000_000_i64);
    assert_eq!(
        parameters["binaryValues"]["BinaryParameter1"][0],
        "SGVsbG8="
    );
    assert_eq!(
        parameters["tagValues"]["Tag1"],
        serde_json::json!(["A", "B", null])
    );
    assert_eq!(of_stream[3]["data"]["numericValues"]["Speed"][0], 1.5);
    assert_eq!(of_stream[4]["data"]["timestamp"], wrote["millis"]);
    // Calls in flight together keep their order in the stream.
    let burst: Vec<String> = of_stream[6..206]
        .iter()
        .map(|r| r["data"]["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(burst, (0..200).map(|i| i.to_string()).collect::<Vec<_>>());
    // The two-argument UpdateStream made a stream of its own.
    assert!(
        records
            .iter()
            .any(|r| r["subject"] == wrote["docsStream"] && r["data"]["name"] == "docs form")
    );
    // Nothing reached the forbidden topic.
    assert!(tail(&dir.path().join("data"), "private").is_empty());
}

#[test]
fn the_quix_docs_mouse_page_streams_mouse_moves_from_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = hub_server(dir.path());
    let url = format!("{}/hub", server.base_url);
    let mut page = Command::new("node")
        .arg(format!("{TESTS}/browser/mouse-page.mjs"))
        .args([&url, "device-token-1234", "telemetry", "mouse", "25"])
        .current_dir(TESTS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(page.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let moved = line.starts_with("moved ");
        printed.push(line);
        if moved {
            break;
        }
    }
    assert!(
        printed.iter().any(|l| l == "moved 25"),
        "in Chromium (tests/run.sh installs Debian's chromium and playwright-core): {printed:#?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events: Vec<Value> = tail(&dir.path().join("data"), "telemetry")
            .into_iter()
            .filter(|r| r["subject"] == "mouse")
            .collect();
        if events.len() >= 25 || Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(page.stdin.take());
    let status = page.wait().unwrap();
    assert!(status.success(), "the page failed: {printed:#?}");
    assert_eq!(events.len(), 25, "mouse events in the topic");
    let first = &events[0]["data"];
    assert_eq!(first["id"], "mouse position");
    assert_eq!(first["tags"]["mousestatus"], "tracking");
    let position: Value = serde_json::from_str(first["value"].as_str().unwrap()).unwrap();
    assert!(
        position["x"].is_number() && position["y"].is_number(),
        "{position}"
    );
    drop(server);
}

/// `inlet serve` with a token that may read and write a topic, one that may
/// only write it, and browser pages of any origin allowed.
fn reader_server(dir: &Path) -> common::Server {
    let config = dir.join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.f1-data]
[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["f1-data"]
read = ["f1-data"]
[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["f1-data"]
[writer]
cors_origins = ["*"]
"#,
    )
    .unwrap();
    let data = dir.join("data");
    serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[
            ("DASHBOARD_TOKEN", "dashboard-token-1234"),
            ("DEVICE_TOKEN", "device-token-1234"),
        ],
    )
}

#[test]
fn the_official_node_client_subscribes_and_gets_quix_shaped_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let server = reader_server(dir.path());
    let url = format!("{}/hub", server.base_url);
    let output = node(
        "signalr/reader-client.mjs",
        &[&url, "dashboard-token-1234", "device-token-1234", "f1-data"],
    );
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("reader ok"),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_quix_docs_writer_and_reader_pages_talk_through_the_hub_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = reader_server(dir.path());
    let url = format!("{}/hub", server.base_url);
    in_chromium(
        "writer-reader.mjs",
        &[&url, "dashboard-token-1234", "f1-data", "40"],
        "painted 40",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_too_far_behind_is_closed_with_a_reason_and_writers_are_not_held() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let server = tokio::task::spawn_blocking(move || reader_server(&path))
        .await
        .unwrap();
    let base = server.base_url.clone();
    let http = reqwest::Client::new();
    let mut ws = inlet_e2e::load::open_hub(&base, "dashboard-token-1234").await;
    ws.send(Message::text(
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"SubscribeToEvent\",\"arguments\":[\"f1-data\",\"*\",\"*\"]}\u{1e}",
    ))
    .await
    .unwrap();
    // The handshake answer and the subscription's Completion.
    let mut answered = String::new();
    while !answered.contains("\"invocationId\":\"1\"") {
        if let Message::Text(text) = ws.next().await.unwrap().unwrap() {
            answered.push_str(text.as_str());
        }
    }

    // The subscriber reads nothing while 80,000 events are written: every
    // write is answered (the writer is not held by the reader).
    let events: Vec<Value> = (0..20_000)
        .map(|i| serde_json::json!({"id": "lap", "timestamp": i, "value": "x".repeat(64)}))
        .collect();
    for _ in 0..4 {
        let answer = http
            .post(format!("{base}/topics/f1-data/streams/car/events/data"))
            .bearer_auth("device-token-1234")
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    // Reading again: the pushes that were held, then a Close saying why.
    let mut pushes = 0usize;
    let close = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("the socket ended without a Close message ({pushes} pushes)");
            };
            for message in text.as_str().split('\u{1e}').filter(|m| !m.is_empty()) {
                let message: Value = serde_json::from_str(message).unwrap();
                match message["type"].as_u64() {
                    Some(1) => pushes += 1,
                    Some(7) => return message,
                    _ => {}
                }
            }
        }
    })
    .await
    .expect("a Close within 30 s");
    let error = close["error"].as_str().unwrap();
    assert!(
        error.contains("fell") && error.contains("behind"),
        "{error}"
    );
    assert_eq!(close["allowReconnect"], true);
    assert!(pushes < 80_000, "{pushes} pushes");
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_hub_socket_counts_against_max_connections() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let server = tokio::task::spawn_blocking(move || {
        serve_with(
            &["--data-dir", &data, "--max-connections", "1"],
            &[
                ("INLET_DEMO_TOKEN", "demo-token-1234"),
                ("INLET_DEMO_SECRET", "s"),
            ],
        )
    })
    .await
    .unwrap();
    let base = server.base_url.clone();
    // Skipping negotiation, as clients may: one socket takes the one slot.
    let socket = format!(
        "{}/hub?access_token=demo-token-1234",
        base.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(socket).await.unwrap();
    let health = reqwest::Client::new()
        .get(format!("{base}/health"))
        .timeout(Duration::from_millis(800))
        .send()
        .await;
    assert!(
        health.is_err(),
        "served while the socket held the only slot"
    );
    ws.close(None).await.unwrap();
    drop(ws);
    let health = reqwest::Client::new()
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_kinesis_sink_the_writer_hub_publishes_and_the_reader_hub_says_why_not() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "hub-kinesis", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        "[topics.telemetry]\nstream = \"hub-kinesis\"\n[tokens.devices]\ntoken = \"env:DEVICE_TOKEN\"\ntopics = [\"*\"]\nread = [\"*\"]\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let endpoint = emulators.kinesis_endpoint.clone();
    let server = tokio::task::spawn_blocking(move || {
        serve_with(
            &[
                "--sink",
                "kinesis",
                "--config",
                config.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
            &[
                ("DEVICE_TOKEN", "device-token-1234"),
                ("AWS_ENDPOINT_URL_KINESIS", &endpoint),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
                ("AWS_SECRET_ACCESS_KEY", "test-secret"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        )
    })
    .await
    .unwrap();
    let socket = format!(
        "{}/hub?access_token=device-token-1234",
        server.base_url.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(socket).await.unwrap();
    let calls = [
        r#"{"protocol":"json","version":1}"#,
        r#"{"type":1,"invocationId":"1","target":"SendEventData","arguments":["telemetry","car-1",[{"id":"lap","timestamp":1,"value":"via Kinesis"}]]}"#,
        r#"{"type":1,"invocationId":"2","target":"SubscribeToPackages","arguments":["telemetry"]}"#,
    ];
    let frame: String = calls.iter().map(|c| format!("{c}\u{1e}")).collect();
    ws.send(Message::text(frame)).await.unwrap();
    let mut answers: Vec<Value> = Vec::new();
    while answers.iter().filter(|a| a["type"] == 3).count() < 2 {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the socket ended: {answers:?}");
        };
        for message in text.as_str().split('\u{1e}').filter(|m| !m.is_empty()) {
            answers.push(serde_json::from_str(message).unwrap());
        }
    }
    let completion = |id: &str| answers.iter().find(|a| a["invocationId"] == id).unwrap();
    assert_eq!(
        *completion("1"),
        serde_json::json!({"type": 3, "invocationId": "1"})
    );
    let refused = completion("2")["error"].as_str().unwrap();
    assert!(
        refused.contains("needs inlet serve's embedded log"),
        "{refused}"
    );

    let records = inlet_e2e::read_stream(&kinesis, "hub-kinesis").await;
    assert_eq!(records.len(), 1);
    let event: Value = serde_json::from_slice(&records[0].data).unwrap();
    assert_eq!(event["data"]["value"], "via Kinesis");
    assert_eq!(records[0].partition_key, "car-1");
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}
