//! A signature scheme written as data: the keys of a user-defined scheme in
//! a source's TOML and the entries of the built-in catalogue are the same
//! [`Blocks`], parsed once into a [`Spec`] by one function.

use super::spec::{Algorithm, Crypto, Encoding, KeyForm, Locator, Piece, Shape, Spec};
use super::stamp::{TimeAt, TimeFormat, Timestamp};

/// The building blocks of a signature, as written (every key optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blocks<'a> {
    /// `header`: the header(s) carrying the signature, `A` or `A|B` (any of
    /// several headers may match).
    pub header: Option<&'a str>,
    /// `signature_pointer`: a JSON pointer to the signature in the body.
    pub signature_pointer: Option<&'a str>,
    /// `signature_field`: the signature is this field of a structured value
    /// such as `t=…,v1=…` (repeated fields are several signatures).
    pub signature_field: Option<&'a str>,
    /// `field_separator`: what separates the fields (default `,`).
    pub field_separator: Option<&'a str>,
    /// `signature_separator`: the value is a list of signatures separated by
    /// this (a space or a comma).
    pub signature_separator: Option<&'a str>,
    /// `prefix`: text before each signature, e.g. `sha256=`.
    pub prefix: Option<&'a str>,
    /// `algorithm`: `sha1`, `sha256` or `sha512` (HMAC), `ed25519`,
    /// `ecdsa-p256-sha256` or `rsa-sha256` (public keys).
    pub algorithm: Option<&'a str>,
    /// `encoding`: of the signature, `hex`, `base64` or `base64url`.
    pub encoding: Option<&'a str>,
    /// `secret_encoding`: the form of each secret, `text` (its bytes),
    /// `base64`, `hex`, `whsec` or `pem`.
    pub secret_encoding: Option<&'a str>,
    /// `timestamp`: where a signed timestamp is, `header:Name`, `field:t`
    /// (a field of the structured signature value) or a JSON pointer.
    pub timestamp: Option<&'a str>,
    /// `timestamp_header`: the same as `timestamp = "header:Name"`.
    pub timestamp_header: Option<&'a str>,
    /// `timestamp_format`: `seconds` (default), `milliseconds` or `rfc3339`.
    pub timestamp_format: Option<&'a str>,
    /// `signed_content`: a template over `{body}`, `{timestamp}`, `{id}`,
    /// `{url}`, `{method}`, `{header:Name}` and `{body:/pointer}`.
    pub signed_content: Option<&'a str>,
    /// `single_item`: a JSON pointer to an array in the body that must hold
    /// exactly one element (when only one element is signed).
    pub single_item: Option<&'a str>,
}

/// A key of [`Blocks`] that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockError {
    /// The key, as written in the configuration.
    pub key: &'static str,
    /// What is wrong.
    pub why: String,
}

fn error(key: &'static str, why: impl Into<String>) -> BlockError {
    BlockError {
        key,
        why: why.into(),
    }
}

impl Blocks<'static> {
    /// No key set.
    pub const NONE: Blocks<'static> = Blocks {
        header: None,
        signature_pointer: None,
        signature_field: None,
        field_separator: None,
        signature_separator: None,
        prefix: None,
        algorithm: None,
        encoding: None,
        secret_encoding: None,
        timestamp: None,
        timestamp_header: None,
        timestamp_format: None,
        signed_content: None,
        single_item: None,
    };
}

