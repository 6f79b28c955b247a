//! The hub's methods and negotiate, against the real embedded log.

use crate::signalr::protocol::{self, Message, Parsed};
use axum::body::Body;
use axum::http::{Method as HttpMethod, Request, StatusCode};
use inlet_test_kit::{self as kit, ScriptedSink};
use serde_json::{Value, json};

use super::*;

const TOKEN: &str = "hub-token-1234";
const LIMITED: &str = "limited-token-5678";

fn config(extra: &str) -> Arc<Config> {
    config_with(extra, TOKEN)
}

fn config_with(extra: &str, all_token: &str) -> Arc<Config> {
    let text = format!(
        r#"
[topics.telemetry]
[topics.other]
[tokens.all]
token = "env:ALL_TOKEN"
topics = ["*"]
read = ["*"]
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
    hub: Hub,
    session: Session,
}

fn harness_with(extra: &str) -> Harness {
    let sink = ScriptedSink::new(&["telemetry", "other"]);
    Harness {
        hub: Hub::new(config(extra), sink.publisher()),
        sink,
        session: Session::new(Default::default()),
    }
}

fn harness() -> Harness {
    harness_with("")
}

fn invocation(text: &str) -> Invocation {
    match protocol::parse(text).unwrap() {
        Parsed::Message(Message::Invocation(i)) => i,
        other => panic!("not an invocation: {other:?}"),
    }
}

fn call(id: Option<&str>, target: &str, arguments: Value) -> Invocation {
    let mut message = json!({"type": 1, "target": target, "arguments": arguments});
    if let Some(id) = id {
        message["invocationId"] = id.into();
    }
    invocation(&message.to_string())
}

impl Harness {
    fn caller(&self, token: &str) -> Token {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        self.hub.authenticate(&headers, None).unwrap()
    }

    /// Invokes as the all-topics token; the Completion as JSON.
    async fn invoke(&self, target: &str, arguments: Value) -> Value {
        self.invoke_as(TOKEN, target, arguments).await
    }

    async fn invoke_as(&self, token: &str, target: &str, arguments: Value) -> Value {
        let completion = self
            .hub
            .invoke(
                &self.caller(token),
                Some(Reading::Local(&self.session)),
                call(Some("1"), target, arguments),
            )
            .await
            .expect("an invocation with an id is completed");
        let text = completion
            .strip_suffix(protocol::RECORD_SEPARATOR)
            .expect("a framed message");
        let completion: Value = serde_json::from_str(text).unwrap();
        assert_eq!(completion["type"], 3);
        assert_eq!(completion["invocationId"], "1");
        completion
    }

    async fn error(&self, target: &str, arguments: Value) -> String {
        let completion = self.invoke(target, arguments).await;
        completion["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {completion}"))
            .to_owned()
    }
}

#[tokio::test]
async fn every_writer_method_publishes_what_the_http_api_would() {
    let h = harness();
    let created = h
        .invoke(
            "CreateStream",
            json!(["telemetry", {"name": "car-1", "metadata": {"rain": "light"}}]),
        )
        .await;
    let stream = created["result"]["streamId"].as_str().unwrap().to_owned();
    let done = h
        .invoke(
            "UpdateStream",
            json!(["telemetry", stream, {"Name": "renamed", "LOCATION": "/cars"}]),
        )
        .await;
    assert_eq!(done, json!({"type": 3, "invocationId": "1"}));
    h.invoke(
        "SendParameterData",
        json!(["telemetry", stream, {"epoch": 10, "timestamps": [1, 2],
            "numericValues": {"Speed": [1.5, null]}, "binaryValues": {"B": ["aGk=", null]},
            "tagValues": {"Lap": ["1", null]}}]),
    )
    .await;
    h.invoke(
        "SendEventData",
        json!(["telemetry", stream, [{"timestamp": 1733400000000_i64, "tags": {"mousestatus": "tracking"},
            "id": "mouse position", "value": "{\"x\":1}"}]]),
    )
    .await;
    h.invoke("CloseStream", json!(["telemetry", stream, "Aborted"]))
        .await;

    let records = h.sink.stored("telemetry");
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "io.quix.stream.properties",
            "io.quix.stream.properties",
            "io.quix.parameters",
            "io.quix.events",
            "io.quix.stream.end"
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r["subject"] == stream.as_str() && r["source"] == "/writer")
    );
    assert_eq!(records[0]["data"]["metadata"]["rain"], "light");
    assert_eq!(records[1]["data"]["name"], "renamed");
    assert_eq!(records[1]["data"]["location"], "/cars");
    assert_eq!(records[2]["data"]["epoch"], 10);
    assert_eq!(
        records[2]["data"]["numericValues"]["Speed"],
        json!([1.5, null])
    );
    // Millisecond timestamps pass through as the HTTP API passes them.
    assert_eq!(records[3]["data"]["timestamp"], 1733400000000_i64);
    assert_eq!(records[3]["data"]["tags"]["mousestatus"], "tracking");
    assert_eq!(records[4]["data"]["endStreamState"], "Aborted");
}

