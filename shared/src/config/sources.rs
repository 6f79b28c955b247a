//! `[sources.<name>]`: webhook sources, each `POST /webhooks/<name>`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::schemes::{SchemeSettings, scheme};
use super::validate::{Env, check_name, duration, resolve_secret, stream_id};
use super::{ConfigError, Field, Topic, check_topic};
use crate::signature::{Blocks, Scheme, Secret};

/// The default body limit of a webhook source: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
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
    /// Meta's verify token, which its subscription GET must carry.
    pub verify_token: Option<Secret>,
    /// How many webhooks refused for their signature are kept (0: none).
    pub keep_rejected: usize,
    /// How long a refused webhook is kept.
    pub keep_rejected_for: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
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
    keep_rejected: Option<usize>,
    keep_rejected_for: Option<String>,
    // meta
    verify_token: Option<String>,
    // twilio, square, hubspot, and hmac with {url}
    public_url: Option<String>,
    // hmac: the building blocks
    header: Option<String>,
    signature_pointer: Option<String>,
    signature_field: Option<String>,
    field_separator: Option<String>,
    signature_separator: Option<String>,
    prefix: Option<String>,
    algorithm: Option<String>,
    encoding: Option<String>,
    secret_encoding: Option<String>,
    timestamp: Option<String>,
    timestamp_header: Option<String>,
    timestamp_format: Option<String>,
    signed_content: Option<String>,
    single_item: Option<String>,
}

impl RawSource {
    fn scheme_settings(&self) -> SchemeSettings<'_> {
        SchemeSettings {
            name: &self.scheme,
            public_url: self.public_url.as_deref(),
            blocks: Blocks {
                header: self.header.as_deref(),
                signature_pointer: self.signature_pointer.as_deref(),
                signature_field: self.signature_field.as_deref(),
                field_separator: self.field_separator.as_deref(),
                signature_separator: self.signature_separator.as_deref(),
                prefix: self.prefix.as_deref(),
                algorithm: self.algorithm.as_deref(),
                encoding: self.encoding.as_deref(),
                secret_encoding: self.secret_encoding.as_deref(),
                timestamp: self.timestamp.as_deref(),
                timestamp_header: self.timestamp_header.as_deref(),
                timestamp_format: self.timestamp_format.as_deref(),
                signed_content: self.signed_content.as_deref(),
                single_item: self.single_item.as_deref(),
            },
        }
    }
}

pub(super) fn parse(
    raw: BTreeMap<String, RawSource>,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<BTreeMap<String, Source>, ConfigError> {
    let mut sources = BTreeMap::new();
    for (name, raw) in raw {
        check_name("source", &name)?;
        let source = parse_one(&name, raw, topics, env)?;
        sources.insert(name, source);
    }
    Ok(sources)
}

fn parse_one(
    name: &str,
    raw: RawSource,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<Source, ConfigError> {
    let at = format!("sources.{name}");
    let scheme = scheme(&at, &raw.scheme_settings())?;
    check_topic(topics, &format!("{at}.topic"), &raw.topic)?;
    let secrets = raw
        .secrets
        .iter()
        .enumerate()
        .map(|(i, value)| resolve_secret(&format!("{at}.secrets[{i}]"), value, env))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    if scheme.needs_secret() && secrets.is_empty() {
        return Err(ConfigError::new(
            format!("{at}.secrets"),
            format!("scheme {:?} needs at least one secret", scheme.name()),
        ));
    }
    let mut scheme = scheme
        .for_secrets(&secrets)
        .map_err(|why| ConfigError::new(format!("{at}.secrets"), why))?;
    for (i, secret) in secrets.iter().enumerate() {
        scheme
            .check_secret(secret)
            .map_err(|why| ConfigError::new(format!("{at}.secrets[{i}]"), why))?;
    }
    if scheme == Scheme::None && !secrets.is_empty() {
        return Err(ConfigError::new(
            format!("{at}.secrets"),
            "scheme \"none\" checks no signature; remove the secrets",
        ));
    }
    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if max_body_bytes == 0 {
        return Err(ConfigError::new(
            format!("{at}.max_body_bytes"),
            "must be above 0",
        ));
    }
    let (default_event, default_delivery) = scheme.default_fields(name);
    let event_id = raw.event_id.as_deref().map_or(default_event, Field::parse);
    let delivery_id = match raw.delivery_id.as_deref() {
        Some("none") => None,
        Some(value) => Some(Field::parse(value)),
        None => default_delivery,
    };
    if let Some(Field::Constant(_)) = delivery_id {
        return Err(ConfigError::new(
            format!("{at}.delivery_id"),
            "must be a JSON pointer (/id), a header (header:Name) or \"none\"",
        ));
    }
    if let Scheme::Hmac(spec) = &mut scheme
        && spec.signs_id()
    {
        spec.id = Some(delivery_id.clone().ok_or_else(|| {
            ConfigError::new(
                format!("{at}.signed_content"),
                "uses {id}: set delivery_id, where the delivery id is (e.g. \"header:Webhook-Id\")",
            )
        })?);
    }
    let verify_token = match raw.verify_token.as_deref() {
        Some(_) if scheme.name() != "meta" => {
            return Err(ConfigError::new(
                format!("{at}.verify_token"),
                "applies to scheme \"meta\" only",
            ));
        }
        Some(value) => Some(resolve_secret(&format!("{at}.verify_token"), value, env)?),
        None => None,
    };
    Ok(Source {
        verify_token,
        stream_id: stream_id(&at, raw.stream_id)?.unwrap_or_else(|| name.to_owned()),
        name: name.to_owned(),
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
        keep_rejected: raw.keep_rejected.unwrap_or(crate::rejected::DEFAULT_KEEP),
        keep_rejected_for: duration(
            &at,
            "keep_rejected_for",
            raw.keep_rejected_for.as_deref(),
            crate::rejected::DEFAULT_KEEP_FOR,
        )?,
    })
}
