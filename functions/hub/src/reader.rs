//! The Reader hub: a connection's subscriptions, and the pushes a stored
//! record becomes for it, shaped as Quix's Streaming Reader sends them
//! (quixio/quix-docs `docs/apis/streaming-reader-api/`; the package models
//! of quixio/quix-streams release/v0.5 `QuixStreams.Telemetry/Models`).

use std::collections::{BTreeMap, BTreeSet};

use crate::signalr::protocol;
use inlet_shared::config::{Config, Token};
use inlet_shared::model::{
    Definitions, EndStreamState, EventData, ParameterData, StreamEnd, StreamProperties, event_type,
};
use inlet_shared::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::streams::{Action, ActiveStream, TopicMetrics};

/// The wildcard of topics, streams, parameters and events.
pub const ANY: &str = "*";

/// One stored record, decoded once for every subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its topic.
    pub topic: String,
    /// Its stream id (the CloudEvent `subject`).
    pub stream_id: String,
    /// When it was published (the CloudEvent `time`).
    pub time: String,
    /// The Quix message it carries.
    pub package: Package,
    /// The record's size in bytes.
    pub size: usize,
}

/// The Quix message of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Package {
    /// `io.quix.parameters`.
    Parameters(ParameterData),
    /// `io.quix.events` (a webhook, a poll and a Writer event alike).
    Event(EventData),
    /// `io.quix.stream.properties`.
    Properties(StreamProperties),
    /// `io.quix.stream.definitions`.
    Definitions(Definitions),
    /// `io.quix.stream.end`.
    End(StreamEnd),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    subject: String,
    time: String,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

impl Item {
    /// Decodes a record of `topic` straight into its model (no JSON tree);
    /// `None` for a record that is not a Quix CloudEvent (nothing to push).
    pub fn decode(topic: &str, record: &[u8]) -> Option<Item> {
        let envelope: Envelope<'_> = serde_json::from_slice(record).ok()?;
        let data = envelope.data.get();
        let package = match envelope.ty {
            event_type::PARAMETERS => Package::Parameters(serde_json::from_str(data).ok()?),
            event_type::EVENTS => Package::Event(serde_json::from_str(data).ok()?),
            event_type::STREAM_PROPERTIES => Package::Properties(serde_json::from_str(data).ok()?),
            event_type::DEFINITIONS => Package::Definitions(serde_json::from_str(data).ok()?),
            event_type::STREAM_END => Package::End(serde_json::from_str(data).ok()?),
            _ => return None,
        };
        Some(Item {
            topic: topic.to_owned(),
            stream_id: envelope.subject,
            time: envelope.time,
            package,
            size: record.len(),
        })
    }
}

impl Item {
    /// [`Item::decode`] keeping only what a topic's state needs (an event's
    /// id, the names of a package's columns), for when nobody listens: event
    /// values and column values are skipped, not copied.
    pub fn summary(topic: &str, record: &[u8]) -> Option<Item> {
        use serde::de::IgnoredAny;
        #[derive(Deserialize)]
        struct EventId {
            #[serde(alias = "Id")]
            id: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Columns {
            #[serde(default, alias = "NumericValues")]
            numeric_values: BTreeMap<String, IgnoredAny>,
            #[serde(default, alias = "StringValues")]
            string_values: BTreeMap<String, IgnoredAny>,
            #[serde(default, alias = "BinaryValues")]
            binary_values: BTreeMap<String, IgnoredAny>,
        }
        fn names<T>(columns: BTreeMap<String, IgnoredAny>) -> BTreeMap<String, Vec<T>> {
            columns.into_keys().map(|name| (name, Vec::new())).collect()
        }
        let envelope: Envelope<'_> = serde_json::from_slice(record).ok()?;
        let data = envelope.data.get();
        let package = match envelope.ty {
            event_type::EVENTS => {
                let event: EventId = serde_json::from_str(data).ok()?;
                Package::Event(EventData {
                    id: event.id,
                    timestamp: 0,
                    value: String::new(),
                    tags: BTreeMap::new(),
                })
            }
            event_type::PARAMETERS => {
                let columns: Columns = serde_json::from_str(data).ok()?;
                Package::Parameters(ParameterData {
                    numeric_values: names(columns.numeric_values),
                    string_values: names(columns.string_values),
                    binary_values: names(columns.binary_values),
                    ..ParameterData::default()
                })
            }
            _ => return Item::decode(topic, record),
        };
        Some(Item {
            topic: topic.to_owned(),
            stream_id: envelope.subject,
            time: envelope.time,
            package,
            size: record.len(),
        })
    }
}

/// What the Reader hub hands its connections: a stored record, or a change
/// of a topic's streams or metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A record, as stored.
    Record(Item),
    /// A stream was added, updated or removed (`ActiveStreamsChanged`).
    Stream(ActiveStream, Action),
    /// A topic's last second (`TopicMetricsUpdated`).
    Metrics(TopicMetrics),
}

