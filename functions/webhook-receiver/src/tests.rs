//! Router tests: every answer of the receiver, against the real embedded log.
use std::sync::Arc;

use axum::http::{Request, StatusCode, header};
use inlet_shared::signature::{Scheme, Secret, SignWith};
use inlet_test_kit::{self as kit, ScriptedSink};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const SECRET: &str = "segment-secret";
const BODY: &str = r#"{"type":"track","event":"Signed Up","userId":"u1"}"#;
// printf '%s' "$BODY" | openssl dgst -sha1 -hmac 'segment-secret'
const BODY_SIG: &str = "a9c6aec7ec4d633ba7507256a95f2be26379befa";

const CONFIG: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:OLD_SECRET", "env:SEGMENT_SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"
max_body_bytes = 256

[sources.open]
scheme = "none"
topic = "webhooks"
event_id = "custom"
"#;

fn config() -> Arc<Config> {
    kit::config(
        CONFIG,
        &[
            ("SEGMENT_SECRET", SECRET),
            ("OLD_SECRET", "previous-secret"),
        ],
    )
}

struct Harness {
    sink: Arc<ScriptedSink>,
    router: Router,
}

fn harness() -> Harness {
    let sink = ScriptedSink::new(&["webhooks"]);
    let receiver = WebhookReceiver::new(config(), sink.publisher());
    Harness {
        router: router(receiver),
        sink,
    }
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let answer = kit::send(&self.router, request).await;
        let json = answer.json();
        (answer.status, answer.headers, json)
    }

    fn stored(&self) -> Vec<Value> {
        self.sink.stored("webhooks")
    }
}

fn post(path: &str, signature: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(path).header("content-type", "application/json");
    if let Some(sig) = signature {
        builder = builder.header("x-signature", sig);
    }
    builder.body(body.into()).unwrap()
}

fn signed(body: &str) -> String {
    Scheme::Segment.sign(&SignWith::new(&Secret::new(SECRET), body.as_bytes()))[0]
        .1
        .clone()
}

