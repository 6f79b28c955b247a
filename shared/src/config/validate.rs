//! The checks every section shares: names, durations, non-empty values,
//! URLs and secrets, each failing with the key it is about.

use std::time::Duration;

use super::ConfigError;
use crate::signature::Secret;

/// Looks up an environment variable; injected so tests never touch the process's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn check_name(kind: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    // Names become directory names (a topic's segments, a destination's
    // progress): `.` and `..` would point elsewhere.
    if name == "." || name == ".." {
        Err(ConfigError::new(
            "",
            format!("{kind} name {name:?} is not allowed: a name must be a single path segment"),
        ))
    } else if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            "",
            format!("{kind} name {name:?}: use letters, digits, '-', '_' or '.'"),
        ))
    }
}

pub(super) fn duration(
    at: &str,
    key: &str,
    value: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some("0") => Ok(Duration::ZERO),
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| ConfigError::new(format!("{at}.{key}"), bad_duration(text, e))),
    }
}

/// What is wrong with a duration, and what a good one looks like.
pub(super) fn bad_duration(text: &str, err: humantime::DurationError) -> String {
    format!("{text:?} is not a duration ({err}); write e.g. \"30s\", \"5m\", \"1h\" or \"1d\"")
}

/// A configured stream id: the partition key every record gets, so held to
/// the same rules (1 to 256 characters, no control characters).
pub(super) fn stream_id(at: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(id) = value else {
        return Ok(None);
    };
    let record = crate::record::Record {
        partition_key: id,
        data: Default::default(),
    };
    match crate::record::check_records(std::slice::from_ref(&record)) {
        Ok(()) => Ok(Some(record.partition_key)),
        Err(e) => Err(ConfigError::new(format!("{at}.stream_id"), e.to_string())),
    }
}

pub(super) fn http_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::new(key, "must start with http:// or https://"))
    }
}

pub(super) fn resolve_secret(at: &str, value: &str, env: Env<'_>) -> Result<Secret, ConfigError> {
    if let Some(name) = value.strip_prefix("secret:") {
        let variable = secret_variable(name);
        return match env(&variable) {
            Some(secret) if !secret.is_empty() => Ok(Secret::new(secret)),
            _ => Err(ConfigError::new(
                at,
                format!(
                    "secret {name:?} not found: in AWS create it in Secrets Manager under that name; locally set {variable}"
                ),
            )),
        };
    }
    let Some(name) = value.strip_prefix("env:") else {
        return Err(ConfigError::new(
            at,
            "secrets are not written in the config file; use \"env:NAME\" (an environment variable) or \"secret:NAME\" (a Secrets Manager secret)",
        ));
    };
    match env(name) {
        Some(secret) if !secret.is_empty() => Ok(Secret::new(secret)),
        Some(_) => Err(ConfigError::new(
            at,
            format!("environment variable {name} is empty"),
        )),
        None => Err(ConfigError::new(
            at,
            format!("environment variable {name} is not set"),
        )),
    }
}

/// Whether a configured value names a secret (`env:` or `secret:`).
pub(super) fn is_secret_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("secret:")
}

/// The environment variable a `secret:NAME` reference is read from:
/// `INLET_SECRET_` and the name upper-cased, every other character than a
/// letter or digit made `_` (`inlet/github` -> `INLET_SECRET_INLET_GITHUB`).
/// In Lambda the values fetched from Secrets Manager are offered under these
/// names, so one rule resolves a reference everywhere.
pub fn secret_variable(name: &str) -> String {
    let mut variable = String::from("INLET_SECRET_");
    variable.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    variable
}

/// Refuses two secret names read from the same variable locally (e.g.
/// `inlet/github` and `inlet-github`): one would silently stand for both.
pub(super) fn check_secret_names(text: &str) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashMap::new();
    for name in secret_names(text) {
        let variable = secret_variable(&name);
        if let Some(other) = seen.insert(variable.clone(), name.clone()) {
            return Err(ConfigError::new(
                "",
                format!(
                    "secrets {other:?} and {name:?} would both be read from {variable} locally: rename one"
                ),
            ));
        }
    }
    Ok(())
}

/// The names of every `secret:NAME` reference in a configuration's text, in
/// order, without repeats (unparsable text has none: parsing reports it).
pub fn secret_names(text: &str) -> Vec<String> {
    fn walk(value: &toml::Value, names: &mut Vec<String>) {
        match value {
            toml::Value::String(s) => {
                if let Some(name) = s.strip_prefix("secret:")
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_owned());
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            toml::Value::Table(table) => table.values().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        table.values().for_each(|v| walk(v, &mut names));
    }
    names
}
