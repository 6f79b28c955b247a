//! The Quix data model (camelCase JSON, PascalCase accepted on input) and the
//! CloudEvents 1.0 envelope each stream record carries.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::record::Record;

/// A discrete event: Quix `EventData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    /// The event's id (its kind, e.g. `track`), not unique per occurrence.
    #[serde(alias = "Id")]
    pub id: String,
    /// Nanoseconds since the Unix epoch.
    #[serde(alias = "Timestamp")]
    pub timestamp: i64,
    /// The event's value, as text.
    #[serde(alias = "Value", default)]
    pub value: String,
    /// Tags of the event.
    #[serde(alias = "Tags", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// Time-series rows: Quix `ParameterData`, one column per parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterData {
    /// Added to every timestamp, in nanoseconds.
    #[serde(alias = "Epoch", default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
    /// Nanoseconds since `epoch`, one per row.
    #[serde(alias = "Timestamps")]
    pub timestamps: Vec<i64>,
    /// Numeric columns; `null` is a missing value.
    #[serde(
        alias = "NumericValues",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub numeric_values: BTreeMap<String, Vec<Option<f64>>>,
    /// Text columns.
    #[serde(
        alias = "StringValues",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub string_values: BTreeMap<String, Vec<Option<String>>>,
    /// Binary columns, base64 encoded.
    #[serde(
        alias = "BinaryValues",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub binary_values: BTreeMap<String, Vec<Option<String>>>,
    /// Tag columns.
    #[serde(
        alias = "TagValues",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tag_values: BTreeMap<String, Vec<Option<String>>>,
}

impl ParameterData {
    /// The number of rows (timestamps).
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// The rows in `range`, every column cut the same way.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ParameterData {
        fn cut<T: Clone>(
            columns: &BTreeMap<String, Vec<T>>,
            range: &std::ops::Range<usize>,
        ) -> BTreeMap<String, Vec<T>> {
            columns
                .iter()
                .map(|(name, values)| (name.clone(), values[range.clone()].to_vec()))
                .collect()
        }
        ParameterData {
            epoch: self.epoch,
            timestamps: self.timestamps[range.clone()].to_vec(),
            numeric_values: cut(&self.numeric_values, &range),
            string_values: cut(&self.string_values, &range),
            binary_values: cut(&self.binary_values, &range),
            tag_values: cut(&self.tag_values, &range),
        }
    }
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// The properties of a stream: Quix `StreamProperties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamProperties {
    /// A human-readable name.
    #[serde(alias = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A path-like location used to group streams.
    #[serde(alias = "Location", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Free-form metadata.
    #[serde(
        alias = "Metadata",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metadata: BTreeMap<String, String>,
    /// Ids of the streams this one derives from.
    #[serde(alias = "Parents", default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// When the data was recorded (RFC 3339).
    #[serde(
        alias = "TimeOfRecording",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_of_recording: Option<String>,
}

/// The definition of one parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterDefinition {
    /// The parameter's id, as used in `ParameterData` columns.
    #[serde(alias = "Id")]
    pub id: String,
    /// Display name.
    #[serde(alias = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(
        alias = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Lowest expected value.
    #[serde(
        alias = "MinimumValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub minimum_value: Option<f64>,
    /// Highest expected value.
    #[serde(
        alias = "MaximumValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub maximum_value: Option<f64>,
    /// Unit of measure.
    #[serde(alias = "Unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Display format.
    #[serde(alias = "Format", default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Free-form properties.
    #[serde(
        alias = "CustomProperties",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_properties: Option<String>,
    /// Grouping path.
    #[serde(alias = "Location", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The definition of one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDefinition {
    /// The event's id, as used in `EventData`.
    #[serde(alias = "Id")]
    pub id: String,
    /// Display name.
    #[serde(alias = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(
        alias = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Free-form properties.
    #[serde(
        alias = "CustomProperties",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_properties: Option<String>,
    /// Severity: `Trace`, `Debug`, `Information`, `Warning`, `Error`, `Critical`.
    #[serde(alias = "Level", default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Grouping path.
    #[serde(alias = "Location", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Parameter and event definitions of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definitions {
    /// Parameter definitions.
    #[serde(alias = "Parameters", default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterDefinition>,
    /// Event definitions.
    #[serde(alias = "Events", default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventDefinition>,
}

/// How a stream ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndStreamState {
    /// Closed normally.
    #[default]
    Closed,
    /// Aborted by the writer.
    Aborted,
    /// Terminated unexpectedly.
    Terminated,
}

/// The end of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamEnd {
    /// How the stream ended.
    #[serde(alias = "EndStreamState", default)]
    pub end_stream_state: EndStreamState,
}

/// The CloudEvents `type` of each kind of Quix message.
pub mod event_type {
    /// `EventData`.
    pub const EVENTS: &str = "io.quix.events";
    /// `ParameterData`.
    pub const PARAMETERS: &str = "io.quix.parameters";
    /// `StreamProperties`.
    pub const STREAM_PROPERTIES: &str = "io.quix.stream.properties";
    /// `Definitions`.
    pub const DEFINITIONS: &str = "io.quix.stream.definitions";
    /// `StreamEnd`.
    pub const STREAM_END: &str = "io.quix.stream.end";
}

/// The CloudEvents 1.0 structured-mode JSON document stored as a record's
/// data. `D` is the Quix-shaped payload, serialised in place (no
/// intermediate JSON tree); read back, it is a `serde_json::Value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<D = serde_json::Value> {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Unique id: the provider's delivery id where one exists, else a UUID.
    pub id: String,
    /// Where the event came from, e.g. `/webhooks/segment`.
    pub source: String,
    /// The kind of message, one of [`event_type`].
    #[serde(rename = "type")]
    pub ty: String,
    /// The stream id (also the record's partition key).
    pub subject: String,
    /// When Inlet received it (RFC 3339).
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Extension attribute: the Inlet topic.
    pub topic: String,
    /// The Quix-shaped payload.
    pub data: D,
}

