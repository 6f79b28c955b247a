//! One stored record as the Reader hub sees it: decoded once, from its
//! CloudEvent, into the Quix package it carries.

use std::collections::BTreeMap;

use inlet_shared::model::{
    Definitions, EventData, ParameterData, StreamEnd, StreamProperties, event_type,
};
use serde::Deserialize;

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
