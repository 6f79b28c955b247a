//! Providers whose own Python library signs, end to end through the
//! receiver: Stripe (`stripe.WebhookSignature.generate_signature_header`),
//! Slack (`slack_sdk` `SignatureVerifier.generate_signature`), Twilio
//! (`twilio` `RequestValidator`, a form body and a JSON body), HubSpot v3
//! (`hubspot-api-client` `Signature.get_signature`), Clerk through Svix
//! (`svix`), Standard Webhooks (`standardwebhooks`) and GitLab's signing
//! tokens (GitLab follows Standard Webhooks; its own code is Ruby, so the
//! specification's library signs), run in `tests/signers/signer.py`. Inlet
//! never signs here.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_test_kit::signers::{headers, python};
use inlet_test_kit::{self as kit, Answer, NOW, ScriptedSink};
use serde_json::{Value, json};
use webhook_receiver::{WebhookReceiver, router};

const CONFIG: &str = r#"
[topics.hooks]
stream = "inlet-hooks"

[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE"]
topic = "hooks"

[sources.slack]
scheme = "slack"
secrets = ["env:SLACK"]
topic = "hooks"

[sources.twilio]
scheme = "twilio"
secrets = ["env:TWILIO"]
public_url = "https://hooks.example.com"
topic = "hooks"

[sources.hubspot]
scheme = "hubspot"
secrets = ["env:HUBSPOT"]
public_url = "https://hooks.example.com"
topic = "hooks"

[sources.clerk]
scheme = "clerk"
secrets = ["env:WHSEC"]
topic = "hooks"

[sources.standard]
scheme = "standard-webhooks"
secrets = ["env:WHSEC"]
topic = "hooks"

[sources.gitlab]
scheme = "gitlab"
secrets = ["env:WHSEC"]
topic = "hooks"
"#;

const ENV: [(&str, &str); 5] = [
    ("STRIPE", "whsec_stripe_endpoint_secret"),
    ("SLACK", "8f742231b10e8888abcd99yyyzzz85a5"),
    ("TWILIO", "twilio-auth-token"),
    ("HUBSPOT", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"),
    ("WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
];

fn receiver() -> (axum::Router, std::sync::Arc<ScriptedSink>) {
    let sink = ScriptedSink::new(&["hooks"]);
    let publisher = sink.deduplicating_publisher();
    let config = kit::config(CONFIG, &ENV);
    (router(WebhookReceiver::new(config, publisher)), sink)
}

async fn post(
    router: &axum::Router,
    path_and_query: &str,
    content_type: &str,
    headers: &[(String, String)],
    body: &str,
) -> Answer {
    let mut request = Request::post(path_and_query).header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    kit::send(router, request.body(Body::from(body.to_owned())).unwrap()).await
}

/// A JSON-bodied provider: signed by its library (`with`), accepted with
/// the expected ids, and refused once the body changes.
struct JsonCase {
    source: &'static str,
    with: &'static str,
    secret: &'static str,
    body: &'static str,
    event: &'static str,
    delivery: &'static str,
}

const JSON_CASES: [JsonCase; 5] = [
    JsonCase {
        source: "stripe",
        with: "stripe",
        secret: "whsec_stripe_endpoint_secret",
        body: r#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"payment_intent.succeeded"}"#,
        event: "payment_intent.succeeded",
        delivery: "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    },
    JsonCase {
        source: "slack",
        with: "slack",
        secret: "8f742231b10e8888abcd99yyyzzz85a5",
        body: r#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention"}}"#,
        event: "event_callback",
        delivery: "Ev08MFMKH6",
    },
    JsonCase {
        source: "hubspot",
        with: "hubspot",
        secret: "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        body: r#"[{"eventId":1735433452,"subscriptionType":"contact.creation","objectId":123}]"#,
        event: "contact.creation",
        delivery: "1735433452",
    },
    JsonCase {
        source: "clerk",
        with: "svix",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        body: r#"{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"}}"#,
        event: "user.created",
        delivery: "msg_python_1",
    },
    JsonCase {
        source: "standard",
        with: "standardwebhooks",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        body: r#"{"type":"invoice.paid","data":{"id":"in_1"}}"#,
        event: "invoice.paid",
        delivery: "msg_python_1",
    },
];

fn signed(case: &JsonCase, body: &str) -> Vec<(String, String)> {
    headers(&python(&json!({
        "with": case.with, "secret": case.secret, "timestamp": NOW, "body": body,
        "id": "msg_python_1",
        "url": format!("https://hooks.example.com/webhooks/{}", case.source),
    })))
}

#[tokio::test]
async fn bodies_signed_by_the_providers_python_libraries_are_published_and_tampering_is_refused() {
    let (router, sink) = receiver();
    for case in &JSON_CASES {
        let path = format!("/webhooks/{}", case.source);
        let headers = signed(case, case.body);
        let answer = post(&router, &path, "application/json", &headers, case.body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}: {}",
            case.source,
            answer.body
        );
        let stored = sink.stored("hooks");
        let record = stored.last().unwrap();
        assert_eq!(record["data"]["id"], case.event, "{}", case.source);
        assert_eq!(record["id"], case.delivery, "{}", case.source);
        let tampered = format!("{} ", case.body);
        let answer = post(&router, &path, "application/json", &headers, &tampered).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", case.source);
        assert_eq!(
            answer.json()["error"]["reason"],
            "no_match",
            "{}",
            case.source
        );
    }
}

#[tokio::test]
async fn twilio_form_and_json_bodies_signed_by_twilios_library_are_published() {
    let (router, sink) = receiver();
    let url = "https://hooks.example.com/webhooks/twilio";
    let form = json!({"AccountSid": "AC123", "Body": "Hello, world", "From": "+15551234567"});
    let answer =
        python(&json!({"with": "twilio", "secret": "twilio-auth-token", "url": url, "form": form}));
    let body = "AccountSid=AC123&Body=Hello%2C+world&From=%2B15551234567";
    let reply = post(
        &router,
        "/webhooks/twilio",
        "application/x-www-form-urlencoded",
        &headers(&answer),
        body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stored = sink.stored("hooks");
    let value: Value = serde_json::from_str(stored[0]["data"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(value["Body"], "Hello, world");

    let json_body = r#"{"event":"call.completed","sid":"CA1"}"#;
    let answer = python(
        &json!({"with": "twilio", "secret": "twilio-auth-token", "url": url, "body": json_body}),
    );
    let path = answer["url"]
        .as_str()
        .unwrap()
        .replace("https://hooks.example.com", "");
    let reply = post(
        &router,
        &path,
        "application/json",
        &headers(&answer),
        json_body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = post(&router, &path, "application/json", &headers(&answer), "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"]["reason"], "body_hash_mismatch");
}

#[tokio::test]
async fn a_gitlab_source_with_signing_tokens_verifies_the_signature_and_refuses_the_bare_token() {
    let (router, sink) = receiver();
    let body = r#"{"object_kind":"push","ref":"refs/heads/main"}"#;
    let mut signed = headers(&python(&json!({
        "with": "standardwebhooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "id": "a1b2c3d4-idempotency", "timestamp": NOW, "body": body,
    })));
    signed.push(("X-Gitlab-Event".into(), "Push Hook".into()));
    signed.push(("Idempotency-Key".into(), "a1b2c3d4-idempotency".into()));
    let answer = post(
        &router,
        "/webhooks/gitlab",
        "application/json",
        &signed,
        body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let stored = sink.stored("hooks");
    assert_eq!(stored[0]["data"]["id"], "Push Hook");
    assert_eq!(stored[0]["id"], "a1b2c3d4-idempotency");
    // The secret token mode is weaker: with signing tokens configured, a
    // request carrying only X-Gitlab-Token is refused.
    let token = [
        (
            "X-Gitlab-Token".to_owned(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ),
        ("X-Gitlab-Event".to_owned(), "Push Hook".to_owned()),
    ];
    let answer = post(
        &router,
        "/webhooks/gitlab",
        "application/json",
        &token,
        body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"]["reason"], "missing_header");
}
