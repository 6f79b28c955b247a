//! One Quix message: what the Writer takes and what a record carries, with
//! the CloudEvents `type` that names it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::quix::{Definitions, EventData, ParameterData, StreamEnd, StreamProperties};

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

/// A Quix message for one stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Stream properties (creating or updating a stream).
    Properties(StreamProperties),
    /// Time-series parameter data.
    ParameterData(ParameterData),
    /// One or more events (Inlet writes one a record).
    Events(Vec<EventData>),
    /// Parameter or event definitions.
    Definitions(Definitions),
    /// How the stream ended.
    End(StreamEnd),
}

/// Why a record does not read back as a Quix message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a CloudEvent with a `type` and `data`.
    #[error("not a CloudEvent: {0}")]
    NotCloudEvent(String),
    /// The type names no Quix message.
    #[error("CloudEvents type {0:?} is not a Quix message")]
    NotQuix(String),
    /// The data is not the message its type names.
    #[error("not {what}: {reason}")]
    BadData {
        /// The message the type names.
        what: &'static str,
        /// serde's reason.
        reason: String,
    },
}

impl Message {
    /// The CloudEvents `type` of a record carrying this message.
    pub fn event_type(&self) -> &'static str {
        match self {
            Message::Properties(_) => event_type::STREAM_PROPERTIES,
            Message::ParameterData(_) => event_type::PARAMETERS,
            Message::Events(_) => event_type::EVENTS,
            Message::Definitions(_) => event_type::DEFINITIONS,
            Message::End(_) => event_type::STREAM_END,
        }
    }

    /// Decodes the JSON `data` of a record of CloudEvents type `ty`, straight
    /// into the model (no JSON tree). Events may be one object or an array.
    pub fn decode(ty: &str, data: &str) -> Result<Message, DecodeError> {
        Ok(match ty {
            event_type::PARAMETERS => Message::ParameterData(parse(data, "parameter data")?),
            event_type::EVENTS => Message::Events(one_or_many(data)?),
            event_type::STREAM_PROPERTIES => Message::Properties(parse(data, "stream properties")?),
            event_type::DEFINITIONS => Message::Definitions(parse(data, "definitions")?),
            event_type::STREAM_END => Message::End(parse(data, "a stream end")?),
            other => return Err(DecodeError::NotQuix(other.to_owned())),
        })
    }

    /// [`Message::decode`] keeping only the message's shape, for a reader
    /// that tracks streams but pushes nothing: an event's id, and the names
    /// (no values) of parameter data's numeric, string and binary columns.
    /// Values are skipped, not copied; other messages decode whole.
    pub fn outline(ty: &str, data: &str) -> Result<Message, DecodeError> {
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
        Ok(match ty {
            event_type::EVENTS => {
                let ids: Vec<EventId> = if starts_array(data) {
                    parse(data, "event data")?
                } else {
                    vec![parse(data, "event data")?]
                };
                Message::Events(
                    ids.into_iter()
                        .map(|e| EventData {
                            id: e.id,
                            timestamp: 0,
                            value: String::new(),
                            tags: BTreeMap::new(),
                        })
                        .collect(),
                )
            }
            event_type::PARAMETERS => {
                let columns: Columns = parse(data, "parameter data")?;
                Message::ParameterData(ParameterData {
                    numeric_values: names(columns.numeric_values),
                    string_values: names(columns.string_values),
                    binary_values: names(columns.binary_values),
                    ..ParameterData::default()
                })
            }
            _ => Message::decode(ty, data)?,
        })
    }
}

fn parse<T: DeserializeOwned>(data: &str, what: &'static str) -> Result<T, DecodeError> {
    serde_json::from_str(data).map_err(|e| DecodeError::BadData {
        what,
        reason: e.to_string(),
    })
}

fn one_or_many(data: &str) -> Result<Vec<EventData>, DecodeError> {
    if starts_array(data) {
        parse(data, "event data")
    } else {
        Ok(vec![parse(data, "event data")?])
    }
}

fn starts_array(data: &str) -> bool {
    data.trim_start().starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_one_object_or_an_array() {
        let one = Message::decode(event_type::EVENTS, r#"{"id":"a","timestamp":1}"#).unwrap();
        let Message::Events(events) = one else {
            panic!("{one:?}")
        };
        assert_eq!(events.len(), 1);
        let many = Message::decode(
            event_type::EVENTS,
            r#" [{"id":"a","timestamp":1},{"Id":"b","Timestamp":2,"Value":"v"}]"#,
        )
        .unwrap();
        let Message::Events(events) = many else {
            panic!("{many:?}")
        };
        assert_eq!(events[1].value, "v");
    }

    #[test]
    fn data_that_is_not_its_types_message_is_an_error_naming_the_message() {
        let error = Message::decode(event_type::PARAMETERS, r#"{"timestamps":"x"}"#).unwrap_err();
        assert!(
            error.to_string().starts_with("not parameter data: "),
            "{error}"
        );
        assert_eq!(
            Message::decode("com.example", "{}"),
            Err(DecodeError::NotQuix("com.example".into()))
        );
    }

    #[test]
    fn an_outline_keeps_event_ids_and_column_names_and_drops_values() {
        let data = r#"{"timestamps":[1,2],"numericValues":{"speed":[1,2]},"stringValues":{"gear":["3","4"]},"tagValues":{"lap":["1","1"]}}"#;
        let Message::ParameterData(outline) =
            Message::outline(event_type::PARAMETERS, data).unwrap()
        else {
            panic!("parameter data")
        };
        assert_eq!(outline.numeric_values["speed"], Vec::<Option<f64>>::new());
        assert!(outline.string_values.contains_key("gear"));
        assert!(outline.timestamps.is_empty() && outline.tag_values.is_empty());
        let events = Message::outline(
            event_type::EVENTS,
            r#"{"id":"crash","timestamp":9,"value":"big"}"#,
        );
        let Ok(Message::Events(events)) = events else {
            panic!("{events:?}")
        };
        assert_eq!(
            (events[0].id.as_str(), events[0].value.as_str()),
            ("crash", "")
        );
        let end = Message::outline(event_type::STREAM_END, "{}").unwrap();
        assert_eq!(end, Message::decode(event_type::STREAM_END, "{}").unwrap());
    }
}
