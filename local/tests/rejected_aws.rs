//! Rejected webhooks in AWS: the receiver's real Lambda binary, driven
//! through the Runtime API with API Gateway (payload 2.0) events, keeps what
//! it refuses in DynamoDB (dynalite) through the SDK; `inlet rejected
//! list|show --table` read the table. The secret is then rotated in Secrets
//! Manager (moto): the same running function takes the next request signed
//! with it, and `replay --table --function` invokes it through the Lambda
//! Invoke API, which verifies the kept request again with the new secret,
//! as at its receipt, and publishes it into Kinesis (kinesalite) once. The function's metrics, CloudWatch EMF
//! documents on its stdout, are valid by the EMF specification's rules
//! (`tests/fixtures/emf-schema.json`, checked by Python's jsonschema) and
//! count what it did.

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
secrets = ["secret:inlet/stripe"]
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
    let moto = inlet_e2e::start_moto();
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "rejected-hooks", 1).await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_dedupe_table(&dynamodb, "dedupe").await;
    inlet_e2e::create_table(&dynamodb, "rejected", &["pk", "sk"]).await;
    let secrets = inlet_e2e::secrets_client(&moto.endpoint);
    secrets
        .create_secret()
        .name("inlet/stripe")
        .secret_string("whsec_old")
        .send()
        .await
        .unwrap();
    let aws = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_KINESIS", &emulators.kinesis_endpoint),
        ("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint),
    ];
    let mut env = aws.to_vec();
    env.extend([
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.as_str()),
        ("INLET_CONFIG", CONFIG),
        ("INLET_SECRET_TTL", "1s"),
        ("INLET_REJECTED_TABLE", "rejected"),
    ]);
    let function = Arc::new(LambdaHost::start(&receiver_binary(), "webhook-receiver", &env).await);

    // The provider signs with a new secret the deployment does not have yet.
    for n in 1..=3 {
        let body = format!(r#"{{"id":"evt_{n}","type":"invoice.paid"}}"#);
        let answer = function
            .invoke(webhook("/webhooks/stripe", "whsec_new", &body))
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], 401, "{answer}");
    }
    // A replay cannot come through API Gateway: only a direct invocation.
    let through_api = function
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
    // One source's, through the table's query rather than a scan.
    let stripe = inlet(
        &[
            "rejected", "list", "--source", "stripe", "--table", "rejected", "--json",
        ],
        &aws,
    )
    .await;
    let stripe = String::from_utf8(stripe.stdout).unwrap();
    assert_eq!(stripe.lines().count(), 2, "{stripe}");
    assert!(
        stripe.lines().next().unwrap().contains(&newest),
        "newest first: {stripe}"
    );
    let shown = inlet(&["rejected", "show", &newest, "--table", "rejected"], &aws).await;
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["body"], r#"{"id":"evt_3","type":"invoice.paid"}"#);
    assert!(
        shown["headers"].to_string().contains("stripe-signature"),
        "{shown}"
    );

    // The secret rotated in Secrets Manager, past the 2 s tolerance: the
    // running function takes the next request signed with it.
    secrets
        .put_secret_value()
        .secret_id("inlet/stripe")
        .secret_string("whsec_new")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let next = function
        .invoke(webhook(
            "/webhooks/stripe",
            "whsec_new",
            r#"{"id":"evt_4","type":"invoice.paid"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(next["statusCode"], 200, "{next}");
    let invoke_api =
        inlet_e2e::lambda_api::invoke_api(vec![("webhook-receiver", function.clone())]).await;
    let mut env = aws.to_vec();
    env.push(("AWS_ENDPOINT_URL_LAMBDA", &invoke_api));
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

    let stored: Vec<Value> = inlet_e2e::read_stream(&kinesis, "rejected-hooks")
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.data).unwrap())
        .collect();
    let ids: Vec<&str> = stored.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["evt_4", "evt_3"],
        "the next request, then the replay, once"
    );

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

/// The EMF documents among a function's stdout lines.
fn emf_documents(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect()
}

