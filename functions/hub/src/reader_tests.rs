//! The Reader hub's subscriptions and the pushes they make.

use super::*;
use crate::pushes::newtonsoft;
use serde_json::Value;
use serde_json::json;

fn record(ty: &str, subject: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0", "id": "1", "source": "/writer", "type": ty,
        "subject": subject, "time": "2026-12-05T10:32:54.123Z",
        "datacontenttype": "application/json", "topic": "f1-data", "data": data,
    }))
    .unwrap()
}

fn reader(read: &str) -> Token {
    let config = inlet_test_kit::config(
        &format!(
            "[topics.f1-data]\n[topics.other]\n[tokens.r]\ntoken = \"env:T\"\ntopics = []\nread = {read}\n"
        ),
        &[("T", "t")],
    );
    config.tokens["r"].clone()
}

fn pushes(subscriptions: &Subscriptions, item: &Item) -> Vec<Value> {
    let mut out = String::new();
    let update = Update::Record(item.clone());
    subscriptions.pushes("ws", &reader("[\"*\"]"), &update, &mut out);
    out.split('\u{1e}')
        .filter(|m| !m.is_empty())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

#[test]
fn an_event_package_is_what_the_quix_reader_page_parses() {
    let item = Item::decode(
        "f1-data",
        &record(
            "io.quix.events",
            "s1",
            json!({"id": "Alert", "timestamp": 1618133869000000000_i64, "value": "Help", "tags": {"capacity": "over"}}),
        ),
    )
    .unwrap();
    let mut subscriptions = Subscriptions::default();
    subscriptions.apply(Change::Packages("f1-data".into()));
    let pushed = pushes(&subscriptions, &item);
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0]["type"], 1);
    assert_eq!(pushed[0]["target"], "PackageReceived");
    assert!(pushed[0].get("invocationId").is_none());
    let package = &pushed[0]["arguments"][0];
    assert_eq!(package["topicId"], "ws-f1-data");
    assert_eq!(package["topicName"], "f1-data");
    assert_eq!(package["streamId"], "s1");
    assert_eq!(
        package["type"],
        "QuixStreams.Telemetry.Models.EventDataRaw[]"
    );
    assert_eq!(package["dateTime"], "2026-12-05T10:32:54.123Z");
    assert_eq!(
        package["value"],
        r#"[{"Timestamp":1618133869000000000,"Tags":{"capacity":"over"},"Id":"Alert","Value":"Help"}]"#
    );
}

#[test]
fn a_timeseries_package_has_every_field_in_declaration_order() {
    let item = Item::decode(
        "f1-data",
        &record(
            "io.quix.parameters",
            "s1",
            json!({"timestamps": [1, 2], "numericValues": {"EngineRPM": [11444.0, null]}}),
        ),
    )
    .unwrap();
    let (ty, value) = newtonsoft(&item.message);
    assert_eq!(ty, "QuixStreams.Telemetry.Models.TimeseriesDataRaw");
    assert_eq!(
        value,
        r#"{"Epoch":0,"Timestamps":[1,2],"NumericValues":{"EngineRPM":[11444.0,null]},"StringValues":{},"BinaryValues":{},"TagValues":{}}"#
    );
}

#[test]
fn other_packages_name_their_models() {
    let cases = [
        (
            "io.quix.stream.properties",
            json!({"name": "car"}),
            "QuixStreams.Telemetry.Models.StreamProperties",
            r#"{"Name":"car","Location":null,"Metadata":{},"Parents":[],"TimeOfRecording":null}"#,
        ),
        (
            "io.quix.stream.end",
            json!({"endStreamState": "Aborted"}),
            "QuixStreams.Telemetry.Models.StreamEnd",
            r#"{"StreamEndType":1}"#,
        ),
        (
            "io.quix.stream.definitions",
            json!({"parameters": [{"id": "speed", "unit": "km/h"}]}),
            "QuixStreams.Telemetry.Models.ParameterDefinitions",
            r#"{"ParameterGroups":[],"Parameters":[{"Id":"speed","Name":null,"Description":null,"MinimumValue":null,"MaximumValue":null,"Unit":"km/h","Format":null,"CustomProperties":null}]}"#,
        ),
        (
            "io.quix.stream.definitions",
            json!({"events": [{"id": "crash", "level": "Critical"}]}),
            "QuixStreams.Telemetry.Models.EventDefinitions",
            r#"{"EventGroups":[],"Events":[{"Id":"crash","Name":null,"Description":null,"CustomProperties":null,"Level":"Critical"}]}"#,
        ),
    ];
    for (ty, data, model, value) in cases {
        let item = Item::decode("f1-data", &record(ty, "s", data)).unwrap();
        assert_eq!(newtonsoft(&item.message), (model, value.to_owned()), "{ty}");
    }
    assert_eq!(Item::decode("f1-data", b"not a cloudevent"), None);
    assert_eq!(
        Item::decode("f1-data", &record("com.example.other", "s", json!({}))),
        None
    );
}

