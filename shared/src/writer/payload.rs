//! Parsing and validating Writer API bodies into the Quix model, with errors
//! that say exactly what is wrong.

use base64::Engine;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::model::{
    Definitions, EventData, EventDefinition, ParameterData, ParameterDefinition, StreamEnd,
    StreamProperties,
};

/// Parses a JSON object into `T`, naming the path of the first bad value
/// (`timestamps[2]: ...`).
fn parse<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: Object<T> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Error::BadRequest(format!("{what}: {inner}"))
        } else {
            Error::BadRequest(format!("{what}: {path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| Error::BadRequest(format!("{what}: {e}")))?;
    Ok(value.0)
}

/// A `T` that must be written as a JSON object: serde's derived structs also
/// take an array of the fields' values, which the API does not document.
struct Object<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// `true` if the body's JSON is an array (Quix samples send both a list and
/// a single object).
fn is_array(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

fn one_or_many<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<Vec<T>> {
    if is_array(body) {
        let list: Vec<Object<T>> = parse_list(body, what)?;
        Ok(list.into_iter().map(|item| item.0).collect())
    } else {
        Ok(vec![parse(body, what)?])
    }
}

fn parse_list<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<Vec<T>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Error::BadRequest(format!("{what}: {path}: {}", e.into_inner()))
    })?;
    de.end()
        .map_err(|e| Error::BadRequest(format!("{what}: {e}")))?;
    Ok(value)
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Stream properties; an empty body is an empty set of properties.
pub fn stream_properties(body: &[u8]) -> Result<StreamProperties> {
    if is_blank(body) {
        return Ok(StreamProperties::default());
    }
    let properties: StreamProperties = parse(body, "stream properties")?;
    if let Some(time) = &properties.time_of_recording
        && OffsetDateTime::parse(time, &Rfc3339).is_err()
    {
        return Err(Error::BadRequest(format!(
            "stream properties: timeOfRecording {time:?} is not an RFC 3339 date-time, e.g. 2026-11-24T09:30:00Z"
        )));
    }
    Ok(properties)
}

/// How a stream ends; an empty body means `Closed`.
pub fn stream_end(body: &[u8]) -> Result<StreamEnd> {
    if is_blank(body) {
        return Ok(StreamEnd::default());
    }
    parse(body, "close")
}

/// Refuses an id that is empty or holds a control character (as a stream
/// id may not): `what` names it in the message.
pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::BadRequest(format!("{what} is empty")));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Err(Error::BadRequest(format!(
            "{what} contains the control character U+{:04X}",
            c as u32
        )));
    }
    Ok(())
}

/// Events: a list (or one) of `{id, timestamp, value, tags}`.
pub fn events(body: &[u8]) -> Result<Vec<EventData>> {
    let events: Vec<EventData> = one_or_many(body, "events")?;
    if events.is_empty() {
        return Err(Error::BadRequest("events: the list is empty".into()));
    }
    for (i, event) in events.iter().enumerate() {
        check_id(&format!("events[{i}].id"), &event.id)?;
    }
    Ok(events)
}

/// Parameter definitions: a list (or one).
pub fn parameter_definitions(body: &[u8]) -> Result<Definitions> {
    let parameters: Vec<ParameterDefinition> = one_or_many(body, "parameter definitions")?;
    for (i, parameter) in parameters.iter().enumerate() {
        check_id(&format!("parameter definitions[{i}].id"), &parameter.id)?;
    }
    Ok(Definitions {
        parameters,
        events: Vec::new(),
    })
}

/// The levels an event definition may have.
const EVENT_LEVELS: [&str; 6] = [
    "Trace",
    "Debug",
    "Information",
    "Warning",
    "Error",
    "Critical",
];

/// Event definitions: a list (or one).
pub fn event_definitions(body: &[u8]) -> Result<Definitions> {
    let events: Vec<EventDefinition> = one_or_many(body, "event definitions")?;
    for (i, event) in events.iter().enumerate() {
        check_id(&format!("event definitions[{i}].id"), &event.id)?;
        if let Some(level) = &event.level
            && !EVENT_LEVELS.contains(&level.as_str())
        {
            return Err(Error::BadRequest(format!(
                "event definitions[{i}].level {level:?} is not one of {}",
                EVENT_LEVELS.join(", ")
            )));
        }
    }
    Ok(Definitions {
        parameters: Vec::new(),
        events,
    })
}