/// Checks `documents` against the EMF schema with Python's jsonschema (in
/// the repository's `.venv`): the errors, one per line.
fn schema_errors(documents: &[Value]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let script = r#"
import json, sys
from jsonschema import Draft7Validator
schema = json.load(open(sys.argv[1]))
Draft7Validator.check_schema(schema)
validator = Draft7Validator(schema)
for doc in json.load(sys.stdin):
    for error in validator.iter_errors(doc):
        print(error.message)
"#;
    let mut child = std::process::Command::new(format!("{root}/.venv/bin/python"))
        .args([
            "-c",
            script,
            &format!("{root}/tests/fixtures/emf-schema.json"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the .venv has jsonschema (tests/run.sh installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(documents).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The sum of `metric` over the documents whose dimensions have `labels`.
fn emf_sum(documents: &[Value], metric: &str, labels: &[(&str, &str)]) -> f64 {
    documents
        .iter()
        .filter(|d| labels.iter().all(|(k, v)| d[*k] == *v))
        .filter_map(|d| d[metric].as_f64())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_functions_metrics_are_emf_documents_the_specification_accepts() {
    let emulators = inlet_e2e::start_emulators().await;
    let kinesis = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&kinesis, "rejected-hooks", 1).await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_dedupe_table(&dynamodb, "dedupe").await;
    let config = CONFIG.replace("secret:inlet/stripe", "env:STRIPE_SECRET");
    let env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_KINESIS", &emulators.kinesis_endpoint),
        ("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint),
        ("INLET_CONFIG", &config),
        ("STRIPE_SECRET", "whsec_right"),
    ];
    let function = LambdaHost::start(&receiver_binary(), "inlet-WebhookReceiver-1", &env).await;
    for (n, secret) in [(1, "whsec_right"), (2, "whsec_right"), (3, "whsec_wrong")] {
        let body = format!(r#"{{"id":"evt_{n}","type":"invoice.paid"}}"#);
        let answer = function
            .invoke(webhook("/webhooks/stripe", secret, &body))
            .await
            .unwrap();
        let expected = if secret == "whsec_right" { 200 } else { 401 };
        assert_eq!(answer["statusCode"], expected, "{answer}");
    }
    // Flushed with each response; the lines are read as they come.
    let mut documents = Vec::new();
    for _ in 0..50 {
        documents = emf_documents(&function.stdout());
        if emf_sum(&documents, "inlet_webhook_requests_total", &[]) >= 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !documents.is_empty(),
        "no EMF on stdout: {:?}",
        function.stdout()
    );
    let errors = schema_errors(&documents);
    assert!(errors.is_empty(), "{errors}\n{documents:#?}");
    let function_name = [("function", "inlet-WebhookReceiver-1")];
    assert!(
        documents
            .iter()
            .all(|d| d["function"] == "inlet-WebhookReceiver-1")
    );
    assert!(
        documents
            .iter()
            .all(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Inlet")
    );
    let requests = "inlet_webhook_requests_total";
    let published = [("source", "stripe"), ("outcome", "published")];
    let rejected = [("source", "stripe"), ("outcome", "rejected")];
    assert_eq!(emf_sum(&documents, requests, &published), 2.0);
    assert_eq!(emf_sum(&documents, requests, &rejected), 1.0);
    assert_eq!(
        emf_sum(
            &documents,
            "inlet_webhook_rejections_total",
            &[("reason", "no_match")]
        ),
        1.0
    );
    assert_eq!(
        emf_sum(
            &documents,
            "inlet_records_published_total",
            &[("topic", "hooks")]
        ),
        2.0
    );
    assert!(emf_sum(&documents, requests, &function_name) == 3.0);
    // A dimension named in a directive is a member of its document.
    for doc in &documents {
        for set in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            .as_array()
            .unwrap()
        {
            for name in set.as_array().unwrap() {
                assert!(doc[name.as_str().unwrap()].is_string(), "{doc}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_keeps_a_sources_last_n_when_its_limit_shrinks() {
    use inlet_shared::rejected::{Rejected, RejectedTable, Rejections};
    let emulators = inlet_e2e::start_emulators().await;
    let dynamodb = inlet_e2e::dynamodb_client(&emulators.dynamodb_endpoint);
    inlet_e2e::create_table(&dynamodb, "rejected", &["pk", "sk"]).await;
    let table = RejectedTable::new(dynamodb, "rejected");
    let day = Duration::from_secs(86_400);
    let now = inlet_shared::time::unix_millis(std::time::SystemTime::now());
    let rejected = |n: u64| Rejected {
        id: String::new(),
        source: "gh".into(),
        received_millis: now + n,
        reason: "no_match".into(),
        message: format!("number {n}"),
        path_and_query: "/webhooks/gh".into(),
        headers: Vec::new(),
        body_base64: String::new(),
        body_cut: false,
        credential_removed: false,
    };
    for n in 1..=40 {
        table.keep(rejected(n), 30, day).await;
    }
    assert_eq!(table.list(Some("gh")).await.unwrap().len(), 30);
    // The limit lowered: the next one kept leaves the last 3 only.
    table.keep(rejected(41), 3, day).await;
    let kept = table.list(Some("gh")).await.unwrap();
    let messages: Vec<&str> = kept.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["number 41", "number 40", "number 39"]);
    // An expired one is not listed, though TTL has not deleted it yet.
    table.keep(rejected(42), 3, Duration::ZERO).await;
    assert_eq!(table.list(None).await.unwrap().len(), 2);
    let id = &kept[0].id;
    let whole = table.get("gh", id).await.unwrap().unwrap();
    assert_eq!(whole.message, "number 41");
    assert!(table.get("gh", "1-999").await.unwrap().is_none());
}
