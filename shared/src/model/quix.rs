//! The Quix messages (camelCase JSON, PascalCase accepted on input).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
}
