//! `[hub]`: settings of the SignalR hub.

use serde::Deserialize;

use super::ConfigError;

/// The workspace name of the hub unless configured.
pub const DEFAULT_WORKSPACE: &str = "inlet";

/// Settings of the hub (`[hub]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// The deployment's name in Quix's terms: pushes carry `topicId` as
    /// `{workspace}-{topic}`, as Quix's carry `{workspace id}-{topic}`.
    pub workspace: String,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            workspace: DEFAULT_WORKSPACE.to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHub {
    workspace: Option<String>,
}

pub(super) fn parse(raw: RawHub) -> Result<HubSettings, ConfigError> {
    let workspace = raw
        .workspace
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_owned());
    if workspace.is_empty() || workspace.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "hub.workspace",
            "must be a name without control characters",
        ));
    }
    Ok(HubSettings { workspace })
}
