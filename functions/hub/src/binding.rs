//! Binding a hub method's arguments as ASP.NET Core binds them: a property
//! name of any case matches the model's property (the Quix Writer hub runs
//! on ASP.NET Core, and its clients write `Id` as well as `id`). Only the
//! hub takes arguments this way; the HTTP Writer API parses bodies as
//! written.

use std::borrow::Cow;

use inlet_shared::writer::{Message, MessageKind};
use inlet_shared::{Error, Result};

/// Parses a hub method's argument of `kind`: as [`Message::parse`], with
/// property names matched ignoring case.
pub fn parse_argument(kind: MessageKind, json: &[u8]) -> Result<Message> {
    let body = with_field_names(kind, json)?;
    Message::parse(kind, &body)
}

/// The property names of the objects of each kind of message, camelCase.
fn field_names(kind: MessageKind) -> &'static [&'static str] {
    match kind {
        MessageKind::Properties => &["name", "location", "metadata", "parents", "timeOfRecording"],
        MessageKind::ParameterData => &[
            "epoch",
            "timestamps",
            "numericValues",
            "stringValues",
            "binaryValues",
            "tagValues",
        ],
        MessageKind::Events => &["id", "timestamp", "value", "tags"],
        MessageKind::ParameterDefinitions => &[
            "id",
            "name",
            "description",
            "minimumValue",
            "maximumValue",
            "unit",
            "format",
            "customProperties",
            "location",
        ],
        MessageKind::EventDefinitions => &[
            "id",
            "name",
            "description",
            "customProperties",
            "level",
            "location",
        ],
        MessageKind::End => &["endStreamState"],
    }
}

/// `json` with the property names of its object (or of each object of its
/// array) that match a property of `kind` ignoring case written as that
/// property, as ASP.NET Core binds hub arguments. Names inside maps (column
/// names, tags, metadata) are kept as written.
fn with_field_names(kind: MessageKind, json: &[u8]) -> Result<Cow<'_, [u8]>> {
    let names = field_names(kind);
    // Most clients write the names as documented: then nothing is built.
    let mut de = serde_json::Deserializer::from_slice(json);
    let other = serde::de::DeserializeSeed::deserialize(OtherCase(names), &mut de);
    if !other.is_ok_and(|other| other) {
        return Ok(Cow::Borrowed(json));
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| Error::BadRequest(format!("not JSON: {e}")))?;
    let mut renamed = false;
    let mut rename = |object: &mut serde_json::Map<String, serde_json::Value>| {
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            if let Some(name) = names
                .iter()
                .find(|n| **n != key && n.eq_ignore_ascii_case(&key))
            {
                let v = object.remove(&key).expect("a key just listed");
                object.insert((*name).to_owned(), v);
                renamed = true;
            }
        }
    };
    match &mut value {
        serde_json::Value::Object(object) => rename(object),
        serde_json::Value::Array(items) => {
            for item in items {
                if let serde_json::Value::Object(object) = item {
                    rename(object);
                }
            }
        }
        _ => {}
    }
    if renamed {
        Ok(Cow::Owned(
            serde_json::to_vec(&value).expect("a JSON value serializes"),
        ))
    } else {
        Ok(Cow::Borrowed(json))
    }
}

/// Whether a property name of a JSON object (or of an object in a JSON
/// array) equals one of the names only ignoring case; values are skipped
/// unbuilt. Anything else is `false` (the parser then names what is wrong).
#[derive(Clone, Copy)]
struct OtherCase<'n>(&'n [&'n str]);

impl<'de> serde::de::DeserializeSeed<'de> for OtherCase<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OtherCase<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<bool, A::Error> {
        let mut other = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            other |= self
                .0
                .iter()
                .any(|n| *n != key && n.eq_ignore_ascii_case(&key));
            map.next_value::<serde::de::IgnoredAny>()?;
        }
        Ok(other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<bool, A::Error> {
        let mut other = false;
        while let Some(found) = seq.next_element_seed(self)? {
            other |= found;
        }
        Ok(other)
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::writer::payload::{events, parameter_data};

    #[test]
    fn property_names_of_any_case_are_matched_and_map_keys_kept() {
        let json = br#"{"TIMESTAMPS": [1], "numericvalues": {"EngineRPM": [1.5]}, "TagValues": {"Lap": ["1"]}}"#;
        let body = with_field_names(MessageKind::ParameterData, json).unwrap();
        let data = parameter_data(&body).unwrap();
        assert_eq!(data.numeric_values["EngineRPM"], [Some(1.5)]);
        assert_eq!(data.tag_values["Lap"], [Some("1".to_owned())]);
        let json = br#"[{"ID": "a", "timeStamp": 5, "VALUE": "v", "tags": {"Tag": "x"}}]"#;
        let body = with_field_names(MessageKind::Events, json).unwrap();
        assert_eq!(events(&body).unwrap()[0].tags["Tag"], "x");
        for json in [
            &br#"{"name": "as written", "metadata": {"NAME": "a map key"}}"#[..],
            br#"[{"name": "x"}, 1, "y", null]"#,
            br#"{"na\u006de": "escaped"}"#,
            b"not json",
        ] {
            assert!(
                matches!(
                    with_field_names(MessageKind::Properties, json),
                    Ok(Cow::Borrowed(_))
                ),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn the_field_names_are_the_models_property_names() {
        use inlet_shared::model::*;
        fn keys<T: serde::Serialize>(value: &T) -> Vec<String> {
            let mut keys: Vec<String> = match serde_json::to_value(value).unwrap() {
                serde_json::Value::Object(map) => map.keys().cloned().collect(),
                other => panic!("{other}"),
            };
            keys.sort();
            keys
        }
        fn names(kind: MessageKind) -> Vec<String> {
            let mut names: Vec<String> = field_names(kind).iter().map(|n| n.to_string()).collect();
            names.sort();
            names
        }
        let full = |json: &str| -> serde_json::Value { serde_json::from_str(json).unwrap() };
        let properties: StreamProperties = serde_json::from_value(full(
            r#"{"name":"n","location":"l","metadata":{"a":"b"},"parents":["p"],"timeOfRecording":"2026-01-01T00:00:00Z"}"#,
        ))
        .unwrap();
        assert_eq!(keys(&properties), names(MessageKind::Properties));
        let data: ParameterData = serde_json::from_value(full(
            r#"{"epoch":1,"timestamps":[1],"numericValues":{"a":[1]},"stringValues":{"a":["x"]},"binaryValues":{"a":["eA=="]},"tagValues":{"a":["t"]}}"#,
        ))
        .unwrap();
        assert_eq!(keys(&data), names(MessageKind::ParameterData));
        let event: EventData = serde_json::from_value(full(
            r#"{"id":"a","timestamp":1,"value":"v","tags":{"a":"b"}}"#,
        ))
        .unwrap();
        assert_eq!(keys(&event), names(MessageKind::Events));
        let parameter: ParameterDefinition = serde_json::from_value(full(
            r#"{"id":"a","name":"n","description":"d","minimumValue":1,"maximumValue":2,"unit":"u","format":"f","customProperties":"c","location":"l"}"#,
        ))
        .unwrap();
        assert_eq!(keys(&parameter), names(MessageKind::ParameterDefinitions));
        let event: EventDefinition = serde_json::from_value(full(
            r#"{"id":"a","name":"n","description":"d","customProperties":"c","level":"Error","location":"l"}"#,
        ))
        .unwrap();
        assert_eq!(keys(&event), names(MessageKind::EventDefinitions));
        assert_eq!(keys(&StreamEnd::default()), names(MessageKind::End));
    }
}
