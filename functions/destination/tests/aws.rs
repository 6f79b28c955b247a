//! The destination's Lambda binary through the Lambda Runtime API, invoked
//! as an event source mapping would (records read from kinesalite's shard,
//! a `KinesisEvent` per batch, `batchItemFailures` honoured by reading the
//! shard again from the first failure), delivering to the Node receiver that
//! checks every signature with the Standard Webhooks reference library, its
//! state and parked records in dynalite.

use std::path::Path;
use std::sync::Arc;

use inlet_e2e::apigw::LambdaHost;
use inlet_e2e::receiver::{Receiver, SECRET};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_delivers_in_order_reports_a_failure_and_parks_and_disables_in_dynamodb() {
    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "dest-orders", 1).await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_table(&dynamodb, "dest-table", &["pk", "sk"]).await;
    let receiver = Receiver::start(SECRET);
    let config = format!(
        r#"
[topics.orders]
stream = "dest-orders"
[sources.shop]
scheme = "none"
topic = "orders"
event_id = "order.created"
[destinations.hook]
topic = "orders"
kind = "http"
url = "{}"
secrets = ["env:HOOK_SECRET"]
max_attempts = 2
"#,
        receiver.url
    );
    let env = [
        ("INLET_CONFIG", config.as_str()),
        ("INLET_DESTINATION", "hook"),
        ("HOOK_SECRET", SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("INLET_DESTINATION_TABLE", "dest-table"),
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            emulators.dynamodb_endpoint.as_str(),
        ),
    ];
    let function = LambdaHost::start(
        Path::new(env!("CARGO_BIN_EXE_destination")),
        "destination",
        &env,
    )
    .await;
    // Record 2 is refused twice (the function's two attempts), so it is
    // reported; read again, it is delivered. Record 4 is refused for good
    // (parked); 5 meets a 410 (the endpoint is disabled), so 6 is parked
    // without a request.
    let script = [
        (1, "[200]"),
        (2, "[503, 503, 200]"),
        (3, "[200]"),
        (4, "[400]"),
        (5, "[410]"),
        (6, "[200]"),
    ];
    for (n, answers) in script {
        let body = format!(r#"{{"n":{n},"answers":{answers}}}"#);
        let event = serde_json::json!({
            "specversion": "1.0",
            "id": format!("e{n}"),
            "data": {"id": "order.created", "value": body},
        });
        kinesis
            .put_record()
            .stream_name("dest-orders")
            .partition_key("shop")
            .data(aws_sdk_kinesis::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .unwrap();
    }
    let _mapping = inlet_e2e::apigw::event_source_mapping(
        kinesis.clone(),
        "dest-orders".to_owned(),
        Arc::new(function),
    );
    let receiver = tokio::task::spawn_blocking(move || {
        receiver.wait_for("three records", |r| r.delivered().len() == 3);
        receiver.wait_for("the 410", |r| {
            r.requests().iter().any(|q| q["status"] == 410)
        });
        receiver
    })
    .await
    .unwrap();
    let table = destination::table::DestinationTable::new(dynamodb.clone(), "dest-table");
    inlet_e2e::wait_until("three records parked", || async {
        table.parked("hook").await.unwrap().len() == 3
    })
    .await;
    assert_eq!(receiver.delivered(), [1, 2, 3]);
    let requests = receiver.requests();
    assert!(requests.iter().all(|r| r["signed"] == true));
    let tries = |n: u64| requests.iter().filter(|r| r["data"]["n"] == n).count();
    assert_eq!(
        (tries(1), tries(2), tries(3), tries(4), tries(5), tries(6)),
        (1, 3, 1, 1, 1, 0),
        "{requests:#?}"
    );
    let disabled = table.disabled("hook").await.unwrap().unwrap();
    assert!(disabled.contains("410"), "{disabled}");
    let parked = table.parked("hook").await.unwrap();
    assert_eq!(parked[0]["status"], "400");
    assert!(
        parked[2]["reason"].as_str().unwrap().contains("disabled"),
        "{parked:#?}"
    );
    assert_eq!(table.enable("hook").await.unwrap(), Some(disabled));
    assert_eq!(table.disabled("hook").await.unwrap(), None);
}
