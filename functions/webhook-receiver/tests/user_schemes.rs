//! Schemes a user writes in TOML from the building blocks, for providers
//! not in the catalogue, end to end through the receiver; each request is
//! signed by Node's crypto (`tests/signers/signer.mjs`) as the imagined
//! provider documents it: a `t=…,v1=…` sender with a millisecond timestamp,
//! Ed25519, ECDSA P-256 and RSA public keys in PEM, and a list of
//! signatures over the method, the URL and a header.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_test_kit::signers::node;
use inlet_test_kit::{self as kit, Answer, NOW, ScriptedSink};
use serde_json::json;
use webhook_receiver::{WebhookReceiver, router};

const CONFIG: &str = r#"
[topics.hooks]
stream = "inlet-hooks"

[sources.acme]
scheme = "hmac"
secrets = ["env:ACME_SECRET"]
topic = "hooks"
header = "Acme-Signature"
signature_field = "v1"
timestamp = "field:t"
timestamp_format = "milliseconds"
signed_content = "{timestamp}.{body}"
delivery_id = "/id"

[sources.listed]
scheme = "hmac"
secrets = ["env:ACME_SECRET"]
topic = "hooks"
public_url = "https://hooks.example.com"
header = "X-Signatures"
signature_separator = " "
prefix = "v1="
encoding = "base64url"
signed_content = "{method}\n{url}\n{header:x-request-id}\n{body}"

[sources.ed25519]
scheme = "hmac"
secrets = ["env:ED25519_PEM"]
topic = "hooks"
header = "X-Signature"
algorithm = "ed25519"
encoding = "base64"
secret_encoding = "pem"
timestamp_header = "X-Timestamp"

[sources.ecdsa]
scheme = "hmac"
secrets = ["env:ECDSA_PEM"]
topic = "hooks"
header = "X-Signature"
algorithm = "ecdsa-p256-sha256"
encoding = "base64"
secret_encoding = "pem"
timestamp_header = "X-Timestamp"

[sources.rsa]
scheme = "hmac"
secrets = ["env:RSA_PEM"]
topic = "hooks"
header = "X-Signature"
algorithm = "rsa-sha256"
encoding = "base64"
secret_encoding = "pem"
timestamp_header = "X-Timestamp"
"#;

const SECRET: &str = "acme-signing-secret";
const BODY: &str = r#"{"type":"thing.happened","id":"evt_42"}"#;

fn hmac(encoding: &str, message: &str) -> String {
    let answer = node(&json!({
        "with": "hmac", "algorithm": "sha256", "encoding": encoding, "secret": SECRET, "message": message,
    }));
    answer["signature"].as_str().unwrap().to_owned()
}

/// Key pairs made by Node: (PEM public key, signature of `{NOW}.{BODY}`).
fn key_pairs() -> Vec<(&'static str, String, String)> {
    ["ed25519", "ec", "rsa"]
        .into_iter()
        .zip(["ed25519", "ecdsa", "rsa"])
        .map(|(kind, source)| {
            let answer = node(&json!({
                "with": "keypair", "type": kind, "message": format!("{NOW}.{BODY}"),
            }));
            (
                source,
                answer["pem"].as_str().unwrap().to_owned(),
                answer["signature"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn receiver(
    pems: &[(&'static str, String, String)],
) -> (axum::Router, std::sync::Arc<ScriptedSink>) {
    let mut env = vec![("ACME_SECRET", SECRET.to_owned())];
    for (source, pem, _) in pems {
        let name = match *source {
            "ed25519" => "ED25519_PEM",
            "ecdsa" => "ECDSA_PEM",
            _ => "RSA_PEM",
        };
        env.push((name, pem.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sink = ScriptedSink::new(&["hooks"]);
    let publisher = sink.deduplicating_publisher();
    (
        router(WebhookReceiver::new(kit::config(CONFIG, &env), publisher)),
        sink,
    )
}

async fn post(
    router: &axum::Router,
    source: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Answer {
    let mut request =
        Request::post(format!("/webhooks/{source}")).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    kit::send(router, request.body(Body::from(body.to_owned())).unwrap()).await
}

fn acme_header(ms: u64, body: &str) -> Vec<(&'static str, String)> {
    vec![(
        "Acme-Signature",
        format!("t={ms},v1={}", hmac("hex", &format!("{ms}.{body}"))),
    )]
}

#[tokio::test]
async fn a_user_defined_t_v1_sender_with_milliseconds_is_verified_and_each_block_refuses_with_its_reason()
 {
    let (router, sink) = receiver(&key_pairs());
    let ms = NOW * 1000;
    let answer = post(&router, "acme", &acme_header(ms, BODY), BODY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(sink.stored("hooks")[0]["id"], "evt_42");

    let cases = [
        (
            "tampered",
            acme_header(ms, BODY),
            format!("{BODY} "),
            "no_match",
        ),
        (
            "stale",
            acme_header(ms - 301_000, BODY),
            BODY.to_owned(),
            "too_old",
        ),
        (
            "future",
            acme_header(ms + 301_000, BODY),
            BODY.to_owned(),
            "too_new",
        ),
        (
            "no v1 field",
            vec![("Acme-Signature", format!("t={ms}"))],
            BODY.to_owned(),
            "malformed",
        ),
        ("no header", Vec::new(), BODY.to_owned(), "missing_header"),
        (
            "another secret",
            vec![("Acme-Signature", format!("t={ms},v1={}", "00".repeat(32)))],
            BODY.to_owned(),
            "no_match",
        ),
    ];
    for (case, headers, body, reason) in cases {
        let answer = post(&router, "acme", &headers, &body).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {}",
            answer.body
        );
        assert_eq!(
            answer.json()["error"]["reason"],
            reason,
            "{case}: {}",
            answer.body
        );
    }
    assert_eq!(sink.stored("hooks").len(), 1);
}

#[tokio::test]
async fn a_list_of_signatures_over_method_url_and_a_header_is_verified() {
    let (router, sink) = receiver(&key_pairs());
    let message = format!("POST\nhttps://hooks.example.com/webhooks/listed\nreq-7\n{BODY}");
    let signatures = format!("v1=bm90LWl0 v1={}", hmac("base64url", &message));
    let headers = vec![
        ("X-Signatures", signatures),
        ("X-Request-Id", "req-7".to_owned()),
    ];
    let answer = post(&router, "listed", &headers, BODY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let other_id = vec![headers[0].clone(), ("X-Request-Id", "req-8".to_owned())];
    let answer = post(&router, "listed", &other_id, BODY).await;
    assert_eq!(answer.json()["error"]["reason"], "no_match");
    assert_eq!(sink.stored("hooks").len(), 1);
}

#[tokio::test]
async fn ed25519_ecdsa_and_rsa_public_keys_in_pem_verify_what_node_signed() {
    let pairs = key_pairs();
    let (router, sink) = receiver(&pairs);
    for (source, _, signature) in &pairs {
        let headers = vec![
            ("X-Signature", signature.clone()),
            ("X-Timestamp", NOW.to_string()),
        ];
        let answer = post(&router, source, &headers, BODY).await;
        assert_eq!(answer.status, StatusCode::OK, "{source}: {}", answer.body);
        let answer = post(&router, source, &headers, &format!("{BODY} ")).await;
        assert_eq!(answer.json()["error"]["reason"], "no_match", "{source}");
    }
    assert_eq!(sink.stored("hooks").len(), 3);
}