#[tokio::test]
async fn update_stream_with_two_arguments_creates_a_stream_as_the_quix_docs_call_it() {
    let h = harness();
    let completion = h
        .invoke("UpdateStream", json!(["telemetry", {"name": "docs form"}]))
        .await;
    let stream = completion["result"]["streamId"].as_str().unwrap();
    let records = h.sink.stored("telemetry");
    assert_eq!(records[0]["subject"], stream);
    assert_eq!(records[0]["data"]["name"], "docs form");
}

#[tokio::test]
async fn method_names_are_matched_ignoring_case() {
    let h = harness();
    let done = h
        .invoke(
            "sendeventdata",
            json!(["telemetry", "s", {"id": "a", "timestamp": 1}]),
        )
        .await;
    assert!(done.get("error").is_none(), "{done}");
    assert_eq!(h.sink.stored("telemetry").len(), 1);
}

#[tokio::test]
async fn a_completion_is_sent_only_once_the_records_are_durable() {
    let h = harness();
    h.sink.hold();
    let hub = h.hub.clone();
    let caller = h.caller(TOKEN);
    let mut invoked = tokio::spawn(async move {
        hub.invoke(
            &caller,
            None,
            call(
                Some("9"),
                "SendEventData",
                json!(["telemetry", "s", [{"id": "a", "timestamp": 1}]]),
            ),
        )
        .await
    });
    h.sink.until_held(1).await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(50), &mut invoked)
            .await
            .is_err(),
        "completed before the sink stored the record"
    );
    assert!(h.sink.stored("telemetry").is_empty());
    h.sink.release();
    let completion = invoked.await.unwrap().unwrap();
    assert_eq!(completion, "{\"type\":3,\"invocationId\":\"9\"}\u{1e}");
    assert_eq!(h.sink.stored("telemetry").len(), 1);
}

#[tokio::test]
async fn a_failed_store_is_a_completion_error_to_retry() {
    let h = harness();
    h.sink.script(kit::Script::FailAll);
    let error = h
        .error(
            "SendEventData",
            json!(["telemetry", "s", [{"id": "a", "timestamp": 1}]]),
        )
        .await;
    assert_eq!(
        error,
        "Failed to invoke 'SendEventData': unavailable: the stream cannot take the record now; retry later"
    );
}

