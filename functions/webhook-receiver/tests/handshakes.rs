//! The handshakes providers send before they save a URL, each the exact
//! request the provider documents, checked for the exact answer, and never
//! published: Meta's subscription GET, Okta's verification GET, Zoom's
//! `endpoint.url_validation` (whose encryptedToken Node's crypto computes
//! here, and which is answered only once its own signature verifies),
//! Twitch's `webhook_callback_verification`, Discord's PING, X's CRC GET
//! (restricted so it cannot sign a body) and Notion's verification token
//! (kept for the operator, never published).

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

[sources.twitch]
scheme = "twitch"
secrets = ["env:TWITCH_SECRET"]
topic = "hooks"

[sources.twitter]
scheme = "twitter"
secrets = ["env:CONSUMER_SECRET"]
topic = "hooks"

[sources.notion]
scheme = "notion"
topic = "hooks"
"#;

const ENV: [(&str, &str); 7] = [
    ("APP_SECRET", "meta-app-secret"),
    ("VERIFY_TOKEN", "meatyhamhock"),
    ("OKTA_SECRET", "okta-shared-secret"),
    ("ZOOM_OLD", "zoom-old-secret"),
    ("ZOOM_SECRET", "zoom-secret-token"),
    ("TWITCH_SECRET", "twitch-subscription-secret"),
    ("CONSUMER_SECRET", "x-consumer-secret"),
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

#[tokio::test]
async fn twitch_callback_verification_is_answered_with_the_raw_challenge_once_verified() {
    let (router, sink) = receiver();
    // dev.twitch.tv, "Responding to a challenge request": the body's shape.
    let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}"#;
    let send = |secret: &str| {
        let signed = node(&json!({
            "with": "provider", "provider": "twitch", "secret": secret,
            "timestamp": NOW, "body": body, "id": "e76c6bd4-55c9-4987-8304-da1588d8988b",
        }));
        let mut request =
            Request::post("/webhooks/twitch").header("content-type", "application/json");
        for (name, value) in inlet_test_kit::signers::headers(&signed) {
            let value = if name.eq_ignore_ascii_case("twitch-eventsub-message-type") {
                "webhook_callback_verification".to_owned()
            } else {
                value
            };
            request = request.header(name, value);
        }
        request.body(Body::from(body)).unwrap()
    };
    let answer = kit::send(&router, send("twitch-subscription-secret")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "pogchamp-kappa-360noscope-vohiyo");
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let answer = kit::send(&router, send("not-the-secret")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(!answer.body.contains("pogchamp"));
    assert!(
        sink.stored("hooks").is_empty(),
        "a handshake is never published"
    );
}

#[tokio::test]
async fn discord_ping_is_answered_204_with_no_body_once_verified() {
    // The PING of discord.com/developers/docs/events/webhook-events.
    let ping = r#"{"version":1,"application_id":"1234567765431","type":0}"#;
    let signed = node(&json!({
        "with": "provider", "provider": "discord", "timestamp": NOW, "body": ping,
    }));
    let config = "[topics.hooks]\nstream = \"s\"\n[sources.discord]\nscheme = \"discord\"\nsecrets = [\"env:DISCORD_PUBLIC_KEY\"]\ntopic = \"hooks\"\n";
    let key = signed["key"].as_str().unwrap();
    let sink = ScriptedSink::new(&["hooks"]);
    let config = kit::config(config, &[("DISCORD_PUBLIC_KEY", key)]);
    let router = router(WebhookReceiver::new(config, sink.publisher()));
    let request = |headers: Vec<(String, String)>| {
        let mut request =
            Request::post("/webhooks/discord").header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.body(Body::from(ping)).unwrap()
    };
    let answer = kit::send(&router, request(inlet_test_kit::signers::headers(&signed))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    assert!(answer.body.is_empty());
    let answer = kit::send(&router, request(Vec::new())).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "an unsigned PING is refused"
    );
    assert!(sink.stored("hooks").is_empty());
}

#[tokio::test]
async fn x_crc_get_is_answered_with_the_token_hmac_and_refuses_tokens_that_could_sign_a_body() {
    let (router, sink) = receiver();
    let token = "challenge_token_c2hhMjU2PU5vdEFCb2R5";
    let answer = kit::send(
        &router,
        get(&format!("/webhooks/twitter?crc_token={token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let expected = node(&json!({
        "with": "hmac", "algorithm": "sha256", "encoding": "base64",
        "secret": "x-consumer-secret", "message": token,
    }));
    assert_eq!(
        answer.json(),
        json!({ "response_token": format!("sha256={}", expected["signature"].as_str().unwrap()) })
    );
    // X does not sign the CRC GET: a token that is a body (JSON, or text
    // outside the base64 alphabets, or too long) gets no HMAC.
    let long = "A".repeat(257);
    for forged in [
        "%7B%22a%22%3A1%7D",
        "true",
        "12345",
        "a%20b",
        long.as_str(),
        "",
    ] {
        let answer = kit::send(
            &router,
            get(&format!("/webhooks/twitter?crc_token={forged}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{forged}: {}",
            answer.body
        );
        assert!(!answer.body.contains("sha256="), "{forged}");
    }
    assert!(sink.stored("hooks").is_empty());
}

#[tokio::test]
async fn notions_verification_token_is_kept_for_the_operator_once_and_never_published() {
    let sink = ScriptedSink::new(&["hooks"]);
    let arrivals = inlet_shared::signature::Arrivals::default();
    let receiver = WebhookReceiver::new(kit::config(CONFIG, &ENV), sink.publisher())
        .with_arrivals(arrivals.clone());
    let router = router(receiver);
    // developers.notion.com/reference/webhooks: the first, unsigned request.
    let token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    let body = format!(r#"{{"verification_token":"{token}"}}"#);
    let request = Request::post("/webhooks/notion")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let answer = kit::send(&router, request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(!answer.body.contains(token), "the answer does not echo it");
    assert_eq!(arrivals.take("notion").unwrap().value, token);
    assert!(arrivals.take("notion").is_none(), "shown once");
    // Until the operator puts it in `secrets`, a signed event verifies nothing.
    let event = r#"{"id":"e1","type":"page.created"}"#;
    let signed = node(&json!({
        "with": "hmac", "algorithm": "sha256", "encoding": "hex", "secret": token, "message": event,
    }));
    let request = Request::post("/webhooks/notion")
        .header("content-type", "application/json")
        .header(
            "x-notion-signature",
            format!("sha256={}", signed["signature"].as_str().unwrap()),
        )
        .body(Body::from(event))
        .unwrap();
    let answer = kit::send(&router, request).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(sink.stored("hooks").is_empty());
}
