//! The catalogue's providers end to end through the receiver (and the
//! shared-token senders, whose token is only compared). Each case is
//! the provider's scheme as its documentation writes it (header, prefix,
//! hash, encoding, what is signed), signed by Node's crypto in
//! `tests/signers/signer.mjs`, not by Inlet; the catalogue's own data is
//! never read here, so a slip in it fails the case.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_shared::signature::{SCHEME_NAMES, Scheme, TOKEN_PROVIDERS, catalogue};
use inlet_test_kit::signers::node;
use inlet_test_kit::{self as kit, NOW, ScriptedSink};
use serde_json::json;
use webhook_receiver::{WebhookReceiver, router};

const SECRET: &str = "provider-signing-secret";

/// One provider as documented.
struct Case {
    scheme: &'static str,
    header: &'static str,
    algorithm: &'static str,
    encoding: &'static str,
    prefix: &'static str,
    /// The signed message from the timestamp and body.
    message: fn(u64, &str) -> String,
    timestamp_header: Option<&'static str>,
    body: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// The event id the record must carry, and the delivery id it is
    /// published under (the CloudEvent id), if the provider sends one.
    event: &'static str,
    delivery: Option<&'static str>,
}

fn just_body(_: u64, body: &str) -> String {
    body.to_owned()
}

const CASES: &[Case] = &[
    Case {
        scheme: "intercom",
        header: "X-Hub-Signature",
        algorithm: "sha1",
        encoding: "hex",
        prefix: "sha1=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"type":"notification_event","topic":"user.created","id":"notif_ccd8a4d0","created_at":1392731331,"data":{"item":{"type":"user"}}}"#,
        headers: &[],
        event: "user.created",
        delivery: Some("notif_ccd8a4d0"),
    },
    Case {
        scheme: "jira",
        header: "X-Hub-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "sha256=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue":{"key":"INL-1"}}"#,
        headers: &[("X-Atlassian-Webhook-Identifier", "7c0f4a9e-jira")],
        event: "jira:issue_created",
        delivery: Some("7c0f4a9e-jira"),
    },
    Case {
        scheme: "bitbucket",
        header: "X-Hub-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "sha256=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"repository":{"full_name":"team/inlet"},"push":{"changes":[]}}"#,
        headers: &[
            ("X-Event-Key", "repo:push"),
            ("X-Request-UUID", "b6e0a8f2-bb"),
        ],
        event: "repo:push",
        delivery: Some("b6e0a8f2-bb"),
    },
    Case {
        scheme: "razorpay",
        header: "X-Razorpay-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: r#"{"entity":"event","event":"payment.authorized","contains":["payment"],"created_at":1700000000}"#,
        headers: &[("X-Razorpay-Event-Id", "NbUdKcGiFPgS3R")],
        event: "payment.authorized",
        delivery: Some("NbUdKcGiFPgS3R"),
    },
    Case {
        scheme: "xero",
        header: "x-xero-signature",
        algorithm: "sha256",
        encoding: "base64",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        // Xero's intent-to-receive request, which must be answered 200.
        body: r#"{"events": [], "lastEventSequence": 0, "firstEventSequence": 0, "entropy": "S0m3r4Nd0mt3xt"}"#,
        headers: &[],
        event: "xero",
        delivery: None,
    },
    Case {
        scheme: "vercel",
        header: "x-vercel-signature",
        algorithm: "sha1",
        encoding: "hex",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: r#"{"id":"uHm3nYvkDYyN8ep2","type":"deployment.created","createdAt":1700000000000,"payload":{}}"#,
        headers: &[],
        event: "deployment.created",
        delivery: Some("uHm3nYvkDYyN8ep2"),
    },
    Case {
        scheme: "sentry",
        header: "Sentry-Hook-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: r#"{"action":"created","data":{"issue":{"id":"1"}},"installation":{"uuid":"a"}}"#,
        headers: &[
            ("Sentry-Hook-Resource", "issue"),
            ("Request-ID", "e0b4c1b3-sentry"),
        ],
        event: "issue",
        delivery: Some("e0b4c1b3-sentry"),
    },
    Case {
        scheme: "meta",
        header: "X-Hub-Signature-256",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "sha256=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages"}]}]}"#,
        headers: &[],
        event: "whatsapp_business_account",
        delivery: None,
    },
    Case {
        scheme: "typeform",
        header: "Typeform-Signature",
        algorithm: "sha256",
        encoding: "base64",
        prefix: "sha256=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"event_id":"01HF3K","event_type":"form_response","form_response":{"form_id":"lT4Z3j"}}"#,
        headers: &[],
        event: "form_response",
        delivery: Some("01HF3K"),
    },
    Case {
        scheme: "linear",
        header: "Linear-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: r#"{"action":"create","type":"Issue","data":{"id":"i1"},"webhookTimestamp":1700000000000}"#,
        headers: &[("Linear-Delivery", "234d1a4e-linear")],
        event: "Issue",
        delivery: Some("234d1a4e-linear"),
    },
    Case {
        scheme: "notion",
        header: "X-Notion-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "sha256=",
        message: just_body,
        timestamp_header: None,
        body: r#"{"id":"367cba44-notion","type":"page.content_updated","entity":{"type":"page"}}"#,
        headers: &[],
        event: "page.content_updated",
        delivery: Some("367cba44-notion"),
    },
    Case {
        scheme: "zoom",
        header: "x-zm-signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "v0=",
        message: |ts, body| format!("v0:{ts}:{body}"),
        timestamp_header: Some("x-zm-request-timestamp"),
        body: r#"{"event":"meeting.started","event_ts":1700000000000,"payload":{"object":{"id":"1"}}}"#,
        headers: &[],
        event: "meeting.started",
        delivery: None,
    },
    Case {
        scheme: "docusign",
        header: "X-DocuSign-Signature-1",
        algorithm: "sha256",
        encoding: "base64",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: "{\"event\":\"envelope-completed\",\"generatedDateTime\":\"2026-12-07T10:00:00Z\",\"data\":{\"envelopeId\":\"e1\"}}\r\n",
        headers: &[],
        event: "envelope-completed",
        delivery: None,
    },
    Case {
        scheme: "lemon-squeezy",
        header: "X-Signature",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "",
        message: just_body,
        timestamp_header: None,
        body: r#"{"meta":{"event_name":"order_created"},"data":{"id":"1"}}"#,
        headers: &[("X-Event-Name", "order_created")],
        event: "order_created",
        delivery: None,
    },
];