impl Blocks<'_> {
    /// The names of the keys that are set.
    pub fn keys_set(&self) -> Vec<&'static str> {
        let all = [
            ("header", self.header.is_some()),
            ("signature_pointer", self.signature_pointer.is_some()),
            ("signature_field", self.signature_field.is_some()),
            ("field_separator", self.field_separator.is_some()),
            ("signature_separator", self.signature_separator.is_some()),
            ("prefix", self.prefix.is_some()),
            ("algorithm", self.algorithm.is_some()),
            ("encoding", self.encoding.is_some()),
            ("secret_encoding", self.secret_encoding.is_some()),
            ("timestamp", self.timestamp.is_some()),
            ("timestamp_header", self.timestamp_header.is_some()),
            ("timestamp_format", self.timestamp_format.is_some()),
            ("signed_content", self.signed_content.is_some()),
            ("single_item", self.single_item.is_some()),
        ];
        all.into_iter()
            .filter_map(|(key, set)| set.then_some(key))
            .collect()
    }

    /// The scheme these blocks describe; `public_url` fills `{url}`.
    pub fn spec(&self, public_url: Option<&str>) -> Result<Spec, BlockError> {
        let locator = self.locator()?;
        let crypto = match self.algorithm.unwrap_or("sha256") {
            "sha1" => Crypto::Hmac(Algorithm::Sha1),
            "sha256" => Crypto::Hmac(Algorithm::Sha256),
            "sha512" => Crypto::Hmac(Algorithm::Sha512),
            "ed25519" => Crypto::Ed25519,
            "ecdsa-p256-sha256" => Crypto::EcdsaP256Sha256,
            "rsa-sha256" => Crypto::RsaSha256,
            other => {
                return Err(error(
                    "algorithm",
                    format!(
                        "{other:?}: use sha1, sha256 or sha512 (an HMAC), or ed25519, ecdsa-p256-sha256 or rsa-sha256 (a public key)"
                    ),
                ));
            }
        };
        let encoding = match self.encoding.unwrap_or("hex") {
            "hex" => Encoding::Hex,
            "base64" => Encoding::Base64,
            "base64url" => Encoding::Base64Url,
            other => {
                return Err(error(
                    "encoding",
                    format!("{other:?}: use hex or base64 (or base64url)"),
                ));
            }
        };
        let key = self.key_form(crypto)?;
        let timestamp = self.timestamp(&locator)?;
        let default_content = if timestamp.is_some() {
            "{timestamp}.{body}"
        } else {
            "{body}"
        };
        let signed = template(self.signed_content.unwrap_or(default_content))?;
        let uses = |wanted: &Piece| signed.iter().any(|p| p == wanted);
        if !uses(&Piece::Body) && !signed.iter().any(|p| matches!(p, Piece::BodyField(_))) {
            return Err(error(
                "signed_content",
                "must contain {body} (or the {body:/pointer} fields the provider signs)",
            ));
        }
        if uses(&Piece::Timestamp) && timestamp.is_none() {
            return Err(error(
                "signed_content",
                "uses {timestamp}: set timestamp_header (or timestamp) too",
            ));
        }
        if uses(&Piece::Url) && public_url.is_none() {
            return Err(error(
                "public_url",
                "signed_content uses {url}: set public_url, the URL the provider calls, e.g. \"https://hooks.example.com\"",
            ));
        }
        Ok(Spec {
            locator,
            crypto,
            encoding,
            key,
            timestamp,
            signed,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            id: None,
            single_item: self
                .single_item
                .map(|p| pointer("single_item", p))
                .transpose()?,
        })
    }

    fn locator(&self) -> Result<Locator, BlockError> {
        let at = match (self.header, self.signature_pointer) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "signature_pointer",
                    "set header or signature_pointer, not both",
                ));
            }
            (Some(names), None) => super::spec::SignatureAt::Headers(
                names
                    .split('|')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
            (None, Some(p)) => super::spec::SignatureAt::Body(pointer("signature_pointer", p)?),
            (None, None) => {
                return Err(error(
                    "header",
                    "needs the signature header's name (or signature_pointer for one in the body)",
                ));
            }
        };
        let separator = |key: &'static str, value: &str| -> Result<char, BlockError> {
            let mut chars = value.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if " ,;".contains(c) => Ok(c),
                _ => Err(error(key, "one character: a space, \",\" or \";\"")),
            }
        };
        let shape = match (self.signature_field, self.signature_separator) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "signature_separator",
                    "set signature_field or signature_separator, not both",
                ));
            }
            (Some(name), None) => Shape::Field {
                name: name.to_owned(),
                separator: separator("field_separator", self.field_separator.unwrap_or(","))?,
            },
            (None, Some(sep)) => Shape::List(separator("signature_separator", sep)?),
            (None, None) if self.field_separator.is_some() => {
                return Err(error(
                    "field_separator",
                    "applies with signature_field only",
                ));
            }
            (None, None) => Shape::Whole,
        };
        Ok(Locator {
            at,
            shape,
            prefix: self.prefix.unwrap_or_default().to_owned(),
        })
    }

    fn key_form(&self, crypto: Crypto) -> Result<KeyForm, BlockError> {
        let public = !matches!(crypto, Crypto::Hmac(_));
        let form = match self.secret_encoding {
            None if public => {
                return Err(error(
                    "secret_encoding",
                    "a public key's form is needed: hex, base64 or pem",
                ));
            }
            None | Some("text") if !public => KeyForm::Text,
            Some("base64") => KeyForm::Base64,
            Some("hex") => KeyForm::Hex,
            Some("whsec") if !public => KeyForm::Whsec,
            Some("pem") if public => KeyForm::Pem,
            Some(other) => {
                let allowed = if public {
                    "hex, base64 or pem (a public key)"
                } else {
                    "text, base64, hex or whsec"
                };
                return Err(error(
                    "secret_encoding",
                    format!("{other:?}: use {allowed}"),
                ));
            }
            None => unreachable!("handled above"),
        };
        Ok(form)
    }

    fn timestamp(&self, locator: &Locator) -> Result<Option<Timestamp>, BlockError> {
        let at = match (self.timestamp, self.timestamp_header) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "timestamp_header",
                    "set timestamp or timestamp_header, not both",
                ));
            }
            (None, Some(name)) => TimeAt::Header(name.trim().to_ascii_lowercase()),
            (Some(at), None) => {
                if let Some(name) = at.strip_prefix("header:") {
                    TimeAt::Header(name.trim().to_ascii_lowercase())
                } else if let Some(name) = at.strip_prefix("field:") {
                    if !matches!(locator.shape, Shape::Field { .. }) {
                        return Err(error(
                            "timestamp",
                            "a field: timestamp is read from the signature's fields: set signature_field",
                        ));
                    }
                    TimeAt::Field(name.trim().to_owned())
                } else if at.starts_with('/') {
                    TimeAt::Body(at.to_owned())
                } else {
                    return Err(error(
                        "timestamp",
                        format!(
                            "{at:?}: use header:Name, field:name (of the signature value) or a JSON pointer such as /timestamp"
                        ),
                    ));
                }
            }
            (None, None) => {
                if self.timestamp_format.is_some() {
                    return Err(error("timestamp_format", "applies with timestamp only"));
                }
                return Ok(None);
            }
        };
        let format = match self.timestamp_format.unwrap_or("seconds") {
            "seconds" => TimeFormat::Seconds,
            "milliseconds" => TimeFormat::Milliseconds,
            "rfc3339" => TimeFormat::Rfc3339,
            other => {
                return Err(error(
                    "timestamp_format",
                    format!("{other:?}: use seconds, milliseconds or rfc3339"),
                ));
            }
        };
        Ok(Some(Timestamp { at, format }))
    }
}

fn pointer(key: &'static str, value: &str) -> Result<String, BlockError> {
    if value.starts_with('/') {
        Ok(value.to_owned())
    } else {
        Err(error(
            key,
            format!("{value:?}: a JSON pointer such as /signature"),
        ))
    }
}

/// `signed_content` read into pieces: text and `{…}` placeholders.
fn template(text: &str) -> Result<Vec<Piece>, BlockError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| error("signed_content", "a { without its }"))?
            + open;
        let name = &rest[open + 1..close];
        pieces.push(match name {
            "body" => Piece::Body,
            "timestamp" => Piece::Timestamp,
            "id" => Piece::Id,
            "url" => Piece::Url,
            "method" => Piece::Method,
            _ => {
                if let Some(header) = name.strip_prefix("header:") {
                    Piece::Header(header.trim().to_ascii_lowercase())
                } else if let Some(p) = name.strip_prefix("body:") {
                    Piece::BodyField(pointer("signed_content", p)?)
                } else {
                    return Err(error(
                        "signed_content",
                        format!(
                            "unknown {{{name}}}: use {{body}}, {{timestamp}}, {{id}}, {{url}}, {{method}}, {{header:Name}} or {{body:/pointer}}"
                        ),
                    ));
                }
            }
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}
