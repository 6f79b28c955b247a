//! The one configuration file of every function and the local runner: TOML,
//! parsed and validated once at start-up into typed structs.
//!
//! Secrets are never written in the file: a secret value is `env:NAME` and is
//! read from the environment variable `NAME` (in AWS filled by the template).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::signature::{Algorithm, Encoding, HmacSpec, SCHEME_NAMES, Scheme, Secret, headers};

/// The default body limit of a webhook source: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The default body limit of the Writer API: 5 MiB (a Lambda request can
/// carry 6 MB in all).
pub const DEFAULT_WRITER_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The environment variable holding the configuration inline (Lambda).
pub const CONFIG_ENV: &str = "INLET_CONFIG";
/// The environment variable holding the path of the configuration file.
pub const CONFIG_FILE_ENV: &str = "INLET_CONFIG_FILE";

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
    /// Settings of the Writer API.
    pub writer: WriterSettings,
    /// The DynamoDB table remembering webhook delivery ids (`[dedupe] table`;
    /// in AWS only: locally they are kept under the data directory).
    pub dedupe_table: Option<String>,
    /// The DynamoDB table of poller checkpoints (`[checkpoints] table`; in
    /// AWS only: locally they are kept under the data directory).
    pub checkpoint_table: Option<String>,
}

/// Settings of the Writer API (`[writer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSettings {
    /// Browser origins allowed to call the API (CORS).
    pub cors: CorsOrigins,
    /// Larger bodies are refused with 413.
    pub max_body_bytes: usize,
    /// The public base URL used in code samples; default: from the request.
    pub public_url: Option<String>,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            cors: CorsOrigins::None,
            max_body_bytes: DEFAULT_WRITER_MAX_BODY_BYTES,
            public_url: None,
        }
    }
}

/// Which browser origins may call an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin calls (no CORS headers).
    None,
    /// Any origin: only when `["*"]` is configured.
    Any,
    /// These origins, e.g. `https://app.example.com`.
    List(Vec<String>),
}

/// A topic: in AWS, one Kinesis stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The topic's name.
    pub name: String,
    /// The Kinesis stream that backs it.
    pub stream: String,
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
            Field::Pointer(pointer) => match json.pointer(pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                    Some(v.to_string())
                }
                _ => None,
            },
        };
        value.filter(|v| !v.is_empty())
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

/// The default tolerance for signed timestamps: 5 minutes either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// The default window in which a redelivered webhook is not published again.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A webhook source.
#[derive(Debug, Clone)]
pub struct Source {
    /// The source's name, the last segment of its URL.
    pub name: String,
    /// How its requests are signed.
    pub scheme: Scheme,
    /// Accepted secrets; several while one is rotated out.
    pub secrets: Vec<Secret>,
    /// The topic its events go to.
    pub topic: String,
    /// The stream id (partition key) of its events.
    pub stream_id: String,
    /// Where the Quix event id comes from.
    pub event_id: Field,
    /// Where the provider's delivery id comes from (the CloudEvent id, and
    /// the key that keeps a redelivery from being published twice).
    pub delivery_id: Option<Field>,
    /// Larger bodies are refused with 413.
    pub max_body_bytes: usize,
    /// How far a signed timestamp may be from now, either way.
    pub tolerance: Duration,
    /// How long a delivery id is remembered; zero turns deduplication off.
    pub dedupe_window: Duration,
}

/// Which topics a token may write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicAccess {
    /// Every topic (`["*"]`).
    All,
    /// Only these topics.
    Only(Vec<String>),
}

impl TopicAccess {
    /// Whether the token may write to `topic`.
    pub fn allows(&self, topic: &str) -> bool {
        match self {
            TopicAccess::All => true,
            TopicAccess::Only(topics) => topics.iter().any(|t| t == topic),
        }
    }
}

/// A Writer API bearer token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token's name, for logs.
    pub name: String,
    /// The token value.
    pub token: Secret,
    /// Topics it may write to.
    pub topics: TopicAccess,
}

