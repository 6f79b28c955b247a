//! The one configuration file of every function and the local runner: TOML,
//! parsed and validated once at start-up into typed structs, one file per
//! section.
//!
//! Secrets are never written in the file: a secret value is `env:NAME`, read
//! from the environment variable `NAME`, or `secret:NAME`, a Secrets Manager
//! secret in AWS (fetched at cold start) and the environment variable
//! [`secret_variable`]`(NAME)` locally.

pub mod deployment;
mod destinations;
mod handle;
mod hub;
mod pollers;
pub mod reload;
mod schemes;
mod sources;
mod stores;
mod tokens;
mod topics;
mod validate;
mod writer;

pub use crate::field::{Field, JsonPointer};
pub use deployment::{Deployment, Wiring, resource_id};
pub use destinations::{
    DEFAULT_HTTP_MAX_ATTEMPTS, DEFAULT_HTTP_TIMEOUT, DEFAULT_POSTGRES_BATCH,
    DEFAULT_POSTGRES_CONNECTIONS, DEFAULT_POSTGRES_TABLE, Destination, DestinationKind,
    HttpDestination, PostgresDestination, PostgresLayout,
};
pub use handle::{ConfigHandle, Derived};
pub use hub::{DEFAULT_WORKSPACE, HubSettings};
pub use pollers::{Pagination, PollAuth, PollMethod, Poller, shown_url};
pub use reload::{DEFAULT_SECRET_TTL, Load, MISMATCH_PAUSE};
pub use sources::{DEFAULT_DEDUPE_WINDOW, DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE, Source};
pub use tokens::{Token, TopicAccess};
pub use topics::Topic;
pub use validate::{Env, secret_names, secret_variable};
pub use writer::{CorsOrigins, DEFAULT_WRITER_MAX_BODY_BYTES, WriterSettings};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::signature::Scheme;

/// The environment variable holding the configuration inline (Lambda).
pub const CONFIG_ENV: &str = "INLET_CONFIG";
/// The environment variable holding the path of the configuration file.
pub const CONFIG_FILE_ENV: &str = "INLET_CONFIG_FILE";

/// A configuration that cannot be used, and the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where: a key such as `sources.github.secrets[0]`, a file, a flag;
    /// empty when the whole file is at fault.
    pub key: String,
    /// What is wrong there.
    pub message: String,
}

