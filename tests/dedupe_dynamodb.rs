//! The dedupe window in DynamoDB (dynalite) through aws-sdk-dynamodb: claim,
//! lease, completion, expiry, release; and concurrent deliveries of one id
//! through the receiver into Kinesis (kinesalite), published exactly once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_e2e::{
    create_dedupe_table, create_stream, dynamodb_client, kinesis_client, read_stream,
    start_emulators,
};
use inlet_shared::Config;
use inlet_shared::dedupe::{Claim, DedupeStore, DynamoDedupe, LEASE};
use inlet_shared::publish::Publisher;
use inlet_shared::signature::{Scheme, Secret, SignWith};
use inlet_shared::sink::{KinesisSink, RetryPolicy};
use serde_json::Value;
use tower::ServiceExt;
use webhook_receiver::{WebhookReceiver, router};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn claims_leases_completion_expiry_and_release_in_dynamodb() {
    let emulators = start_emulators().await;
    let client = dynamodb_client(&emulators.dynamodb_endpoint);
    create_dedupe_table(&client, "inlet-dedupe").await;
    let store = DynamoDedupe::new(client, "inlet-dedupe");
    let day = Duration::from_secs(86_400);
    let t = 1_700_000_000;

    assert_eq!(
        store.claim("stripe/evt_1", at(t)).await.unwrap(),
        Claim::New
    );
    assert_eq!(
        store.claim("stripe/evt_1", at(t + 1)).await.unwrap(),
        Claim::InFlight
    );
    // An unfinished claim blocks no longer than its lease.
    let after_lease = t + LEASE.as_secs();
    assert_eq!(
        store.claim("stripe/evt_1", at(after_lease)).await.unwrap(),
        Claim::New
    );
    store
        .complete("stripe/evt_1", at(after_lease), day)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim("stripe/evt_1", at(after_lease + 10))
            .await
            .unwrap(),
        Claim::Duplicate
    );
    // Releasing a completed id does nothing.
    store.release("stripe/evt_1").await.unwrap();
    assert_eq!(
        store
            .claim("stripe/evt_1", at(after_lease + 20))
            .await
            .unwrap(),
        Claim::Duplicate
    );
    // After the window it is new again (TTL deletes lazily; the check does not wait for it).
    assert_eq!(
        store
            .claim("stripe/evt_1", at(after_lease + 86_400))
            .await
            .unwrap(),
        Claim::New
    );

    assert_eq!(
        store.claim("stripe/evt_2", at(t)).await.unwrap(),
        Claim::New
    );
    store.release("stripe/evt_2").await.unwrap();
    assert_eq!(
        store.claim("stripe/evt_2", at(t + 1)).await.unwrap(),
        Claim::New
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_id_are_published_exactly_once() {
    let emulators = start_emulators().await;
    let dynamo = dynamodb_client(&emulators.dynamodb_endpoint);
    create_dedupe_table(&dynamo, "inlet-dedupe").await;
    let kinesis = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&kinesis, "inlet-webhooks", 1).await;

    let env = |name: &str| (name == "STRIPE_SECRET").then(|| "whsec_e2e".to_owned());
    let config = Config::parse(
        r#"
[topics.webhooks]
stream = "inlet-webhooks"
[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE_SECRET"]
topic = "webhooks"
"#,
        &env,
    )
    .unwrap();
    let publisher = Publisher::new(Arc::new(KinesisSink::new(
        kinesis.clone(),
        RetryPolicy::default(),
    )))
    .with_dedupe(Arc::new(DynamoDedupe::new(dynamo, "inlet-dedupe")));
    let receiver = WebhookReceiver::new(Arc::new(config), publisher);
    let app = router(receiver);

    const BODY: &str = r#"{"id":"evt_concurrent","type":"charge.succeeded"}"#;
    let request = move || {
        let secret = Secret::new("whsec_e2e");
        let body = BODY;
        let signed = Scheme::Stripe.sign(&SignWith::new(&secret, body.as_bytes()));
        Request::post("/webhooks/stripe")
            .header(signed[0].0.as_str(), signed[0].1.as_str())
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };

    // Eight deliveries at once; each one that is told to retry (503) retries,
    // as Stripe would, until it is acknowledged.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..200 {
                let response = app.clone().oneshot(request()).await.unwrap();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                if status == StatusCode::OK {
                    return serde_json::from_slice::<Value>(&bytes).unwrap();
                }
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("never acknowledged");
        }));
    }
    let mut published = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer["id"], "evt_concurrent");
        if answer.get("sequenceNumber").is_some() {
            published += 1;
        } else {
            assert_eq!(answer["duplicate"], true);
        }
    }
    assert_eq!(published, 1, "exactly one delivery published");

    let records = read_stream(&kinesis, "inlet-webhooks").await;
    assert_eq!(records.len(), 1);
    let event: Value = serde_json::from_slice(&records[0].data).unwrap();
    assert_eq!(event["id"], "evt_concurrent");
    assert_eq!(event["data"]["id"], "charge.succeeded");

    // A later redelivery is acknowledged and not published.
    let response = app.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read_stream(&kinesis, "inlet-webhooks").await.len(), 1);
}
