//! Where a configured value comes from: a JSON pointer, a request header
//! or a constant.

use std::fmt;

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
    /// A fixed value.
    Constant(String),
}

impl Field {
    /// `/...` is a pointer, `header:Name` a header, anything else a constant.
    pub fn parse(value: &str) -> Self {
        if value.starts_with('/') {
            Field::Pointer(value.to_owned())
        } else if let Some(name) = value.strip_prefix("header:") {
            Field::Header(name.trim().to_ascii_lowercase())
        } else {
            Field::Constant(value.to_owned())
        }
    }

    /// The value in `json` or `headers`: strings as they are, numbers and
    /// booleans as text; `None` if absent, empty or of another type.
    pub fn resolve(
        &self,
        json: &serde_json::Value,
        headers: &axum::http::HeaderMap,
    ) -> Option<String> {
        let value = match self {
            Field::Constant(value) => Some(value.clone()),
            Field::Header(name) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
            Field::Pointer(pointer) => scalar_text(json.pointer(pointer)?),
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