/// A REST poll target.
#[derive(Debug, Clone)]
pub struct Poller {
    /// The target's name.
    pub name: String,
    /// The URL to fetch.
    pub url: String,
    /// How often to fetch it.
    pub every: Duration,
    /// JSON pointer to the array of items; empty: the body is one item.
    pub items: String,
    /// Dedupe key of an item; `None`: a hash of the item.
    pub key: Option<String>,
    /// Where the event id comes from.
    pub event_id: Field,
    /// JSON pointer to the published value; `None`: the whole item.
    pub value: Option<String>,
    /// The topic its events go to.
    pub topic: String,
    /// The stream id of its events.
    pub stream_id: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Request headers; values may be secrets (`env:NAME`).
    pub headers: Vec<(String, Secret)>,
    /// Authentication.
    pub auth: PollAuth,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Time budget of one run, retries included.
    pub budget: Duration,
    /// How to find the next page.
    pub pagination: Pagination,
    /// Most pages fetched in one run.
    pub max_pages: u32,
    /// How many recent item keys the checkpoint keeps.
    pub keep_keys: usize,
}

/// How a poller authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollAuth {
    /// No authentication.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
}

/// How a poller finds the next page of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// One page only.
    None,
    /// Follow the `Link: <url>; rel="next"` header.
    LinkHeader,
    /// A JSON pointer to the next page's URL, or to a cursor put into the
    /// query parameter `cursor_param`.
    Pointer {
        /// Where the next URL or cursor is.
        pointer: String,
        /// The query parameter a cursor goes into (`None`: the value is a URL).
        cursor_param: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    topics: BTreeMap<String, RawTopic>,
    #[serde(default)]
    sources: BTreeMap<String, RawSource>,
    #[serde(default)]
    tokens: BTreeMap<String, RawToken>,
    #[serde(default)]
    pollers: BTreeMap<String, RawPoller>,
    writer: Option<RawWriter>,
    dedupe: Option<RawTable>,
    checkpoints: Option<RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    table: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWriter {
    #[serde(default)]
    cors_origins: Vec<String>,
    max_body_bytes: Option<usize>,
    public_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    stream: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    scheme: String,
    #[serde(default)]
    secrets: Vec<String>,
    topic: String,
    stream_id: Option<String>,
    event_id: Option<String>,
    delivery_id: Option<String>,
    max_body_bytes: Option<usize>,
    tolerance: Option<String>,
    dedupe_window: Option<String>,
    // twilio
    public_url: Option<String>,
    // hmac
    algorithm: Option<String>,
    header: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    timestamp_header: Option<String>,
    signed_content: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    token: String,
    topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoller {
    url: String,
    every: String,
    #[serde(default)]
    items: String,
    key: Option<String>,
    event_id: Option<String>,
    value: Option<String>,
    topic: String,
    stream_id: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    bearer: Option<String>,
    basic_user: Option<String>,
    basic_password: Option<String>,
    timeout: Option<String>,
    budget: Option<String>,
    next: Option<String>,
    cursor_param: Option<String>,
    max_pages: Option<u32>,
    keep_keys: Option<usize>,
}

impl Config {
    /// Parses and validates TOML text; `env` looks up `env:NAME` references.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        let mut config = Config::default();

        for (name, topic) in raw.topics {
            check_name("topic", &name)?;
            if topic.stream.trim().is_empty() {
                return Err(Error::Config(format!("topics.{name}.stream is empty")));
            }
            config.topics.insert(
                name.clone(),
                Topic {
                    name,
                    stream: topic.stream,
                },
            );
        }

        for (name, raw) in raw.sources {
            check_name("source", &name)?;
            let at = format!("sources.{name}");
            let scheme = scheme(&at, &raw)?;
            config.check_topic(&at, &raw.topic)?;
            let secrets = raw
                .secrets
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    let at = format!("{at}.secrets[{i}]");
                    let secret = resolve_secret(&at, value, env)?;
                    scheme
                        .check_secret(&secret)
                        .map_err(|why| Error::Config(format!("{at}: {why}")))?;
                    Ok(secret)
                })
                .collect::<Result<Vec<_>>>()?;
            if scheme.needs_secret() && secrets.is_empty() {
                return Err(Error::Config(format!(
                    "{at}.secrets: scheme {:?} needs at least one secret",
                    scheme.name()
                )));
            }
            if !scheme.needs_secret() && !secrets.is_empty() {
                return Err(Error::Config(format!(
                    "{at}.secrets: scheme \"none\" checks no signature; remove the secrets"
                )));
            }
            let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
            if max_body_bytes == 0 {
                return Err(Error::Config(format!(
                    "{at}.max_body_bytes must be above 0"
                )));
            }
            let (default_event, default_delivery) = scheme_defaults(&scheme, &name);
            let event_id = raw.event_id.as_deref().map_or(default_event, Field::parse);
            let delivery_id = match raw.delivery_id.as_deref() {
                Some("none") => None,
                Some(value) => Some(Field::parse(value)),
                None => default_delivery,
            };
            if let Some(Field::Constant(_)) = delivery_id {
                return Err(Error::Config(format!(
                    "{at}.delivery_id must be a JSON pointer (/id), a header (header:Name) or \"none\""
                )));
            }
            config.sources.insert(
                name.clone(),
                Source {
                    stream_id: non_empty(&at, "stream_id", raw.stream_id)?
                        .unwrap_or_else(|| name.clone()),
                    name,
                    scheme,
                    secrets,
                    topic: raw.topic,
                    event_id,
                    delivery_id,
                    max_body_bytes,
                    tolerance: duration(
                        &at,
                        "tolerance",
                        raw.tolerance.as_deref(),
                        DEFAULT_TOLERANCE,
                    )?,
                    dedupe_window: duration(
                        &at,
                        "dedupe_window",
                        raw.dedupe_window.as_deref(),
                        DEFAULT_DEDUPE_WINDOW,
                    )?,
                },
            );
        }

        for (name, raw) in raw.tokens {
            let at = format!("tokens.{name}");
            let token = resolve_secret(&format!("{at}.token"), &raw.token, env)?;
            let topics = if raw.topics.iter().any(|t| t == "*") {
                TopicAccess::All
            } else {
                for topic in &raw.topics {
                    config.check_topic(&at, topic)?;
                }
                TopicAccess::Only(raw.topics)
            };
            config.tokens.insert(
                name.clone(),
                Token {
                    name,
                    token,
                    topics,
                },
            );
        }

        for (name, raw) in raw.pollers {
            check_name("poller", &name)?;
            let at = format!("pollers.{name}");
            config.check_topic(&at, &raw.topic)?;
            if !(raw.url.starts_with("http://") || raw.url.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "{at}.url must start with http:// or https://"
                )));
            }
            let every = humantime::parse_duration(&raw.every)
                .map_err(|e| Error::Config(format!("{at}.every {:?}: {e}", raw.every)))?;
            if every < Duration::from_secs(1) {
                return Err(Error::Config(format!("{at}.every must be at least 1s")));
            }
            for (key, pointer) in [
                ("items", Some(&raw.items)),
                ("key", raw.key.as_ref()),
                ("value", raw.value.as_ref()),
            ] {
                if let Some(pointer) = pointer
                    && !pointer.is_empty()
                    && !pointer.starts_with('/')
                {
                    return Err(Error::Config(format!(
                        "{at}.{key} must be a JSON pointer such as \"/id\""
                    )));
                }
            }
            let method = raw
                .method
                .unwrap_or_else(|| "GET".to_owned())
                .to_ascii_uppercase();
            if method != "GET" && method != "POST" {
                return Err(Error::Config(format!("{at}.method: use GET or POST")));
            }
            let headers = raw
                .headers
                .iter()
                .map(|(header, value)| {
                    let value = if value.starts_with("env:") {
                        resolve_secret(&format!("{at}.headers.{header}"), value, env)?
                    } else {
                        Secret::new(value.clone())
                    };
                    Ok((header.to_ascii_lowercase(), value))
                })
                .collect::<Result<Vec<_>>>()?;
            let auth = match (raw.bearer, raw.basic_user, raw.basic_password) {
                (None, None, None) => PollAuth::None,
                (Some(token), None, None) => {
                    PollAuth::Bearer(resolve_secret(&format!("{at}.bearer"), &token, env)?)
                }
                (None, Some(user), Some(password)) => PollAuth::Basic {
                    user,
                    password: resolve_secret(&format!("{at}.basic_password"), &password, env)?,
                },
                _ => {
                    return Err(Error::Config(format!(
                        "{at}: set either bearer, or basic_user with basic_password"
                    )));
                }
            };
            let pagination = match raw.next.as_deref() {
                None if raw.cursor_param.is_some() => {
                    return Err(Error::Config(format!(
                        "{at}.cursor_param needs next = \"/pointer/to/the/cursor\""
                    )));
                }
                None => Pagination::None,
                Some("link") => Pagination::LinkHeader,
                Some(pointer) if pointer.starts_with('/') => Pagination::Pointer {
                    pointer: pointer.to_owned(),
                    cursor_param: raw.cursor_param,
                },
                Some(other) => {
                    return Err(Error::Config(format!(
                        "{at}.next {other:?}: use \"link\" (the Link header) or a JSON pointer to the next URL or cursor"
                    )));
                }
            };
            let timeout = duration(
                &at,
                "timeout",
                raw.timeout.as_deref(),
                Duration::from_secs(10),
            )?;
            let budget = duration(
                &at,
                "budget",
                raw.budget.as_deref(),
                Duration::from_secs(25),
            )?;
            if timeout.is_zero() || budget < timeout {
                return Err(Error::Config(format!(
                    "{at}: timeout must be above 0 and budget at least the timeout"
                )));
            }
            config.pollers.insert(
                name.clone(),
                Poller {
                    url: raw.url,
                    every,
                    items: raw.items,
                    key: raw.key,
                    event_id: Field::parse(raw.event_id.as_deref().unwrap_or(&name)),
                    value: raw.value,
                    topic: raw.topic,
                    stream_id: non_empty(&at, "stream_id", raw.stream_id)?
                        .unwrap_or_else(|| name.clone()),
                    method,
                    headers,
                    auth,
                    timeout,
                    budget,
                    pagination,
                    max_pages: raw.max_pages.unwrap_or(10).max(1),
                    keep_keys: raw.keep_keys.unwrap_or(1000).max(1),
                    name,
                },
            );
        }

        if let Some(writer) = raw.writer {
            config.writer = writer_settings(writer)?;
        }
        if let Some(dedupe) = raw.dedupe {
            if dedupe.table.trim().is_empty() {
                return Err(Error::Config("dedupe.table is empty".into()));
            }
            config.dedupe_table = Some(dedupe.table);
        }
        if let Some(checkpoints) = raw.checkpoints {
            if checkpoints.table.trim().is_empty() {
                return Err(Error::Config("checkpoints.table is empty".into()));
            }
            config.checkpoint_table = Some(checkpoints.table);
        }

        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        Config::parse(&text, env)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), strip_prefix(&e))))
    }

    /// The Lambda way: the TOML inline in `INLET_CONFIG`, or a file named by
    /// `INLET_CONFIG_FILE` (relative to the function's package).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        if let Some(text) = env(CONFIG_ENV) {
            return Config::parse(&text, env)
                .map_err(|e| Error::Config(format!("{CONFIG_ENV}: {}", strip_prefix(&e))));
        }
        if let Some(path) = env(CONFIG_FILE_ENV) {
            return Config::load(Path::new(&path), env);
        }
        Err(Error::Config(format!(
            "set {CONFIG_ENV} (the TOML inline) or {CONFIG_FILE_ENV} (its path)"
        )))
    }

    /// The topic, or a 404 naming it.
    pub fn topic(&self, name: &str) -> Result<&Topic> {
        self.topics
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("unknown topic {name:?}")))
    }

    /// Sources that accept unsigned requests, for a start-up warning.
    pub fn unsigned_sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values().filter(|s| s.scheme == Scheme::None)
    }

    fn check_topic(&self, at: &str, topic: &str) -> Result<()> {
        if self.topics.contains_key(topic) {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "{at}.topic: no topic {topic:?} is defined under [topics]"
            )))
        }
    }
}

