//! The Lambda path: an API Gateway HTTP API (payload v2) event, as Lambda
//! delivers it, through `lambda_http`'s adapter and the router to the
//! response document API Gateway receives.

use inlet_test_kit::signers::node;
use inlet_test_kit::{self as kit, ScriptedSink};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{Value, json};
use webhook_receiver::{WebhookReceiver, router};

const CONFIG: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"

[sources.meta]
scheme = "meta"
secrets = ["env:SEGMENT_SECRET"]
verify_token = "env:VERIFY_TOKEN"
topic = "webhooks"
"#;

async fn invoke(fixture: &str) -> (Value, Vec<Value>) {
    let env = [
        ("SEGMENT_SECRET", "segment-secret"),
        ("VERIFY_TOKEN", "meatyhamhock"),
    ];
    invoke_event(CONFIG, &env, serde_json::from_str(fixture).unwrap()).await
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn http_api_v2_event_is_published_and_answered_200() {
    let (response, stored) = invoke(include_str!("fixtures/apigw-v2-segment.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(body(&response)["sequenceNumber"], "00000000000000000000");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["data"]["id"], "track");
    assert_eq!(
        stored[0]["data"]["value"],
        r#"{"type":"track","event":"Signed Up","userId":"u1"}"#
    );
}

#[tokio::test]
async fn base64_encoded_event_body_is_verified_after_decoding() {
    let (response, stored) = invoke(include_str!("fixtures/apigw-v2-segment-base64.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn bad_signature_event_is_answered_401_not_an_error() {
    let (response, stored) =
        invoke(include_str!("fixtures/apigw-v2-segment-bad-signature.json")).await;
    assert_eq!(response["statusCode"], 401, "{response}");
    assert_eq!(body(&response)["error"]["code"], "unauthorized");
    assert!(stored.is_empty());
}

#[tokio::test]
async fn metas_subscription_get_through_the_http_api_is_answered_with_its_challenge() {
    let (response, stored) = invoke(include_str!("fixtures/apigw-v2-meta-subscribe.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["body"], "1158201444");
    assert!(stored.is_empty(), "a handshake is never published");
}

/// An HTTP API (payload v2) event as API Gateway sends it, made from the
/// Meta fixture: `method` on `path?query` with `headers` and `body`.
fn event(method: &str, path: &str, query: &str, headers: &[(String, String)], body: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("fixtures/apigw-v2-meta-subscribe.json")).unwrap();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["rawQueryString"] = query.into();
    let params: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    event["queryStringParameters"] = params.into();
    for (name, value) in headers {
        event["headers"][name.to_ascii_lowercase()] = value.as_str().into();
    }
    if !body.is_empty() {
        event["body"] = body.into();
        event["headers"]["content-type"] = "application/json".into();
    }
    event
}

/// Invokes a receiver of `config` (with `env`) with `event`.
async fn invoke_event(config: &str, env: &[(&str, &str)], event: Value) -> (Value, Vec<Value>) {
    let sink = ScriptedSink::new(&["webhooks"]);
    let adapter = Adapter::from(router(WebhookReceiver::new(
        kit::config(config, env),
        sink.publisher(),
    )));
    let event: LambdaRequest = serde_json::from_value(event).unwrap();
    let response = adapter
        .oneshot(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    (
        serde_json::to_value(response).unwrap(),
        sink.stored("webhooks"),
    )
}

const HANDSHAKES: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"
[sources.twitter]
scheme = "twitter"
secrets = ["env:SECRET"]
topic = "webhooks"
[sources.twitch]
scheme = "twitch"
secrets = ["env:SECRET"]
topic = "webhooks"
[sources.okta]
scheme = "okta"
secrets = ["env:SECRET"]
topic = "webhooks"
[sources.discord]
scheme = "discord"
secrets = ["env:DISCORD_KEY"]
topic = "webhooks"
"#;

#[tokio::test]
async fn x_crc_okta_twitch_and_discord_handshakes_through_the_http_api() {
    let now = inlet_test_kit::NOW;
    let ping = r#"{"version":1,"application_id":"1234567765431","type":0}"#;
    let discord =
        node(&json!({"with": "provider", "provider": "discord", "timestamp": now, "body": ping}));
    let env = [
        ("SECRET", "shared-secret"),
        ("DISCORD_KEY", discord["key"].as_str().unwrap()),
    ];

    let token = "crc_token_from_x";
    let get = event(
        "GET",
        "/webhooks/twitter",
        &format!("crc_token={token}"),
        &[],
        "",
    );
    let (response, stored) = invoke_event(HANDSHAKES, &env, get).await;
    let expected = node(&json!({
        "with": "hmac", "algorithm": "sha256", "encoding": "base64",
        "secret": "shared-secret", "message": token,
    }));
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        body(&response)["response_token"],
        format!("sha256={}", expected["signature"].as_str().unwrap())
    );
    assert!(stored.is_empty());

    let headers = [
        (
            "X-Okta-Verification-Challenge".to_owned(),
            "okta-challenge-1".to_owned(),
        ),
        ("Authorization".to_owned(), "shared-secret".to_owned()),
    ];
    let get = event("GET", "/webhooks/okta", "", &headers, "");
    let (response, _) = invoke_event(HANDSHAKES, &env, get).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(body(&response)["verification"], "okta-challenge-1");

    let challenge = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}"#;
    let signed = node(&json!({
        "with": "provider", "provider": "twitch", "secret": "shared-secret",
        "timestamp": now, "body": challenge, "id": "twitch-message-1",
    }));
    let mut headers = headers_of(&signed);
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("twitch-eventsub-message-type"));
    headers.push((
        "Twitch-Eventsub-Message-Type".into(),
        "webhook_callback_verification".into(),
    ));
    let post = event("POST", "/webhooks/twitch", "", &headers, challenge);
    let (response, stored) = invoke_event(HANDSHAKES, &env, post).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["body"], "pogchamp-kappa-360noscope-vohiyo");
    assert!(stored.is_empty());

    let post = event("POST", "/webhooks/discord", "", &headers_of(&discord), ping);
    let (response, stored) = invoke_event(HANDSHAKES, &env, post).await;
    assert_eq!(response["statusCode"], 204, "{response}");
    assert!(stored.is_empty());
}

fn headers_of(signed: &Value) -> Vec<(String, String)> {
    inlet_test_kit::signers::headers(signed)
}
