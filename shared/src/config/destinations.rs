//! `[destinations.<name>]`: where a topic's records are delivered out, to an
//! HTTP endpoint as Standard Webhooks or into PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::validate::{check_name, duration, http_url, is_secret_reference, resolve_secret};
use super::{ConfigError, Env, Topic, check_topic};
use crate::signature::{Scheme, Secret};

/// How long an HTTP destination waits for an answer unless configured.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts at a record an HTTP endpoint keeps refusing for a reason worth
/// retrying (429, 502, 503, 504, a timeout) before it is parked.
pub const DEFAULT_HTTP_MAX_ATTEMPTS: u32 = 10;
/// Records per PostgreSQL insert unless configured.
pub const DEFAULT_POSTGRES_BATCH: usize = 500;
/// Connections a PostgreSQL destination writes over at once unless
/// configured.
pub const DEFAULT_POSTGRES_CONNECTIONS: usize = 2;
/// The raw table's name unless configured.
pub const DEFAULT_POSTGRES_TABLE: &str = "inlet_records";

/// One destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// Its name (`[destinations.<name>]`).
    pub name: String,
    /// The topic it delivers.
    pub topic: String,
    /// Where it delivers.
    pub kind: DestinationKind,
    /// Whether a record that cannot be delivered yet holds back the later
    /// records of its shard (`true`), or is set aside for retry while they
    /// flow (`false`).
    pub ordered: bool,
    /// Records per delivery (one HTTP request, one insert).
    pub batch_size: usize,
    /// Attempts at a record failing for a reason worth retrying before it
    /// is parked in the dead letter; `None`: no limit.
    pub max_attempts: Option<u32>,
}

/// The kinds of destination.
#[derive(Debug, Clone, PartialEq)]
pub enum DestinationKind {
    /// POSTs to an endpoint, signed per Standard Webhooks.
    Http(HttpDestination),
    /// Inserts into a PostgreSQL table.
    Postgres(PostgresDestination),
}

impl DestinationKind {
    /// `http` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::Http(_) => "http",
            DestinationKind::Postgres(_) => "postgres",
        }
    }
}

/// An HTTP endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpDestination {
    /// The URL records are POSTed to.
    pub url: String,
    /// The URL as logs and the banner show it: the `env:`/`secret:`
    /// reference when it came from one (it may hold a credential).
    pub shown_url: String,
    /// `whsec_` keys; each request carries a signature by each (rotation).
    pub secrets: Vec<Secret>,
    /// Extra headers, their values resolved.
    pub headers: Vec<(String, Secret)>,
    /// How long one request may take.
    pub timeout: Duration,
}

/// A PostgreSQL database.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresDestination {
    /// The connection string (`postgres://…` or `host=… user=…`).
    pub url: Secret,
    /// The table (`schema.table` or `table`): by default `inlet_records`
    /// (raw) or the topic's name (Quix-shaped).
    pub table: String,
    /// How rows are shaped.
    pub layout: PostgresLayout,
    /// Connections writing the parts of a large batch at once.
    pub connections: usize,
    /// PEM certificates trusted besides the webpki roots (e.g. Amazon RDS's
    /// `global-bundle.pem`); relative to the configuration file.
    pub ca_file: Option<std::path::PathBuf>,
}

/// How a PostgreSQL destination shapes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresLayout {
    /// One row per record: its position and the CloudEvent as `jsonb`.
    Raw,
    /// As the Quix Streams PostgreSQL sink: `timestamp`, `__key` and a
    /// column per parameter, tag or event field.
    Quix,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDestination {
    topic: String,
    kind: String,
    url: String,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<String>,
    ordered: Option<bool>,
    batch_size: Option<usize>,
    max_attempts: Option<u32>,
    table: Option<String>,
    layout: Option<String>,
    connections: Option<usize>,
    ca_file: Option<String>,
}

