//! The pushes a record becomes, shaped as Quix's Streaming Reader sends
//! them (the package models of quixio/quix-streams release/v0.5
//! `QuixStreams.Telemetry/Models`, as Newtonsoft.Json writes them).

use std::collections::{BTreeMap, BTreeSet};

use inlet_shared::model::{EndStreamState, EventData, ParameterData};
use serde::Serialize;
use serde_json::Value;

use crate::item::Item;
use inlet_shared::model::Message;

/// The wildcard of topics, streams, parameters and events.
pub const ANY: &str = "*";

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
    let (ty, value) = newtonsoft(&item.message);
    PackageReceived {
        topic_id: topic_id(workspace, &item.topic),
        topic_name: item.topic.clone(),
        stream_id: item.stream_id.clone(),
        ty,
        value,
        date_time: item.time.clone(),
    }
}

pub(crate) fn newtonsoft(message: &Message) -> (&'static str, String) {
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
    match message {
        Message::ParameterData(data) => (
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
        Message::Events(events) => (
            "QuixStreams.Telemetry.Models.EventDataRaw[]",
            json(
                &events
                    .iter()
                    .map(|event| EventDataRaw {
                        timestamp: event.timestamp,
                        tags: &event.tags,
                        id: &event.id,
                        value: &event.value,
                    })
                    .collect::<Vec<_>>(),
            ),
        ),
        Message::Properties(p) => (
            "QuixStreams.Telemetry.Models.StreamProperties",
            json(&Properties {
                name: &p.name,
                location: &p.location,
                metadata: &p.metadata,
                parents: &p.parents,
                time_of_recording: &p.time_of_recording,
            }),
        ),
        Message::End(end) => (
            "QuixStreams.Telemetry.Models.StreamEnd",
            json(&End {
                stream_end_type: match end.end_stream_state {
                    EndStreamState::Closed => 0,
                    EndStreamState::Aborted => 1,
                    EndStreamState::Terminated => 2,
                },
            }),
        ),
        Message::Definitions(d) if d.events.is_empty() => (
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
        Message::Definitions(d) => (
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
pub(crate) fn parameter_data_received(
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
pub(crate) fn event_data_received(workspace: &str, item: &Item, event: &EventData) -> Value {
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