#[test]
fn parameter_pushes_carry_only_the_subscribed_parameters_and_every_tag() {
    let item = Item::decode(
        "f1-data",
        &record(
            "io.quix.parameters",
            "s1",
            json!({"epoch": 10, "timestamps": [1], "numericValues": {"EngineRPM": [1.0], "Speed": [2.0]},
            "stringValues": {"Gear": ["3"]}, "tagValues": {"DriverStatus": ["Flying_lap"]}}),
        ),
    )
    .unwrap();
    let mut subscriptions = Subscriptions::default();
    subscriptions.apply(Change::Parameter(
        "f1-data".into(),
        "*".into(),
        "EngineRPM".into(),
    ));
    let pushed = pushes(&subscriptions, &item);
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0]["target"], "ParameterDataReceived");
    assert_eq!(
        pushed[0]["arguments"][0],
        json!({"topicId": "ws-f1-data", "topicName": "f1-data", "streamId": "s1", "epoch": 0,
            "timestamps": [11], "numericValues": {"EngineRPM": [1.0]}, "stringValues": {},
            "binaryValues": {}, "tagValues": {"DriverStatus": ["Flying_lap"]}})
    );
    // Another stream, topic or parameter: nothing.
    let mut other = Subscriptions::default();
    other.apply(Change::Parameter("f1-data".into(), "s2".into(), "*".into()));
    other.apply(Change::Parameter("other".into(), "*".into(), "*".into()));
    other.apply(Change::Parameter(
        "f1-data".into(),
        "s1".into(),
        "Brake".into(),
    ));
    assert!(pushes(&other, &item).is_empty());
    // Unsubscribing the stream removes its parameters.
    subscriptions.apply(Change::NoStream("f1-data".into(), "*".into()));
    assert!(subscriptions.is_empty());
}

#[test]
fn event_pushes_match_topic_stream_and_event_with_wildcards() {
    let item = Item::decode(
        "f1-data",
        &record("io.quix.events", "b459", json!({"id": "EventA", "timestamp": 1591733990000000000_i64, "value": "val-a", "tags": {"tag1": "val1"}})),
    )
    .unwrap();
    for (topic, stream, event, pushed) in [
        ("*", "*", "*", true),
        ("f1-data", "b459", "EventA", true),
        ("f1-data", "*", "EventB", false),
        ("other", "*", "*", false),
    ] {
        let mut subscriptions = Subscriptions::default();
        subscriptions.apply(Change::Event(topic.into(), stream.into(), event.into()));
        let got = pushes(&subscriptions, &item);
        assert_eq!(got.len(), usize::from(pushed), "{topic}/{stream}/{event}");
        if pushed {
            assert_eq!(got[0]["target"], "EventDataReceived");
            assert_eq!(
                got[0]["arguments"][0],
                json!({"topicId": "ws-f1-data", "topicName": "f1-data", "streamId": "b459", "id": "EventA",
                    "timestamp": 1591733990000000000_i64, "value": "val-a", "tags": {"tag1": "val1"}})
            );
        }
    }
}

#[test]
fn a_summary_keeps_what_a_topics_state_needs() {
    use crate::streams::TopicState;
    let records = [
        record(
            "io.quix.events",
            "s1",
            json!({"id": "crash", "timestamp": 5, "value": "x".repeat(100)}),
        ),
        record(
            "io.quix.parameters",
            "s1",
            json!({"timestamps": [1], "numericValues": {"rpm": [1.0]}, "StringValues": {"gear": ["3"]}}),
        ),
        record("io.quix.stream.properties", "s1", json!({"name": "car"})),
    ];
    let (mut full, mut summary) = (TopicState::default(), TopicState::default());
    for record in &records {
        let item = Item::decode("f1-data", record).unwrap();
        let light = Item::summary("f1-data", record).unwrap();
        assert_eq!(light.size, item.size);
        assert_eq!(full.observe("ws", &item), summary.observe("ws", &light));
    }
    assert_eq!(full.streams(), summary.streams());
    assert_eq!(Item::summary("f1-data", b"not json"), None);
}

#[test]
fn nothing_is_pushed_from_a_topic_the_token_may_not_read() {
    let item = Item::decode(
        "f1-data",
        &record("io.quix.events", "s", json!({"id": "a", "timestamp": 1})),
    )
    .unwrap();
    let mut subscriptions = Subscriptions::default();
    subscriptions.apply(Change::Packages("*".into()));
    let mut out = String::new();
    subscriptions.pushes(
        "ws",
        &reader("[\"other\"]"),
        &Update::Record(item),
        &mut out,
    );
    assert!(out.is_empty());
}