#[tokio::test]
async fn bad_invocations_are_completion_errors_naming_the_problem() {
    let h = harness();
    let cases = [
        (
            "NoSuchMethod",
            json!([]),
            "not_found: the hub has no method \"NoSuchMethod\"; it has CreateStream, UpdateStream, SendParameterData, SendEventData, CloseStream",
        ),
        (
            "SendEventData",
            json!(["telemetry", "s"]),
            "bad_request: SendEventData takes 3 arguments (topic, streamId, events); 2 given",
        ),
        (
            "CreateStream",
            json!([]),
            "bad_request: CreateStream takes 1 to 2 arguments (topic, details); 0 given",
        ),
        (
            "SendEventData",
            json!([1, "s", []]),
            "bad_request: argument 1 (topic) must be a string",
        ),
        (
            "SendEventData",
            json!(["telemetry", null, []]),
            "bad_request: argument 2 (streamId) must be a string",
        ),
        (
            "SendEventData",
            json!(["telemetry", "", [{"id": "a", "timestamp": 1}]]),
            "bad_request: argument 2 (streamId) is empty",
        ),
        (
            "SendEventData",
            json!(["telemetry", "s", []]),
            "bad_request: events: the list is empty",
        ),
        (
            "SendEventData",
            json!(["telemetry", "s", [{"id": "a", "timestamp": "x"}]]),
            "bad_request: events: [0].timestamp: invalid type",
        ),
        (
            "SendParameterData",
            json!(["telemetry", "s", {"timestamps": [1, 2], "numericValues": {"a": [1]}}]),
            "bad_request: parameter data: numericValues.a has 1 values but timestamps has 2",
        ),
        (
            "SendEventData",
            json!(["nope", "s", [{"id": "a", "timestamp": 1}]]),
            "not_found: unknown topic \"nope\"",
        ),
        (
            "CloseStream",
            json!(["telemetry", "s", "Exploded"]),
            "bad_request: close: endStreamState: unknown variant",
        ),
    ];
    for (target, arguments, expected) in cases {
        let error = h.error(target, arguments.clone()).await;
        let expected = format!("Failed to invoke '{target}': {expected}");
        assert!(
            error.starts_with(&expected),
            "{target}({arguments}):\n  got      {error}\n  expected {expected}"
        );
    }
    assert!(h.sink.stored("telemetry").is_empty());
}

#[tokio::test]
async fn a_token_may_write_only_to_its_topics() {
    let h = harness();
    let completion = h
        .invoke_as(
            LIMITED,
            "SendEventData",
            json!(["telemetry", "s", [{"id": "a", "timestamp": 1}]]),
        )
        .await;
    assert_eq!(
        completion["error"],
        "Failed to invoke 'SendEventData': forbidden: token \"limited\" may not write to topic \"telemetry\""
    );
    let completion = h
        .invoke_as(
            LIMITED,
            "SendEventData",
            json!(["other", "s", [{"id": "a", "timestamp": 1}]]),
        )
        .await;
    assert!(completion.get("error").is_none());
}

#[tokio::test]
async fn a_message_over_the_limit_is_a_completion_error() {
    let h = harness_with("[writer]\nmax_body_bytes = 200");
    let value = "x".repeat(200);
    let error = h
        .error(
            "SendEventData",
            json!(["telemetry", "s", [{"id": "a", "timestamp": 1, "value": value}]]),
        )
        .await;
    assert_eq!(
        error,
        "Failed to invoke 'SendEventData': payload_too_large: body exceeds the limit of 200 bytes"
    );
}

#[tokio::test]
async fn a_send_without_an_invocation_id_is_never_answered() {
    let h = harness();
    let caller = h.caller(TOKEN);
    let ok = call(
        None,
        "SendEventData",
        json!(["telemetry", "s", [{"id": "a", "timestamp": 1}]]),
    );
    assert_eq!(h.hub.invoke(&caller, None, ok).await, None);
    let bad = call(None, "SendEventData", json!(["telemetry"]));
    assert_eq!(h.hub.invoke(&caller, None, bad).await, None);
    assert_eq!(h.sink.stored("telemetry").len(), 1);
}

#[tokio::test]
async fn subscribing_needs_read_access_which_no_token_has_unless_granted() {
    let h = harness();
    let done = h.invoke("SubscribeToPackages", json!(["telemetry"])).await;
    assert!(done.get("error").is_none(), "{done}");
    assert!(!h.session.subscriptions.lock().unwrap().is_empty());
    // `limited` has only `topics`: it writes, and reads nothing.
    for topic in ["other", "*"] {
        let completion = h
            .invoke_as(LIMITED, "SubscribeToPackages", json!([topic]))
            .await;
        assert_eq!(
            completion["error"],
            format!(
                "Failed to invoke 'SubscribeToPackages': forbidden: token \"limited\" may not read topic \"{topic}\" (tokens.limited.read)"
            )
        );
    }
    let completion = h
        .invoke("SubscribeToEvent", json!(["nope", "*", "*"]))
        .await;
    assert!(
        completion["error"]
            .as_str()
            .unwrap()
            .contains("not_found: unknown topic \"nope\"")
    );
    let completion = h
        .invoke("SubscribeToEvent", json!(["telemetry", "*"]))
        .await;
    assert!(
        completion["error"]
            .as_str()
            .unwrap()
            .contains("SubscribeToEvent takes 3 arguments (topic, streamId, eventId); 2 given")
    );
    // Unsubscribing needs no read access and always succeeds.
    let completion = h
        .invoke_as(LIMITED, "UnsubscribeFromPackages", json!(["other"]))
        .await;
    assert!(completion.get("error").is_none(), "{completion}");
}