/// The scheme of a source, with its scheme-specific keys checked.
fn scheme(at: &str, raw: &RawSource) -> Result<Scheme> {
    let hmac_keys = [
        ("algorithm", raw.algorithm.is_some()),
        ("header", raw.header.is_some()),
        ("encoding", raw.encoding.is_some()),
        ("prefix", raw.prefix.is_some()),
        ("timestamp_header", raw.timestamp_header.is_some()),
        ("signed_content", raw.signed_content.is_some()),
    ];
    if raw.scheme != "hmac"
        && let Some((key, _)) = hmac_keys.iter().find(|(_, set)| *set)
    {
        return Err(Error::Config(format!(
            "{at}.{key} applies to scheme \"hmac\" only"
        )));
    }
    if raw.scheme != "twilio" && raw.public_url.is_some() {
        return Err(Error::Config(format!(
            "{at}.public_url applies to scheme \"twilio\" only"
        )));
    }
    if let Some(scheme) = Scheme::from_name(&raw.scheme) {
        return Ok(scheme);
    }
    Ok(match raw.scheme.as_str() {
        "twilio" => {
            let url = raw.public_url.clone().ok_or_else(|| {
                Error::Config(format!(
                    "{at}.public_url: scheme \"twilio\" signs the public URL Twilio calls; set it, e.g. \"https://hooks.example.com\""
                ))
            })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "{at}.public_url must start with http:// or https://"
                )));
            }
            Scheme::Twilio { public_url: url }
        }
        "hmac" => {
            let header = raw.header.clone().ok_or_else(|| {
                Error::Config(format!(
                    "{at}.header: scheme \"hmac\" needs the signature header's name"
                ))
            })?;
            let algorithm = match raw.algorithm.as_deref().unwrap_or("sha256") {
                "sha1" => Algorithm::Sha1,
                "sha256" => Algorithm::Sha256,
                "sha512" => Algorithm::Sha512,
                other => {
                    return Err(Error::Config(format!(
                        "{at}.algorithm {other:?}: use sha1, sha256 or sha512"
                    )));
                }
            };
            let encoding = match raw.encoding.as_deref().unwrap_or("hex") {
                "hex" => Encoding::Hex,
                "base64" => Encoding::Base64,
                other => {
                    return Err(Error::Config(format!(
                        "{at}.encoding {other:?}: use hex or base64"
                    )));
                }
            };
            let timestamp_header = raw
                .timestamp_header
                .as_ref()
                .map(|h| h.to_ascii_lowercase());
            let signed_content = raw.signed_content.clone().unwrap_or_else(|| {
                if timestamp_header.is_some() {
                    "{timestamp}.{body}".to_owned()
                } else {
                    "{body}".to_owned()
                }
            });
            if !signed_content.contains("{body}") {
                return Err(Error::Config(format!(
                    "{at}.signed_content must contain {{body}}"
                )));
            }
            if signed_content.contains("{timestamp}") && timestamp_header.is_none() {
                return Err(Error::Config(format!(
                    "{at}.signed_content uses {{timestamp}}: set timestamp_header too"
                )));
            }
            Scheme::Hmac(HmacSpec {
                algorithm,
                header: header.to_ascii_lowercase(),
                encoding,
                prefix: raw.prefix.clone().unwrap_or_default(),
                timestamp_header,
                signed_content,
            })
        }
        other => {
            return Err(Error::Config(format!(
                "{at}.scheme: unknown signature scheme {other:?} (supported: {SCHEME_NAMES})"
            )));
        }
    })
}

