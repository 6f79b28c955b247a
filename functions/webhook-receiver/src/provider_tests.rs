//! Router tests per provider: each scheme end to end through the receiver,
//! replay windows, redelivered ids, Slack's handshake and form bodies.

use std::sync::Arc;

use axum::http::{Request, StatusCode};
use inlet_embedded::EmbeddedDedupe;
use inlet_shared::signature::SignWith;
use inlet_test_kit::{self as kit, NOW, Script, ScriptedSink, TestClock};
use serde_json::Value;
use tower::ServiceExt;

use super::*;

const CONFIG: &str = r#"
[topics.hooks]
stream = "inlet-hooks"

[sources.segment]
scheme = "segment"
secrets = ["env:S"]
topic = "hooks"

[sources.github]
scheme = "github"
secrets = ["env:S"]
topic = "hooks"

[sources.stripe]
scheme = "stripe"
secrets = ["env:S"]
topic = "hooks"

[sources.slack]
scheme = "slack"
secrets = ["env:S"]
topic = "hooks"

[sources.shopify]
scheme = "shopify"
secrets = ["env:S"]
topic = "hooks"

[sources.svix]
scheme = "standard-webhooks"
secrets = ["env:WHSEC"]
topic = "hooks"

[sources.twilio]
scheme = "twilio"
secrets = ["env:S"]
topic = "hooks"
public_url = "https://hooks.example.com"

[sources.acme]
scheme = "hmac"
secrets = ["env:S"]
topic = "hooks"
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "sha512="
timestamp_header = "X-Acme-Timestamp"
event_id = "/kind"
delivery_id = "/uid"
tolerance = "1m"
"#;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const ENV: [(&str, &str); 2] = [("S", "provider-secret"), ("WHSEC", WHSEC)];

struct Harness {
    router: Router,
    clock: TestClock,
    sink: Arc<ScriptedSink>,
}

fn harness() -> Harness {
    let sink = ScriptedSink::new(&["hooks"]);
    let clock = TestClock::default();
    let dedupe = EmbeddedDedupe::open(sink.dir(), kit::at(NOW)).unwrap();
    let publisher = sink
        .publisher()
        .with_clock(clock.clock())
        .with_dedupe(Arc::new(dedupe));
    Harness {
        router: router(WebhookReceiver::new(kit::config(CONFIG, &ENV), publisher)),
        clock,
        sink,
    }
}

impl Harness {
    /// A request signed by `source`'s scheme at time `signed_at`.
    fn signed(
        &self,
        source: &str,
        body: &str,
        signed_at: u64,
        extra: &[(&str, &str)],
    ) -> Request<Body> {
        let path = format!("/webhooks/{source}?via=test");
        self.signed_to(&path, source, body, signed_at, extra)
    }

