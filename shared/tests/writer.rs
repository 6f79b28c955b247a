//! The Quix writer core without any transport: tokens and topic scopes,
//! messages into records, stream creation.

use inlet_shared::writer::{Message, MessageKind, QuixWriter};
use inlet_test_kit::{self as kit, ScriptedSink};

const CONFIG: &str = r#"
[topics.a]
stream = "sa"
[topics.b]
stream = "sb"
[tokens.all]
token = "env:ALL"
topics = ["*"]
[tokens.only_b]
token = "env:B"
topics = ["b"]
"#;

fn writer() -> (std::sync::Arc<ScriptedSink>, QuixWriter) {
    let sink = ScriptedSink::new(&["a", "b"]);
    let config = kit::config(CONFIG, &[("ALL", "all-token"), ("B", "b-token")]);
    (sink.clone(), QuixWriter::new(config, sink.publisher()))
}

#[test]
fn tokens_are_checked_then_topics_then_scopes() {
    let (_, writer) = writer();
    let status = |token: &str, topic: &str| match writer.authorize(token, topic) {
        Ok(topic) => topic.name.clone(),
        Err(e) => e.status().as_u16().to_string(),
    };
    assert_eq!(status("nope", "a"), "401");
    assert_eq!(status("nope", "missing"), "401");
    assert_eq!(status("all-token", "missing"), "404");
    assert_eq!(status("b-token", "a"), "403");
    assert_eq!(status("b-token", "b"), "b");
    assert_eq!(status(" all-token ", "a"), "a");
}

#[tokio::test]
async fn each_event_is_a_record_and_a_created_stream_gets_a_new_id() {
    let (sink, writer) = writer();
    let topic = writer.authorize("all-token", "a").unwrap().clone();
    let events = Message::parse(
        MessageKind::Events,
        br#"[{"id":"x","timestamp":1,"value":"1"},{"id":"y","timestamp":2,"value":"2"}]"#,
    )
    .unwrap();
    writer.write(&topic, "car-1", events).await.unwrap();
    let properties = Message::parse(MessageKind::Properties, br#"{"name":"n"}"#).unwrap();
    let stream_id = writer.create_stream(&topic, properties).await.unwrap();
    assert_eq!(stream_id.len(), 36);

    let stored = sink.stored("a");
    let kinds: Vec<_> = stored
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("io.quix.events", "car-1"),
            ("io.quix.events", "car-1"),
            ("io.quix.stream.properties", stream_id.as_str())
        ]
    );
    assert!(stored.iter().all(|e| e["source"] == "/writer"));
}

#[test]
fn a_bad_body_names_what_is_wrong() {
    let err = Message::parse(
        MessageKind::ParameterData,
        br#"{"timestamps": [1], "numericValues": {"v": []}}"#,
    )
    .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("numericValues"), "{err}");
}
