//! End to end against kinesalite through aws-sdk-kinesis: the webhook path,
//! batching, partial-failure retries and the limits of `PutRecords`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use inlet_e2e::{
    FaultPlan, create_stream, kinesis_client, read_stream, start_emulators, start_fault_proxy,
};
use inlet_shared::Config;
use inlet_shared::config::Topic;
use inlet_shared::publish::Publisher;
use inlet_shared::record::{Record, RecordError};
use inlet_shared::signature::{Scheme, Secret, SignWith};
use inlet_shared::sink::{KinesisSink, RetryPolicy, Sink, SinkError};
use serde_json::Value;
use tower::ServiceExt;
use webhook_receiver::{WebhookReceiver, router};

const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 6,
    base_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(40),
};

fn topic(stream: &str) -> Topic {
    Topic {
        name: "t".to_owned(),
        stream: stream.to_owned(),
    }
}

fn numbered(count: usize, keys: usize) -> Vec<Record> {
    (0..count)
        .map(|i| Record {
            partition_key: format!("stream-{}", i % keys),
            data: Bytes::from(format!("{{\"n\":{i}}}")),
        })
        .collect()
}

fn number(data: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(data).unwrap()["n"]
        .as_u64()
        .unwrap()
}

/// Asserts the stream holds each of `0..count` exactly once, and that per
/// partition key the numbers ascend (order kept per Quix stream).
async fn assert_each_once_in_order(client: &aws_sdk_kinesis::Client, stream: &str, count: usize) {
    let records = read_stream(client, stream).await;
    let mut numbers: Vec<u64> = records.iter().map(|r| number(&r.data)).collect();
    let mut per_key: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (record, n) in records.iter().zip(&numbers) {
        per_key.entry(&record.partition_key).or_default().push(*n);
    }
    for (key, ns) in per_key {
        assert!(
            ns.windows(2).all(|w| w[0] < w[1]),
            "{key} out of order: {ns:?}"
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (0..count as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn signed_webhook_is_read_back_from_kinesis_as_a_cloud_event() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "inlet-webhooks", 2).await;

    let env = |name: &str| (name == "SEGMENT_SECRET").then(|| "segment-secret".to_owned());
    let config = Config::parse(
        r#"
[topics.webhooks]
stream = "inlet-webhooks"
[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"
"#,
        &env,
    )
    .unwrap();
    let sink = KinesisSink::new(client.clone(), FAST_RETRY);
    let app = router(WebhookReceiver::new(
        Arc::new(config),
        Publisher::new(Arc::new(sink)),
    ));

    let body = r#"{"type":"identify","userId":"u1","traits":{"plan":"pro"}}"#;
    let signature = &Scheme::Segment.sign(&SignWith::new(
        &Secret::new("segment-secret"),
        body.as_bytes(),
    ))[0]
        .1;
    let response = app
        .oneshot(
            Request::post("/webhooks/segment")
                .header("x-signature", signature)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&bytes).unwrap();

    let records = read_stream(&client, "inlet-webhooks").await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.partition_key, "segment");
    assert_eq!(
        record.sequence_number,
        answer["sequenceNumber"].as_str().unwrap()
    );
    assert_eq!(record.shard_id, answer["shardId"].as_str().unwrap());
    let event: Value = serde_json::from_slice(&record.data).unwrap();
    assert_eq!(event["id"], answer["id"]);
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "io.quix.events");
    assert_eq!(event["source"], "/webhooks/segment");
    assert_eq!(event["subject"], "segment");
    assert_eq!(event["data"]["id"], "identify");
    assert_eq!(event["data"]["value"], body);
}

#[tokio::test]
async fn webhook_to_a_missing_stream_is_503_with_retry_after() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    let env = |_: &str| Some("s".to_owned());
    let config = Config::parse(
        "[topics.w]\nstream = \"does-not-exist\"\n[sources.open]\nscheme = \"none\"\ntopic = \"w\"",
        &env,
    )
    .unwrap();
    let sink = KinesisSink::new(client, FAST_RETRY);
    let response = router(WebhookReceiver::new(
        Arc::new(config),
        Publisher::new(Arc::new(sink)),
    ))
    .oneshot(
        Request::post("/webhooks/open")
            .body(Body::from(r#"{"type":"x"}"#))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn more_than_500_records_are_split_into_put_records_calls() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "batches", 1).await;
    let (proxy, log) = start_fault_proxy(&emulators.kinesis_endpoint, Arc::new(|_, _| false)).await;
    let sink = KinesisSink::new(kinesis_client(&proxy), FAST_RETRY);

    let acks = sink
        .put(&topic("batches"), numbered(1201, 7))
        .await
        .unwrap();
    assert_eq!(acks.len(), 1201);
    assert_eq!(log.lock().unwrap().put_records_calls, vec![500, 500, 201]);
    assert_each_once_in_order(&client, "batches", 1201).await;
    // Acks are in submission order: on one shard, sequence numbers ascend.
    // (Kinesis sequence numbers are decimal strings too long for a u128.)
    let seqs: Vec<(usize, &str)> = acks
        .iter()
        .map(|a| (a.sequence_number.len(), a.sequence_number.as_str()))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn calls_stay_under_five_mib() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "big", 1).await;
    let (proxy, log) = start_fault_proxy(&emulators.kinesis_endpoint, Arc::new(|_, _| false)).await;
    let sink = KinesisSink::new(kinesis_client(&proxy), FAST_RETRY);

    let records: Vec<Record> = (0..7)
        .map(|i| Record {
            partition_key: "k".to_owned(),
            data: Bytes::from(format!(
                "{{\"n\":{i},\"pad\":\"{}\"}}",
                "x".repeat(1_000_000)
            )),
        })
        .collect();
    sink.put(&topic("big"), records).await.unwrap();
    assert_eq!(log.lock().unwrap().put_records_calls, vec![5, 2]);
    assert_each_once_in_order(&client, "big", 7).await;
}

#[tokio::test]
async fn partial_failures_retry_only_the_failed_records() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "partial", 1).await;
    // The first three calls each have every third record throttled.
    let plan: FaultPlan = Arc::new(|call, index| call < 3 && index % 3 == 1);
    let (proxy, log) = start_fault_proxy(&emulators.kinesis_endpoint, plan).await;
    let sink = KinesisSink::new(kinesis_client(&proxy), FAST_RETRY);

    let acks = sink
        .put(&topic("partial"), numbered(600, 600))
        .await
        .unwrap();
    assert_eq!(acks.len(), 600);

    {
        let log = log.lock().unwrap();
        assert!(log.refused > 0, "the proxy injected failures");
        // Batch 1 (500) lost 167; the retry sent only those 167, of which 56 were
        // refused again; then 56 (19 refused), then those 19; then batch 2 whole.
        assert_eq!(log.put_records_calls, vec![500, 167, 56, 19, 100]);
        let sent: usize = log.put_records_calls.iter().sum();
        assert_eq!(sent - log.refused, 600, "no record was sent twice");
    }
    assert_each_once_in_order(&client, "partial", 600).await;
}

