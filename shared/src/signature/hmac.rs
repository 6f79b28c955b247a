//! The generic HMAC scheme, for providers without a scheme of their own: any
//! header, hash, encoding and prefix, and optionally a signed timestamp.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::parts::{
    Check, base64_value, header, hex_value, hmac_matches, mac, malformed, signed_time, unix_text,
};
use super::{Secret, SignWith, Unverified};

/// A hash function of the generic HMAC scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How the generic HMAC scheme writes the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal (either case).
    Hex,
    /// Standard base64.
    Base64,
}

/// The generic HMAC scheme, for providers without a scheme of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacSpec {
    /// The hash function.
    pub algorithm: Algorithm,
    /// The header carrying the signature (lowercase).
    pub header: String,
    /// How the signature is written.
    pub encoding: Encoding,
    /// Text before the signature in the header, e.g. `sha256=`.
    pub prefix: String,
    /// A header carrying a signed Unix timestamp (lowercase), if any.
    pub timestamp_header: Option<String>,
    /// What is signed: `{body}` and `{timestamp}` are replaced.
    pub signed_content: String,
}

impl HmacSpec {
    pub(super) fn verify(
        &self,
        secrets: &[Secret],
        request: &Unverified<'_>,
        tolerance: Duration,
    ) -> Check<bool> {
        let value = header(request.headers, &self.header)?;
        let encoded = value.strip_prefix(self.prefix.as_str()).ok_or_else(|| {
            malformed(
                &self.header,
                &format!("expected the prefix {:?}", self.prefix),
            )
        })?;
        let given = match self.encoding {
            Encoding::Hex => hex_value(encoded, &self.header)?,
            Encoding::Base64 => base64_value(encoded, &self.header)?,
        };
        let timestamp = match &self.timestamp_header {
            Some(name) => signed_time(request.headers, name, request.now, tolerance)?,
            None => "",
        };
        let (before, after) = split_template(&self.signed_content, timestamp);
        Ok(hmac_matches(
            secrets,
            self.algorithm,
            &[before.as_bytes(), request.body, after.as_bytes()],
            &[given],
        ))
    }

    pub(super) fn sign(&self, with: &SignWith<'_>) -> Vec<(String, String)> {
        let t = unix_text(with.now);
        let timestamp = if self.timestamp_header.is_some() {
            t.as_str()
        } else {
            ""
        };
        let (before, after) = split_template(&self.signed_content, timestamp);
        let sig = mac(
            self.algorithm,
            with.secret.key(),
            &[before.as_bytes(), with.body, after.as_bytes()],
        );
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(sig),
            Encoding::Base64 => BASE64.encode(sig),
        };
        let mut out = vec![(self.header.clone(), format!("{}{encoded}", self.prefix))];
        if let Some(name) = &self.timestamp_header {
            out.insert(0, (name.clone(), t));
        }
        out
    }
}

/// The signed content around the body: `{timestamp}` filled in, split at `{body}`.
fn split_template(template: &str, timestamp: &str) -> (String, String) {
    let filled = template.replace("{timestamp}", timestamp);
    match filled.split_once("{body}") {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (filled, String::new()),
    }
}
