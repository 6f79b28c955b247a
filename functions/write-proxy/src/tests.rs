//! Router tests: every rule of the Writer API, against the real embedded log.

use axum::http::{HeaderValue, Request, StatusCode, header};
use inlet_test_kit::{self as kit, Answer, ScriptedSink};
use serde_json::Value;

use crate::samples::LANGUAGES;
use tower::ServiceExt;

use super::*;

const TOKEN: &str = "writer-token-1234";
const LIMITED: &str = "limited-token-5678";

fn config(extra: &str) -> Arc<Config> {
    config_with(extra, TOKEN)
}

fn config_with(extra: &str, all_token: &str) -> Arc<Config> {
    let text = format!(
        r#"
[topics.telemetry]
stream = "inlet-telemetry"
[topics.other]
stream = "inlet-other"

[tokens.all]
token = "env:ALL_TOKEN"
topics = ["*"]
[tokens.limited]
token = "env:LIMITED_TOKEN"
topics = ["other"]
{extra}
"#
    );
    kit::config(
        &text,
        &[("ALL_TOKEN", all_token), ("LIMITED_TOKEN", LIMITED)],
    )
}

struct Harness {
    sink: Arc<ScriptedSink>,
    router: Router,
}

fn harness_with(extra: &str) -> Harness {
    let sink = ScriptedSink::new(&["telemetry", "other"]);
    let proxy = WriteProxy::new(config(extra), sink.publisher());
    Harness {
        router: router(proxy),
        sink,
    }
}

fn harness() -> Harness {
    harness_with("")
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Answer {
        kit::send(&self.router, request).await
    }

    async fn write(&self, method: Method, path: &str, body: &str) -> Answer {
        self.send(request(
            method,
            path,
            Some(&format!("Bearer {TOKEN}")),
            body,
        ))
        .await
    }

    fn stored(&self, topic: &str) -> Vec<Value> {
        self.sink.stored(topic)
    }
}

fn request(method: Method, path: &str, auth: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

const QUIX_EXAMPLE: &str = r#"{
    "timestamps": [1591733989000000000, 1591733990000000000, 1591733991000000000],
    "numericValues": {
        "SomeParameter1": [10.01, 202.02, 303.03],
        "SomeParameter2": [400.04, 50.05, 60.06]
    }
}"#;

#[tokio::test]
async fn accepts_the_quix_documentation_curl_payload_unchanged() {
    let h = harness();
    let answer = h
        .write(
            Method::POST,
            "/topics/telemetry/streams/car-1/parameters/data",
            QUIX_EXAMPLE,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "");
    let stored = h.stored("telemetry");
    assert_eq!(stored.len(), 1);
    let event = &stored[0];
    assert_eq!(event["type"], "io.quix.parameters");
    assert_eq!(event["source"], "/writer");
    assert_eq!(event["subject"], "car-1");
    assert_eq!(event["topic"], "telemetry");
    let expected: Value = serde_json::from_str(QUIX_EXAMPLE).unwrap();
    assert_eq!(event["data"], expected);
}

