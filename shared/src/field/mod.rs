//! Where a configured value comes from: a JSON pointer, a request header
//! or a constant; and [`Document`], a JSON body read only as far as its
//! pointers need.

mod write;

pub use write::set_pointer;

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

/// A JSON pointer (RFC 6901): `""` (the whole document) or one starting
/// with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPointer(String);

impl JsonPointer {
    /// `value` if it is a pointer such as `/items/0/id`, or `""`.
    pub fn parse(value: &str) -> Option<Self> {
        (value.is_empty() || value.starts_with('/')).then(|| JsonPointer(value.to_owned()))
    }

    /// The string, number or boolean it points at, as text; `None` if
    /// absent, empty or of another type.
    pub fn text_in(&self, json: &serde_json::Value) -> Option<String> {
        self.get(json)
            .and_then(scalar_text)
            .filter(|v| !v.is_empty())
    }

    /// The value it points at in `json`.
    pub fn get<'a>(&self, json: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        json.pointer(&self.0)
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a value comes from: a JSON pointer into a document, a request
/// header, or a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A JSON pointer such as `/type` (RFC 6901).
    Pointer(String),
    /// A request header (`header:X-GitHub-Event`), stored lowercase.
    Header(String),
    /// The first of several request headers that is present
    /// (`header:webhook-id|svix-id`), stored lowercase.
    Headers(Vec<String>),
    /// A fixed value.
    Constant(String),
}

impl Field {
    /// `/...` is a pointer, `header:Name` a header, anything else a constant.
    pub fn parse(value: &str) -> Self {
        if value.starts_with('/') {
            Field::Pointer(value.to_owned())
        } else if let Some(names) = value.strip_prefix("header:") {
            let names: Vec<String> = names
                .split('|')
                .map(|name| name.trim().to_ascii_lowercase())
                .collect();
            match <[String; 1]>::try_from(names) {
                Ok([name]) => Field::Header(name),
                Err(names) => Field::Headers(names),
            }
        } else {
            Field::Constant(value.to_owned())
        }
    }

    /// The value in `json` or `headers`: strings as they are, numbers and
    /// booleans as text; `None` if absent, empty or of another type.
    pub fn resolve<J: Lookup + ?Sized>(
        &self,
        json: &J,
        headers: &axum::http::HeaderMap,
    ) -> Option<String> {
        let value = match self {
            Field::Constant(value) => Some(value.clone()),
            Field::Header(name) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
            Field::Headers(names) => names
                .iter()
                .find_map(|name| headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
            Field::Pointer(pointer) => json.scalar_at(pointer),
        };
        value.filter(|v| !v.is_empty())
    }

    /// The value in a JSON document alone (no headers).
    pub fn resolve_in(&self, json: &serde_json::Value) -> Option<String> {
        self.resolve(json, &axum::http::HeaderMap::new())
    }

    /// How the field is written in the configuration.
    pub fn describe(&self) -> String {
        match self {
            Field::Pointer(p) => p.clone(),
            Field::Header(h) => format!("header {h}"),
            Field::Headers(names) => format!("header {}", names.join(" or ")),
            Field::Constant(c) => format!("{c:?}"),
        }
    }
}

/// A string as it is, a number or boolean as text, anything else nothing.
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Some(v.to_string()),
        _ => None,
    }
}

/// A JSON document a [`Field`] can be read from.
pub trait Lookup {
    /// The string (as it is), number or boolean (as text) at `pointer`.
    fn scalar_at(&self, pointer: &str) -> Option<String>;
}

impl Lookup for serde_json::Value {
    fn scalar_at(&self, pointer: &str) -> Option<String> {
        scalar_text(self.pointer(pointer)?)
    }
}

/// A JSON document checked whole but read only along the pointers asked
/// for, borrowing from the text: a webhook needs one or two fields of its
/// body, and `serde_json::Value` would allocate every key and string in it.
/// (serde_json has no borrowed pointer lookup, hence this.) A top-level
/// object's members are found in the same pass that checks the text, so a
/// lookup does not read the body again. Numbers are taken as written, so
/// any valid JSON number is accepted.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    text: &'a str,
    /// A top-level object's members, in order; `None` for any other value.
    members: Option<Vec<(Cow<'a, str>, &'a RawValue)>>,
}

