//! The catalogue checked against the vectors providers publish in their own
//! SDKs' tests and documentation (copied here: tests have no network), each
//! named by where it comes from.

use std::time::{Duration, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::{Scheme, Secret, SignatureError, Unverified};

struct Vector<'a> {
    scheme: &'a str,
    public_url: Option<&'a str>,
    key: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a str,
    path: &'a str,
    now: u64,
}

fn verify(v: &Vector<'_>) -> Result<(), SignatureError> {
    let scheme = Scheme::named(v.scheme, v.public_url).unwrap().unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in &v.headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let request = Unverified {
        headers: &headers,
        body: v.body.as_bytes(),
        path_and_query: v.path,
        method: "POST",
        now: UNIX_EPOCH + Duration::from_secs(v.now),
    };
    let secret = Secret::new(v.key);
    scheme.check_secret(&secret).unwrap();
    scheme
        .verify(&[secret], &request, Duration::from_secs(300))
        .map(|_| ())
}

// sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
const SENDGRID_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
const SENDGRID_OTHER_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
const SENDGRID_SIGNATURE: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
const SENDGRID_PAYLOAD: &str =
    r#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;

fn sendgrid<'a>(key: &'a str, signature: &'a str, body: &'a str) -> Vector<'a> {
    Vector {
        scheme: "sendgrid",
        public_url: None,
        key,
        headers: vec![
            ("x-twilio-email-event-webhook-signature", signature),
            ("x-twilio-email-event-webhook-timestamp", "1588788367"),
        ],
        body,
        path: "/",
        now: 1_588_788_367,
    }
}

#[test]
fn sendgrid_published_test_vector_verifies_and_its_negatives_do_not() {
    verify(&sendgrid(
        SENDGRID_KEY,
        SENDGRID_SIGNATURE,
        SENDGRID_PAYLOAD,
    ))
    .unwrap();
    let bad_signature = SENDGRID_SIGNATURE.replace("NH2j", "NH3j");
    for (case, vector) in [
        (
            "another key",
            sendgrid(SENDGRID_OTHER_KEY, SENDGRID_SIGNATURE, SENDGRID_PAYLOAD),
        ),
        (
            "bad payload",
            sendgrid(SENDGRID_KEY, SENDGRID_SIGNATURE, "payload"),
        ),
        (
            "bad signature",
            sendgrid(SENDGRID_KEY, &bad_signature, SENDGRID_PAYLOAD),
        ),
    ] {
        assert!(
            matches!(verify(&vector), Err(SignatureError::NoMatch { .. })),
            "{case}"
        );
    }
}

// PaddleHQ/paddle-node-sdk src/__tests__/notifications/webhooks-validator.node.test.ts
#[test]
fn paddle_sdk_vectors_verify_including_repeated_h1_and_the_reformatted_body_does_not() {
    let vector = |header: &'static str, body: &'static str| Vector {
        scheme: "paddle",
        public_url: None,
        key: "VALID_SECRET",
        headers: vec![("paddle-signature", header)],
        body,
        path: "/",
        now: 1_698_796_800,
    };
    let one = "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    verify(&vector(one, r#"{"data": ["1", "2"]}"#)).unwrap();
    verify(&vector(
        "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH",
        r#"{"data": "value"}"#,
    ))
    .unwrap();
    assert!(matches!(
        verify(&vector(one, r#"{ "data": [ "1", "2" ]}"#)),
        Err(SignatureError::NoMatch { .. })
    ));
}

// square/square-nodejs-sdk tests/integration/webhooks.test.ts: the
// notification URL split into the public URL and the path it was called at.
#[test]
fn square_sdk_vectors_verify_and_another_url_does_not() {
    let vector =
        |path: &'static str, key: &'static str, body: &'static str, sig: &'static str| Vector {
            scheme: "square",
            public_url: Some("https://webhook.site"),
            key,
            headers: vec![("x-square-hmacsha256-signature", sig)],
            body,
            path,
            now: 0,
        };
    let body = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    let sig = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    verify(&vector(
        "/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
        "Ibxx_5AKakO-3qeNVR61Dw",
        body,
        sig,
    ))
    .unwrap();
    verify(&vector(
        "/webhooks",
        "signature-key",
        r#"{"data":{"type":"webhooks","id":"fake_id"}}"#,
        "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=",
    ))
    .unwrap();
    verify(&vector(
        "/webhooks",
        "signature-key",
        r#"{"data":{"type":"webhooks","id":">id<"}}"#,
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
    ))
    .unwrap();
    assert!(matches!(
        verify(&vector(
            "/79a4f3a-dcfa-49ee-bac5-9d0edad886b9",
            "Ibxx_5AKakO-3qeNVR61Dw",
            body,
            sig
        )),
        Err(SignatureError::NoMatch { .. })
    ));
}

// HubSpot/hubspot-api-python tests/spec/utils/test_signature.py (v3)
#[test]
fn hubspot_sdk_v3_vector_verifies_within_five_minutes_only() {
    let vector = |now| Vector {
        scheme: "hubspot",
        public_url: Some("https://www.example.com"),
        key: "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        headers: vec![
            (
                "x-hubspot-signature-v3",
                "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
            ),
            ("x-hubspot-request-timestamp", "1693657560000"),
        ],
        body: "{'example_field':'example_value'}",
        path: "/webhook_uri",
        now,
    };
    verify(&vector(1_693_657_560)).unwrap();
    assert!(matches!(
        verify(&vector(1_693_657_560 + 301)),
        Err(SignatureError::TooOld { off_by: 301, .. })
    ));
}

// docs.adyen.com/development-resources/webhooks/verify-hmac-signatures: the
// example notification item and key, whose signature the page gives.
#[test]
fn adyen_documented_example_verifies() {
    let body = r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},"amount":{"currency":"EUR","value":1130},"eventCode":"AUTHORISATION","eventDate":"2019-05-06T17:15:34.121+02:00","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","operations":["CANCEL","CAPTURE","REFUND"],"paymentMethod":"visa","pspReference":"7914073381342284","reason":"1234:7777:12/2012","success":"true"}}]}"#;
    let vector = |body| Vector {
        scheme: "adyen",
        public_url: None,
        key: "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
        headers: vec![],
        body,
        path: "/",
        now: 0,
    };
    verify(&vector(body)).unwrap();
    let refunded = body.replace("\"AUTHORISATION\"", "\"REFUND\"");
    assert!(matches!(
        verify(&vector(&refunded)),
        Err(SignatureError::NoMatch { .. })
    ));
}
