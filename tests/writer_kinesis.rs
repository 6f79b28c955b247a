//! The Writer API end to end against kinesalite through aws-sdk-kinesis:
//! parameter data and events read back in order, and a 20,000-row write split
//! into records of at most 1 MiB with nothing lost or reordered.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_e2e::{ReadRecord, create_stream, kinesis_client, read_stream, start_emulators};
use inlet_shared::Config;
use inlet_shared::publish::Publisher;
use inlet_shared::record::MAX_RECORD_BYTES;
use inlet_shared::sink::{KinesisSink, RetryPolicy};
use serde_json::{Value, json};
use tower::ServiceExt;
use write_proxy::{WriteProxy, router};

const TOKEN: &str = "e2e-writer-token";

fn app(client: aws_sdk_kinesis::Client) -> axum::Router {
    let env = |name: &str| (name == "WRITER_TOKEN").then(|| TOKEN.to_owned());
    let config = Config::parse(
        r#"
[topics.telemetry]
stream = "inlet-telemetry"
[tokens.e2e]
token = "env:WRITER_TOKEN"
topics = ["telemetry"]
"#,
        &env,
    )
    .unwrap();
    let sink = KinesisSink::new(client, RetryPolicy::default());
    router(WriteProxy::new(
        Arc::new(config),
        Publisher::new(Arc::new(sink)),
    ))
}

async fn post(app: &axum::Router, path: &str, body: String) -> StatusCode {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    if !status.is_success() {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        panic!("{path}: {status} {}", String::from_utf8_lossy(&bytes));
    }
    status
}

fn events(records: &[ReadRecord]) -> Vec<Value> {
    records
        .iter()
        .map(|r| serde_json::from_slice(&r.data).unwrap())
        .collect()
}

#[tokio::test]
async fn parameter_data_and_events_are_read_back_in_order() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "inlet-telemetry", 2).await;
    let app = app(client.clone());

    let base = "/topics/telemetry/streams/car-7";
    for batch in 0..5_i64 {
        let body = json!({
            "timestamps": [batch * 10, batch * 10 + 1],
            "numericValues": {"speed": [batch as f64, batch as f64 + 0.5]},
        });
        post(&app, &format!("{base}/parameters/data"), body.to_string()).await;
        let events = json!([
            {"id": "lap", "timestamp": batch * 10, "value": format!("lap {batch}")},
            {"id": "pit", "timestamp": batch * 10 + 1, "value": format!("pit {batch}")},
        ]);
        post(&app, &format!("{base}/events/data"), events.to_string()).await;
    }
    post(&app, &format!("{base}/close"), String::new()).await;

    let records = read_stream(&client, "inlet-telemetry").await;
    assert!(records.iter().all(|r| r.partition_key == "car-7"));
    let shards: std::collections::BTreeSet<_> = records.iter().map(|r| &r.shard_id).collect();
    assert_eq!(shards.len(), 1, "one stream id, one shard: order is kept");

    let events = events(&records);
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "io.quix.parameters" => format!("p{}", e["data"]["timestamps"][0]),
            "io.quix.events" => e["data"]["value"].as_str().unwrap().to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let mut expected = Vec::new();
    for batch in 0..5 {
        expected.push(format!("p{}", batch * 10));
        expected.push(format!("lap {batch}"));
        expected.push(format!("pit {batch}"));
    }
    expected.push("io.quix.stream.end".to_owned());
    assert_eq!(summary, expected);
    assert_eq!(
        events[0]["data"]["numericValues"]["speed"],
        json!([0.0, 0.5])
    );
}

#[tokio::test]
async fn a_20000_row_write_is_split_into_records_under_one_mib_without_loss() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "inlet-telemetry", 1).await;
    let app = app(client.clone());

    let rows = 20_000_i64;
    let padding = "x".repeat(100);
    let body = json!({
        "epoch": 1_700_000_000_000_000_000_i64,
        "timestamps": (0..rows).collect::<Vec<_>>(),
        "numericValues": {
            "row": (0..rows).collect::<Vec<_>>(),
            "speed": (0..rows).map(|i| i as f64 * 0.25).collect::<Vec<_>>(),
        },
        "stringValues": {"note": (0..rows).map(|i| format!("{i}-{padding}")).collect::<Vec<_>>()},
        "tagValues": {"lap": (0..rows).map(|i| (i / 1000).to_string()).collect::<Vec<_>>()},
    })
    .to_string();
    assert!(
        body.len() > 2 * MAX_RECORD_BYTES,
        "the write must need splitting"
    );
    post(&app, "/topics/telemetry/streams/big/parameters/data", body).await;

    let records = read_stream(&client, "inlet-telemetry").await;
    assert!(records.len() >= 3, "split into {} records", records.len());
    let mut next = 0_i64;
    for record in &records {
        assert!(record.data.len() + record.partition_key.len() <= MAX_RECORD_BYTES);
        let event: Value = serde_json::from_slice(&record.data).unwrap();
        let data = &event["data"];
        assert_eq!(data["epoch"], 1_700_000_000_000_000_000_i64);
        let timestamps = data["timestamps"].as_array().unwrap();
        for (i, ts) in timestamps.iter().enumerate() {
            let row = next + i as i64;
            assert_eq!(ts.as_i64(), Some(row));
            assert_eq!(data["numericValues"]["row"][i].as_f64(), Some(row as f64));
            assert_eq!(data["stringValues"]["note"][i], format!("{row}-{padding}"));
            assert_eq!(data["tagValues"]["lap"][i], (row / 1000).to_string());
        }
        next += timestamps.len() as i64;
    }
    assert_eq!(next, rows, "every row arrived exactly once, in order");
}