/// What one connection is subscribed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    packages: BTreeSet<String>,
    active_streams: BTreeSet<String>,
    metrics: BTreeSet<String>,
    /// (topic, stream, parameter).
    parameters: BTreeSet<(String, String, String)>,
    /// (topic, stream, event).
    events: BTreeSet<(String, String, String)>,
}

fn matches(pattern: &str, value: &str) -> bool {
    pattern == ANY || pattern == value
}

/// A Reader hub method and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `SubscribeToPackages(topic)` (also `SubscribeToTopicPackages`).
    Packages(String),
    /// `UnsubscribeFromPackages(topic)`.
    NoPackages(String),
    /// `SubscribeToParameter(topic, stream, parameter)`.
    Parameter(String, String, String),
    /// `UnsubscribeFromParameter(topic, stream, parameter)`.
    NoParameter(String, String, String),
    /// `SubscribeToEvent(topic, stream, event)`.
    Event(String, String, String),
    /// `UnsubscribeFromEvent(topic, stream, event)`.
    NoEvent(String, String, String),
    /// `UnsubscribeFromStream(topic, stream)`: its parameters and events.
    NoStream(String, String),
    /// `SubscribeToActiveStreams(topic)`.
    ActiveStreams(String),
    /// `UnsubscribeFromActiveStreams(topic)`.
    NoActiveStreams(String),
    /// `SubscribeToTopicMetrics(topic)`.
    Metrics(String),
    /// `UnsubscribeFromTopicMetrics(topic)`.
    NoMetrics(String),
}

impl Change {
    /// The topic the change names.
    pub fn topic(&self) -> &str {
        match self {
            Change::Packages(t)
            | Change::NoPackages(t)
            | Change::NoStream(t, _)
            | Change::ActiveStreams(t)
            | Change::NoActiveStreams(t)
            | Change::Metrics(t)
            | Change::NoMetrics(t) => t,
            Change::Parameter(t, ..)
            | Change::NoParameter(t, ..)
            | Change::Event(t, ..)
            | Change::NoEvent(t, ..) => t,
        }
    }

    /// Whether it subscribes (and so needs read access).
    pub fn subscribes(&self) -> bool {
        matches!(
            self,
            Change::Packages(_)
                | Change::Parameter(..)
                | Change::Event(..)
                | Change::ActiveStreams(_)
                | Change::Metrics(_)
        )
    }
}

/// Checks that `caller` may read `topic` (or, for `*`, some topic): 404 for
/// an unknown topic, 403 without read access.
pub fn authorize_read(config: &Config, caller: &Token, topic: &str) -> Result<()> {
    if topic != ANY {
        config.topic(topic)?;
    }
    let allowed = match &caller.read {
        inlet_shared::config::TopicAccess::All => true,
        inlet_shared::config::TopicAccess::Only(topics) => {
            if topic == ANY {
                !topics.is_empty()
            } else {
                topics.iter().any(|t| t == topic)
            }
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "token {:?} may not read topic {topic:?} (tokens.{}.read)",
            caller.name, caller.name
        )))
    }
}

