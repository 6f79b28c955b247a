//! The hub's AWS path without AWS: the real `hub` and `hub-negotiate`
//! Lambda binaries, driven through the Lambda Runtime API by a stand-in for
//! CloudFront, the HTTP API and the WebSocket API (`inlet_e2e::apigw`),
//! publishing into kinesalite; the official `@microsoft/signalr` client in
//! Node.js calls every writer method through it, negotiate included, and
//! reads through the fan-out every push it reads from `inlet serve`.

use std::path::Path;
use std::process::Command;

use futures_util::{SinkExt, StreamExt};
use inlet_e2e::apigw::{HubGateway, LambdaHost};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests");

const CONFIG: &str = r#"
[topics.telemetry]
stream = "hub-telemetry"
[topics.private]
stream = "hub-private"
[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["telemetry"]
"#;

/// The environment the hub's functions get: `config`, the device token,
/// credentials for the emulators, and `extra`.
fn lambda_env<'a>(config: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("INLET_CONFIG", config),
        ("DEVICE_TOKEN", "device-token-1234"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    env.extend_from_slice(extra);
    env
}

/// The `hub-negotiate` and `hub` binaries, each in its Lambda environment.
async fn hub_functions(env: &[(&str, &str)]) -> (LambdaHost, LambdaHost) {
    let negotiate = LambdaHost::start(
        Path::new(env!("CARGO_BIN_EXE_hub-negotiate")),
        "hub-negotiate",
        env,
    )
    .await;
    let hub = LambdaHost::start(Path::new(env!("CARGO_BIN_EXE_hub")), "hub", env).await;
    (negotiate, hub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_node_client_writes_through_api_gateway_and_the_hub_lambda() {
    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "hub-telemetry", 1).await;
    inlet_e2e::create_stream(&kinesis, "hub-private", 1).await;
    let env = lambda_env(
        CONFIG,
        &[(
            "AWS_ENDPOINT_URL_KINESIS",
            emulators.kinesis_endpoint.as_str(),
        )],
    );
    let (negotiate, hub) = hub_functions(&env).await;
    let base = HubGateway::start(negotiate, hub).await;

    let url = format!("{base}/hub");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{TESTS}/signalr/writer-client.mjs"))
            // 40 calls at once stay under API Gateway's 32 KB frame limit
            // (the client puts calls made together in one frame).
            .args([&url, "device-token-1234", "telemetry", "private", "40"])
            .current_dir(TESTS)
            .output()
            .expect("node runs (tests/run.sh installs @microsoft/signalr with npm ci)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wrote: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let stream = wrote["stream"].as_str().unwrap();

    let records: Vec<Value> = inlet_e2e::read_stream(&kinesis, "hub-telemetry")
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.data).unwrap())
        .collect();
    let of_stream: Vec<&Value> = records.iter().filter(|r| r["subject"] == stream).collect();
    let kinds: Vec<String> = of_stream
        .iter()
        .map(|r| {
            let id = r["data"]["id"].as_str().unwrap_or("");
            format!("{} {id}", r["type"].as_str().unwrap())
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
    expected.extend((0..40).map(|_| "io.quix.events burst".to_owned()));
    expected.push("io.quix.stream.end ".to_owned());
    assert_eq!(kinds, expected);
    assert_eq!(of_stream[4]["data"]["timestamp"], wrote["millis"]);
    let burst: Vec<&str> = of_stream[6..46]
        .iter()
        .map(|r| r["data"]["value"].as_str().unwrap())
        .collect();
    let in_order: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    assert_eq!(burst, in_order);
    assert!(
        records
            .iter()
            .any(|r| r["subject"] == wrote["docsStream"] && r["data"]["name"] == "docs form")
    );
    assert!(
        inlet_e2e::read_stream(&kinesis, "hub-private")
            .await
            .is_empty()
    );
}

const READER_CONFIG: &str = r#"
[topics.f1-data]
stream = "hub-f1-data"
[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["f1-data"]
read = ["f1-data"]
[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["f1-data"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_through_api_gateway_gets_what_a_writer_stores_through_the_fanout() {
    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "hub-f1-data", 1).await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_table(&dynamodb, "hub-table", &["pk", "sk"]).await;
    let env = lambda_env(
        READER_CONFIG,
        &[
            ("DASHBOARD_TOKEN", "dashboard-token-1234"),
            ("INLET_HUB_TABLE", "hub-table"),
            (
                "AWS_ENDPOINT_URL_KINESIS",
                emulators.kinesis_endpoint.as_str(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                emulators.dynamodb_endpoint.as_str(),
            ),
        ],
    );
    let (negotiate, hub) = hub_functions(&env).await;
    let base = HubGateway::start(negotiate, hub).await;
    // The fan-out posts to the stand-in's @connections API.
    let connections = format!("{base}/prod");
    let mut fanout_env = env.to_vec();
    fanout_env.push(("INLET_HUB_CONNECTIONS_URL", connections.as_str()));
    let fanout = LambdaHost::start(
        Path::new(env!("CARGO_BIN_EXE_hub-fanout")),
        "hub-fanout",
        &fanout_env,
    )
    .await;
    let _mapping = inlet_e2e::apigw::event_source_mapping(
        kinesis.clone(),
        "hub-f1-data".to_owned(),
        std::sync::Arc::new(fanout),
    );

    let url = format!("{base}/hub");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{TESTS}/signalr/reader-client.mjs"))
            .args([&url, "dashboard-token-1234", "device-token-1234", "f1-data"])
            .current_dir(TESTS)
            .output()
            .expect("node runs (tests/run.sh installs @microsoft/signalr with npm ci)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("reader ok"),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The client disconnected: $disconnect forgets its subscriptions.
    inlet_e2e::wait_until("the subscriptions forgotten", || async {
        let left = dynamodb
            .scan()
            .table_name("hub-table")
            .send()
            .await
            .unwrap();
        // What stays is the topic's streams and metrics, kept by the fan-out.
        left.items().iter().all(|item| {
            let pk = item["pk"].as_s().unwrap();
            pk.starts_with("streams#") || pk.starts_with("metrics#")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_protocol_error_the_hub_closes_the_connection_itself() {
    let bound = HubGateway::bind().await;
    let connections = bound.connections_url();
    let env = lambda_env(
        CONFIG,
        &[("INLET_HUB_CONNECTIONS_URL", connections.as_str())],
    );
    let (negotiate, hub) = hub_functions(&env).await;
    let base = bound.serve(negotiate, hub);
    let mut socket = inlet_e2e::load::open_hub(&base, "device-token-1234").await;
    let handshake = socket.next().await.unwrap().unwrap();
    assert_eq!(handshake.to_text().unwrap(), "{}\u{1e}");
    // Not a message: the hub answers Close, then closes the connection
    // without waiting for this client, which never hangs up.
    socket
        .send(Message::text("not a message\u{1e}"))
        .await
        .unwrap();
    let answer = socket.next().await.unwrap().unwrap();
    let close = answer.to_text().unwrap();
    assert!(close.contains("\"type\":7"), "{close}");
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("the connection stayed open");
    assert!(
        matches!(next, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "after the Close message: {next:?}"
    );
}
