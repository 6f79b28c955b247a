//! Records as the rows of the Quix-shaped PostgreSQL layout, as the Quix
//! Streams PostgreSQL sink shapes a table: `timestamp` and `__key` (the
//! stream id), then a column per field, typed by the first value seen
//! (`BIGINT`, `DOUBLE PRECISION`, `TEXT`, `BOOLEAN`, `BYTEA`, `JSONB`),
//! nulls left out.
//!
//! - Parameter data: a row per timestamp, a column per parameter and tag.
//! - Events (Writer API events, webhooks, polls): a row per event, its id
//!   in `__event_id`, its value's fields as columns when the value is a JSON
//!   object (else the value in `value`), and its tags.
//! - Stream properties, definitions and ends: no row.
//!
//! Each row also carries its place (`__topic`, `__shard`,
//! `__sequence_number`, `__row`), the table's primary key, so a redelivery
//! inserts nothing.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use inlet_shared::model::{Envelope, Message, event_type};
use serde_json::{Map, Value};

use crate::delivery::Delivery;

/// A column's type, from the first value seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `BIGINT`.
    BigInt,
    /// `DOUBLE PRECISION`.
    Double,
    /// `TEXT`.
    Text,
    /// `BOOLEAN`.
    Boolean,
    /// `BYTEA`.
    Bytea,
    /// `JSONB`.
    Jsonb,
}

impl ColumnType {
    /// Its SQL name.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::BigInt => "BIGINT",
            ColumnType::Double => "DOUBLE PRECISION",
            ColumnType::Text => "TEXT",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Bytea => "BYTEA",
            ColumnType::Jsonb => "JSONB",
        }
    }

    fn of(value: &Value) -> Option<ColumnType> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(_) => ColumnType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::BigInt,
            Value::Number(_) => ColumnType::Double,
            Value::String(_) => ColumnType::Text,
            Value::Array(_) | Value::Object(_) => ColumnType::Jsonb,
        })
    }
}

/// The columns every row has.
pub const FIXED_COLUMNS: [&str; 6] = [
    "timestamp",
    "__key",
    "__topic",
    "__shard",
    "__sequence_number",
    "__row",
];

/// Rows of a batch, as JSON objects for `jsonb_populate_recordset`, and
/// the type of each data column, first seen first.
#[derive(Debug, Default)]
pub struct Rows {
    /// The rows.
    pub rows: Vec<Value>,
    /// Data columns and their types.
    pub columns: BTreeMap<String, ColumnType>,
}

/// Why a record makes no row.
#[derive(Debug, PartialEq, Eq)]
pub struct NotQuix(pub String);