impl Subscriptions {
    /// Applies a subscribe or unsubscribe.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Packages(topic) => {
                self.packages.insert(topic);
            }
            Change::NoPackages(topic) => {
                self.packages.remove(&topic);
            }
            Change::Parameter(t, s, p) => {
                self.parameters.insert((t, s, p));
            }
            Change::NoParameter(t, s, p) => {
                self.parameters.remove(&(t, s, p));
            }
            Change::Event(t, s, e) => {
                self.events.insert((t, s, e));
            }
            Change::NoEvent(t, s, e) => {
                self.events.remove(&(t, s, e));
            }
            Change::NoStream(t, s) => {
                self.parameters
                    .retain(|(pt, ps, _)| !(pt == &t && ps == &s));
                self.events.retain(|(et, es, _)| !(et == &t && es == &s));
            }
            Change::ActiveStreams(topic) => {
                self.active_streams.insert(topic);
            }
            Change::NoActiveStreams(topic) => {
                self.active_streams.remove(&topic);
            }
            Change::Metrics(topic) => {
                self.metrics.insert(topic);
            }
            Change::NoMetrics(topic) => {
                self.metrics.remove(&topic);
            }
        }
    }

    /// Whether nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.parameters.is_empty()
            && self.events.is_empty()
            && self.active_streams.is_empty()
            && self.metrics.is_empty()
    }

    /// The pushes `update` makes for this connection, as framed hub
    /// messages appended to `out`; only of topics `caller` may read.
    pub fn pushes(&self, workspace: &str, caller: &Token, update: &Update, out: &mut String) {
        let item = match update {
            Update::Record(item) => item,
            Update::Stream(stream, action) => {
                if caller.read.allows(&stream.topic_name)
                    && self
                        .active_streams
                        .iter()
                        .any(|t| matches(t, &stream.topic_name))
                {
                    out.push_str(&protocol::invocation(
                        "ActiveStreamsChanged",
                        &(stream, action.name()),
                    ));
                }
                return;
            }
            Update::Metrics(metrics) => {
                if caller.read.allows(&metrics.topic_name)
                    && self.metrics.iter().any(|t| matches(t, &metrics.topic_name))
                {
                    out.push_str(&protocol::invocation("TopicMetricsUpdated", &[metrics]));
                }
                return;
            }
        };
        if !caller.read.allows(&item.topic) {
            return;
        }
        let topic = &item.topic;
        if self.packages.iter().any(|t| matches(t, topic)) {
            out.push_str(&protocol::invocation(
                "PackageReceived",
                &[package_received(workspace, item)],
            ));
        }
        let stream = &item.stream_id;
        match &item.package {
            Package::Parameters(data) => {
                let wanted: BTreeSet<&str> = self
                    .parameters
                    .iter()
                    .filter(|(t, s, _)| matches(t, topic) && matches(s, stream))
                    .map(|(_, _, p)| p.as_str())
                    .collect();
                if let Some(push) = parameter_data_received(workspace, item, data, &wanted) {
                    out.push_str(&protocol::invocation("ParameterDataReceived", &[push]));
                }
            }
            Package::Event(event) => {
                let subscribed = self.events.iter().any(|(t, s, e)| {
                    matches(t, topic) && matches(s, stream) && matches(e, &event.id)
                });
                if subscribed {
                    out.push_str(&protocol::invocation(
                        "EventDataReceived",
                        &[event_data_received(workspace, item, event)],
                    ));
                }
            }
            _ => {}
        }
    }
}

/// The `topicId` Quix gives a topic: `{workspace}-{topic}`.
pub fn topic_id(workspace: &str, topic: &str) -> String {
    format!("{workspace}-{topic}")
}

/// A `PackageReceived` argument.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageReceived {
    topic_id: String,
    topic_name: String,
    stream_id: String,
    #[serde(rename = "type")]
    ty: &'static str,
    value: String,
    date_time: String,
}

/// The package of `item` as Quix pushes it: `type` the .NET model's name,
/// `value` the model as Newtonsoft.Json writes it by default (PascalCase,
/// declaration order, nulls and defaults included).
pub fn package_received(workspace: &str, item: &Item) -> PackageReceived {
    let (ty, value) = newtonsoft(&item.package);
    PackageReceived {
        topic_id: topic_id(workspace, &item.topic),
        topic_name: item.topic.clone(),
        stream_id: item.stream_id.clone(),
        ty,
        value,
        date_time: item.time.clone(),
    }
}