/// Where each scheme's event id and delivery id are, unless configured.
fn scheme_defaults(scheme: &Scheme, source: &str) -> (Field, Option<Field>) {
    let pointer = |p: &str| Field::Pointer(p.to_owned());
    let header = |h: &str| Field::Header(h.to_owned());
    match scheme {
        Scheme::Segment => (pointer("/type"), Some(pointer("/messageId"))),
        Scheme::Github => (
            header(headers::GITHUB_EVENT),
            Some(header(headers::GITHUB_DELIVERY)),
        ),
        Scheme::Stripe => (pointer("/type"), Some(pointer("/id"))),
        Scheme::Slack => (pointer("/type"), Some(pointer("/event_id"))),
        Scheme::Shopify => (
            header(headers::SHOPIFY_TOPIC),
            Some(header(headers::SHOPIFY_WEBHOOK_ID)),
        ),
        Scheme::StandardWebhooks => (pointer("/type"), Some(header(headers::WEBHOOK_ID))),
        Scheme::Twilio { .. } => (
            Field::Constant(source.to_owned()),
            Some(header(headers::TWILIO_IDEMPOTENCY)),
        ),
        Scheme::Hmac(_) | Scheme::None => (pointer("/type"), None),
    }
}

fn duration(at: &str, key: &str, value: Option<&str>, default: Duration) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some("0") => Ok(Duration::ZERO),
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| Error::Config(format!("{at}.{key} {text:?}: {e}"))),
    }
}