#[tokio::test]
async fn publishes_a_signed_segment_webhook_as_a_quix_event() {
    let h = harness();
    let (status, _, json) = h
        .send(post("/webhooks/segment", Some(BODY_SIG), BODY))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["topic"], "webhooks");
    assert_eq!(json["sequenceNumber"], "00000000000000000000");
    assert_eq!(json["shardId"], "shardId-000000000000");

    let stored = h.stored();
    assert_eq!(stored.len(), 1);
    let event = &stored[0];
    assert_eq!(event["id"], json["id"]);
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["source"], "/webhooks/segment");
    assert_eq!(event["type"], "io.quix.events");
    assert_eq!(event["subject"], "segment");
    assert_eq!(event["topic"], "webhooks");
    assert_eq!(event["time"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(
        event["data"],
        json!({"id": "track", "timestamp": 1_700_000_000_000_000_000_i64, "value": BODY})
    );
}

#[tokio::test]
async fn accepts_the_previous_secret_during_rotation() {
    let h = harness();
    let sig = Scheme::Segment.sign(&SignWith::new(
        &Secret::new("previous-secret"),
        BODY.as_bytes(),
    ))[0]
        .1
        .clone();
    let (status, _, _) = h.send(post("/webhooks/segment", Some(&sig), BODY)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rejects_missing_or_wrong_signature_with_401_and_stores_nothing() {
    let h = harness();
    for signature in [
        None,
        Some("0000"),
        Some("not hex at all"),
        Some(&signed("other body")),
    ] {
        let (status, _, json) = h.send(post("/webhooks/segment", signature, BODY)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature:?}");
        assert_eq!(json["error"]["code"], "unauthorized");
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("signature")
        );
    }
    assert!(h.stored().is_empty());
}

#[tokio::test]
async fn rejects_malformed_json_with_400() {
    let h = harness();
    let body = "{not json";
    let (status, _, json) = h
        .send(post("/webhooks/segment", Some(&signed(body)), body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["code"], "bad_request");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(h.stored().is_empty());
}

#[tokio::test]
async fn any_valid_json_is_published_as_sent_with_the_last_of_duplicate_keys() {
    let h = harness();
    let body = r#"{"type":"first","n":1e400,"type":"track","s":"a\u0000b"}"#;
    let (status, _, json) = h
        .send(post("/webhooks/segment", Some(&signed(body)), body))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let stored = h.stored();
    assert_eq!(stored[0]["data"]["id"], "track");
    assert_eq!(stored[0]["data"]["value"], body);
}

#[tokio::test]
async fn rejects_a_body_without_the_event_id_field_with_400() {
    let h = harness();
    for body in [
        r#"{"event":"Signed Up"}"#,
        r#"{"type":null}"#,
        r#"{"type":{}}"#,
        "[]",
    ] {
        let (status, _, json) = h
            .send(post("/webhooks/segment", Some(&signed(body)), body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(json["error"]["message"].as_str().unwrap().contains("/type"));
    }
    assert!(h.stored().is_empty());
}

#[tokio::test]
async fn unknown_source_or_route_is_404() {
    let h = harness();
    let (status, _, json) = h.send(post("/webhooks/nope", Some(BODY_SIG), BODY)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json["error"]["message"].as_str().unwrap().contains("nope"));
    let (status, _, json) = h.send(post("/elsewhere", None, BODY)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");
}

#[tokio::test]
async fn other_methods_are_405_with_allow_header() {
    let h = harness();
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/webhooks/segment")
            .body(Body::empty())
            .unwrap();
        let (status, headers, json) = h.send(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(json["error"]["code"], "method_not_allowed");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_with_or_without_content_length() {
    let h = harness();
    let big = format!(r#"{{"type":"track","pad":"{}"}}"#, "x".repeat(300));
    let sig = signed(&big);
    let (status, _, json) = h
        .send(post("/webhooks/segment", Some(&sig), big.clone()))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"]["code"], "payload_too_large");

    // A streamed body carries no Content-Length: the limit holds while reading.
    let chunks = big
        .into_bytes()
        .chunks(64)
        .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let (status, _, _) = h.send(post("/webhooks/segment", Some(&sig), stream)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(h.stored().is_empty());
}

#[tokio::test]
async fn unsigned_source_is_accepted_only_as_configured() {
    let h = harness();
    let (status, _, json) = h.send(post("/webhooks/open", None, r#"{"a":1}"#)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(h.stored()[0]["data"]["id"], "custom");
}

#[tokio::test]
async fn a_stream_that_cannot_take_the_record_is_503_with_retry_after() {
    let sink = ScriptedSink::failing(&["webhooks"]);
    let router = router(WebhookReceiver::new(config(), sink.publisher()));
    let response = router
        .oneshot(post("/webhooks/segment", Some(BODY_SIG), BODY))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["error"]["code"], "unavailable");
    assert!(
        !json.to_string().contains("Provisioned"),
        "internal detail leaked"
    );
}

#[test]
fn logs_never_contain_secrets_or_bodies() {
    // Other tests of this binary use the same secrets and bodies.
    let logs = kit::capture_logs(async {
        let h = harness();
        h.send(post("/webhooks/segment", Some(BODY_SIG), BODY))
            .await;
        h.send(post("/webhooks/segment", Some("00"), BODY)).await;
        h.send(post("/webhooks/segment", Some(&signed("{bad")), "{bad"))
            .await;
    });
    assert!(logs.contains("webhook published"), "{logs}");
    assert!(logs.contains("request rejected"), "{logs}");
    for secret in [SECRET, "previous-secret", "Signed Up", "userId", BODY_SIG] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn a_replaced_configuration_verifies_the_next_request_with_its_secrets() {
    let sink = ScriptedSink::new(&["webhooks"]);
    let handle = ConfigHandle::new(config());
    let router = router(WebhookReceiver::new(handle.clone(), sink.publisher()));
    let send = |signature: String| {
        let router = router.clone();
        async move {
            kit::send(&router, post("/webhooks/segment", Some(&signature), BODY))
                .await
                .status
        }
    };
    assert_eq!(send(BODY_SIG.to_owned()).await, StatusCode::OK);
    let rotated = kit::config(
        CONFIG,
        &[("SEGMENT_SECRET", "rotated"), ("OLD_SECRET", "older")],
    );
    handle.replace(rotated);
    assert_eq!(
        send(BODY_SIG.to_owned()).await,
        StatusCode::UNAUTHORIZED,
        "the replaced secret no longer verifies"
    );
    let by_rotated = Scheme::Segment.sign(&SignWith::new(&Secret::new("rotated"), BODY.as_bytes()))
        [0]
    .1
    .clone();
    assert_eq!(send(by_rotated).await, StatusCode::OK);
    assert_eq!(sink.stored("webhooks").len(), 2);
}
