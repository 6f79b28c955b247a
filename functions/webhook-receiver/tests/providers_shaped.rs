//! The catalogue's providers whose signature is more than an HMAC of the
//! body in one header (a timestamp inside a structured header, milliseconds
//! and RFC 3339 timestamps, the URL or method in the signed string, a list
//! of signatures, a signature inside the body, public keys), end to end
//! through the receiver. Every request is signed in
//! `tests/signers/providers.mjs`: by the provider's own library where it
//! signs (WorkOS, Adyen), else by Node's crypto written from the provider's
//! documentation, and where the provider ships a verifier (SendGrid,
//! Discord, Square, Telnyx) that verifier accepted it first. Inlet never
//! signs here.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use inlet_test_kit::signers::{headers, node};
use inlet_test_kit::{self as kit, Answer, NOW, ScriptedSink};
use serde_json::{Value, json};
use webhook_receiver::{WebhookReceiver, router};

const SECRET: &str = "provider-signing-secret";
/// Adyen's HMAC key is hex (its documentation's example key).
const ADYEN_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
const PUBLIC_URL: &str = "https://hooks.example.com";
/// The delivery id a signer puts in a header (Twitch, Zendesk).
const ID: &str = "msg-0001";

/// One provider and a delivery as it sends it.
pub struct Shaped {
    provider: &'static str,
    body: &'static str,
    secret: &'static str,
    event: &'static str,
    delivery: Option<&'static str>,
    timestamped: bool,
    /// The signature's header; `None` when it is inside the body.
    signature_header: Option<&'static str>,
    /// A change to a signed part of the body.
    tamper: fn(&str) -> String,
}

fn add_space(body: &str) -> String {
    format!("{body} ")
}

