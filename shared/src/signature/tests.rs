//! Known-answer vectors per scheme (from the providers' own documentation or
//! specification where they publish one, else computed with `openssl dgst`),
//! and table-driven negative cases.

use axum::http::{HeaderName, HeaderValue};

use std::time::UNIX_EPOCH;

use super::*;
use crate::error::Error;

const TOLERANCE: Duration = Duration::from_secs(300);

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn check(
    scheme: &Scheme,
    secret: &str,
    pairs: &[(&str, &str)],
    body: &str,
    path: &str,
    now: u64,
) -> Result<Verified, SignatureError> {
    let headers = headers(pairs);
    let request = Unverified {
        headers: &headers,
        body: body.as_bytes(),
        path_and_query: path,
        method: "POST",
        now: at(now),
    };
    scheme.verify(
        &[Secret::new("unrelated-old-secret"), Secret::new(secret)],
        &request,
        TOLERANCE,
    )
}

fn assert_unauthorized(result: Result<Verified, SignatureError>, case: &str) {
    match result.map_err(Error::from) {
        Err(err) if err.status() == axum::http::StatusCode::UNAUTHORIZED => {}
        other => panic!("{case}: expected 401, got {other:?}"),
    }
}

/// Signs with `sign` and verifies with `verify`: the two always agree.
fn round_trip(scheme: &Scheme, secret: &str, body: &str, path: &str) {
    let now = at(1_700_000_000);
    let secret = Secret::new(secret);
    let signed = scheme.sign(&SignWith {
        secret: &secret,
        body: body.as_bytes(),
        now,
        path_and_query: path,
        id: "msg_1",
    });
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let headers = headers(&pairs);
    let request = Unverified {
        headers: &headers,
        body: body.as_bytes(),
        path_and_query: path,
        method: "POST",
        now,
    };
    scheme
        .verify(&[secret], &request, TOLERANCE)
        .unwrap_or_else(|e| panic!("{}: {e}", scheme.name()));
}

// Segment: printf '%s' "$BODY" | openssl dgst -sha1 -hmac segment-secret
const SEGMENT_BODY: &str = r#"{"type":"track","event":"Signed Up","userId":"u1"}"#;
const SEGMENT_SIG: &str = "a9c6aec7ec4d633ba7507256a95f2be26379befa";

#[test]
fn segment_known_answer_and_negatives() {
    let s = Scheme::Segment;
    assert!(
        check(
            &s,
            "segment-secret",
            &[("x-signature", SEGMENT_SIG)],
            SEGMENT_BODY,
            "/",
            0
        )
        .is_ok()
    );
    let upper = SEGMENT_SIG.to_uppercase();
    assert!(
        check(
            &s,
            "segment-secret",
            &[("x-signature", &upper)],
            SEGMENT_BODY,
            "/",
            0
        )
        .is_ok()
    );
    assert_unauthorized(
        check(
            &s,
            "segment-secret",
            &[("x-signature", SEGMENT_SIG)],
            "{}",
            "/",
            0,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(
            &s,
            "other",
            &[("x-signature", SEGMENT_SIG)],
            SEGMENT_BODY,
            "/",
            0,
        ),
        "wrong secret",
    );
    assert_unauthorized(
        check(&s, "segment-secret", &[], SEGMENT_BODY, "/", 0),
        "missing",
    );
    assert_unauthorized(
        check(
            &s,
            "segment-secret",
            &[("x-signature", "zz")],
            SEGMENT_BODY,
            "/",
            0,
        ),
        "not hex",
    );
    assert_unauthorized(
        check(
            &s,
            "segment-secret",
            &[("x-signature", &SEGMENT_SIG[..20])],
            SEGMENT_BODY,
            "/",
            0,
        ),
        "truncated",
    );
    round_trip(&s, "k", SEGMENT_BODY, "/");
}

// GitHub's documentation: secret "It's a Secret to Everybody", payload
// "Hello, World!".
const GITHUB_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_documentation_example_and_negatives() {
    let s = Scheme::Github;
    let secret = "It's a Secret to Everybody";
    assert!(
        check(
            &s,
            secret,
            &[("x-hub-signature-256", GITHUB_SIG)],
            "Hello, World!",
            "/",
            0
        )
        .is_ok()
    );
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("x-hub-signature-256", GITHUB_SIG)],
            "Hello, World?",
            "/",
            0,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(
            &s,
            "wrong",
            &[("x-hub-signature-256", GITHUB_SIG)],
            "Hello, World!",
            "/",
            0,
        ),
        "wrong secret",
    );
    assert_unauthorized(check(&s, secret, &[], "Hello, World!", "/", 0), "missing");
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("x-hub-signature-256", &GITHUB_SIG[7..])],
            "Hello, World!",
            "/",
            0,
        ),
        "no sha256= prefix",
    );
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("x-hub-signature-256", "sha256=xyz")],
            "Hello, World!",
            "/",
            0,
        ),
        "not hex",
    );
    round_trip(&s, "k", "{}", "/");
}