#[tokio::test]
async fn creates_a_stream_and_answers_its_id() {
    let h = harness();
    let answer = h
        .write(
            Method::POST,
            "/topics/telemetry/streams",
            r#"{"name": "cardata", "location": "simulations/trials", "metadata": {"rain": "light"}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let stream_id = answer.json()["streamId"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&stream_id).is_ok());
    let stored = h.stored("telemetry");
    assert_eq!(stored[0]["type"], "io.quix.stream.properties");
    assert_eq!(stored[0]["subject"], stream_id.as_str());
    assert_eq!(stored[0]["data"]["metadata"]["rain"], "light");

    // The minimum: no body at all, or `{}`.
    for body in ["", "{}"] {
        let answer = h
            .write(Method::POST, "/topics/telemetry/streams", body)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{body:?}: {}", answer.body);
    }
}

#[tokio::test]
async fn every_write_becomes_records_keyed_by_stream_id_in_order() {
    let h = harness();
    let base = "/topics/telemetry/streams/s-9";
    let steps = [
        (
            Method::PUT,
            base.to_owned(),
            r#"{"Name": "Example stream", "Metadata": {"fruit": "apple"}}"#,
        ),
        (
            Method::POST,
            format!("{base}/parameters/definitions"),
            r#"[{"Id": "ParameterA", "Unit": "°C"}]"#,
        ),
        (
            Method::POST,
            format!("{base}/events/definitions"),
            r#"[{"id": "Alert", "level": "Warning"}]"#,
        ),
        (
            Method::POST,
            format!("{base}/events/data"),
            r#"[{"id": "Alert", "timestamp": 1618133869000000000, "tags": {"capacity": "over"}, "value": "Help"}, {"id": "Alert", "timestamp": 1618133869000000001}]"#,
        ),
        (
            Method::POST,
            format!("{base}/events/data"),
            r#"{"id": "Single", "timestamp": 5, "value": "one object"}"#,
        ),
        (
            Method::POST,
            format!("{base}/close"),
            r#"{"endStreamState": "Aborted"}"#,
        ),
    ];
    for (method, path, body) in steps {
        let answer = h.write(method.clone(), &path, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{method} {path}: {}",
            answer.body
        );
    }
    let stored = h.stored("telemetry");
    let types: Vec<&str> = stored.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "io.quix.stream.properties",
            "io.quix.stream.definitions",
            "io.quix.stream.definitions",
            "io.quix.events",
            "io.quix.events",
            "io.quix.events",
            "io.quix.stream.end"
        ]
    );
    assert!(stored.iter().all(|e| e["subject"] == "s-9"));
    assert_eq!(stored[0]["data"]["name"], "Example stream");
    assert_eq!(stored[1]["data"]["parameters"][0]["unit"], "°C");
    assert_eq!(stored[2]["data"]["events"][0]["level"], "Warning");
    assert_eq!(stored[3]["data"]["tags"]["capacity"], "over");
    assert_eq!(
        stored[4]["data"]["timestamp"],
        1_618_133_869_000_000_001_i64
    );
    assert_eq!(stored[5]["data"]["value"], "one object");
    assert_eq!(stored[6]["data"]["endStreamState"], "Aborted");

    // Closing with no body is a normal close.
    let answer = h.write(Method::POST, &format!("{base}/close"), "").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(h.stored("telemetry")[7]["data"]["endStreamState"], "Closed");
}