const ADYEN_BODY: &str = r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"7914073381342284","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","amount":{"value":1130,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true"}}]}"#;

const SHAPED: &[Shaped] = &[
    Shaped {
        provider: "coinbase-commerce",
        body: r#"{"id":1,"event":{"id":"24934862-d980-46cb","type":"charge:confirmed","data":{"code":"66BEOV2A"}}}"#,
        secret: SECRET,
        event: "charge:confirmed",
        delivery: Some("24934862-d980-46cb"),
        timestamped: false,
        signature_header: Some("X-CC-Webhook-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "twitter",
        body: r#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1"}]}"#,
        secret: SECRET,
        event: "twitter",
        delivery: None,
        timestamped: false,
        signature_header: Some("x-twitter-webhooks-signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "pagerduty",
        body: r#"{"event":{"id":"01DEN4HPBQAAAG05V5QQYBRZMF","event_type":"incident.triggered","resource_type":"incident"}}"#,
        secret: SECRET,
        event: "incident.triggered",
        delivery: Some("01DEN4HPBQAAAG05V5QQYBRZMF"),
        timestamped: false,
        signature_header: Some("X-PagerDuty-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "calendly",
        body: r#"{"event":"invitee.created","created_at":"2023-11-14T22:13:20.000000Z","payload":{"uri":"https://api.calendly.com/x"}}"#,
        secret: SECRET,
        event: "invitee.created",
        delivery: None,
        timestamped: true,
        signature_header: Some("Calendly-Webhook-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "workos",
        body: r#"{"id":"event_01HF3K","event":"user.created","data":{"id":"user_01"}}"#,
        secret: SECRET,
        event: "user.created",
        delivery: Some("event_01HF3K"),
        timestamped: true,
        signature_header: Some("WorkOS-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "paddle",
        body: r#"{"event_id":"evt_01h8","event_type":"transaction.completed","notification_id":"ntf_01h8","data":{}}"#,
        secret: "pdl_ntfset_01h8_secret",
        event: "transaction.completed",
        delivery: Some("evt_01h8"),
        timestamped: true,
        signature_header: Some("Paddle-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "webflow",
        body: r#"{"triggerType":"form_submission","payload":{"name":"Contact"}}"#,
        secret: SECRET,
        event: "form_submission",
        delivery: None,
        timestamped: true,
        signature_header: Some("x-webflow-signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "zendesk",
        body: r#"{"type":"zen:event-type:ticket.created","id":"cbe4028c","detail":{}}"#,
        secret: "dGhpc19zZWNyZXRfbG9va3NfYmFzZTY0",
        event: "zen:event-type:ticket.created",
        delivery: Some(ID),
        timestamped: true,
        signature_header: Some("X-Zendesk-Webhook-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "twitch",
        body: r#"{"subscription":{"type":"channel.follow"},"event":{"user_id":"1337"}}"#,
        secret: SECRET,
        event: "channel.follow",
        delivery: Some(ID),
        timestamped: true,
        signature_header: Some("Twitch-Eventsub-Message-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "square",
        body: r#"{"merchant_id":"MLEFBHHSJGVHD","type":"payment.updated","event_id":"ac3ac95b-f97d","data":{}}"#,
        secret: "Ibxx_5AKakO-3qeNVR61Dw",
        event: "payment.updated",
        delivery: Some("ac3ac95b-f97d"),
        timestamped: false,
        signature_header: Some("x-square-hmacsha256-signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "hubspot",
        body: r#"[{"eventId":1735433452,"subscriptionType":"contact.creation","objectId":123}]"#,
        secret: "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        event: "contact.creation",
        delivery: Some("1735433452"),
        timestamped: true,
        signature_header: Some("X-HubSpot-Signature-v3"),
        tamper: add_space,
    },
    Shaped {
        provider: "mailgun",
        body: r#"{"event-data":{"id":"CPgfbmQMTCKtHW6uIWtuVe","event":"delivered"}}"#,
        secret: "key-mailgun-http-webhook-signing",
        event: "delivered",
        delivery: Some("CPgfbmQMTCKtHW6uIWtuVe"),
        timestamped: true,
        signature_header: None,
        // Mailgun signs its timestamp and token, not the event.
        tamper: |body| body.replacen("\"token\":\"", "\"token\":\"0", 1),
    },
    Shaped {
        provider: "adyen",
        body: ADYEN_BODY,
        secret: ADYEN_KEY,
        event: "AUTHORISATION",
        delivery: None,
        timestamped: false,
        signature_header: None,
        tamper: |body| body.replace("7914073381342284", "7914073381342285"),
    },
    Shaped {
        provider: "sendgrid",
        body: r#"[{"email":"a@example.com","event":"delivered","sg_event_id":"sg-1","timestamp":1700000000}]"#,
        secret: "",
        event: "delivered",
        delivery: Some("sg-1"),
        timestamped: true,
        signature_header: Some("X-Twilio-Email-Event-Webhook-Signature"),
        tamper: add_space,
    },
    Shaped {
        provider: "telnyx",
        body: r#"{"data":{"event_type":"message.received","id":"0ccc7b54-4df3","payload":{}}}"#,
        secret: "",
        event: "message.received",
        delivery: Some("0ccc7b54-4df3"),
        timestamped: true,
        signature_header: Some("telnyx-signature-ed25519"),
        tamper: add_space,
    },
    Shaped {
        provider: "discord",
        body: r#"{"version":1,"application_id":"1234","type":1,"event":{"type":"APPLICATION_AUTHORIZED","data":{}}}"#,
        secret: "",
        event: "APPLICATION_AUTHORIZED",
        delivery: None,
        timestamped: true,
        signature_header: Some("X-Signature-Ed25519"),
        tamper: add_space,
    },
];

/// What a provider sends: headers, the body, and its public key if any.
struct Signed {
    headers: Vec<(String, String)>,
    body: String,
    key: Option<String>,
}

fn path(case: &Shaped) -> String {
    format!("/webhooks/{}", case.provider)
}

fn sign(case: &Shaped, secret: &str, timestamp: u64) -> Signed {
    let answer = node(&json!({
        "with": "provider", "provider": case.provider, "secret": secret,
        "timestamp": timestamp, "body": case.body, "id": ID,
        "url": format!("{PUBLIC_URL}{}", path(case)),
    }));
    assert_ne!(
        answer.get("agreed"),
        Some(&Value::Bool(false)),
        "{}: the provider's own verifier refused the signer's request",
        case.provider
    );
    Signed {
        headers: headers(&answer),
        body: answer["body"].as_str().unwrap_or(case.body).to_owned(),
        key: answer["key"].as_str().map(str::to_owned),
    }
}

/// A receiver with a source per case, keyed by `keys` (the case's secret,
/// or the public key its signer made).
fn receiver(keys: &[String]) -> (axum::Router, Arc<ScriptedSink>) {
    let mut config = String::from("[topics.hooks]\nstream = \"inlet-hooks\"\n");
    let mut env = Vec::new();
    for (i, case) in SHAPED.iter().enumerate() {
        config.push_str(&format!(
            "[sources.{0}]\nscheme = \"{0}\"\nsecrets = [\"env:KEY_{i}\"]\ntopic = \"hooks\"\n",
            case.provider
        ));
        if ["square", "hubspot"].contains(&case.provider) {
            config.push_str(&format!("public_url = \"{PUBLIC_URL}\"\n"));
        }
        env.push((format!("KEY_{i}"), keys[i].clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sink = ScriptedSink::new(&["hooks"]);
    let publisher = sink.deduplicating_publisher();
    (
        router(WebhookReceiver::new(kit::config(&config, &env), publisher)),
        sink,
    )
}

/// Signs every case once, and the receiver that holds their keys.
fn signed_and_receiver() -> (Vec<Signed>, axum::Router, Arc<ScriptedSink>) {
    let signed: Vec<Signed> = SHAPED.iter().map(|c| sign(c, c.secret, NOW)).collect();
    let keys: Vec<String> = SHAPED
        .iter()
        .zip(&signed)
        .map(|(case, s)| s.key.clone().unwrap_or_else(|| case.secret.to_owned()))
        .collect();
    let (router, sink) = receiver(&keys);
    (signed, router, sink)
}

async fn send(
    router: &axum::Router,
    case: &Shaped,
    headers: &[(String, String)],
    body: &str,
) -> Answer {
    let mut request = Request::post(path(case)).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    kit::send(router, request.body(Body::from(body.to_owned())).unwrap()).await
}

#[tokio::test]
async fn every_shaped_provider_signed_as_documented_is_published_with_its_ids() {
    let (signed, router, sink) = signed_and_receiver();
    for (case, signed) in SHAPED.iter().zip(&signed) {
        let answer = send(&router, case, &signed.headers, &signed.body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}: {}",
            case.provider,
            answer.body
        );
        let stored = sink.stored("hooks");
        let record = stored.last().unwrap();
        assert_eq!(record["source"], path(case));
        assert_eq!(
            record["data"]["id"], case.event,
            "{}: event id",
            case.provider
        );
        if let Some(delivery) = case.delivery {
            assert_eq!(record["id"], delivery, "{}: delivery id", case.provider);
            let again = send(&router, case, &signed.headers, &signed.body).await;
            assert_eq!(
                again.json()["duplicate"],
                true,
                "{}: redelivery",
                case.provider
            );
        }
    }
}

fn assert_refused(answer: &Answer, reason: &str, case: &Shaped, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{} {what}: {}",
        case.provider,
        answer.body
    );
    assert_eq!(
        answer.json()["error"]["reason"],
        reason,
        "{} {what}: {}",
        case.provider,
        answer.body
    );
}

#[tokio::test]
async fn a_tampered_body_another_key_a_stale_or_future_time_or_no_signature_is_refused() {
    let (signed, router, sink) = signed_and_receiver();
    for (case, good) in SHAPED.iter().zip(&signed) {
        let tampered = (case.tamper)(&good.body);
        assert_ne!(
            tampered, good.body,
            "{}: the tamper changes the body",
            case.provider
        );
        let answer = send(&router, case, &good.headers, &tampered).await;
        assert_refused(&answer, "no_match", case, "tampered");

        // (Not zero bytes: an HMAC key is padded with zeros, so K || 00 is K.)
        let other = sign(case, &format!("{}11", case.secret), NOW);
        let answer = send(&router, case, &other.headers, &other.body).await;
        assert_refused(&answer, "no_match", case, "another key");

        if case.timestamped {
            for (at, reason) in [(NOW - 3_600, "too_old"), (NOW + 3_600, "too_new")] {
                let shifted = sign(case, case.secret, at);
                let answer = send(&router, case, &shifted.headers, &shifted.body).await;
                assert_refused(&answer, reason, case, reason);
            }
        }
        match case.signature_header {
            Some(name) => {
                let without: Vec<_> = good
                    .headers
                    .iter()
                    .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
                    .cloned()
                    .collect();
                let answer = send(&router, case, &without, &good.body).await;
                assert_refused(&answer, "missing_header", case, "no signature");
            }
            None => {
                let answer = send(&router, case, &good.headers, case.body).await;
                assert_refused(&answer, "malformed", case, "no signature in the body");
            }
        }
    }
    assert!(sink.stored("hooks").is_empty());
}

#[tokio::test]
async fn adyen_refuses_a_batch_of_several_items_as_only_the_first_is_signed() {
    let (signed, router, _) = signed_and_receiver();
    let at = SHAPED.iter().position(|c| c.provider == "adyen").unwrap();
    let mut batch: Value = serde_json::from_str(&signed[at].body).unwrap();
    let item = batch["notificationItems"][0].clone();
    batch["notificationItems"]
        .as_array_mut()
        .unwrap()
        .push(item);
    let answer = send(&router, &SHAPED[at], &[], &batch.to_string()).await;
    assert_refused(&answer, "malformed", &SHAPED[at], "two items");
}

#[tokio::test]
async fn github_signed_by_its_own_octokit_library_is_published() {
    let body = r#"{"ref":"refs/heads/main","repository":{"full_name":"acme/inlet"}}"#;
    let signed = node(&json!({
        "with": "provider", "provider": "github", "secret": SECRET, "body": body, "id": ID,
    }));
    let config = "[topics.hooks]\nstream = \"s\"\n[sources.github]\nscheme = \"github\"\nsecrets = [\"env:S\"]\ntopic = \"hooks\"\n";
    let sink = ScriptedSink::new(&["hooks"]);
    let router = router(WebhookReceiver::new(
        kit::config(config, &[("S", SECRET)]),
        sink.publisher(),
    ));
    let case = Shaped {
        provider: "github",
        body,
        secret: SECRET,
        event: "push",
        delivery: Some(ID),
        timestamped: false,
        signature_header: Some("X-Hub-Signature-256"),
        tamper: add_space,
    };
    let answer = send(&router, &case, &headers(&signed), body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let record = &sink.stored("hooks")[0];
    assert_eq!(
        (record["data"]["id"].as_str(), record["id"].as_str()),
        (Some("push"), Some(ID))
    );
    let answer = send(&router, &case, &headers(&signed), &add_space(body)).await;
    assert_refused(&answer, "no_match", &case, "tampered");
}