#[tokio::test]
async fn subscribing_where_no_records_are_fed_is_refused_by_name() {
    let h = harness();
    let completion = h
        .hub
        .invoke(
            &h.caller(TOKEN),
            None,
            call(Some("1"), "SubscribeToTopicPackages", json!(["telemetry"])),
        )
        .await
        .unwrap();
    assert!(
        completion
            .contains("the Reader hub needs inlet serve's embedded log, or in AWS the hub's table"),
        "{completion}"
    );
}

fn negotiate_request(token: Option<&str>, query: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(HttpMethod::POST)
        .uri(format!("/hub/negotiate{query}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn negotiate_answers_a_connection_token_the_hub_accepts() {
    let h = harness();
    let router = negotiate_routes(h.hub.clone());
    let answer = kit::send(
        &router,
        negotiate_request(Some(TOKEN), "?negotiateVersion=1"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["negotiateVersion"], 1);
    assert_eq!(
        body["availableTransports"],
        json!([{"transport": "WebSockets", "transferFormats": ["Text"]}])
    );
    let token = body["connectionToken"].as_str().unwrap();
    assert_eq!(h.hub.connection_id(token).unwrap(), body["connectionId"]);
    // The public id does not open a connection.
    let id = body["connectionId"].as_str().unwrap();
    assert_eq!(
        h.hub.connection_id(id).unwrap_err().status(),
        StatusCode::NOT_FOUND
    );

    // Version 0: the id is the token.
    let answer = kit::send(&router, negotiate_request(Some(TOKEN), "")).await;
    let id = answer.json()["connectionId"].as_str().unwrap().to_owned();
    assert!(h.hub.connection_id(&id).is_ok());
}

#[tokio::test]
async fn negotiate_without_a_valid_token_is_401() {
    let h = harness();
    let router = negotiate_routes(h.hub.clone());
    let answer = kit::send(&router, negotiate_request(None, "?negotiateVersion=1")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = kit::send(
        &router,
        negotiate_request(Some("wrong"), "?negotiateVersion=1"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.message(), "invalid bearer token");
    // The token in the URL, as browsers must send it on the socket.
    let answer = kit::send(
        &router,
        negotiate_request(None, &format!("?negotiateVersion=1&access_token={TOKEN}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn negotiate_allows_credentialed_cross_origin_calls_from_allowed_origins() {
    let h = harness_with("[writer]\ncors_origins = [\"http://localhost:3000\"]");
    let router = negotiate_routes(h.hub.clone());
    let preflight = Request::builder()
        .method(HttpMethod::OPTIONS)
        .uri("/hub/negotiate?negotiateVersion=1")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, x-requested-with, x-signalr-user-agent, content-type",
        )
        .body(Body::empty())
        .unwrap();
    let answer = kit::send(&router, preflight).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(answer.headers["access-control-allow-credentials"], "true");
    let allowed = answer.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("x-signalr-user-agent") && allowed.contains("x-requested-with"));
}

#[tokio::test]
async fn connection_tokens_agree_across_hubs_with_the_same_configuration() {
    // Negotiate and the socket may be served by different Lambda invocations.
    let one = harness();
    let two = harness();
    let (_, token) = one.hub.connections.issue(std::time::SystemTime::now());
    assert!(two.hub.connection_id(&token).is_ok());
    let other = Hub::new(
        kit::config(
            "[topics.t]\n[tokens.x]\ntoken = \"env:X\"\ntopics = [\"*\"]",
            &[("X", "another-token")],
        ),
        one.sink.publisher(),
    );
    assert!(other.connection_id(&token).is_err());
}

mod aws {
    //! The AWS handler with the events API Gateway sends, as its
    //! documentation shows them.

    use super::*;
    use crate::aws::{Invocation as Event, handle as handle_with};

    async fn handle(hub: &Hub, event: Event) -> Result<Value, crate::aws::Unauthorized> {
        handle_with(hub, crate::aws::Reach::default(), event).await
    }

    fn authorizer(query: Value, headers: Value) -> Event {
        Event::from_event(json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/$connect",
            "headers": headers,
            "queryStringParameters": query,
            "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c1="},
        }))
        .unwrap()
    }

    fn frame(body: &str, authorizer: Value) -> Event {
        Event::from_event(json!({
            "requestContext": {
                "routeKey": "$default", "eventType": "MESSAGE", "connectionId": "c1=",
                "messageDirection": "IN", "stage": "prod", "authorizer": authorizer,
            },
            "body": body,
            "isBase64Encoded": false,
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_authorizer_allows_a_valid_token_and_names_it_in_the_context() {
        let h = harness();
        let (_, connection) = h.hub.connections.issue(std::time::SystemTime::now());
        let policy = handle(
            &h.hub,
            authorizer(json!({"id": connection, "access_token": TOKEN}), json!({})),
        )
        .await
        .unwrap();
        assert_eq!(policy["principalId"], "all");
        assert_eq!(policy["context"]["token"], "all");
        let statement = &policy["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Action"], "execute-api:Invoke");
        assert!(
            statement["Resource"]
                .as_str()
                .unwrap()
                .ends_with("/prod/$connect")
        );
        // Node.js clients send the token as a header instead.
        let policy = handle(
            &h.hub,
            authorizer(
                json!({}),
                json!({"Authorization": format!("Bearer {LIMITED}")}),
            ),
        )
        .await
        .unwrap();
        assert_eq!(policy["context"]["token"], "limited");
    }

    #[tokio::test]
    async fn the_authorizer_refuses_a_bad_token_with_401_and_a_bad_connection_token_with_deny() {
        let h = harness();
        let refused = handle(
            &h.hub,
            authorizer(json!({"access_token": "wrong"}), json!({})),
        )
        .await;
        assert_eq!(refused.unwrap_err().to_string(), "Unauthorized");
        let refused = handle(&h.hub, authorizer(json!({}), json!({}))).await;
        assert!(refused.is_err());
        let policy = handle(
            &h.hub,
            authorizer(json!({"access_token": TOKEN, "id": "forged"}), json!({})),
        )
        .await
        .unwrap();
        assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Deny");
    }

    #[tokio::test]
    async fn a_frame_is_answered_through_the_route_response() {
        let h = harness();
        let context = json!({"principalId": "all", "token": "all"});
        let body = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
        let answer = handle(&h.hub, frame(body, context.clone())).await.unwrap();
        assert_eq!(answer, json!({"statusCode": 200, "body": "{}\u{1e}"}));
        // A ping is answered with one: the client hears from the server.
        let answer = handle(&h.hub, frame("{\"type\":6}\u{1e}", context.clone()))
            .await
            .unwrap();
        assert_eq!(answer["body"], "{\"type\":6}\u{1e}");
        let call = r#"{"type":1,"invocationId":"4","target":"SendEventData","arguments":["telemetry","s",[{"id":"a","timestamp":1}]]}"#;
        let answer = handle(&h.hub, frame(&format!("{call}\u{1e}"), context.clone()))
            .await
            .unwrap();
        assert_eq!(answer["body"], "{\"type\":3,\"invocationId\":\"4\"}\u{1e}");
        assert_eq!(h.sink.stored("telemetry").len(), 1);
        // A send() is answered with nothing.
        let send = r#"{"type":1,"target":"SendEventData","arguments":["telemetry","s",[{"id":"a","timestamp":1}]]}"#;
        let answer = handle(&h.hub, frame(&format!("{send}\u{1e}"), context))
            .await
            .unwrap();
        assert_eq!(answer, json!({"statusCode": 200}));
        assert_eq!(h.sink.stored("telemetry").len(), 2);
    }

    #[tokio::test]
    async fn an_invocation_without_the_authorizer_context_is_refused_by_name() {
        let h = harness();
        let call = r#"{"type":1,"invocationId":"4","target":"SendEventData","arguments":["telemetry","s",[{"id":"a","timestamp":1}]]}"#;
        let answer = handle(&h.hub, frame(&format!("{call}\u{1e}"), json!({})))
            .await
            .unwrap();
        let body = answer["body"].as_str().unwrap();
        assert!(
            body.contains("unauthorized: the connection has no authorizer context"),
            "{body}"
        );
        assert!(h.sink.stored("telemetry").is_empty());
    }

    /// An `@connections` API that records what it is asked.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl crate::fanout::Connections for Recorded {
        async fn post(
            &self,
            connection: &str,
            frame: String,
        ) -> Result<(), crate::fanout::PostError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("post {connection} {frame}"));
            Ok(())
        }

        async fn close(&self, connection: &str) -> Result<(), crate::fanout::PostError> {
            self.0.lock().unwrap().push(format!("close {connection}"));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_protocol_error_is_posted_then_the_connection_closed() {
        let h = harness();
        let context = json!({"principalId": "all", "token": "all"});
        let binary = Event::from_event(json!({
            "requestContext": {"routeKey": "$default", "eventType": "MESSAGE", "connectionId": "c1=", "authorizer": context},
            "body": "AAEC",
            "isBase64Encoded": true,
        }))
        .unwrap();
        for event in [frame("not a message\u{1e}", context.clone()), binary] {
            let connections = Recorded::default();
            let reach = crate::aws::Reach {
                table: None,
                connections: Some(&connections),
            };
            let answer = handle_with(&h.hub, reach, event).await.unwrap();
            assert_eq!(answer, json!({"statusCode": 200}));
            let asked = connections.0.lock().unwrap().clone();
            assert_eq!(asked.len(), 2, "{asked:?}");
            assert!(
                asked[0].starts_with("post c1= ") && asked[0].contains("\"type\":7"),
                "{asked:?}"
            );
            assert_eq!(asked[1], "close c1=");
        }
        // Without the @connections API the Close message is the answer.
        let answer = handle(&h.hub, frame("not a message\u{1e}", context))
            .await
            .unwrap();
        assert!(answer["body"].as_str().unwrap().contains("\"type\":7"));
    }

    #[tokio::test]
    async fn connect_and_disconnect_are_accepted() {
        let h = harness();
        for event_type in ["CONNECT", "DISCONNECT"] {
            let event = Event::from_event(json!({
                "requestContext": {"eventType": event_type, "connectionId": "c1=", "authorizer": {"token": "all"}},
            }))
            .unwrap();
            assert_eq!(
                handle(&h.hub, event).await.unwrap(),
                json!({"statusCode": 200})
            );
        }
    }
}

#[test]
fn a_replaced_token_is_refused_and_its_successor_accepted_without_a_restart() {
    let sink = ScriptedSink::new(&["telemetry", "other"]);
    let handle = inlet_shared::config::ConfigHandle::new(config(""));
    let hub = Hub::new(handle.clone(), sink.publisher());
    let bearer = |token: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers
    };
    assert_eq!(hub.authenticate(&bearer(TOKEN), None).unwrap().name, "all");
    handle.replace(config_with("", "rotated-token-0000"));
    assert!(hub.authenticate(&bearer(TOKEN), None).is_err());
    assert_eq!(
        hub.authenticate(&bearer("rotated-token-0000"), None)
            .unwrap()
            .name,
        "all"
    );
}

#[test]
fn a_completion_error_names_the_method_and_code_and_hides_internals() {
    let err = Error::Forbidden("token \"a\" may not write to topic \"b\"".into());
    assert_eq!(
        completion_message(&err, "SendEventData"),
        "Failed to invoke 'SendEventData': forbidden: token \"a\" may not write to topic \"b\""
    );
    let err = Error::unavailable("disk full at /var/x");
    assert!(!completion_message(&err, "X").contains("/var/x"));
}