#[tokio::test]
async fn bearer_tokens_are_checked_before_anything_else() {
    let h = harness();
    let path = "/topics/telemetry/streams/s/events/data";
    let body = r#"[{"id": "a", "timestamp": 1}]"#;
    let wrong = format!("Bearer {TOKEN}x");
    let basic = format!("Basic {TOKEN}");
    for auth in [
        None,
        Some("Bearer"),
        Some(wrong.as_str()),
        Some(basic.as_str()),
        Some("Bearer "),
    ] {
        let answer = h.send(request(Method::POST, path, auth, body)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(answer.json()["error"]["code"], "unauthorized");
    }
    // An unknown topic is not revealed to a caller without a token.
    let answer = h
        .send(request(
            Method::POST,
            "/topics/nope/streams/s/events/data",
            None,
            body,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(h.stored("telemetry").is_empty());

    // The scheme name is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {TOKEN}");
        let answer = h.send(request(Method::POST, path, Some(&auth), body)).await;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn a_token_not_allowed_on_the_topic_is_403_and_unknown_topics_404() {
    let h = harness();
    let body = r#"[{"id": "a", "timestamp": 1}]"#;
    let limited = format!("Bearer {LIMITED}");
    let answer = h
        .send(request(
            Method::POST,
            "/topics/telemetry/streams/s/events/data",
            Some(&limited),
            body,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.message().contains("\"limited\""), "{}", answer.body);
    assert!(!answer.body.contains(LIMITED));
    let answer = h
        .send(request(
            Method::POST,
            "/topics/other/streams/s/events/data",
            Some(&limited),
            body,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);

    let answer = h
        .write(Method::POST, "/topics/nope/streams/s/events/data", body)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.message().contains("nope"));
}

#[tokio::test]
async fn malformed_input_is_400_with_a_precise_message() {
    let h = harness();
    let data = "/topics/telemetry/streams/s/parameters/data";
    let events = "/topics/telemetry/streams/s/events/data";
    let cases = [
        (
            data,
            r#"{"timestamps": [1, 2, 3], "numericValues": {"speed": [1, 2]}}"#,
            "numericValues.speed has 2 values but timestamps has 3",
        ),
        (data, r#"{"timestamps": [1.5]}"#, "timestamps[0]"),
        (
            data,
            r#"{"timestamps": [1], "binaryValues": {"img": ["not base64!"]}}"#,
            "binaryValues.img[0] is not valid base64",
        ),
        (data, "{not json", "parameter data"),
        (
            events,
            r#"[{"value": "x", "timestamp": 1}]"#,
            "missing field `id`",
        ),
        (events, r#"[{"id": "x"}]"#, "missing field `timestamp`"),
        (
            events,
            r#"[{"id": "x", "timestamp": 1, "tags": {"t": 5}}]"#,
            "[0].tags.t",
        ),
        (
            "/topics/telemetry/streams/s/close",
            r#"{"endStreamState": "Done"}"#,
            "endStreamState",
        ),
    ];
    for (path, body, expected) in cases {
        let answer = h.write(Method::POST, path, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            answer.message().contains(expected),
            "{expected:?} not in {:?}",
            answer.message()
        );
    }
    assert!(h.stored("telemetry").is_empty());
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let h = harness_with("[writer]\nmax_body_bytes = 64");
    let body = format!(
        r#"[{{"id": "a", "timestamp": 1, "value": "{}"}}]"#,
        "x".repeat(100)
    );
    let answer = h
        .write(
            Method::POST,
            "/topics/telemetry/streams/s/events/data",
            &body,
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(h.stored("telemetry").is_empty());
}

#[tokio::test]
async fn wrong_methods_are_405_and_unknown_paths_404() {
    let h = harness();
    let answer = h
        .write(Method::GET, "/topics/telemetry/streams/s/events/data", "")
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let answer = h
        .write(Method::DELETE, "/topics/telemetry/streams/s", "")
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "PUT");
    let answer = h
        .write(Method::POST, "/topics/telemetry/streams/s/nothing", "{}")
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_stream_that_cannot_take_the_write_is_503_with_retry_after() {
    let sink = ScriptedSink::failing(&["telemetry"]);
    let response = router(WriteProxy::new(config(""), sink.publisher()))
        .oneshot(request(
            Method::POST,
            "/topics/telemetry/streams/s/parameters/data",
            Some(&format!("Bearer {TOKEN}")),
            QUIX_EXAMPLE,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/topics/telemetry/streams/s/events/data")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let h = harness_with("[writer]\ncors_origins = [\"https://app.example.com\"]");
    let answer = h.send(preflight("https://app.example.com")).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = answer.headers["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST") && methods.contains("PUT"));
    let allowed = answer.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("authorization"));

    let answer = h.send(preflight("https://evil.example.com")).await;
    assert!(!answer.headers.contains_key("access-control-allow-origin"));

    // Actual requests carry the header too.
    let mut write = request(
        Method::POST,
        "/topics/telemetry/streams/s/events/data",
        Some(&format!("Bearer {TOKEN}")),
        r#"[{"id": "a", "timestamp": 1}]"#,
    );
    write.headers_mut().insert(
        "origin",
        HeaderValue::from_static("https://app.example.com"),
    );
    let answer = h.send(write).await;
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn cors_is_off_unless_configured_and_any_origin_only_when_star_is_written() {
    let h = harness();
    let answer = h.send(preflight("https://app.example.com")).await;
    assert!(!answer.headers.contains_key("access-control-allow-origin"));
    let h = harness_with("[writer]\ncors_origins = [\"*\"]");
    let answer = h.send(preflight("https://anything.example")).await;
    // Echoed with credentials allowed, as a credentialed request (the
    // SignalR client's negotiate) needs: "*" would fail it.
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "https://anything.example"
    );
    assert_eq!(answer.headers["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn serves_the_openapi_document_and_each_operation_is_routed() {
    let h = harness();
    let answer = h
        .send(request(Method::GET, "/openapi.json", None, ""))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    let doc = answer.json();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{topic}", "telemetry")
            .replace("{streamId}", "s")
            .replace("{lang}", "curl");
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
        {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = h.write(method.clone(), &concrete, "{}").await;
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {concrete}"
            );
            assert_ne!(answer.message(), "no such route", "{method} {concrete}");
        }
    }
}

#[tokio::test]
async fn samples_are_ready_to_run_for_this_deployment() {
    let h = harness();
    for lang in LANGUAGES {
        let answer = h
            .send(
                Request::get(format!("/samples/{lang}?topic=other&stream=my-car"))
                    .header("host", "127.0.0.1:8787")
                    .header("x-forwarded-proto", "https")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{lang}");
        assert!(
            answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(
            answer
                .body
                .contains("https://127.0.0.1:8787/topics/other/streams/my-car/events/data"),
            "{lang}: {}",
            answer.body
        );
        assert!(!answer.body.contains("does not know"), "{lang}");
        assert!(answer.body.contains("INLET_TOKEN"), "{lang}");
        assert!(!answer.body.contains(TOKEN), "{lang} leaks a token");

        // A Host the server does not know (a poisoned cache could serve
        // the snippet to someone else) is never copied into it.
        let answer = h
            .send(
                Request::get(format!("/samples/{lang}?topic=other"))
                    .header("host", "attacker.example.com")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(!answer.body.contains("attacker"), "{lang}: {}", answer.body);
        assert!(
            answer.body.contains("http://localhost/topics/other/")
                && answer.body.contains("a name it does not know")
                && answer.body.contains("writer.public_url"),
            "{lang}: {}",
            answer.body
        );
    }
    let answer = h
        .send(request(Method::GET, "/samples/cobol", None, ""))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.message().contains("curl, javascript, python"));
    // Known and unknown topics are answered alike: no topic names leak.
    let answer = h
        .send(request(Method::GET, "/samples/curl?topic=nope", None, ""))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .body
            .contains("/topics/nope/streams/sample-stream/events/data")
    );

    let h = harness_with("[writer]\npublic_url = \"https://inlet.example.org\"");
    let answer = h
        .send(
            Request::get("/samples/curl")
                .header("host", "attacker.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!answer.body.contains("does not know"), "{}", answer.body);
    assert!(
        answer
            .body
            .contains("https://inlet.example.org/topics/other/streams/sample-stream/events/data"),
        "{}",
        answer.body
    );
}

#[test]
fn logs_never_contain_tokens_or_bodies() {
    let logs = kit::capture_logs(async {
        let h = harness();
        h.write(
            Method::POST,
            "/topics/telemetry/streams/s/parameters/data",
            QUIX_EXAMPLE,
        )
        .await;
        h.send(request(
            Method::POST,
            "/topics/telemetry/streams/s/close",
            Some("Bearer wrong-token"),
            "",
        ))
        .await;
        h.send(request(
            Method::POST,
            "/topics/telemetry/streams/s/events/data",
            Some(&format!("Bearer {LIMITED}")),
            "[]",
        ))
        .await;
    });
    assert!(logs.contains("parameter data published"), "{logs}");
    for secret in [TOKEN, LIMITED, "wrong-token", "SomeParameter1"] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn samples_never_carry_shell_syntax_from_the_request() {
    let h = harness();
    for lang in LANGUAGES {
        let answer = h
            .send(
                Request::get(format!("/samples/{lang}?topic=telemetry"))
                    .header("host", "$(id)`id`")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            !answer.body.contains("id)") && !answer.body.contains('`'),
            "{}",
            answer.body
        );
        assert!(
            answer.body.contains("http://localhost/topics/telemetry/"),
            "{}",
            answer.body
        );
    }
    for query in [
        "topic=%24(id)",
        "topic=a%22b",
        "stream=%60id%60",
        "stream=a%20b",
    ] {
        let answer = h
            .send(request(
                Method::GET,
                &format!("/samples/curl?{query}"),
                None,
                "",
            ))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn stream_ids_with_control_characters_are_400() {
    let h = harness();
    for id in ["a%00b", "a%0Ab", "a%09b"] {
        let answer = h
            .write(
                Method::POST,
                &format!("/topics/telemetry/streams/{id}/events/data"),
                r#"[{"id":"x","timestamp":1,"value":"v"}]"#,
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{id}");
        assert!(
            answer.message().contains("control characters"),
            "{}",
            answer.message()
        );
    }
    assert!(h.stored("telemetry").is_empty());
}

/// Forms earlier Quix documentation showed: definitions by PUT, one event's
/// raw value as Telegraf posts it, and a token with no scheme.
#[tokio::test]
async fn the_request_forms_of_earlier_quix_documentation_are_accepted() {
    let h = harness();
    let answer = h
        .write(
            Method::PUT,
            "/topics/telemetry/streams/car-1/parameters",
            r#"[{"Id":"Speed","Name":"Speed","MinimumValue":0.0,"MaximumValue":400.0,"Unit":"km/h"}]"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = h
        .write(
            Method::PUT,
            "/topics/telemetry/streams/car-1/events",
            r#"[{"Id":"Alert","Name":"Alert","Level":"Critical"}]"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let telegraf = r#"{"metrics":[{"fields":{"usage_idle":98.5},"name":"cpu","tags":{"host":"h1"},"timestamp":1458229140}]}"#;
    let answer = h
        .send(
            Request::post("/topics/telemetry/streams/telegraf/events/raw/value")
                .header("authorization", format!("bearer {TOKEN}"))
                .header("content-type", "text/plain; charset=utf-8")
                .body(Body::from(telegraf))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = h
        .send(request(
            Method::POST,
            "/topics/telemetry/streams/s/events/data",
            Some(TOKEN),
            r#"{"id":"bare","timestamp":1,"value":"v"}"#,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "a token with no scheme");

    let stored = h.stored("telemetry");
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0]["type"], "io.quix.stream.definitions");
    assert_eq!(stored[0]["data"]["parameters"][0]["id"], "Speed");
    assert_eq!(stored[1]["data"]["events"][0]["level"], "Critical");
    assert_eq!(stored[2]["type"], "io.quix.events");
    assert_eq!(stored[2]["subject"], "telegraf");
    assert_eq!(stored[2]["data"]["id"], "raw");
    assert_eq!(stored[2]["data"]["value"], telegraf);
    assert_eq!(
        stored[2]["data"]["timestamp"],
        1_700_000_000_000_000_000_i64
    );
    assert_eq!(stored[3]["data"]["id"], "bare");

    let answer = h
        .send(
            Request::post("/topics/telemetry/streams/t/events/raw/value")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::from(vec![0xff, 0xfe]))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_replaced_token_is_refused_and_its_successor_accepted_without_a_restart() {
    let sink = ScriptedSink::new(&["telemetry", "other"]);
    let handle = ConfigHandle::new(config(""));
    let router = router(WriteProxy::new(handle.clone(), sink.publisher()));
    let write = |token: &str| {
        let request = request(
            Method::POST,
            "/topics/telemetry/streams/s1/parameters/data",
            Some(&format!("Bearer {token}")),
            QUIX_EXAMPLE,
        );
        let router = router.clone();
        async move { kit::send(&router, request).await.status }
    };
    assert_eq!(write(TOKEN).await, StatusCode::OK);
    handle.replace(config_with("", "rotated-token-0000"));
    assert_eq!(write(TOKEN).await, StatusCode::UNAUTHORIZED);
    assert_eq!(write("rotated-token-0000").await, StatusCode::OK);
    assert_eq!(sink.stored("telemetry").len(), 2);
}