impl<D: Serialize> CloudEvent<D> {
    /// A new envelope with a fresh UUID as its id.
    pub fn new(
        source: impl Into<String>,
        ty: &str,
        topic: impl Into<String>,
        subject: impl Into<String>,
        time: SystemTime,
        data: D,
    ) -> Self {
        CloudEvent {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            source: source.into(),
            ty: ty.to_owned(),
            subject: subject.into(),
            time: humantime::format_rfc3339_nanos(time).to_string(),
            datacontenttype: "application/json".to_owned(),
            topic: topic.into(),
            data,
        }
    }

    /// The stream record for this event: partition key = subject (stream id).
    pub fn to_record(&self) -> Record {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // Serialising into a grown-once buffer and copying out makes one
        // allocation of the exact size instead of a chain of reallocations.
        let data = BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            serde_json::to_writer(&mut *buffer, self).expect("a CloudEvent always serialises");
            let data = Bytes::copy_from_slice(buffer);
            if buffer.capacity() > MAX_KEPT_BUFFER {
                *buffer = Vec::new();
            }
            data
        });
        Record {
            partition_key: self.subject.clone(),
            data,
        }
    }
}

/// The most a thread keeps of its encoding buffer between records: the
/// largest record a stream takes.
const MAX_KEPT_BUFFER: usize = crate::record::MAX_RECORD_BYTES;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T>(value: &T)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let text = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, value, "{text}");
    }

    #[test]
    fn event_data_uses_quix_camel_case_and_accepts_pascal_case() {
        let event = EventData {
            id: "track".into(),
            timestamp: 1_591_733_989_000_000_000,
            value: "{}".into(),
            tags: BTreeMap::from([("tag1".into(), "a".into())]),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"id": "track", "timestamp": 1_591_733_989_000_000_000_i64, "value": "{}", "tags": {"tag1": "a"}})
        );
        let pascal: EventData = serde_json::from_value(
            json!({"Id": "track", "Timestamp": 1_591_733_989_000_000_000_i64, "Value": "{}", "Tags": {"tag1": "a"}}),
        )
        .unwrap();
        assert_eq!(pascal, event);
        round_trip(&event);
    }

    #[test]
    fn parameter_data_matches_the_quix_writer_example() {
        let body = json!({
            "timestamps": [1591733989000000000_i64, 1591733990000000000_i64, 1591733991000000000_i64],
            "numericValues": {"SomeParameter1": [10.01, 202.02, 303.03], "SomeParameter2": [400.04, 50.05, 60.06]}
        });
        let data: ParameterData = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(data.timestamps.len(), 3);
        assert_eq!(data.numeric_values["SomeParameter2"][1], Some(50.05));
        assert_eq!(serde_json::to_value(&data).unwrap(), body);
        round_trip(&data);
    }

    #[test]
    fn parameter_data_slices_every_column_alike() {
        let data: ParameterData = serde_json::from_value(json!({
            "epoch": 5,
            "timestamps": [1, 2, 3],
            "numericValues": {"n": [1.0, null, 3.0]},
            "stringValues": {"s": ["a", "b", "c"]},
            "tagValues": {"t": [null, "x", "y"]}
        }))
        .unwrap();
        let tail = data.slice(1..3);
        assert_eq!(tail.rows(), 2);
        assert_eq!(tail.epoch, 5);
        assert_eq!(tail.numeric_values["n"], vec![None, Some(3.0)]);
        assert_eq!(
            tail.string_values["s"],
            vec![Some("b".into()), Some("c".into())]
        );
        assert_eq!(
            tail.tag_values["t"],
            vec![Some("x".into()), Some("y".into())]
        );
    }

    #[test]
    fn stream_messages_round_trip() {
        round_trip(&StreamProperties {
            name: Some("car 1".into()),
            location: Some("/cars".into()),
            metadata: BTreeMap::from([("driver".into(), "ann".into())]),
            parents: vec!["p".into()],
            time_of_recording: Some("2026-11-23T00:00:00Z".into()),
        });
        round_trip(&Definitions {
            parameters: vec![ParameterDefinition {
                id: "speed".into(),
                unit: Some("km/h".into()),
                maximum_value: Some(300.0),
                ..Default::default()
            }],
            events: vec![EventDefinition {
                id: "crash".into(),
                level: Some("Critical".into()),
                ..Default::default()
            }],
        });
        let end: StreamEnd = serde_json::from_value(json!({"endStreamState": "Aborted"})).unwrap();
        assert_eq!(end.end_stream_state, EndStreamState::Aborted);
        round_trip(&end);
    }

    #[test]
    fn cloud_event_is_structured_json_with_stream_id_as_partition_key() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let event = CloudEvent::new(
            "/webhooks/segment",
            event_type::EVENTS,
            "webhooks",
            "segment",
            time,
            json!({"id": "track"}),
        );
        let record = event.to_record();
        assert_eq!(record.partition_key, "segment");
        let doc: serde_json::Value = serde_json::from_slice(&record.data).unwrap();
        assert_eq!(doc["specversion"], "1.0");
        assert_eq!(doc["type"], "io.quix.events");
        assert_eq!(doc["subject"], "segment");
        assert_eq!(doc["topic"], "webhooks");
        assert_eq!(doc["time"], "2023-11-14T22:13:20.000000000Z");
        assert_eq!(doc["data"]["id"], "track");
        assert!(uuid::Uuid::parse_str(doc["id"].as_str().unwrap()).is_ok());
        round_trip(&event);
    }
}