fn writer_settings(raw: RawWriter) -> Result<WriterSettings> {
    let cors = if raw.cors_origins.is_empty() {
        CorsOrigins::None
    } else if raw.cors_origins.iter().any(|o| o == "*") {
        if raw.cors_origins.len() > 1 {
            return Err(Error::Config(
                "writer.cors_origins: \"*\" allows every origin; list nothing else with it".into(),
            ));
        }
        CorsOrigins::Any
    } else {
        for origin in &raw.cors_origins {
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/');
            if !ok {
                return Err(Error::Config(format!(
                    "writer.cors_origins: {origin:?} is not an origin like https://app.example.com"
                )));
            }
        }
        CorsOrigins::List(raw.cors_origins)
    };
    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_WRITER_MAX_BODY_BYTES);
    if max_body_bytes == 0 {
        return Err(Error::Config(
            "writer.max_body_bytes must be above 0".into(),
        ));
    }
    if let Some(url) = &raw.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::Config(
            "writer.public_url must start with http:// or https://".into(),
        ));
    }
    Ok(WriterSettings {
        cors,
        max_body_bytes,
        public_url: raw.public_url.map(|u| u.trim_end_matches('/').to_owned()),
    })
}

fn strip_prefix(err: &Error) -> String {
    match err {
        Error::Config(message) => message.clone(),
        other => other.to_string(),
    }
}