impl<'a> Document<'a> {
    /// Checks that `text` is one JSON value.
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        let members = serde_json::from_str::<Top<'a>>(text)?.0;
        Ok(Document { text, members })
    }

    /// The raw value at `pointer` (RFC 6901), if there is one.
    pub fn pointer(&self, pointer: &str) -> Option<&'a RawValue> {
        if pointer.is_empty() {
            return serde_json::from_str(self.text).ok();
        }
        let mut tokens = pointer.strip_prefix('/')?.split('/').map(|token| {
            if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            }
        });
        let mut at = match &self.members {
            // The last of a repeated key, as serde_json keeps it.
            Some(members) => {
                let first = tokens.next()?;
                members.iter().rev().find(|(key, _)| *key == first)?.1
            }
            None => serde_json::from_str(self.text).ok()?,
        };
        for token in tokens {
            let mut json = serde_json::Deserializer::from_str(at.get());
            at = Step { token: &token }.deserialize(&mut json).ok()??;
        }
        Some(at)
    }
}

/// A whole document, checked; its members if it is an object.
struct Top<'a>(Option<Vec<(Cow<'a, str>, &'a RawValue)>>);

impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key_seed(BorrowedKey)? {
            members.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(Top(Some(members)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Top(None))
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct BorrowedKey;

impl<'de> DeserializeSeed<'de> for BorrowedKey {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BorrowedKey {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

impl Lookup for Document<'_> {
    fn scalar_at(&self, pointer: &str) -> Option<String> {
        let raw = self.pointer(pointer)?.get();
        match raw.as_bytes().first()? {
            b'"' => serde_json::from_str::<String>(raw).ok(),
            b'-' | b'0'..=b'9' | b't' | b'f' => Some(raw.to_owned()),
            _ => None,
        }
    }
}

/// One step of a pointer: the member named `token` of an object (the last,
/// if it appears twice), or the element it numbers in an array.
struct Step<'t> {
    token: &'t str,
}

impl<'de> DeserializeSeed<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(matches) = map.next_key_seed(KeyIs(self.token))? {
            if matches {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let index = self.token.parse::<usize>().ok().filter(|_| {
            self.token.bytes().all(|b| b.is_ascii_digit())
                && (self.token == "0" || !self.token.starts_with('0'))
        });
        let mut found = None;
        let mut i = 0;
        loop {
            if Some(i) == index {
                match seq.next_element::<&'de RawValue>()? {
                    Some(value) => found = Some(value),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether an object's key is the one looked for, read without allocating
/// (an escaped key is decoded into serde_json's scratch buffer).
struct KeyIs<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_pointer_makes_the_objects_on_the_way() {
        let mut body = serde_json::json!({"type": "old"});
        set_pointer(&mut body, "/type", "new");
        set_pointer(&mut body, "/data/object/id", "y");
        assert_eq!(
            body,
            serde_json::json!({"type": "new", "data": {"object": {"id": "y"}}})
        );
        set_pointer(&mut body, "/items/0/code", "AUTH");
        set_pointer(&mut body, "/items/0/id", "1");
        assert_eq!(
            body["items"],
            serde_json::json!([{"code": "AUTH", "id": "1"}])
        );
    }

    #[test]
    fn a_document_reads_the_same_fields_as_a_value() {
        let text = r#"{"type":"track","n":42,"f":1.5,"ok":true,"nil":null,"o":{"a/b":{"~x":"deep"}},
            "list":[{"id":"first"},{"id":"second"}],"esc\u0061ped":"yes","dup":"one","dup":"two",
            "big":1e400,"s":"line\nbreak"}"#;
        let document = Document::parse(text).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text.replace("1e400", "0")).unwrap();
        for pointer in [
            "/type",
            "/n",
            "/ok",
            "/o/a~1b/~0x",
            "/list/1/id",
            "/list/0/id",
            "/escaped",
            "/dup",
            "/s",
            "/nil",
            "/o",
            "/list",
            "/missing",
            "/list/2/id",
            "/list/01/id",
            "/type/x",
        ] {
            assert_eq!(
                document.scalar_at(pointer),
                value.scalar_at(pointer),
                "{pointer}"
            );
        }
        assert_eq!(document.scalar_at("/f").as_deref(), Some("1.5"));
        assert_eq!(document.scalar_at("/big").as_deref(), Some("1e400"));
        assert_eq!(document.pointer("").unwrap().get(), text);
    }

    #[test]
    fn a_document_that_is_not_an_object_is_read_along_pointers_too() {
        let list = Document::parse(r#" [{"id":"first"},{"id":"second"}] "#).unwrap();
        assert_eq!(list.scalar_at("/1/id").as_deref(), Some("second"));
        assert_eq!(list.scalar_at("/id"), None);
        let number = Document::parse("42").unwrap();
        assert_eq!(number.scalar_at("").as_deref(), Some("42"));
        assert_eq!(number.scalar_at("/x"), None);
    }

    #[test]
    fn a_document_that_is_not_json_is_refused() {
        for text in [
            "",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            "[1 2]",
            r#"{"a":[1,}"#,
            r#"{"a\q":1}"#,
        ] {
            assert!(Document::parse(text).is_err(), "{text:?}");
        }
    }
}
