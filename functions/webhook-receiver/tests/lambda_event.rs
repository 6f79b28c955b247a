//! The Lambda path: an API Gateway HTTP API (payload v2) event, as Lambda
//! delivers it, through `lambda_http`'s adapter and the router to the
//! response document API Gateway receives.

use inlet_test_kit::{self as kit, ScriptedSink};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
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
    let config = kit::config(
        CONFIG,
        &[
            ("SEGMENT_SECRET", "segment-secret"),
            ("VERIFY_TOKEN", "meatyhamhock"),
        ],
    );
    let sink = ScriptedSink::new(&["webhooks"]);
    let adapter = Adapter::from(router(WebhookReceiver::new(config, sink.publisher())));

    let event: LambdaRequest = serde_json::from_str(fixture).unwrap();
    let response = adapter
        .oneshot(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    (
        serde_json::to_value(response).unwrap(),
        sink.stored("webhooks"),
    )
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
