//! The Lambda path: an API Gateway HTTP API (payload v2) event, as Lambda
//! delivers it, through `lambda_http`'s adapter and the router to the
//! response document API Gateway receives.

use std::sync::Arc;

use inlet_shared::Config;
use inlet_shared::log::LogReader;
use inlet_shared::sink::EmbeddedLog;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use webhook_receiver::{Receiver, router};

const CONFIG: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
"#;

async fn invoke(fixture: &str) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| (name == "SEGMENT_SECRET").then(|| "segment-secret".to_owned());
    let config = Config::parse(CONFIG, &env).unwrap();
    let log = EmbeddedLog::open(dir.path(), ["webhooks"]).unwrap();
    let adapter = Adapter::from(router(Receiver::new(Arc::new(config), Arc::new(log))));

    let event: LambdaRequest = serde_json::from_str(fixture).unwrap();
    let response = adapter
        .oneshot(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    let stored = LogReader::open(dir.path(), "webhooks")
        .unwrap()
        .read_available()
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_slice(&r.data).unwrap())
        .collect();
    (serde_json::to_value(response).unwrap(), stored)
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
