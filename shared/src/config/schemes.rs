//! The signature scheme of a source, built from its scheme-specific keys.

use super::ConfigError;
use crate::signature::{BlockError, Blocks, SCHEME_NAMES, Scheme};

/// A source's scheme-specific keys, as written in the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SchemeSettings<'a> {
    /// `scheme`.
    pub name: &'a str,
    /// `public_url` (twilio, and the providers that sign the URL).
    pub public_url: Option<&'a str>,
    /// The building blocks of a scheme of the source's own (`hmac`).
    pub blocks: Blocks<'a>,
}

/// The scheme of the source at `at`, with its scheme-specific keys checked.
pub(super) fn scheme(at: &str, raw: &SchemeSettings<'_>) -> Result<Scheme, ConfigError> {
    let key = |k: &str| format!("{at}.{k}");
    let block_error = |e: BlockError| ConfigError::new(key(e.key), e.why);
    if raw.name != "hmac"
        && let Some(k) = raw.blocks.keys_set().first()
    {
        return Err(ConfigError::new(key(k), "applies to scheme \"hmac\" only"));
    }
    if let Some(url) = raw.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(ConfigError::new(
            key("public_url"),
            "must start with http:// or https://",
        ));
    }
    let scheme = if raw.name == "hmac" {
        Scheme::Hmac(raw.blocks.spec(raw.public_url).map_err(block_error)?)
    } else {
        Scheme::named(raw.name, raw.public_url)
            .map_err(block_error)?
            .ok_or_else(|| {
                ConfigError::new(
                    key("scheme"),
                    format!(
                        "unknown signature scheme {:?} (supported: {SCHEME_NAMES})",
                        raw.name
                    ),
                )
            })?
    };
    if raw.public_url.is_some() && !scheme.signs_url() {
        return Err(ConfigError::new(
            key("public_url"),
            format!(
                "scheme {:?} does not sign the URL; remove public_url",
                raw.name
            ),
        ));
    }
    Ok(scheme)
}