fn newtonsoft(package: &Package) -> (&'static str, String) {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct TimeseriesDataRaw<'a> {
        epoch: i64,
        timestamps: &'a [i64],
        numeric_values: &'a BTreeMap<String, Vec<Option<f64>>>,
        string_values: &'a BTreeMap<String, Vec<Option<String>>>,
        binary_values: &'a BTreeMap<String, Vec<Option<String>>>,
        tag_values: &'a BTreeMap<String, Vec<Option<String>>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EventDataRaw<'a> {
        timestamp: i64,
        tags: &'a BTreeMap<String, String>,
        id: &'a str,
        value: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Properties<'a> {
        name: &'a Option<String>,
        location: &'a Option<String>,
        metadata: &'a BTreeMap<String, String>,
        parents: &'a [String],
        time_of_recording: &'a Option<String>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct End {
        stream_end_type: u8,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct ParameterDefinitions<'a> {
        parameter_groups: [(); 0],
        parameters: Vec<ParameterDefinition<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct ParameterDefinition<'a> {
        id: &'a str,
        name: &'a Option<String>,
        description: &'a Option<String>,
        minimum_value: &'a Option<f64>,
        maximum_value: &'a Option<f64>,
        unit: &'a Option<String>,
        format: &'a Option<String>,
        custom_properties: &'a Option<String>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EventDefinitions<'a> {
        event_groups: [(); 0],
        events: Vec<EventDefinition<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EventDefinition<'a> {
        id: &'a str,
        name: &'a Option<String>,
        description: &'a Option<String>,
        custom_properties: &'a Option<String>,
        level: &'a str,
    }
    match package {
        Package::Parameters(data) => (
            "QuixStreams.Telemetry.Models.TimeseriesDataRaw",
            json(&TimeseriesDataRaw {
                epoch: data.epoch,
                timestamps: &data.timestamps,
                numeric_values: &data.numeric_values,
                string_values: &data.string_values,
                binary_values: &data.binary_values,
                tag_values: &data.tag_values,
            }),
        ),
        Package::Event(event) => (
            "QuixStreams.Telemetry.Models.EventDataRaw[]",
            json(&[EventDataRaw {
                timestamp: event.timestamp,
                tags: &event.tags,
                id: &event.id,
                value: &event.value,
            }]),
        ),
        Package::Properties(p) => (
            "QuixStreams.Telemetry.Models.StreamProperties",
            json(&Properties {
                name: &p.name,
                location: &p.location,
                metadata: &p.metadata,
                parents: &p.parents,
                time_of_recording: &p.time_of_recording,
            }),
        ),
        Package::End(end) => (
            "QuixStreams.Telemetry.Models.StreamEnd",
            json(&End {
                stream_end_type: match end.end_stream_state {
                    EndStreamState::Closed => 0,
                    EndStreamState::Aborted => 1,
                    EndStreamState::Terminated => 2,
                },
            }),
        ),
        Package::Definitions(d) if d.events.is_empty() => (
            "QuixStreams.Telemetry.Models.ParameterDefinitions",
            json(&ParameterDefinitions {
                parameter_groups: [],
                parameters: d
                    .parameters
                    .iter()
                    .map(|p| ParameterDefinition {
                        id: &p.id,
                        name: &p.name,
                        description: &p.description,
                        minimum_value: &p.minimum_value,
                        maximum_value: &p.maximum_value,
                        unit: &p.unit,
                        format: &p.format,
                        custom_properties: &p.custom_properties,
                    })
                    .collect(),
            }),
        ),
        Package::Definitions(d) => (
            "QuixStreams.Telemetry.Models.EventDefinitions",
            json(&EventDefinitions {
                event_groups: [],
                events: d
                    .events
                    .iter()
                    .map(|e| EventDefinition {
                        id: &e.id,
                        name: &e.name,
                        description: &e.description,
                        custom_properties: &e.custom_properties,
                        level: e.level.as_deref().unwrap_or("Information"),
                    })
                    .collect(),
            }),
        ),
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("a package serialises")
}

/// A `ParameterDataReceived` argument: only the `wanted` parameters (`*`:
/// all), every tag, timestamps absolute; `None` if the package has none of
/// them.
fn parameter_data_received(
    workspace: &str,
    item: &Item,
    data: &ParameterData,
    wanted: &BTreeSet<&str>,
) -> Option<Value> {
    if wanted.is_empty() {
        return None;
    }
    let all = wanted.contains(ANY);
    fn pick<T: Clone>(
        columns: &BTreeMap<String, Vec<T>>,
        all: bool,
        wanted: &BTreeSet<&str>,
    ) -> BTreeMap<String, Vec<T>> {
        columns
            .iter()
            .filter(|(name, _)| all || wanted.contains(name.as_str()))
            .map(|(name, values)| (name.clone(), values.clone()))
            .collect()
    }
    let numeric = pick(&data.numeric_values, all, wanted);
    let strings = pick(&data.string_values, all, wanted);
    let binary = pick(&data.binary_values, all, wanted);
    if numeric.is_empty() && strings.is_empty() && binary.is_empty() {
        return None;
    }
    Some(serde_json::json!({
        "topicId": topic_id(workspace, &item.topic),
        "topicName": item.topic,
        "streamId": item.stream_id,
        // Absolute, as the Quix docs' pushes show them (epoch 0).
        "epoch": 0,
        "timestamps": data.timestamps.iter().map(|t| t + data.epoch).collect::<Vec<_>>(),
        "numericValues": numeric,
        "stringValues": strings,
        "binaryValues": binary,
        "tagValues": data.tag_values,
    }))
}

/// An `EventDataReceived` argument: one event.
fn event_data_received(workspace: &str, item: &Item, event: &EventData) -> Value {
    serde_json::json!({
        "topicId": topic_id(workspace, &item.topic),
        "topicName": item.topic,
        "streamId": item.stream_id,
        "id": event.id,
        "timestamp": event.timestamp,
        "value": event.value,
        "tags": event.tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let (ty, value) = newtonsoft(&item.package);
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
            assert_eq!(newtonsoft(&item.package), (model, value.to_owned()), "{ty}");
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
}