// Stripe publishes no vector; computed with
// printf '%s' '1700000000.{body}' | openssl dgst -sha256 -hmac whsec_test_secret
const STRIPE_BODY: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
const STRIPE_V1: &str = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";

#[test]
fn stripe_known_answer_tolerance_and_negatives() {
    let s = Scheme::Stripe;
    let secret = "whsec_test_secret";
    let header = format!("t=1700000000,v1={STRIPE_V1}");
    assert!(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_700_000_000
        )
        .is_ok()
    );
    // Any v1 may match (Stripe sends one per active secret); v0 is ignored.
    let several = format!("t=1700000000,v1={},v1={STRIPE_V1},v0=abcd", "00".repeat(32));
    assert!(
        check(
            &s,
            secret,
            &[("stripe-signature", &several)],
            STRIPE_BODY,
            "/",
            1_700_000_000
        )
        .is_ok()
    );
    // Tolerance: just inside either way passes; past it fails, both directions.
    assert!(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_700_000_300
        )
        .is_ok()
    );
    assert!(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_699_999_700
        )
        .is_ok()
    );
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_700_000_301,
        ),
        "too old",
    );
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_699_999_699,
        ),
        "too new",
    );
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("stripe-signature", &header)],
            "{}",
            "/",
            1_700_000_000,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(
            &s,
            "whsec_other",
            &[("stripe-signature", &header)],
            STRIPE_BODY,
            "/",
            1_700_000_000,
        ),
        "wrong secret",
    );
    assert_unauthorized(
        check(&s, secret, &[], STRIPE_BODY, "/", 1_700_000_000),
        "missing",
    );
    for bad in [
        format!("v1={STRIPE_V1}"),
        "t=1700000000".to_owned(),
        format!("t=soon,v1={STRIPE_V1}"),
    ] {
        assert_unauthorized(
            check(
                &s,
                secret,
                &[("stripe-signature", &bad)],
                STRIPE_BODY,
                "/",
                1_700_000_000,
            ),
            &bad,
        );
    }
    // A replayed signature with a rewritten timestamp does not match.
    let moved = format!("t=1700000100,v1={STRIPE_V1}");
    assert_unauthorized(
        check(
            &s,
            secret,
            &[("stripe-signature", &moved)],
            STRIPE_BODY,
            "/",
            1_700_000_100,
        ),
        "moved t",
    );
    round_trip(&s, "whsec_k", STRIPE_BODY, "/");
}

// Slack's documentation ("Verifying requests from Slack").
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

