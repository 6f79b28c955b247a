//! `[writer]`: settings of the Writer API.

use serde::Deserialize;

use super::ConfigError;
use super::validate::http_url;

/// The default body limit of the Writer API: 5 MiB (a Lambda request can
/// carry 6 MB in all).
pub const DEFAULT_WRITER_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWriter {
    #[serde(default)]
    cors_origins: Vec<String>,
    max_body_bytes: Option<usize>,
    public_url: Option<String>,
}

pub(super) fn parse(raw: RawWriter) -> Result<WriterSettings, ConfigError> {
    const CORS: &str = "writer.cors_origins";
    let cors = if raw.cors_origins.is_empty() {
        CorsOrigins::None
    } else if raw.cors_origins.iter().any(|o| o == "*") {
        if raw.cors_origins.len() > 1 {
            return Err(ConfigError::new(
                CORS,
                "\"*\" allows every origin; list nothing else with it",
            ));
        }
        CorsOrigins::Any
    } else {
        for origin in &raw.cors_origins {
            if let Some(why) = not_an_origin(origin) {
                return Err(ConfigError::new(
                    CORS,
                    format!(
                        "{origin:?} is not an origin like https://app.example.com: {why}, and a browser's Origin header never has one, so it could never match"
                    ),
                ));
            }
        }
        CorsOrigins::List(raw.cors_origins)
    };
    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_WRITER_MAX_BODY_BYTES);
    if max_body_bytes == 0 {
        return Err(ConfigError::new("writer.max_body_bytes", "must be above 0"));
    }
    if let Some(url) = &raw.public_url {
        http_url("writer.public_url", url)?;
    }
    Ok(WriterSettings {
        cors,
        max_body_bytes,
        public_url: raw.public_url.map(|u| u.trim_end_matches('/').to_owned()),
    })
}

/// Why `origin` is not a browser origin (`scheme://host[:port]`), if it is
/// not.
fn not_an_origin(origin: &str) -> Option<&'static str> {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return Some("it must start with http:// or https://");
    };
    if rest.is_empty() {
        Some("it has no host")
    } else if rest.contains('/') {
        Some("it has a path")
    } else if rest.contains('?') || rest.contains('#') {
        Some("it has a query or fragment")
    } else if rest.contains('@') {
        Some("it has a user name")
    } else {
        None
    }
}
