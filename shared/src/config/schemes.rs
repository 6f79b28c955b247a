//! The signature scheme of a source, built from its scheme-specific keys.

use super::ConfigError;
use crate::signature::{Algorithm, Encoding, HmacSpec, SCHEME_NAMES, Scheme};

/// A source's scheme-specific keys, as written in the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SchemeSettings<'a> {
    /// `scheme`.
    pub name: &'a str,
    /// `public_url` (twilio).
    pub public_url: Option<&'a str>,
    /// `algorithm` (hmac).
    pub algorithm: Option<&'a str>,
    /// `header` (hmac).
    pub header: Option<&'a str>,
    /// `encoding` (hmac).
    pub encoding: Option<&'a str>,
    /// `prefix` (hmac).
    pub prefix: Option<&'a str>,
    /// `timestamp_header` (hmac).
    pub timestamp_header: Option<&'a str>,
    /// `signed_content` (hmac).
    pub signed_content: Option<&'a str>,
}

/// The scheme of the source at `at`, with its scheme-specific keys checked.
pub(super) fn scheme(at: &str, raw: &SchemeSettings<'_>) -> Result<Scheme, ConfigError> {
    let key = |k: &str| format!("{at}.{k}");
    let hmac_keys = [
        ("algorithm", raw.algorithm.is_some()),
        ("header", raw.header.is_some()),
        ("encoding", raw.encoding.is_some()),
        ("prefix", raw.prefix.is_some()),
        ("timestamp_header", raw.timestamp_header.is_some()),
        ("signed_content", raw.signed_content.is_some()),
    ];
    if raw.name != "hmac"
        && let Some((k, _)) = hmac_keys.iter().find(|(_, set)| *set)
    {
        return Err(ConfigError::new(key(k), "applies to scheme \"hmac\" only"));
    }
    if raw.name != "twilio" && raw.public_url.is_some() {
        return Err(ConfigError::new(
            key("public_url"),
            "applies to scheme \"twilio\" only",
        ));
    }
    if let Some(scheme) = Scheme::from_name(raw.name) {
        return Ok(scheme);
    }
    match raw.name {
        "twilio" => {
            let url = raw.public_url.ok_or_else(|| {
                    ConfigError::new(
                        key("public_url"),
                        "scheme \"twilio\" signs the public URL Twilio calls; set it, e.g. \"https://hooks.example.com\"",
                    )
                })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::new(
                    key("public_url"),
                    "must start with http:// or https://",
                ));
            }
            Ok(Scheme::Twilio {
                public_url: url.to_owned(),
            })
        }
        "hmac" => hmac(at, raw).map(Scheme::Hmac),
        other => Err(ConfigError::new(
            key("scheme"),
            format!("unknown signature scheme {other:?} (supported: {SCHEME_NAMES})"),
        )),
    }
}

fn hmac(at: &str, raw: &SchemeSettings<'_>) -> Result<HmacSpec, ConfigError> {
    let key = |k: &str| format!("{at}.{k}");
    let header = raw.header.ok_or_else(|| {
        ConfigError::new(
            key("header"),
            "scheme \"hmac\" needs the signature header's name",
        )
    })?;
    let algorithm = match raw.algorithm.unwrap_or("sha256") {
        "sha1" => Algorithm::Sha1,
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        other => {
            return Err(ConfigError::new(
                key("algorithm"),
                format!("{other:?}: use sha1, sha256 or sha512"),
            ));
        }
    };
    let encoding = match raw.encoding.unwrap_or("hex") {
        "hex" => Encoding::Hex,
        "base64" => Encoding::Base64,
        other => {
            return Err(ConfigError::new(
                key("encoding"),
                format!("{other:?}: use hex or base64"),
            ));
        }
    };
    let timestamp_header = raw.timestamp_header.map(str::to_ascii_lowercase);
    let signed_content = raw.signed_content.map_or_else(
        || {
            if timestamp_header.is_some() {
                "{timestamp}.{body}".to_owned()
            } else {
                "{body}".to_owned()
            }
        },
        str::to_owned,
    );
    if !signed_content.contains("{body}") {
        return Err(ConfigError::new(
            key("signed_content"),
            "must contain {body}",
        ));
    }
    if signed_content.contains("{timestamp}") && timestamp_header.is_none() {
        return Err(ConfigError::new(
            key("signed_content"),
            "uses {timestamp}: set timestamp_header too",
        ));
    }
    Ok(HmacSpec {
        algorithm,
        header: header.to_ascii_lowercase(),
        encoding,
        prefix: raw.prefix.unwrap_or_default().to_owned(),
        timestamp_header,
        signed_content,
    })
}
