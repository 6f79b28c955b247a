//! `[dedupe]` and `[checkpoints]`: the DynamoDB tables of the functions'
//! state in AWS (locally, both live under the data directory).

use serde::Deserialize;

use super::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    table: String,
}

/// The table's name, checked not to be blank.
pub(super) fn table(section: &str, raw: Option<RawTable>) -> Result<Option<String>, ConfigError> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.table.trim().is_empty() => {
            Err(ConfigError::new(format!("{section}.table"), "is empty"))
        }
        Some(raw) => Ok(Some(raw.table)),
    }
}
