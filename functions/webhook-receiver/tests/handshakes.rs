//! The handshakes providers send before they save a URL, each the exact
//! request the provider documents, checked for the exact answer, and never
//! published: Meta's subscription GET, Okta's verification GET, Zoom's
//! `endpoint.url_validation` (whose encryptedToken Node's crypto computes
//! here, and which is answered only once its own signature verifies).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use inlet_test_kit::signers::node;
use inlet_test_kit::{self as kit, NOW, ScriptedSink};
use serde_json::{Value, json};
use webhook_receiver::{WebhookReceiver, router};

const CONFIG: &str = r#"
[topics.hooks]
stream = "inlet-hooks"

[sources.meta]
scheme = "meta"
secrets = ["env:APP_SECRET"]
verify_token = "env:VERIFY_TOKEN"
topic = "hooks"

[sources.okta]
scheme = "okta"
secrets = ["env:OKTA_SECRET"]
topic = "hooks"

[sources.zoom]
scheme = "zoom"
secrets = ["env:ZOOM_OLD", "env:ZOOM_SECRET"]
topic = "hooks"

[sources.segment]
scheme = "segment"
secrets = ["env:APP_SECRET"]
topic = "hooks"
"#;

const ENV: [(&str, &str); 5] = [
    ("APP_SECRET", "meta-app-secret"),
    ("VERIFY_TOKEN", "meatyhamhock"),
    ("OKTA_SECRET", "okta-shared-secret"),
    ("ZOOM_OLD", "zoom-old-secret"),
    ("ZOOM_SECRET", "zoom-secret-token"),
];

fn receiver() -> (axum::Router, std::sync::Arc<ScriptedSink>) {
    let sink = ScriptedSink::new(&["hooks"]);
    let config = kit::config(CONFIG, &ENV);
    (router(WebhookReceiver::new(config, sink.publisher())), sink)
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path)
}

#[tokio::test]
async fn meta_subscription_get_is_answered_with_the_challenge_only_for_the_verify_token() {
    let (router, sink) = receiver();
    // Meta's documented request.
    let ok =
        "/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
    let answer = kit::send(&router, get(ok).body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "1158201444");
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let wrong = "/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=other";
    let answer = kit::send(&router, get(wrong).body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!answer.body.contains("1158201444"));
    let answer = kit::send(&router, get("/webhooks/meta").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(sink.stored("hooks").is_empty());
}

#[tokio::test]
async fn okta_verification_get_echoes_its_challenge_once_its_token_is_checked() {
    let (router, sink) = receiver();
    let challenge = "7c4e8f6b-okta-challenge";
    let request = |token: Option<&str>| {
        let mut request = get("/webhooks/okta").header("x-okta-verification-challenge", challenge);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        request.body(Body::empty()).unwrap()
    };
    let answer = kit::send(&router, request(Some("okta-shared-secret"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json(), json!({ "verification": challenge }));
    let answer = kit::send(&router, request(None)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(sink.stored("hooks").is_empty());
}

fn zoom_request(body: &str, secret: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/webhooks/zoom")
        .header("content-type", "application/json")
        .header("x-zm-request-timestamp", NOW.to_string());
    if let Some(secret) = secret {
        let signed = node(&json!({
            "with": "hmac", "algorithm": "sha256", "encoding": "hex", "secret": secret,
            "message": format!("v0:{NOW}:{body}"),
        }));
        request = request.header(
            "x-zm-signature",
            format!("v0={}", signed["signature"].as_str().unwrap()),
        );
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn zoom_url_validation_is_answered_with_the_token_hmac_and_is_no_signing_oracle() {
    let (router, sink) = receiver();
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let answer = kit::send(&router, zoom_request(body, Some("zoom-secret-token"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let expected = node(&json!({
        "with": "hmac", "algorithm": "sha256", "encoding": "hex",
        "secret": "zoom-secret-token", "message": "qgg8vlvZRS6UYooatFL8Aw",
    }));
    assert_eq!(
        answer.json(),
        json!({ "plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected["signature"] }),
        "the HMAC under the secret that verified the request"
    );
    // A forged validation (unsigned, or signed with another key) gets no
    // HMAC of a chosen value.
    for secret in [None, Some("not-the-secret")] {
        let answer = kit::send(&router, zoom_request(body, secret)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(!answer.body.contains("encryptedToken"));
    }
    assert!(
        sink.stored("hooks").is_empty(),
        "a handshake is never published"
    );
}

#[tokio::test]
async fn a_get_on_a_source_without_a_handshake_is_405() {
    let (router, _) = receiver();
    let answer = kit::send(
        &router,
        get("/webhooks/segment").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let _: Value = answer.json();
}