#[test]
fn slack_documentation_example_and_negatives() {
    let s = Scheme::Slack;
    let good = [
        ("x-slack-request-timestamp", "1531420618"),
        ("x-slack-signature", SLACK_SIG),
    ];
    assert!(check(&s, SLACK_SECRET, &good, SLACK_BODY, "/", 1_531_420_618).is_ok());
    assert_unauthorized(
        check(&s, SLACK_SECRET, &good, SLACK_BODY, "/", 1_531_420_918 + 1),
        "stale",
    );
    assert_unauthorized(
        check(
            &s,
            SLACK_SECRET,
            &good,
            &SLACK_BODY.replace("foobar", "foobaz"),
            "/",
            1_531_420_618,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(&s, "wrong", &good, SLACK_BODY, "/", 1_531_420_618),
        "wrong secret",
    );
    assert_unauthorized(
        check(&s, SLACK_SECRET, &good[1..], SLACK_BODY, "/", 1_531_420_618),
        "missing timestamp",
    );
    assert_unauthorized(
        check(&s, SLACK_SECRET, &good[..1], SLACK_BODY, "/", 1_531_420_618),
        "missing signature",
    );
    let no_prefix = [good[0], ("x-slack-signature", &SLACK_SIG[3..])];
    assert_unauthorized(
        check(&s, SLACK_SECRET, &no_prefix, SLACK_BODY, "/", 1_531_420_618),
        "no v0=",
    );
    round_trip(&s, "k", SLACK_BODY, "/");
}

// Shopify publishes no vector; printf '%s' "$BODY" | openssl dgst -sha256 -hmac hush -binary | base64
const SHOPIFY_BODY: &str = r#"{"id":1,"topic":"orders/create"}"#;
const SHOPIFY_SIG: &str = "rlYwtxSz64KhPygOLXbekmzsjq0OqrcotnlUzAe2yuQ=";

#[test]
fn shopify_known_answer_and_negatives() {
    let s = Scheme::Shopify;
    assert!(
        check(
            &s,
            "hush",
            &[("x-shopify-hmac-sha256", SHOPIFY_SIG)],
            SHOPIFY_BODY,
            "/",
            0
        )
        .is_ok()
    );
    assert_unauthorized(
        check(
            &s,
            "hush",
            &[("x-shopify-hmac-sha256", SHOPIFY_SIG)],
            "{}",
            "/",
            0,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(
            &s,
            "loud",
            &[("x-shopify-hmac-sha256", SHOPIFY_SIG)],
            SHOPIFY_BODY,
            "/",
            0,
        ),
        "wrong secret",
    );
    assert_unauthorized(check(&s, "hush", &[], SHOPIFY_BODY, "/", 0), "missing");
    assert_unauthorized(
        check(
            &s,
            "hush",
            &[("x-shopify-hmac-sha256", "%%%")],
            SHOPIFY_BODY,
            "/",
            0,
        ),
        "not base64",
    );
    round_trip(&s, "k", SHOPIFY_BODY, "/");
}

// The Standard Webhooks specification's example.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_BODY: &str = r#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

#[test]
fn standard_webhooks_specification_example_and_negatives() {
    let s = Scheme::StandardWebhooks(Sender::Standard);
    let now = 1_614_265_330;
    let good = [
        ("webhook-id", SW_ID),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", SW_SIG),
    ];
    assert!(check(&s, SW_SECRET, &good, SW_BODY, "/", now).is_ok());
    // Several space-separated signatures, any may match; other versions ignored.
    let several = format!("v1a,abcd v1,AAAA {SW_SIG}");
    let multi = [good[0], good[1], ("webhook-signature", several.as_str())];
    assert!(check(&s, SW_SECRET, &multi, SW_BODY, "/", now).is_ok());
    assert_unauthorized(
        check(&s, SW_SECRET, &good, SW_BODY, "/", now + 301),
        "too old",
    );
    assert_unauthorized(
        check(&s, SW_SECRET, &good, SW_BODY, "/", now - 301),
        "too new",
    );
    assert_unauthorized(
        check(&s, SW_SECRET, &good, r#"{"test": 1}"#, "/", now),
        "tampered",
    );
    let other_id = [("webhook-id", "msg_other"), good[1], good[2]];
    assert_unauthorized(
        check(&s, SW_SECRET, &other_id, SW_BODY, "/", now),
        "id is signed",
    );
    assert_unauthorized(
        check(
            &s,
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAA",
            &good,
            SW_BODY,
            "/",
            now,
        ),
        "wrong secret",
    );
    assert_unauthorized(
        check(&s, SW_SECRET, &good[..2], SW_BODY, "/", now),
        "missing signature",
    );
    let bad_entry = [good[0], good[1], ("webhook-signature", "v2,abc")];
    assert_unauthorized(
        check(&s, SW_SECRET, &bad_entry, SW_BODY, "/", now),
        "malformed",
    );
    assert!(s.check_secret(&Secret::new("whsec_%%%")).is_err());
    assert!(s.check_secret(&Secret::new(SW_SECRET)).is_ok());
    round_trip(&s, "whsec_c2VjcmV0LWtleS1ieXRlcw==", SW_BODY, "/");
}

// Twilio's documentation ("Webhooks security"): auth token 12345.
const TWILIO_BODY: &str = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
const TWILIO_SIG: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

#[test]
fn twilio_documentation_example_and_negatives() {
    let s = Scheme::Twilio {
        public_url: "https://mycompany.com/".into(),
    };
    let path = "/myapp.php?foo=1&bar=2";
    assert!(
        check(
            &s,
            "12345",
            &[("x-twilio-signature", TWILIO_SIG)],
            TWILIO_BODY,
            path,
            0
        )
        .is_ok()
    );
    // Parameter order in the body does not matter: Twilio sorts them.
    let reordered = "To=%2B18005551212&From=%2B12349013030&Digits=1234&Caller=%2B12349013030&CallSid=CA1234567890ABCDE";
    assert!(
        check(
            &s,
            "12345",
            &[("x-twilio-signature", TWILIO_SIG)],
            reordered,
            path,
            0
        )
        .is_ok()
    );
    assert_unauthorized(
        check(
            &s,
            "12345",
            &[("x-twilio-signature", TWILIO_SIG)],
            TWILIO_BODY,
            "/myapp.php?foo=2&bar=2",
            0,
        ),
        "other URL",
    );
    assert_unauthorized(
        check(
            &s,
            "12345",
            &[("x-twilio-signature", TWILIO_SIG)],
            &TWILIO_BODY.replace("1234&", "9999&"),
            path,
            0,
        ),
        "tampered",
    );
    assert_unauthorized(
        check(
            &s,
            "54321",
            &[("x-twilio-signature", TWILIO_SIG)],
            TWILIO_BODY,
            path,
            0,
        ),
        "wrong secret",
    );
    assert_unauthorized(check(&s, "12345", &[], TWILIO_BODY, path, 0), "missing");
    assert_unauthorized(
        check(
            &s,
            "12345",
            &[("x-twilio-signature", "***")],
            TWILIO_BODY,
            path,
            0,
        ),
        "not base64",
    );
    round_trip(&s, "k", TWILIO_BODY, path);
}

// Twilio's JSON-body example (security docs, signature_validation_json):
// the body's SHA-256 is the published `bodySHA256`; the signature over the URL
// alone with auth token 12345 computed with
// printf '%s' 'https://example.com/myapp?bodySHA256=5ccd…' | openssl dgst -sha1 -hmac 12345 -binary | base64
const TWILIO_JSON_BODY: &str = r#"{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}"#;
const TWILIO_JSON_PATH: &str =
    "/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9";
const TWILIO_JSON_SIG: &str = "hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=";

#[test]
fn twilio_json_body_is_bound_by_its_signed_hash() {
    let s = Scheme::Twilio {
        public_url: "https://example.com".into(),
    };
    let sig = [("x-twilio-signature", TWILIO_JSON_SIG)];
    assert!(check(&s, "12345", &sig, TWILIO_JSON_BODY, TWILIO_JSON_PATH, 0).is_ok());
    let tampered = TWILIO_JSON_BODY.replace("+1234", "+9999");
    let err = check(&s, "12345", &sig, &tampered, TWILIO_JSON_PATH, 0).unwrap_err();
    assert!(err.to_string().contains("bodySHA256"), "{err}");
    let other_hash = TWILIO_JSON_PATH.replace("5ccd", "0000");
    assert_unauthorized(
        check(&s, "12345", &sig, TWILIO_JSON_BODY, &other_hash, 0),
        "hash in the URL is signed",
    );
    assert_unauthorized(
        check(&s, "54321", &sig, TWILIO_JSON_BODY, TWILIO_JSON_PATH, 0),
        "wrong secret",
    );
    round_trip(&s, "k", TWILIO_JSON_BODY, TWILIO_JSON_PATH);
}

/// Twilio's content built with `form_urlencoded` (decode everything, sort
/// the pairs), the straightforward reading of Twilio's documentation.
fn twilio_reference(url: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    params.sort();
    let mut content = format!("{url}{path}");
    for (name, value) in params {
        content.push_str(&name);
        content.push_str(&value);
    }
    content.into_bytes()
}

#[test]
fn twilio_content_decodes_and_sorts_as_form_urlencoded_does() {
    let bodies = [
        TWILIO_BODY,
        "",
        "Body=Hello+world%21&From=%2B1555",
        "b=2&a=1&b=1&a=3",
        "Body=caf%C3%A9+%E2%9C%93",
        "Body=%&To=%4&Sid=%zz1&X=%%41",
        "&&a=1&&",
        "flag&Body=no+value+name",
        "a%3Db=c%26d",
        "A=1&a=2&_=3&Z=4",
        "Body=+++",
    ];
    for body in bodies {
        assert_eq!(
            String::from_utf8_lossy(&twilio::content(
                "https://h.example",
                "/p?q=1",
                body.as_bytes()
            )),
            String::from_utf8_lossy(&twilio_reference(
                "https://h.example",
                "/p?q=1",
                body.as_bytes()
            )),
            "{body:?}"
        );
    }
}

// Generic HMAC: printf '%s' '1700000000:{"event":"ping"}' | openssl dgst -sha512 -hmac generic -binary | base64
const HMAC_SIG: &str =
    "sig=rEPUb/tus2wnWo0swTI5VvlNxkCratyeWWqW0HtmUOX1DG23Erw5f7gGRYicU2GSpjU+g3TnQ+78XtDmkfHlbA==";

fn generic() -> Scheme {
    Scheme::Hmac(
        Blocks {
            algorithm: Some("sha512"),
            header: Some("x-acme-signature"),
            encoding: Some("base64"),
            prefix: Some("sig="),
            timestamp_header: Some("x-acme-time"),
            signed_content: Some("{timestamp}:{body}"),
            ..Blocks::NONE
        }
        .spec(None)
        .unwrap(),
    )
}

#[test]
fn generic_hmac_known_answer_tolerance_and_negatives() {
    let s = generic();
    let body = r#"{"event":"ping"}"#;
    let good = [
        ("x-acme-time", "1700000000"),
        ("x-acme-signature", HMAC_SIG),
    ];
    assert!(check(&s, "generic", &good, body, "/", 1_700_000_000).is_ok());
    assert_unauthorized(
        check(&s, "generic", &good, body, "/", 1_700_000_301),
        "stale",
    );
    assert_unauthorized(
        check(&s, "generic", &good, "{}", "/", 1_700_000_000),
        "tampered",
    );
    assert_unauthorized(
        check(&s, "wrong", &good, body, "/", 1_700_000_000),
        "wrong secret",
    );
    assert_unauthorized(
        check(&s, "generic", &good[1..], body, "/", 1_700_000_000),
        "missing timestamp",
    );
    let no_prefix = [good[0], ("x-acme-signature", &HMAC_SIG[4..])];
    assert_unauthorized(
        check(&s, "generic", &no_prefix, body, "/", 1_700_000_000),
        "no prefix",
    );
    round_trip(&s, "k", body, "/");

    // Hex SHA-1 over the body alone is Segment's scheme, spelled generically.
    let segment_like = Scheme::Hmac(
        Blocks {
            algorithm: Some("sha1"),
            header: Some("x-signature"),
            ..Blocks::NONE
        }
        .spec(None)
        .unwrap(),
    );
    assert!(
        check(
            &segment_like,
            "segment-secret",
            &[("x-signature", SEGMENT_SIG)],
            SEGMENT_BODY,
            "/",
            0
        )
        .is_ok()
    );
}

#[test]
fn none_accepts_anything_and_signs_nothing() {
    let verified = check(&Scheme::None, "x", &[], "anything", "/", 0).unwrap();
    assert_eq!(verified.body().as_ref(), b"anything");
    let secret = Secret::new("x");
    assert!(
        Scheme::None
            .sign(&SignWith {
                secret: &secret,
                body: b"",
                now: at(0),
                path_and_query: "/",
                id: ""
            })
            .is_empty()
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
}