impl Rows {
    /// Adds the rows of `record`; an error for a record that is not a Quix
    /// CloudEvent.
    pub fn add(&mut self, record: &Delivery) -> Result<(), NotQuix> {
        let envelope = Envelope::read(&record.data).map_err(|e| NotQuix(e.to_string()))?;
        if ![event_type::PARAMETERS, event_type::EVENTS].contains(&&*envelope.ty) {
            // Stream properties, definitions and ends make no row.
            return Ok(());
        }
        let message = envelope.message().map_err(|e| NotQuix(e.to_string()))?;
        let key = envelope
            .subject
            .map_or_else(|| record.partition_key.clone(), |s| s.into_owned());
        let mut row_number = 0;
        let mut push =
            |fields: Map<String, Value>, nanos: i64, columns: &mut BTreeMap<String, ColumnType>| {
                let mut row = Map::new();
                for (name, value) in fields {
                    if FIXED_COLUMNS.contains(&name.as_str()) {
                        continue;
                    }
                    if let Some(kind) = ColumnType::of(&value) {
                        columns.entry(name.clone()).or_insert(kind);
                        row.insert(name, value);
                    }
                }
                row.insert("timestamp".into(), Value::String(timestamp(nanos)));
                row.insert("__key".into(), Value::String(key.clone()));
                row.insert("__topic".into(), Value::String(record.topic.clone()));
                row.insert("__shard".into(), Value::String(record.shard.clone()));
                row.insert(
                    "__sequence_number".into(),
                    Value::String(record.sequence.clone()),
                );
                row.insert("__row".into(), Value::from(row_number));
                row_number += 1;
                self.rows.push(Value::Object(row));
            };
        match message {
            Message::ParameterData(data) => {
                let mut columns = std::mem::take(&mut self.columns);
                for i in 0..data.rows() {
                    let mut fields = Map::new();
                    for (name, values) in &data.numeric_values {
                        if let Some(Some(v)) = values.get(i) {
                            fields.insert(name.clone(), Value::from(*v));
                        }
                    }
                    for (name, values) in data.string_values.iter().chain(&data.tag_values) {
                        if let Some(Some(v)) = values.get(i) {
                            fields.insert(name.clone(), Value::String(v.clone()));
                        }
                    }
                    for (name, values) in &data.binary_values {
                        if let Some(Some(v)) = values.get(i) {
                            let bytes = BASE64.decode(v).unwrap_or_else(|_| v.as_bytes().to_vec());
                            columns.entry(name.clone()).or_insert(ColumnType::Bytea);
                            fields.insert(
                                name.clone(),
                                Value::String(format!("\\x{}", hex::encode(bytes))),
                            );
                        }
                    }
                    check_names(&fields)?;
                    push(
                        fields,
                        data.epoch.saturating_add(data.timestamps[i]),
                        &mut columns,
                    );
                }
                self.columns = columns;
            }
            Message::Events(events) => {
                let mut columns = std::mem::take(&mut self.columns);
                for event in events {
                    let mut fields = match serde_json::from_str::<Value>(&event.value) {
                        Ok(Value::Object(fields)) => fields,
                        _ => Map::from_iter([("value".to_owned(), Value::String(event.value))]),
                    };
                    fields.insert("__event_id".into(), Value::String(event.id));
                    for (name, value) in event.tags {
                        fields.entry(name).or_insert(Value::String(value));
                    }
                    check_names(&fields)?;
                    push(fields, event.timestamp, &mut columns);
                }
                self.columns = columns;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Refuses a field PostgreSQL cannot name as it is: an empty name, or one
/// longer than its 63-byte identifiers (it would cut it, and two long names
/// could become one column).
fn check_names(fields: &Map<String, Value>) -> Result<(), NotQuix> {
    match fields
        .keys()
        .find(|name| name.is_empty() || name.len() > 63)
    {
        Some(name) => Err(NotQuix(format!(
            "field {name:?} cannot be a PostgreSQL column (1 to 63 bytes)"
        ))),
        None => Ok(()),
    }
}

/// Nanoseconds since the epoch as a UTC `TIMESTAMP` literal.
fn timestamp(nanos: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::SystemTime;

    fn record(data: &str) -> Delivery {
        Delivery {
            topic: "f1".into(),
            shard: "shardId-000000000000".into(),
            sequence: "7".into(),
            partition_key: "car-1".into(),
            arrival: SystemTime::UNIX_EPOCH,
            data: Bytes::from(data.to_owned()),
        }
    }

    #[test]
    fn parameter_data_makes_a_row_per_timestamp_with_a_column_per_parameter_and_tag() {
        let mut rows = Rows::default();
        rows.add(&record(r#"{"type":"io.quix.parameters","subject":"car-1","data":{"epoch":1000,"timestamps":[1,2],"numericValues":{"speed":[100,null]},"stringValues":{"gear":["3","4"]},"tagValues":{"lap":["1","1"]}}}"#)).unwrap();
        assert_eq!(rows.rows.len(), 2);
        assert_eq!(rows.rows[0]["speed"], 100.0);
        assert!(rows.rows[1].get("speed").is_none(), "nulls are left out");
        assert_eq!(rows.rows[1]["gear"], "4");
        assert_eq!(rows.rows[1]["lap"], "1");
        assert_eq!(rows.rows[1]["__row"], 1);
        assert_eq!(rows.rows[0]["__key"], "car-1");
        assert_eq!(rows.rows[0]["timestamp"], "1970-01-01 00:00:00.000001");
        assert_eq!(rows.columns["speed"], ColumnType::Double);
        assert_eq!(rows.columns["gear"], ColumnType::Text);
    }

    #[test]
    fn an_event_with_a_json_object_value_makes_a_column_per_field() {
        let mut rows = Rows::default();
        rows.add(&record(r#"{"type":"io.quix.events","subject":"shop","data":{"id":"order","timestamp":1800000000000000000,"value":"{\"total\":12,\"paid\":true,\"items\":[1,2],\"price\":1.5,\"note\":null}","tags":{"region":"eu"}}}"#)).unwrap();
        let row = &rows.rows[0];
        assert_eq!(row["__event_id"], "order");
        assert_eq!(row["total"], 12);
        assert_eq!(row["region"], "eu");
        assert!(row.get("note").is_none());
        assert_eq!(rows.columns["total"], ColumnType::BigInt);
        assert_eq!(rows.columns["paid"], ColumnType::Boolean);
        assert_eq!(rows.columns["items"], ColumnType::Jsonb);
        assert_eq!(rows.columns["price"], ColumnType::Double);
        assert_eq!(row["timestamp"], "2027-01-15 08:00:00.000000");
        let mut plain = Rows::default();
        plain
            .add(&record(
                r#"{"type":"io.quix.events","data":{"id":"x","timestamp":0,"value":"hello"}}"#,
            ))
            .unwrap();
        assert_eq!(plain.rows[0]["value"], "hello");
        assert_eq!(
            plain.rows[0]["__key"], "car-1",
            "no subject: the partition key"
        );
    }

    #[test]
    fn a_field_postgresql_cannot_name_refuses_the_record() {
        let long = "x".repeat(64);
        let mut rows = Rows::default();
        let text = format!(
            r#"{{"type":"io.quix.events","data":{{"id":"x","timestamp":0,"value":"{{\"{long}\":1}}"}}}}"#
        );
        assert!(rows.add(&record(&text)).is_err());
    }

    #[test]
    fn a_record_that_is_not_a_cloudevent_is_refused_and_stream_metadata_makes_no_row() {
        let mut rows = Rows::default();
        assert!(rows.add(&record("not json")).is_err());
        rows.add(&record(r#"{"type":"io.quix.stream.end","data":{}}"#))
            .unwrap();
        assert!(rows.rows.is_empty());
    }
}