/// Parameter data: every column as long as `timestamps`, binary values base64.
pub fn parameter_data(body: &[u8]) -> Result<ParameterData> {
    let data: ParameterData = parse(body, "parameter data")?;
    let rows = data.rows();
    if rows == 0 {
        return Err(Error::BadRequest(
            "parameter data: timestamps is empty".into(),
        ));
    }
    let columns = data
        .numeric_values
        .iter()
        .map(|(name, values)| ("numericValues", name, values.len()))
        .chain(
            data.string_values
                .iter()
                .map(|(name, values)| ("stringValues", name, values.len())),
        )
        .chain(
            data.binary_values
                .iter()
                .map(|(name, values)| ("binaryValues", name, values.len())),
        )
        .chain(
            data.tag_values
                .iter()
                .map(|(name, values)| ("tagValues", name, values.len())),
        );
    for (kind, name, len) in columns {
        if len != rows {
            return Err(Error::BadRequest(format!(
                "parameter data: {kind}.{name} has {len} values but timestamps has {rows}"
            )));
        }
    }
    let engine = base64::engine::general_purpose::STANDARD;
    for (name, values) in &data.binary_values {
        for (i, value) in values.iter().enumerate() {
            if let Some(text) = value
                && engine.decode(text).is_err()
            {
                return Err(Error::BadRequest(format!(
                    "parameter data: binaryValues.{name}[{i}] is not valid base64"
                )));
            }
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_request(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::BadRequest(message)) => message,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_quix_documentation_example_unchanged() {
        let body = br#"{
            "timestamps": [1591733989000000000, 1591733990000000000, 1591733991000000000],
            "numericValues": {
                "SomeParameter1": [10.01, 202.02, 303.03],
                "SomeParameter2": [400.04, 50.05, 60.06]
            }
        }"#;
        let data = parameter_data(body).unwrap();
        assert_eq!(data.rows(), 3);
        assert_eq!(data.numeric_values["SomeParameter1"][2], Some(303.03));
    }

    #[test]
    fn accepts_pascal_case_bodies_from_quix_samples() {
        let body = br#"{"Timestamps": [1, 2], "NumericValues": {"A": [1, 2]},
            "StringValues": {"C": ["x", "y"]}, "BinaryValues": {"D": ["aGVsbG8=", null]},
            "TagValues": {"A": [null, "tag-1"]}}"#;
        let data = parameter_data(body).unwrap();
        assert_eq!(data.binary_values["D"][0].as_deref(), Some("aGVsbG8="));
        let events = events(
            br#"[{"Id": "EventA", "Timestamp": 1, "Value": "Lap1", "Tags": {"TagA": "v"}}]"#,
        )
        .unwrap();
        assert_eq!(events[0].tags["TagA"], "v");
        let props =
            stream_properties(br#"{"Name": "n", "Location": "l", "Parents": ["p"]}"#).unwrap();
        assert_eq!(props.parents, vec!["p".to_owned()]);
    }

    #[test]
    fn names_the_parameter_and_both_lengths_when_a_column_is_short() {
        let message = bad_request(parameter_data(
            br#"{"timestamps": [1, 2, 3], "numericValues": {"speed": [1, 2]}}"#,
        ));
        assert_eq!(
            message,
            "parameter data: numericValues.speed has 2 values but timestamps has 3"
        );
        let message = bad_request(parameter_data(
            br#"{"timestamps": [1], "tagValues": {"driver": ["a", "b"]}}"#,
        ));
        assert!(message.contains("tagValues.driver has 2 values but timestamps has 1"));
    }

    #[test]
    fn says_where_a_value_has_the_wrong_type() {
        let cases: [(&[u8], &str); 7] = [
            (br#"{"timestamps": [1, 2.5]}"#, "timestamps[1]"),
            (br#"{"timestamps": [1, "2"]}"#, "timestamps[1]"),
            (
                br#"{"timestamps": [1], "numericValues": {"s": ["fast"]}}"#,
                "numericValues.s[0]",
            ),
            (
                br#"{"timestamps": [1], "binaryValues": {"b": ["%%%"]}}"#,
                "binaryValues.b[0] is not valid base64",
            ),
            (br#"{"numericValues": {}}"#, "missing field `timestamps`"),
            (br#"{"timestamps": []}"#, "timestamps is empty"),
            (br#"{"timestamps": [1]"#, "parameter data"),
        ];
        for (body, expected) in cases {
            let message = bad_request(parameter_data(body));
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    #[test]
    fn events_need_id_and_timestamp() {
        assert!(bad_request(events(br#"[{"timestamp": 1}]"#)).contains("missing field `id`"));
        assert!(bad_request(events(br#"[{"id": "a"}]"#)).contains("missing field `timestamp`"));
        assert!(
            bad_request(events(
                br#"[{"id": "a", "timestamp": 1}, {"id": "b", "timestamp": "x"}]"#
            ))
            .contains("[1].timestamp")
        );
        assert!(bad_request(events(b"[]")).contains("empty"));
        assert!(bad_request(events(br#"[{"id": "", "timestamp": 1}]"#)).contains("events[0].id"));
        assert!(
            bad_request(events(br#"[{"id": "a\u0000b", "timestamp": 1}]"#))
                .contains("events[0].id contains the control character U+0000")
        );
        assert!(
            bad_request(parameter_definitions(br#"[{"id": "p\n"}]"#))
                .contains("control character U+000A")
        );
        assert!(
            bad_request(event_definitions(br#"[{"id": "\u001b"}]"#))
                .contains("control character U+001B")
        );
        // One object, as the Quix Node.js sample sends, is one event.
        assert_eq!(
            events(br#"{"id": "Alert", "timestamp": 1618133869000000000, "value": "Help"}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn an_array_where_an_object_belongs_is_refused() {
        assert!(bad_request(stream_properties(b"[]")).contains("expected an object"));
        assert!(bad_request(parameter_data(b"[[1]]")).contains("expected an object"));
        assert!(bad_request(stream_end(br#"["Closed"]"#)).contains("expected an object"));
        let message = bad_request(events(br#"[["hello", 1]]"#));
        assert!(
            message.contains("[0]") && message.contains("expected an object"),
            "{message}"
        );
    }

    #[test]
    fn time_of_recording_must_be_an_rfc_3339_date_time() {
        for good in ["2026-11-24T09:30:00Z", "2026-11-24T09:30:00.123+02:00"] {
            let body = format!(r#"{{"timeOfRecording": "{good}"}}"#);
            assert!(stream_properties(body.as_bytes()).is_ok(), "{good}");
        }
        for bad in ["", "2026-11-24", "yesterday", "2026-11-24 09:30:00"] {
            let body = format!(r#"{{"timeOfRecording": "{bad}"}}"#);
            let message = bad_request(stream_properties(body.as_bytes()));
            assert!(message.contains("not an RFC 3339 date-time"), "{message}");
        }
    }

    #[test]
    fn an_event_level_outside_the_documented_ones_is_refused() {
        let message = bad_request(event_definitions(br#"[{"id": "a", "level": "Loud"}]"#));
        assert!(
            message.contains("level \"Loud\" is not one of Trace,"),
            "{message}"
        );
    }

    #[test]
    fn definitions_and_close_parse() {
        let defs =
            parameter_definitions(br#"[{"Id": "ParameterA", "Unit": "C", "MinimumValue": 0.0}]"#)
                .unwrap();
        assert_eq!(defs.parameters[0].unit.as_deref(), Some("C"));
        let defs = event_definitions(br#"[{"id": "EventA", "level": "Information"}]"#).unwrap();
        assert_eq!(defs.events[0].level.as_deref(), Some("Information"));
        assert!(
            bad_request(parameter_definitions(br#"[{"name": "x"}]"#))
                .contains("missing field `id`")
        );
        assert_eq!(stream_end(b"").unwrap(), StreamEnd::default());
        let end = stream_end(br#"{"endStreamState": "Terminated"}"#).unwrap();
        assert_eq!(
            end.end_stream_state,
            crate::model::EndStreamState::Terminated
        );
        assert!(
            bad_request(stream_end(br#"{"endStreamState": "Exploded"}"#))
                .contains("endStreamState")
        );
    }
}
