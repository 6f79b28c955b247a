//! Rejected webhooks in AWS: the receiver's real Lambda binary, driven
//! through the Runtime API with API Gateway (payload 2.0) events, keeps what
//! it refuses in DynamoDB (dynalite) through the SDK; `inlet rejected
//! list|show --table` read the table, and `replay --table --function`
//! invokes the function through the Lambda Invoke API, which verifies the
//! request again with the fixed secret, as at its receipt, and publishes it
//! into Kinesis (kinesalite) once.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use inlet_e2e::apigw::LambdaHost;
use inlet_shared::signature::{Scheme, Secret, SignWith};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[topics.hooks]
stream = "rejected-hooks"

[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE_SECRET"]
topic = "hooks"
tolerance = "2s"
keep_rejected = 2

[dedupe]
table = "dedupe"
"#;

/// The receiver's Lambda binary, built beside `inlet` by the workspace.
fn receiver_binary() -> PathBuf {
    let path = PathBuf::from(common::INLET).with_file_name("webhook-receiver");
    assert!(
        path.exists(),
        "{} is not built: cargo build -p webhook-receiver (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// A Stripe webhook signed with `secret`, as API Gateway hands it over.
fn webhook(path: &str, secret: &str, body: &str) -> Value {
    let signed = Scheme::Stripe.sign(&SignWith::new(&Secret::new(secret), body.as_bytes()));
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "api.example.com",
            signed[0].0.as_str(): signed[0].1,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "1.2.3.4", "userAgent": "Stripe/1.0"},
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
            "time": "07/Dec/2026:10:00:00 +0000",
            "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": false
    })
}

async fn inlet(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    tokio::process::Command::new(common::INLET)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_webhook_is_kept_in_dynamodb_and_replayed_by_invoking_the_receiver() {
    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "rejected-hooks", 1).await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_dedupe_table(&dynamodb, "dedupe").await;
    inlet_e2e::create_table(&dynamodb, "rejected", &["pk", "sk"]).await;
    let aws = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_KINESIS", &emulators.kinesis_endpoint),
        ("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint),
    ];
    let function = |secret: &'static str| {
        let mut env = aws.to_vec();
        env.extend([
            ("INLET_CONFIG", CONFIG),
            ("STRIPE_SECRET", secret),
            ("INLET_REJECTED_TABLE", "rejected"),
        ]);
        async move { LambdaHost::start(&receiver_binary(), "webhook-receiver", &env).await }
    };

    // The provider signs with a new secret the deployment does not have yet.
    let old = function("whsec_old").await;
    for n in 1..=3 {
        let body = format!(r#"{{"id":"evt_{n}","type":"invoice.paid"}}"#);
        let answer = old
            .invoke(webhook("/webhooks/stripe", "whsec_new", &body))
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], 401, "{answer}");
    }
    // A replay cannot come through API Gateway: only a direct invocation.
    let through_api = old
        .invoke(webhook(
            "/events",
            "whsec_new",
            r#"{"replay":{"source":"stripe","id":"x"}}"#,
        ))
        .await
        .unwrap();
    assert_eq!(through_api["statusCode"], 404, "{through_api}");

    let listed = inlet(&["rejected", "list", "--table", "rejected", "--json"], &aws).await;
    assert!(listed.status.success(), "{listed:?}");
    let listed: Vec<Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "the last two kept: {listed:?}");
    assert_eq!(listed[0]["source"], "stripe");
    assert_eq!(listed[0]["reason"], "no_match");
    let newest = listed[0]["id"].as_str().unwrap().to_owned();
    let shown = inlet(&["rejected", "show", &newest, "--table", "rejected"], &aws).await;
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["body"], r#"{"id":"evt_3","type":"invoice.paid"}"#);
    assert!(
        shown["headers"].to_string().contains("stripe-signature"),
        "{shown}"
    );

    // The secret fixed (a new instance reads it), past the 2 s tolerance.
    drop(old);
    let fixed = Arc::new(function("whsec_new").await);
    let invoke_api = inlet_e2e::lambda_api::invoke_api(vec![("webhook-receiver", fixed)]).await;
    let mut env = aws.to_vec();
    env.push(("AWS_ENDPOINT_URL_LAMBDA", &invoke_api));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replay = [
        "rejected",
        "replay",
        &newest,
        "--table",
        "rejected",
        "--function",
        "webhook-receiver",
    ];
    let replayed = inlet(&replay, &env).await;
    let said = String::from_utf8_lossy(&replayed.stdout).into_owned();
    assert!(replayed.status.success(), "{replayed:?}");
    assert!(said.starts_with("published "), "{said}");
    let again = inlet(&replay, &env).await;
    let said = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(said.starts_with("duplicate "), "{again:?}");

    let stored = inlet_e2e::read_stream(&kinesis, "rejected-hooks").await;
    assert_eq!(stored.len(), 1, "published once");
    let event: Value = serde_json::from_slice(&stored[0].data).unwrap();
    assert_eq!(event["id"], "evt_3", "{event}");

    let unknown = inlet(
        &[
            "rejected",
            "replay",
            "1-1",
            "--source",
            "stripe",
            "--table",
            "rejected",
            "--function",
            "webhook-receiver",
        ],
        &env,
    )
    .await;
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no rejected webhook"),
        "{unknown:?}"
    );
}