#[tokio::test]
async fn records_still_failing_after_the_retries_are_reported_not_dropped() {
    let emulators = start_emulators().await;
    let client = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&client, "stuck", 1).await;
    // Record 3 of the first batch is refused every time; the rest go through.
    let plan: FaultPlan = Arc::new(|call, index| if call == 0 { index == 3 } else { index == 0 });
    let (proxy, log) = start_fault_proxy(&emulators.kinesis_endpoint, plan).await;
    let sink = KinesisSink::new(kinesis_client(&proxy), FAST_RETRY);

    let err = sink
        .put(&topic("stuck"), numbered(700, 5))
        .await
        .unwrap_err();
    match &err {
        SinkError::Unavailable { failed, .. } => {
            // Record 3, and the second batch (500..700), which was not sent.
            let mut expected = vec![3];
            expected.extend(500..700);
            assert_eq!(failed, &expected);
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retriable());
    assert_eq!(
        log.lock().unwrap().put_records_calls.len(),
        FAST_RETRY.max_attempts as usize
    );
    let stored: Vec<u64> = read_stream(&client, "stuck")
        .await
        .iter()
        .map(|r| number(&r.data))
        .collect();
    assert_eq!(stored.len(), 499);
    assert!(!stored.contains(&3));
}

#[tokio::test]
async fn a_record_over_one_mib_is_refused_before_any_call() {
    let emulators = start_emulators().await;
    create_stream(&kinesis_client(&emulators.kinesis_endpoint), "limits", 1).await;
    let (proxy, log) = start_fault_proxy(&emulators.kinesis_endpoint, Arc::new(|_, _| false)).await;
    let sink = KinesisSink::new(kinesis_client(&proxy), FAST_RETRY);
    let mut records = numbered(3, 1);
    records[1].data = Bytes::from(vec![b'x'; 1024 * 1024]);
    let err = sink.put(&topic("limits"), records).await.unwrap_err();
    assert!(
        matches!(err, SinkError::Rejected(RecordError::TooLarge { .. })),
        "{err:?}"
    );
    assert!(log.lock().unwrap().put_records_calls.is_empty());
}