fn receiver() -> (axum::Router, Arc<ScriptedSink>) {
    let mut config = String::from("[topics.hooks]\nstream = \"inlet-hooks\"\n");
    for case in CASES {
        config.push_str(&format!(
            "[sources.{0}]\nscheme = \"{0}\"\nsecrets = [\"env:SECRET\"]\ntopic = \"hooks\"\n",
            case.scheme
        ));
    }
    let sink = ScriptedSink::new(&["hooks"]);
    let publisher = sink.deduplicating_publisher();
    let config = kit::config(&config, &[("SECRET", SECRET)]);
    (router(WebhookReceiver::new(config, publisher)), sink)
}

fn request(case: &Case, body: &str, secret: &str) -> Request<Body> {
    let signature = node(&json!({
        "with": "hmac", "algorithm": case.algorithm, "encoding": case.encoding,
        "secret": secret, "message": (case.message)(NOW, case.body),
    }));
    let mut request = Request::post(format!("/webhooks/{}", case.scheme))
        .header("content-type", "application/json")
        .header(
            case.header,
            format!(
                "{}{}",
                case.prefix,
                signature["signature"].as_str().unwrap()
            ),
        );
    if let Some(name) = case.timestamp_header {
        request = request.header(name, NOW.to_string());
    }
    for (name, value) in case.headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn every_catalogue_provider_signed_as_documented_is_published_with_its_event_and_delivery_ids()
 {
    let (router, sink) = receiver();
    for case in CASES {
        let answer = kit::send(&router, request(case, case.body, SECRET)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}: {}",
            case.scheme,
            answer.body
        );
        let stored = sink.stored("hooks");
        let record = stored.last().unwrap();
        assert_eq!(record["source"], format!("/webhooks/{}", case.scheme));
        assert_eq!(
            record["data"]["id"], case.event,
            "{}: event id",
            case.scheme
        );
        if let Some(delivery) = case.delivery {
            assert_eq!(record["id"], delivery, "{}: delivery id", case.scheme);
            let again = kit::send(&router, request(case, case.body, SECRET)).await;
            assert_eq!(
                again.json()["duplicate"],
                true,
                "{}: redelivery",
                case.scheme
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_body_or_another_secret_is_refused_for_every_provider() {
    let (router, sink) = receiver();
    for case in CASES {
        let tampered = format!("{} ", case.body);
        let answer = kit::send(&router, request(case, &tampered, SECRET)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", case.scheme);
        assert_eq!(
            answer.json()["error"]["reason"],
            "no_match",
            "{}",
            case.scheme
        );
        let answer = kit::send(&router, request(case, case.body, "another-secret")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", case.scheme);
        let unsigned = Request::post(format!("/webhooks/{}", case.scheme))
            .body(Body::from(case.body))
            .unwrap();
        let answer = kit::send(&router, unsigned).await;
        assert_eq!(
            answer.json()["error"]["reason"],
            "missing_header",
            "{}",
            case.scheme
        );
    }
    assert!(sink.stored("hooks").is_empty());
}

/// The providers tested in `providers_shaped.rs` (their cases name them).
const SHAPED_TESTS: &str = include_str!("providers_shaped.rs");

#[test]
fn every_catalogue_provider_is_a_scheme_name_and_tested_here() {
    for provider in &catalogue::PROVIDERS {
        assert!(
            SCHEME_NAMES.split(", ").any(|n| n == provider.name),
            "{} missing from SCHEME_NAMES",
            provider.name
        );
        let scheme = Scheme::named(provider.name, Some("https://hooks.example.com"));
        assert_eq!(scheme.unwrap().unwrap().name(), provider.name);
        let shaped = format!("provider: \"{}\",", provider.name);
        assert!(
            CASES.iter().any(|c| c.scheme == provider.name) || SHAPED_TESTS.contains(&shaped),
            "{} untested",
            provider.name
        );
    }
    for provider in &TOKEN_PROVIDERS {
        assert!(SCHEME_NAMES.split(", ").any(|n| n == provider.name));
        assert_eq!(
            Scheme::from_name(provider.name).unwrap().name(),
            provider.name
        );
        assert!(
            TOKEN_CASES.iter().any(|c| c.scheme == provider.name),
            "{} untested",
            provider.name
        );
    }
    for name in SCHEME_NAMES
        .split(", ")
        .filter(|n| !["twilio", "square", "hubspot", "hmac"].contains(n))
    {
        assert!(
            Scheme::from_name(name).is_some(),
            "{name} is listed but unknown"
        );
    }
}

/// A shared-token sender: `header: value` carries the token.
struct TokenCase {
    scheme: &'static str,
    secret: &'static str,
    header: &'static str,
    value: &'static str,
    /// A token that is not the secret.
    wrong: &'static str,
    body: &'static str,
    headers: &'static [(&'static str, &'static str)],
    event: &'static str,
    delivery: Option<&'static str>,
}

const TOKEN_CASES: &[TokenCase] = &[
    TokenCase {
        scheme: "gitlab",
        secret: "gitlab-secret-token",
        header: "X-Gitlab-Token",
        value: "gitlab-secret-token",
        wrong: "gitlab-secret-tokem",
        body: r#"{"object_kind":"push","ref":"refs/heads/main"}"#,
        headers: &[
            ("X-Gitlab-Event", "Push Hook"),
            ("Idempotency-Key", "908a6d9e-45fd"),
        ],
        event: "Push Hook",
        delivery: Some("908a6d9e-45fd"),
    },
    TokenCase {
        scheme: "okta",
        secret: "okta-shared-secret",
        header: "Authorization",
        value: "okta-shared-secret",
        wrong: "okta-shared-secreT",
        body: r#"{"eventType":"com.okta.event_hook","eventId":"b5a188b9-okta","data":{"events":[]}}"#,
        headers: &[],
        event: "com.okta.event_hook",
        delivery: Some("b5a188b9-okta"),
    },
    TokenCase {
        scheme: "postmark",
        secret: "inlet:s3cret-pass",
        header: "Authorization",
        // base64 of inlet:s3cret-pass, as a client sends the URL's credentials.
        value: "Basic aW5sZXQ6czNjcmV0LXBhc3M=",
        wrong: "Basic aW5sZXQ6d3JvbmctcGFzcw==",
        body: r#"{"RecordType":"Delivery","MessageID":"883953f4","Recipient":"a@example.com"}"#,
        headers: &[],
        event: "Delivery",
        delivery: None,
    },
];

fn token_receiver() -> (axum::Router, Arc<ScriptedSink>) {
    let mut config = String::from("[topics.hooks]\nstream = \"inlet-hooks\"\n");
    let mut env = Vec::new();
    for (i, case) in TOKEN_CASES.iter().enumerate() {
        config.push_str(&format!(
            "[sources.{0}]\nscheme = \"{0}\"\nsecrets = [\"env:T{i}\"]\ntopic = \"hooks\"\n",
            case.scheme
        ));
        env.push((format!("T{i}"), case.secret));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let sink = ScriptedSink::new(&["hooks"]);
    let config = kit::config(&config, &env);
    (
        router(WebhookReceiver::new(config, sink.deduplicating_publisher())),
        sink,
    )
}

fn token_request(case: &TokenCase, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post(format!("/webhooks/{}", case.scheme))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header(case.header, token);
    }
    for (name, value) in case.headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(case.body)).unwrap()
}

#[tokio::test]
async fn shared_token_senders_are_accepted_with_their_token_and_refused_without_it() {
    let (router, sink) = token_receiver();
    for case in TOKEN_CASES {
        let answer = kit::send(&router, token_request(case, Some(case.value))).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}: {}",
            case.scheme,
            answer.body
        );
        let stored = sink.stored("hooks");
        let record = stored.last().unwrap();
        assert_eq!(record["data"]["id"], case.event, "{}", case.scheme);
        if let Some(delivery) = case.delivery {
            assert_eq!(record["id"], delivery, "{}", case.scheme);
        }
        let answer = kit::send(&router, token_request(case, Some(case.wrong))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", case.scheme);
        assert_eq!(
            answer.json()["error"]["reason"],
            "bad_token",
            "{}",
            case.scheme
        );
        assert!(
            !answer.body.contains(case.secret),
            "the token is never echoed"
        );
        let answer = kit::send(&router, token_request(case, None)).await;
        assert_eq!(
            answer.json()["error"]["reason"],
            "missing_header",
            "{}",
            case.scheme
        );
    }
    assert_eq!(sink.stored("hooks").len(), TOKEN_CASES.len());
}