fn check_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{kind} name {name:?}: use letters, digits, '-', '_' or '.'"
        )))
    }
}

fn non_empty(at: &str, key: &str, value: Option<String>) -> Result<Option<String>> {
    match value {
        Some(v) if v.is_empty() => Err(Error::Config(format!("{at}.{key} is empty"))),
        other => Ok(other),
    }
}

fn resolve_secret(at: &str, value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret> {
    let Some(name) = value.strip_prefix("env:") else {
        return Err(Error::Config(format!(
            "{at}: secrets are not written in the config file; use \"env:NAME\" to read one from the environment"
        )));
    };
    match env(name) {
        Some(secret) if !secret.is_empty() => Ok(Secret::new(secret)),
        Some(_) => Err(Error::Config(format!(
            "{at}: environment variable {name} is empty"
        ))),
        None => Err(Error::Config(format!(
            "{at}: environment variable {name} is not set"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"

[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["*"]

[pollers.beer]
url = "https://api.example.com/beers/random"
every = "30s"
items = ""
key = "/id"
event_id = "beer"
value = "/style"
topic = "webhooks"
stream_id = "beer"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "SEGMENT_SECRET" => Some("s3cret".into()),
            "DASHBOARD_TOKEN" => Some("tok".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn parse_err(text: &str) -> String {
        match Config::parse(text, &env) {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_design_example() {
        let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
        assert_eq!(config.topics["webhooks"].stream, "inlet-webhooks");
        let segment = &config.sources["segment"];
        assert_eq!(segment.scheme, Scheme::Segment);
        assert_eq!(segment.secrets, vec![Secret::new("s3cret")]);
        assert_eq!(segment.event_id, Field::Pointer("/type".into()));
        assert_eq!(segment.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.tokens["dashboard"].topics, TopicAccess::All);
        let beer = &config.pollers["beer"];
        assert_eq!(beer.every, Duration::from_secs(30));
        assert_eq!(beer.event_id, Field::Constant("beer".into()));
    }

    #[test]
    fn defaults_stream_id_to_the_source_name_and_event_id_to_type() {
        let config = Config::parse(
            r#"
[topics.t]
stream = "s"
[sources.shop]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
"#,
            &env,
        )
        .unwrap();
        assert_eq!(config.sources["shop"].stream_id, "shop");
        assert_eq!(
            config.sources["shop"].event_id,
            Field::Pointer("/type".into())
        );
    }

    #[test]
    fn errors_name_the_bad_key_or_variable() {
        let base = "[topics.t]\nstream = \"s\"\n[sources.a]\ntopic = \"t\"\n";
        let cases = [
            (
                format!("{base}scheme = \"segment\"\nsecrets = [\"env:MISSING\"]"),
                "MISSING is not set",
            ),
            (
                format!("{base}scheme = \"segment\"\nsecrets = [\"env:EMPTY\"]"),
                "EMPTY is empty",
            ),
            (
                format!("{base}scheme = \"segment\"\nsecrets = [\"literal\"]"),
                "sources.a.secrets[0]",
            ),
            (
                format!("{base}scheme = \"segment\""),
                "needs at least one secret",
            ),
            (format!("{base}scheme = \"rot13\""), "sources.a.scheme"),
            (
                format!("{base}scheme = \"none\"\nsecrets = [\"env:SEGMENT_SECRET\"]"),
                "remove the secrets",
            ),
            (
                format!("{base}scheme = \"none\"\nbogus = 1"),
                "unknown field `bogus`",
            ),
            (
                format!("{base}scheme = \"none\"\nmax_body_bytes = 0"),
                "max_body_bytes",
            ),
            (
                "[sources.a]\nscheme = \"none\"\ntopic = \"nope\"".to_owned(),
                "no topic \"nope\"",
            ),
            ("[topics.t]\n".to_owned(), "missing field `stream`"),
            (
                "[tokens.x]\ntoken = \"env:DASHBOARD_TOKEN\"\ntopics = [\"nope\"]".to_owned(),
                "tokens.x.topic",
            ),
        ];
        for (text, expected) in cases {
            let message = parse_err(&text);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    #[test]
    fn writer_settings_default_and_validate() {
        let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
        assert_eq!(config.writer, WriterSettings::default());
        let config = Config::parse(
            "[writer]\ncors_origins = [\"https://app.example.com\"]\npublic_url = \"https://w.example.com/\"",
            &env,
        )
        .unwrap();
        assert_eq!(
            config.writer.cors,
            CorsOrigins::List(vec!["https://app.example.com".into()])
        );
        assert_eq!(
            config.writer.public_url.as_deref(),
            Some("https://w.example.com")
        );
        let any = Config::parse("[writer]\ncors_origins = [\"*\"]", &env).unwrap();
        assert_eq!(any.writer.cors, CorsOrigins::Any);
        for (text, expected) in [
            (
                "[writer]\ncors_origins = [\"*\", \"https://a.b\"]",
                "list nothing else",
            ),
            (
                "[writer]\ncors_origins = [\"app.example.com\"]",
                "is not an origin",
            ),
            ("[writer]\nmax_body_bytes = 0", "max_body_bytes"),
            ("[writer]\npublic_url = \"ftp://x\"", "public_url"),
        ] {
            let message = parse_err(text);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    #[test]
    fn each_scheme_has_its_providers_defaults() {
        let text = r#"
[topics.t]
stream = "s"
[sources.gh]
scheme = "github"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
[sources.stripe]
scheme = "stripe"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
tolerance = "2m"
dedupe_window = "1h"
[sources.shop]
scheme = "shopify"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
delivery_id = "none"
event_id = "header:X-Custom"
[sources.acme]
scheme = "hmac"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "sig="
timestamp_header = "X-Acme-Time"
dedupe_window = "0"
"#;
        let config = Config::parse(text, &env).unwrap();
        let gh = &config.sources["gh"];
        assert_eq!(gh.event_id, Field::Header("x-github-event".into()));
        assert_eq!(
            gh.delivery_id,
            Some(Field::Header("x-github-delivery".into()))
        );
        assert_eq!(gh.tolerance, DEFAULT_TOLERANCE);
        assert_eq!(gh.dedupe_window, DEFAULT_DEDUPE_WINDOW);
        let stripe = &config.sources["stripe"];
        assert_eq!(stripe.event_id, Field::Pointer("/type".into()));
        assert_eq!(stripe.delivery_id, Some(Field::Pointer("/id".into())));
        assert_eq!(stripe.tolerance, Duration::from_secs(120));
        assert_eq!(stripe.dedupe_window, Duration::from_secs(3600));
        let shop = &config.sources["shop"];
        assert_eq!(shop.delivery_id, None);
        assert_eq!(shop.event_id, Field::Header("x-custom".into()));
        match &config.sources["acme"].scheme {
            Scheme::Hmac(spec) => {
                assert_eq!(spec.header, "x-acme-signature");
                assert_eq!(spec.algorithm, Algorithm::Sha512);
                assert_eq!(spec.encoding, Encoding::Base64);
                assert_eq!(spec.timestamp_header.as_deref(), Some("x-acme-time"));
                assert_eq!(spec.signed_content, "{timestamp}.{body}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(config.sources["acme"].dedupe_window, Duration::ZERO);
    }

    #[test]
    fn scheme_specific_keys_are_checked() {
        let base = "[topics.t]\nstream = \"s\"\n[sources.a]\ntopic = \"t\"\nsecrets = [\"env:SEGMENT_SECRET\"]\n";
        let cases = [
            (
                "scheme = \"github\"\nheader = \"x\"",
                "applies to scheme \"hmac\" only",
            ),
            (
                "scheme = \"github\"\npublic_url = \"https://x\"",
                "applies to scheme \"twilio\" only",
            ),
            ("scheme = \"twilio\"", "public_url"),
            ("scheme = \"hmac\"", "needs the signature header"),
            (
                "scheme = \"hmac\"\nheader = \"x\"\nalgorithm = \"md5\"",
                "sha1, sha256 or sha512",
            ),
            (
                "scheme = \"hmac\"\nheader = \"x\"\nencoding = \"rot13\"",
                "hex or base64",
            ),
            (
                "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{timestamp}\"",
                "must contain {body}",
            ),
            (
                "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{timestamp}{body}\"",
                "set timestamp_header",
            ),
            ("scheme = \"standard-webhooks\"", "whsec_"),
            ("scheme = \"github\"\ntolerance = \"soon\"", "tolerance"),
            (
                "scheme = \"github\"\ndelivery_id = \"fixed\"",
                "delivery_id",
            ),
        ];
        for (extra, expected) in cases {
            let message = parse_err(&format!("{base}{extra}"));
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    #[test]
    fn fields_resolve_from_body_headers_or_constants() {
        let json = serde_json::json!({"type": "track", "n": 5, "o": {}});
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-github-event", "push".parse().unwrap());
        assert_eq!(
            Field::parse("/type").resolve(&json, &headers).as_deref(),
            Some("track")
        );
        assert_eq!(
            Field::parse("/n").resolve(&json, &headers).as_deref(),
            Some("5")
        );
        assert_eq!(Field::parse("/o").resolve(&json, &headers), None);
        assert_eq!(Field::parse("/missing").resolve(&json, &headers), None);
        assert_eq!(
            Field::parse("header:X-GitHub-Event")
                .resolve(&json, &headers)
                .as_deref(),
            Some("push")
        );
        assert_eq!(
            Field::parse("header:x-other").resolve(&json, &headers),
            None
        );
        assert_eq!(
            Field::parse("fixed").resolve(&json, &headers).as_deref(),
            Some("fixed")
        );
    }

    #[test]
    fn unsigned_sources_are_listed() {
        let config = Config::parse(
            "[topics.t]\nstream = \"s\"\n[sources.open]\nscheme = \"none\"\ntopic = \"t\"",
            &env,
        )
        .unwrap();
        let names: Vec<_> = config.unsigned_sources().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["open"]);
    }

    #[test]
    fn from_env_reads_inline_config_or_says_what_to_set() {
        let inline = |name: &str| match name {
            CONFIG_ENV => Some(DESIGN_EXAMPLE.to_owned()),
            other => env(other),
        };
        assert!(Config::from_env(&inline).is_ok());
        let message = match Config::from_env(&|_| None) {
            Err(Error::Config(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(message.contains(CONFIG_ENV));
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("tok\""));
    }
}
