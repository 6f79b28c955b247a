//! Standard Webhooks and the senders built on Svix, end to end through the
//! receiver, with requests signed by the senders' own libraries (npm `svix`,
//! `standardwebhooks`) and, for `v1a`, an Ed25519 key pair made by Node's
//! crypto: Clerk's `svix-*` headers, OpenAI's and Replicate's `webhook-*`,
//! public keys, rotation, and every refusal naming its reason.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_test_kit::signers::{headers, node};
use inlet_test_kit::{self as kit, Answer, NOW, ScriptedSink};
use serde_json::{Value, json};
use webhook_receiver::{WebhookReceiver, router};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY: &str = r#"{"type":"user.created","status":"succeeded","data":{"id":"user_1"}}"#;

struct Harness {
    router: axum::Router,
    sink: Arc<ScriptedSink>,
}

/// A receiver with sources `clerk`, `resend`, `svix`, `openai`,
/// `replicate` and `standard` on `WHSEC`, and `keyed` on `keys` (or
/// `WHSEC`).
fn harness(keys: &[&str]) -> Harness {
    let mut config = String::from("[topics.hooks]\nstream = \"inlet-hooks\"\n");
    for (name, scheme) in [
        ("clerk", "clerk"),
        ("resend", "resend"),
        ("svix", "svix"),
        ("openai", "openai"),
        ("replicate", "replicate"),
        ("standard", "standard-webhooks"),
    ] {
        config.push_str(&format!(
            "[sources.{name}]\nscheme = \"{scheme}\"\nsecrets = [\"env:WHSEC\"]\ntopic = \"hooks\"\n"
        ));
    }
    let mut env = vec![("WHSEC".to_owned(), WHSEC.to_owned())];
    let keys = if keys.is_empty() { &[WHSEC][..] } else { keys };
    let names: Vec<String> = (0..keys.len()).map(|i| format!("\"env:KEY{i}\"")).collect();
    config.push_str(&format!(
        "[sources.keyed]\nscheme = \"standard-webhooks\"\nsecrets = [{}]\ntopic = \"hooks\"\n",
        names.join(", ")
    ));
    for (i, key) in keys.iter().enumerate() {
        env.push((format!("KEY{i}"), (*key).to_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sink = ScriptedSink::new(&["hooks"]);
    let publisher = sink.deduplicating_publisher();
    Harness {
        router: router(WebhookReceiver::new(kit::config(&config, &env), publisher)),
        sink,
    }
}

impl Harness {
    async fn post(&self, source: &str, signed: &[(String, String)], body: &str) -> Answer {
        let mut request =
            Request::post(format!("/webhooks/{source}")).header("content-type", "application/json");
        for (name, value) in signed {
            request = request.header(name.as_str(), value.as_str());
        }
        kit::send(
            &self.router,
            request.body(Body::from(body.to_owned())).unwrap(),
        )
        .await
    }

    fn stored(&self) -> Vec<Value> {
        self.sink.stored("hooks")
    }
}

/// `library`'s headers for `body` as message `id`, signed at `timestamp`.
fn signed_by(library: &str, id: &str, timestamp: u64, body: &str) -> Vec<(String, String)> {
    headers(&node(&json!({
        "with": library, "secret": WHSEC, "id": id, "timestamp": timestamp, "body": body,
    })))
}

#[tokio::test]
async fn svix_signed_requests_pass_as_clerk_resend_svix_and_standard_webhooks_and_publish_once() {
    let h = harness(&[]);
    for (i, source) in ["clerk", "resend", "svix", "standard"]
        .into_iter()
        .enumerate()
    {
        let id = format!("msg_svix_{i}");
        let signed = signed_by("svix", &id, NOW, BODY);
        assert!(signed.iter().any(|(name, _)| name == "svix-signature"));
        let first = h.post(source, &signed, BODY).await;
        assert_eq!(first.status, StatusCode::OK, "{source}: {}", first.body);
        assert_eq!(
            first.json()["id"],
            id,
            "{source}: the svix-id is the delivery id"
        );
        let again = h.post(source, &signed, BODY).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(
            again.json()["duplicate"],
            true,
            "{source}: a redelivery is not published again"
        );
    }
    let stored = h.stored();
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0]["source"], "/webhooks/clerk");
    assert_eq!(
        stored[0]["data"]["id"], "user.created",
        "Clerk's event type"
    );
}

#[tokio::test]
async fn standard_webhooks_signed_requests_pass_as_openai_and_replicate_with_their_event_ids() {
    let h = harness(&[]);
    let openai = signed_by("standardwebhooks", "msg_openai", NOW, BODY);
    let answer = h.post("openai", &openai, BODY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let replicate = signed_by("standardwebhooks", "msg_replicate", NOW, BODY);
    let answer = h.post("replicate", &replicate, BODY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let stored = h.stored();
    assert_eq!(stored[0]["id"], "msg_openai");
    assert_eq!(stored[0]["data"]["id"], "user.created");
    assert_eq!(stored[1]["id"], "msg_replicate");
    assert_eq!(
        stored[1]["data"]["id"], "succeeded",
        "Replicate's prediction status"
    );
}

#[tokio::test]
async fn a_v1a_ed25519_signature_verifies_with_its_whpk_public_key_only() {
    let pair = node(&json!({
        "with": "ed25519-standard", "id": "msg_ed", "timestamp": NOW, "body": BODY,
    }));
    let other = node(&json!({
        "with": "ed25519-standard", "id": "msg_ed", "timestamp": NOW, "body": BODY,
    }));
    let key = pair["key"].as_str().unwrap();
    // A whsec_ secret and a public key side by side, as during a move.
    let h = harness(&[WHSEC, key]);
    let answer = h.post("keyed", &headers(&pair), BODY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let by_hmac = signed_by("standardwebhooks", "msg_hmac", NOW, BODY);
    assert_eq!(h.post("keyed", &by_hmac, BODY).await.status, StatusCode::OK);

    let tampered = h
        .post("keyed", &headers(&pair), &BODY.replace("user_1", "user_2"))
        .await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);
    assert!(
        tampered.body.contains("does not match"),
        "{}",
        tampered.body
    );
    let wrong_key = h.post("keyed", &headers(&other), BODY).await;
    assert_eq!(
        wrong_key.status,
        StatusCode::UNAUTHORIZED,
        "another key pair's signature"
    );
    let only_hmac = harness(&[WHSEC]);
    let answer = only_hmac.post("keyed", &headers(&pair), BODY).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "no public key configured"
    );
    assert_eq!(h.stored().len(), 2);
}

#[tokio::test]
async fn refusals_name_the_missing_header_or_the_skew() {
    let h = harness(&[]);
    let signed = signed_by("svix", "msg_x", NOW, BODY);
    let without_id: Vec<_> = signed
        .iter()
        .filter(|(n, _)| n != "svix-id")
        .cloned()
        .collect();
    let answer = h.post("clerk", &without_id, BODY).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer.body.contains("missing webhook-id or svix-id header"),
        "{}",
        answer.body
    );
    let without_signature: Vec<_> = signed
        .iter()
        .filter(|(n, _)| n != "svix-signature")
        .cloned()
        .collect();
    let answer = h.post("clerk", &without_signature, BODY).await;
    assert!(
        answer.body.contains("missing svix-signature header"),
        "{}",
        answer.body
    );
    let stale = signed_by("svix", "msg_old", NOW - 301, BODY);
    let answer = h.post("clerk", &stale, BODY).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body.contains("301 s from now"), "{}", answer.body);
    let future = signed_by("svix", "msg_new", NOW + 301, BODY);
    assert_eq!(
        h.post("clerk", &future, BODY).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(h.stored().is_empty());
}