impl ConfigError {
    /// An error at `key`.
    pub fn new(key: impl fmt::Display, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The same error, placed inside `place` (a file, a variable).
    pub fn within(self, place: impl fmt::Display) -> Self {
        let key = if self.key.is_empty() {
            place.to_string()
        } else {
            format!("{place}: {}", self.key)
        };
        ConfigError { key, ..self }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// A topic that is not configured (a 404 where a request names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic {0:?}")]
pub struct UnknownTopic(pub String);

/// A validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Topics by name.
    pub topics: BTreeMap<String, Topic>,
    /// Webhook sources by name (`POST /webhooks/{name}`).
    pub sources: BTreeMap<String, Source>,
    /// Writer API bearer tokens by name.
    pub tokens: BTreeMap<String, Token>,
    /// REST poll targets by name.
    pub pollers: BTreeMap<String, Poller>,
    /// Destinations by name: where topics are delivered out.
    pub destinations: BTreeMap<String, Destination>,
    /// Settings of the Writer API.
    pub writer: WriterSettings,
    /// Settings of the SignalR hub.
    pub hub: HubSettings,
    /// The DynamoDB table remembering webhook delivery ids (`[dedupe] table`;
    /// in AWS only: locally they are kept under the data directory).
    pub dedupe_table: Option<String>,
    /// The DynamoDB table of poller checkpoints (`[checkpoints] table`; in
    /// AWS only: locally they are kept under the data directory).
    pub checkpoint_table: Option<String>,
    /// Topics whose stream the file does not name: a deployment creates
    /// theirs (see [`Deployment`]).
    pub created_streams: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    topics: BTreeMap<String, topics::RawTopic>,
    #[serde(default)]
    sources: BTreeMap<String, sources::RawSource>,
    #[serde(default)]
    tokens: BTreeMap<String, tokens::RawToken>,
    #[serde(default)]
    pollers: BTreeMap<String, pollers::RawPoller>,
    #[serde(default)]
    destinations: BTreeMap<String, destinations::RawDestination>,
    writer: Option<writer::RawWriter>,
    hub: Option<hub::RawHub>,
    dedupe: Option<stores::RawTable>,
    checkpoints: Option<stores::RawTable>,
}

impl Config {
    /// Parses and validates TOML text; `env` looks up `env:NAME` references.
    pub fn parse(text: &str, env: Env<'_>) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::new("", e.to_string()))?;
        validate::check_secret_names(text)?;
        let (topics, created_streams) = topics::parse(raw.topics)?;
        Ok(Config {
            sources: sources::parse(raw.sources, &topics, env)?,
            tokens: tokens::parse(raw.tokens, &topics, env)?,
            pollers: pollers::parse(raw.pollers, &topics, env)?,
            destinations: destinations::parse(raw.destinations, &topics, env)?,
            writer: raw
                .writer
                .map(writer::parse)
                .transpose()?
                .unwrap_or_default(),
            hub: raw.hub.map(hub::parse).transpose()?.unwrap_or_default(),
            dedupe_table: stores::table("dedupe", raw.dedupe)?,
            checkpoint_table: stores::table("checkpoints", raw.checkpoints)?,
            topics,
            created_streams,
        })
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path, env: Env<'_>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                "",
                format!("cannot read config file {}: {e}", path.display()),
            )
        })?;
        let mut config = Config::parse(&text, env).map_err(|e| e.within(path.display()))?;
        config.relative_to(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Makes the configuration's relative file paths (a PostgreSQL
    /// destination's `ca_file`) relative to `dir`, its file's directory.
    pub fn relative_to(&mut self, dir: &Path) {
        for destination in self.destinations.values_mut() {
            if let DestinationKind::Postgres(pg) = &mut destination.kind
                && let Some(file) = &mut pg.ca_file
                && file.is_relative()
            {
                *file = dir.join(&*file);
            }
        }
    }

    /// The directory of the configuration's file, given where it came from
    /// ([`Config::text_from_env`]); `None` for inline text.
    pub fn origin_dir(origin: &str) -> Option<&Path> {
        (origin != CONFIG_ENV).then(|| Path::new(origin).parent().unwrap_or(Path::new(".")))
    }

    /// The Lambda way: the TOML inline in `INLET_CONFIG`, or a file named by
    /// `INLET_CONFIG_FILE` (relative to the function's package).
    pub fn from_env(env: Env<'_>) -> Result<Config, ConfigError> {
        let (text, origin) = Config::text_from_env(env)?;
        let mut config = Config::parse(&text, env).map_err(|e| e.within(&origin))?;
        if let Some(dir) = Config::origin_dir(&origin) {
            config.relative_to(dir);
        }
        Ok(config)
    }

    /// The configuration's text the Lambda way, and where it came from.
    pub fn text_from_env(env: Env<'_>) -> Result<(String, String), ConfigError> {
        if let Some(text) = env(CONFIG_ENV) {
            return Ok((text, CONFIG_ENV.to_owned()));
        }
        if let Some(path) = env(CONFIG_FILE_ENV) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new("", format!("cannot read config file {path}: {e}"))
            })?;
            return Ok((text, path));
        }
        Err(ConfigError::new(
            "",
            format!("set {CONFIG_ENV} (the TOML inline) or {CONFIG_FILE_ENV} (its path)"),
        ))
    }

    /// The topic of that name.
    pub fn topic(&self, name: &str) -> Result<&Topic, UnknownTopic> {
        self.topics
            .get(name)
            .ok_or_else(|| UnknownTopic(name.to_owned()))
    }

    /// Refuses a configuration a server can do nothing with: no topic, or
    /// no way in (no source, token or poll target), naming what to add.
    pub fn check_usable(&self) -> Result<(), ConfigError> {
        if self.topics.is_empty() {
            return Err(ConfigError::new(
                "topics",
                "no topic is defined: add a [topics.<name>] section with stream = \"<Kinesis stream>\"",
            ));
        }
        if self.sources.is_empty() && self.tokens.is_empty() && self.pollers.is_empty() {
            return Err(ConfigError::new(
                "",
                "nothing can publish: add a webhook source ([sources.<name>]), a Writer API token ([tokens.<name>]) or a poll target ([pollers.<name>])",
            ));
        }
        Ok(())
    }

    /// Sources that accept unsigned requests, for a start-up warning.
    pub fn unsigned_sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values().filter(|s| s.scheme == Scheme::None)
    }
}

/// Refuses a reference (at the key `at`) to a topic that is not defined.
fn check_topic(topics: &BTreeMap<String, Topic>, at: &str, topic: &str) -> Result<(), ConfigError> {
    if topics.contains_key(topic) {
        Ok(())
    } else {
        Err(ConfigError::new(
            at,
            format!("no topic {topic:?} is defined under [topics]"),
        ))
    }
}

#[cfg(test)]
mod tests;