    /// A request to `path` signed by `source`'s scheme at time `signed_at`.
    fn signed_to(
        &self,
        path: &str,
        source: &str,
        body: &str,
        signed_at: u64,
        extra: &[(&str, &str)],
    ) -> Request<Body> {
        let config = kit::config(CONFIG, &ENV);
        let src = &config.sources[source];
        let headers = src.scheme.sign(&SignWith {
            secret: &src.secrets[0],
            body: body.as_bytes(),
            now: kit::at(signed_at),
            path_and_query: path,
            id: "msg_fixed_1",
        });
        let content_type = if body.starts_with('{') {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let mut request = Request::post(path).header("content-type", content_type);
        for (name, value) in headers.iter() {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request.body(Body::from(body.to_owned())).unwrap()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let answer = kit::send(&self.router, request).await;
        (answer.status, answer.json())
    }

    fn stored(&self) -> Vec<Value> {
        self.sink.stored("hooks")
    }
}

#[tokio::test]
async fn each_provider_is_verified_and_published_with_its_ids() {
    let h = harness();
    // (source, body, extra headers, expected event id, expected delivery id)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "segment",
            r#"{"type":"track","messageId":"seg-1"}"#,
            vec![],
            "track",
            "seg-1",
        ),
        (
            "github",
            r#"{"action":"opened"}"#,
            vec![
                ("x-github-event", "pull_request"),
                ("x-github-delivery", "72d3162e-cc78"),
            ],
            "pull_request",
            "72d3162e-cc78",
        ),
        (
            "stripe",
            r#"{"id":"evt_1","type":"invoice.paid"}"#,
            vec![],
            "invoice.paid",
            "evt_1",
        ),
        (
            "slack",
            r#"{"type":"event_callback","event_id":"Ev1"}"#,
            vec![],
            "event_callback",
            "Ev1",
        ),
        (
            "shopify",
            r#"{"id":7}"#,
            vec![
                ("x-shopify-topic", "orders/create"),
                ("x-shopify-webhook-id", "b54557e4"),
            ],
            "orders/create",
            "b54557e4",
        ),
        (
            "svix",
            r#"{"type":"user.created"}"#,
            vec![],
            "user.created",
            "msg_fixed_1",
        ),
        (
            "twilio",
            "MessageSid=SM1&MessageStatus=delivered",
            vec![("i-twilio-idempotency-token", "tw-1")],
            "twilio",
            "tw-1",
        ),
        (
            "acme",
            r#"{"kind":"ping","uid":"a-1"}"#,
            vec![],
            "ping",
            "a-1",
        ),
    ];
    for (source, body, extra, event_id, delivery_id) in &cases {
        let (status, answer) = h.send(h.signed(source, body, NOW, extra)).await;
        assert_eq!(status, StatusCode::OK, "{source}: {answer}");
        assert_eq!(answer["id"], *delivery_id, "{source}");
        let stored = h.stored();
        let event = stored.last().unwrap();
        assert_eq!(
            event["id"], *delivery_id,
            "{source}: CloudEvent id is the delivery id"
        );
        assert_eq!(event["data"]["id"], *event_id, "{source}");
        assert_eq!(event["source"], format!("/webhooks/{source}"));
    }
    // A form body's value is its fields as JSON.
    let twilio = &h.stored()[6];
    let value: Value = serde_json::from_str(twilio["data"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(value["MessageStatus"], "delivered");
    assert_eq!(h.stored().len(), cases.len());
}

#[tokio::test]
async fn signed_timestamps_outside_the_tolerance_are_401_both_ways() {
    let h = harness();
    let body = r#"{"id":"evt_2","type":"invoice.paid"}"#;
    // Default tolerance: 5 minutes.
    for (signed_at, expected) in [
        (NOW - 300, StatusCode::OK),
        (NOW + 300, StatusCode::OK),
        (NOW - 301, StatusCode::UNAUTHORIZED),
        (NOW + 301, StatusCode::UNAUTHORIZED),
    ] {
        let body = body.replace("evt_2", &format!("evt_{signed_at}"));
        let (status, answer) = h.send(h.signed("stripe", &body, signed_at, &[])).await;
        assert_eq!(
            status,
            expected,
            "stripe signed at now{:+}: {answer}",
            signed_at as i64 - NOW as i64
        );
        if expected == StatusCode::UNAUTHORIZED {
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("tolerance")
            );
        }
    }
    // A source's own tolerance: 1 minute.
    let acme = r#"{"kind":"ping","uid":"a-2"}"#;
    let (status, _) = h.send(h.signed("acme", acme, NOW - 61, &[])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = h.send(h.signed("acme", acme, NOW - 60, &[])).await;
    assert_eq!(status, StatusCode::OK);
    // Slack and Standard Webhooks too.
    let (status, _) = h
        .send(h.signed("slack", r#"{"type":"x","event_id":"E9"}"#, NOW - 600, &[]))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = h
        .send(h.signed("svix", r#"{"type":"x"}"#, NOW + 600, &[]))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.stored().len(), 3);
}

#[tokio::test]
async fn a_redelivered_id_is_acknowledged_but_published_once() {
    let h = harness();
    let extra = [("x-github-event", "push"), ("x-github-delivery", "d-1")];
    let (first, a) = h
        .send(h.signed("github", r#"{"ref":"main"}"#, NOW, &extra))
        .await;
    h.clock.set(NOW + 3600);
    let (second, b) = h
        .send(h.signed("github", r#"{"ref":"main"}"#, NOW + 3600, &extra))
        .await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a["id"], "d-1");
    assert_eq!(b["id"], "d-1");
    assert_eq!(b["duplicate"], true);
    assert!(b.get("sequenceNumber").is_none());
    assert_eq!(h.stored().len(), 1);

    // After the 24 h window the id is new again.
    h.clock.set(NOW + 25 * 3600);
    let (third, c) = h
        .send(h.signed("github", r#"{"ref":"main"}"#, NOW + 25 * 3600, &extra))
        .await;
    assert_eq!(third, StatusCode::OK);
    assert!(c.get("duplicate").is_none());
    assert_eq!(h.stored().len(), 2);

    // The same delivery id at another source is another delivery.
    let segment = r#"{"type":"track","messageId":"d-1"}"#;
    let (status, d) = h.send(h.signed("segment", segment, NOW, &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(d.get("duplicate").is_none());
}

#[tokio::test]
async fn a_failed_publish_does_not_block_the_providers_retry() {
    let h = harness();
    let body = r#"{"id":"evt_retry","type":"invoice.paid"}"#;
    h.sink.script(Script::FailAll);
    let (status, _) = h.send(h.signed("stripe", body, NOW, &[])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    h.sink.script(Script::Pass);
    let (status, answer) = h.send(h.signed("stripe", body, NOW, &[])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.get("duplicate").is_none());
    assert_eq!(h.stored().len(), 1);
}

#[tokio::test]
async fn concurrent_deliveries_of_one_id_publish_once() {
    let h = harness();
    h.sink.hold();
    let body = r#"{"id":"evt_race","type":"invoice.paid"}"#;
    let first = tokio::spawn(h.router.clone().oneshot(h.signed("stripe", body, NOW, &[])));
    // Let the first request claim the id and block in the sink.
    h.sink.until_held(1).await;
    let (status, _) = h.send(h.signed("stripe", body, NOW, &[])).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the second waits for the first"
    );
    h.sink.release();
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
    let (status, answer) = h.send(h.signed("stripe", body, NOW, &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["duplicate"], true);
    assert_eq!(h.stored().len(), 1);
}

#[tokio::test]
async fn slack_url_verification_is_answered_and_not_published() {
    let h = harness();
    let body = r#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (status, answer) = h.send(h.signed("slack", body, NOW, &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert!(h.stored().is_empty());
    // Unsigned, the handshake is refused like anything else.
    let unsigned = Request::post("/webhooks/slack")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(h.send(unsigned).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn twilio_signs_the_public_url_so_another_path_fails() {
    let h = harness();
    let mut request = h.signed("twilio", "MessageSid=SM2", NOW, &[]);
    *request.uri_mut() = "/webhooks/twilio?via=other".parse().unwrap();
    let (status, _) = h.send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h.stored().is_empty());
}

#[tokio::test]
async fn twilio_json_bodies_are_bound_by_the_signed_body_hash() {
    let h = harness();
    // Twilio's documented JSON body and its SHA-256.
    let body = r#"{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}"#;
    let path = "/webhooks/twilio?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9";
    let (status, answer) = h.send(h.signed_to(path, "twilio", body, NOW, &[])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored = h.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["data"]["value"], body);

    let tampered = body.replace("+1234", "+9999");
    let mut request = h.signed_to(path, "twilio", body, NOW, &[]);
    *request.body_mut() = Body::from(tampered);
    let (status, answer) = h.send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(answer.to_string().contains("bodySHA256"), "{answer}");
    assert_eq!(h.stored().len(), 1);
}
