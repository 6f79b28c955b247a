//! The destination's Lambda binary through the Lambda Runtime API, invoked
//! as event source mappings would (records read from kinesalite's shard, a
//! `KinesisEvent` per batch, `batchItemFailures` honoured by reading the
//! shard again from the first failure; the retry queue in moto's SQS read
//! as an `SqsEvent`), delivering to the Node receiver that checks every
//! signature with the Standard Webhooks reference library, its state and
//! parked records in dynalite.

use std::path::Path;
use std::sync::Arc;

use inlet_e2e::apigw::LambdaHost;
use inlet_e2e::receiver::{Receiver, SECRET};

/// The emulators, the receiver and the two functions (a destination's and
/// the retry function) for destination `hook` configured by `settings`.
struct Setup {
    _emulators: inlet_e2e::Emulators,
    _moto: inlet_e2e::Moto,
    kinesis: aws_sdk_kinesis::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    receiver: Receiver,
    function: Arc<LambdaHost>,
    retry_function: Arc<LambdaHost>,
    sqs: aws_sdk_sqs::Client,
    queue: String,
}

impl Setup {
    async fn start(settings: &str) -> Setup {
        let emulators = inlet_e2e::start_emulators().await;
        let moto = inlet_e2e::start_moto();
        let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
        inlet_e2e::create_stream(&kinesis, "dest-orders", 1).await;
        let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
        inlet_e2e::create_table(&dynamodb, "dest-table", &["pk", "sk"]).await;
        let sqs = inlet_e2e::sqs_client(&moto.endpoint);
        let queue = sqs
            .create_queue()
            .queue_name("dest-retries")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let receiver = Receiver::start(SECRET);
        let config = format!(
            "[topics.orders]\nstream = \"dest-orders\"\n[sources.shop]\nscheme = \"none\"\ntopic = \"orders\"\n\
             event_id = \"order.created\"\n[destinations.hook]\ntopic = \"orders\"\nkind = \"http\"\n\
             url = \"{}\"\nsecrets = [\"env:HOOK_SECRET\"]\n{settings}",
            receiver.url
        );
        let mut env = vec![
            ("INLET_CONFIG", config.as_str()),
            ("HOOK_SECRET", SECRET),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("INLET_DESTINATION_TABLE", "dest-table"),
            ("INLET_DESTINATION_RETRIES", queue.as_str()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                emulators.dynamodb_endpoint.as_str(),
            ),
            ("AWS_ENDPOINT_URL_SQS", moto.endpoint.as_str()),
        ];
        let binary = Path::new(env!("CARGO_BIN_EXE_destination"));
        let retry_function = LambdaHost::start(binary, "destination-retries", &env).await;
        env.push(("INLET_DESTINATION", "hook"));
        let function = LambdaHost::start(binary, "destination", &env).await;
        Setup {
            _emulators: emulators,
            _moto: moto,
            kinesis,
            dynamodb,
            receiver,
            function: Arc::new(function),
            retry_function: Arc::new(retry_function),
            sqs,
            queue,
        }
    }

    /// Puts records `{n, answers}` into the stream.
    async fn put(&self, script: &[(u64, &str)]) {
        for (n, answers) in script {
            let body = format!(r#"{{"n":{n},"answers":{answers}}}"#);
            let event = serde_json::json!({
                "specversion": "1.0",
                "id": format!("e{n}"),
                "data": {"id": "order.created", "value": body},
            });
            self.kinesis
                .put_record()
                .stream_name("dest-orders")
                .partition_key("shop")
                .data(aws_sdk_kinesis::primitives::Blob::new(event.to_string()))
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_delivers_in_order_reports_a_failure_and_parks_and_disables_in_dynamodb() {
    let setup = Setup::start("max_attempts = 2\n").await;
    // Record 2 is answered 429 with a Retry-After longer than the
    // invocation has left, so it is reported; read again, it is delivered.
    // Record 4 is refused for good (parked); 5 meets a 410 (the endpoint is
    // disabled), so 6 is parked without a request.
    setup
        .put(&[
            (1, "[200]"),
            (2, "[[429, 60], 200]"),
            (3, "[200]"),
            (4, "[400, 200]"),
            (5, "[410, 200]"),
            (6, "[200]"),
        ])
        .await;
    let _mapping = inlet_e2e::apigw::event_source_mapping(
        setup.kinesis.clone(),
        "dest-orders".to_owned(),
        setup.function.clone(),
    );
    let Setup {
        receiver,
        dynamodb,
        sqs,
        queue,
        retry_function,
        ..
    } = setup;
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
        (1, 2, 1, 1, 1, 0),
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

    // Redriven: the parked records go through the retry queue and the
    // retry function delivers them (the endpoint takes them now).
    let retries = destination::retry::RetryQueue::new(sqs.clone(), queue.clone());
    let done = destination::retry::redrive(&table, &retries, "hook")
        .await
        .unwrap();
    assert_eq!((done.queued, done.truncated), (3, 0));
    assert!(table.parked("hook").await.unwrap().is_empty());
    let _retries = inlet_e2e::apigw::sqs_event_source_mapping(sqs, queue, retry_function);
    let receiver = tokio::task::spawn_blocking(move || {
        receiver.wait_for("the redriven records", |r| r.delivered().len() == 6);
        receiver
    })
    .await
    .unwrap();
    let mut delivered = receiver.delivered();
    delivered.sort_unstable();
    assert_eq!(delivered, [1, 2, 3, 4, 5, 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unordered_destination_sets_a_failing_record_aside_in_the_retry_queue() {
    let setup = Setup::start("ordered = false\nmax_attempts = 5\n").await;
    // Record 1 is refused twice more after its first attempt: set aside,
    // retried from the queue; 2 and 3 flow past it.
    setup
        .put(&[(1, "[503, 503, 503, 200]"), (2, "[200]"), (3, "[200]")])
        .await;
    let _mapping = inlet_e2e::apigw::event_source_mapping(
        setup.kinesis.clone(),
        "dest-orders".to_owned(),
        setup.function.clone(),
    );
    let _retries = inlet_e2e::apigw::sqs_event_source_mapping(
        setup.sqs.clone(),
        setup.queue.clone(),
        setup.retry_function.clone(),
    );
    let Setup {
        receiver, dynamodb, ..
    } = setup;
    let receiver = tokio::task::spawn_blocking(move || {
        receiver.wait_for("all three", |r| r.delivered().len() == 3);
        receiver
    })
    .await
    .unwrap();
    // Unordered: 2 and 3 go out at once, in either order; 1 after them.
    let mut delivered = receiver.delivered();
    assert_eq!(delivered.pop(), Some(1), "{delivered:?}");
    delivered.sort_unstable();
    assert_eq!(delivered, [2, 3]);
    let tries = receiver
        .requests()
        .iter()
        .filter(|r| r["data"]["n"] == 1)
        .count();
    assert_eq!(tries, 4);
    let table = destination::table::DestinationTable::new(dynamodb, "dest-table");
    assert!(table.parked("hook").await.unwrap().is_empty());
}