pub(super) fn parse(
    raw: BTreeMap<String, RawDestination>,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<BTreeMap<String, Destination>, ConfigError> {
    let mut destinations = BTreeMap::new();
    for (name, raw) in raw {
        check_name("destination", &name)?;
        let destination = parse_one(&name, raw, topics, env)?;
        destinations.insert(name, destination);
    }
    Ok(destinations)
}

fn parse_one(
    name: &str,
    raw: RawDestination,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<Destination, ConfigError> {
    let at = format!("destinations.{name}");
    check_topic(topics, &format!("{at}.topic"), &raw.topic)?;
    let only = |key: &str, set: bool, kind: &str| {
        if set {
            Err(ConfigError::new(
                format!("{at}.{key}"),
                format!("a {kind} destination takes no {key}"),
            ))
        } else {
            Ok(())
        }
    };
    let (kind, default_batch, default_attempts) = match raw.kind.as_str() {
        "http" => {
            only("table", raw.table.is_some(), "http")?;
            only("layout", raw.layout.is_some(), "http")?;
            only("connections", raw.connections.is_some(), "http")?;
            only("ca_file", raw.ca_file.is_some(), "http")?;
            (http(&at, &raw, env)?, 1, Some(DEFAULT_HTTP_MAX_ATTEMPTS))
        }
        "postgres" => {
            only("secrets", !raw.secrets.is_empty(), "postgres")?;
            only("headers", !raw.headers.is_empty(), "postgres")?;
            only("timeout", raw.timeout.is_some(), "postgres")?;
            (postgres(&at, &raw, env)?, DEFAULT_POSTGRES_BATCH, None)
        }
        other => {
            return Err(ConfigError::new(
                format!("{at}.kind"),
                format!("{other:?} is not a destination kind: use \"http\" or \"postgres\""),
            ));
        }
    };
    let batch_size = raw.batch_size.unwrap_or(default_batch);
    if !(1..=10_000).contains(&batch_size) {
        return Err(ConfigError::new(
            format!("{at}.batch_size"),
            "must be 1 to 10000 (as a Kinesis event source mapping's batch)",
        ));
    }
    let max_attempts = match raw.max_attempts {
        Some(0) => None,
        Some(n) => Some(n),
        None => default_attempts,
    };
    Ok(Destination {
        name: name.to_owned(),
        topic: raw.topic,
        kind,
        ordered: raw.ordered.unwrap_or(true),
        batch_size,
        max_attempts,
    })
}

fn http(at: &str, raw: &RawDestination, env: Env<'_>) -> Result<DestinationKind, ConfigError> {
    let url = if is_secret_reference(&raw.url) {
        resolve_secret(&format!("{at}.url"), &raw.url, env)?
            .expose()
            .to_owned()
    } else {
        raw.url.clone()
    };
    http_url(&format!("{at}.url"), &url)?;
    if raw.secrets.is_empty() {
        return Err(ConfigError::new(
            format!("{at}.secrets"),
            "name at least one whsec_ signing key (\"env:NAME\" or \"secret:NAME\"); several sign alike during a rotation",
        ));
    }
    let secrets = raw
        .secrets
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let at = format!("{at}.secrets[{i}]");
            let secret = resolve_secret(&at, value, env)?;
            Scheme::StandardWebhooks(crate::signature::Sender::Standard)
                .check_secret(&secret)
                .map_err(|why| ConfigError::new(&at, why))?;
            Ok(secret)
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let headers = raw
        .headers
        .iter()
        .map(|(name, value)| {
            let at = format!("{at}.headers.{name}");
            let reserved = name.to_ascii_lowercase();
            if reserved.starts_with("webhook-")
                || ["content-type", "content-length", "host"].contains(&reserved.as_str())
            {
                return Err(ConfigError::new(at, "is set by the destination itself"));
            }
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(ConfigError::new(at, "is not a header name"));
            }
            let value = if is_secret_reference(value) {
                resolve_secret(&at, value, env)?
            } else {
                Secret::new(value.clone())
            };
            if value.expose().chars().any(char::is_control) {
                return Err(ConfigError::new(at, "has a control character"));
            }
            Ok((name.clone(), value))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let timeout = duration(at, "timeout", raw.timeout.as_deref(), DEFAULT_HTTP_TIMEOUT)?;
    if timeout.is_zero() {
        return Err(ConfigError::new(format!("{at}.timeout"), "must be above 0"));
    }
    let shown_url = if is_secret_reference(&raw.url) {
        raw.url.clone()
    } else {
        url.clone()
    };
    Ok(DestinationKind::Http(HttpDestination {
        url,
        shown_url,
        secrets,
        headers,
        timeout,
    }))
}

fn postgres(at: &str, raw: &RawDestination, env: Env<'_>) -> Result<DestinationKind, ConfigError> {
    let url = if is_secret_reference(&raw.url) {
        resolve_secret(&format!("{at}.url"), &raw.url, env)?
    } else {
        let password = raw
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
            || raw.url.contains("password=");
        if password {
            return Err(ConfigError::new(
                format!("{at}.url"),
                "holds a password: put the connection string in a secret and write \"env:NAME\" or \"secret:NAME\"",
            ));
        }
        Secret::new(raw.url.clone())
    };
    let layout = match raw.layout.as_deref() {
        None | Some("raw") => PostgresLayout::Raw,
        Some("quix") => PostgresLayout::Quix,
        Some(other) => {
            return Err(ConfigError::new(
                format!("{at}.layout"),
                format!("{other:?} is not a layout: use \"raw\" or \"quix\""),
            ));
        }
    };
    let table = match (&raw.table, layout) {
        (Some(table), _) => table.clone(),
        (None, PostgresLayout::Raw) => DEFAULT_POSTGRES_TABLE.to_owned(),
        (None, PostgresLayout::Quix) => raw.topic.clone(),
    };
    let valid = !table.is_empty()
        && table.split('.').count() <= 2
        && table.split('.').all(|part| !part.is_empty())
        && table.len() <= 63
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !valid {
        return Err(ConfigError::new(
            format!("{at}.table"),
            "must be `table` or `schema.table`: 1 to 63 letters, digits, '_' or '-'",
        ));
    }
    let connections = raw.connections.unwrap_or(DEFAULT_POSTGRES_CONNECTIONS);
    if !(1..=16).contains(&connections) {
        return Err(ConfigError::new(
            format!("{at}.connections"),
            "must be 1 to 16",
        ));
    }
    Ok(DestinationKind::Postgres(PostgresDestination {
        url,
        table,
        layout,
        connections,
        ca_file: raw.ca_file.as_deref().map(std::path::PathBuf::from),
    }))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const TOPIC: &str =
        "[topics.orders]\n[sources.s]\nscheme = \"none\"\ntopic = \"orders\"\nevent_id = \"e\"\n";

    fn parse(destination: &str) -> Result<Config, String> {
        let env = |name: &str| match name {
            "KEY" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
            "DB" => Some("postgres://u:p@db/x".to_owned()),
            _ => None,
        };
        Config::parse(
            &format!("{TOPIC}[destinations.d]\ntopic = \"orders\"\n{destination}"),
            &env,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn an_http_destination_takes_whsec_keys_by_reference_and_defaults_to_ordered_single_records() {
        let config =
            parse("kind = \"http\"\nurl = \"https://example.com/hook\"\nsecrets = [\"env:KEY\"]\n")
                .unwrap();
        let d = &config.destinations["d"];
        assert!(d.ordered);
        assert_eq!(d.batch_size, 1);
        assert_eq!(d.max_attempts, Some(super::DEFAULT_HTTP_MAX_ATTEMPTS));
        let literal = parse("kind = \"http\"\nurl = \"https://e/\"\nsecrets = [\"whsec_abc\"]\n")
            .unwrap_err();
        assert!(literal.contains("destinations.d.secrets[0]"), "{literal}");
        let none = parse("kind = \"http\"\nurl = \"https://e/\"\n").unwrap_err();
        assert!(none.contains("whsec_"), "{none}");
        let header = parse("kind = \"http\"\nurl = \"https://e/\"\nsecrets = [\"env:KEY\"]\nheaders = { webhook-id = \"x\" }\n").unwrap_err();
        assert!(header.contains("headers.webhook-id"), "{header}");
    }

    #[test]
    fn a_postgres_destination_keeps_passwords_out_of_the_file() {
        let error = parse("kind = \"postgres\"\nurl = \"postgres://u:secret@db/x\"\n").unwrap_err();
        assert!(error.contains("password"), "{error}");
        let config = parse("kind = \"postgres\"\nurl = \"env:DB\"\n").unwrap();
        let d = &config.destinations["d"];
        assert_eq!(d.batch_size, super::DEFAULT_POSTGRES_BATCH);
        assert_eq!(d.max_attempts, None);
        let error = parse("kind = \"kafka\"\nurl = \"x\"\n").unwrap_err();
        assert!(error.contains("destinations.d.kind"), "{error}");
        let error = parse("kind = \"postgres\"\nurl = \"env:DB\"\ntopic2 = 1\n").unwrap_err();
        assert!(error.contains("topic2"), "{error}");
    }
}
