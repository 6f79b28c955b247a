//! A signature scheme built from [`super::Blocks`]: where the signature is,
//! what is signed, the algorithm, the encodings and the signed timestamp;
//! verified (and, for shared secrets, signed) here for every user-defined
//! scheme and every catalogue provider.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::parts::{Check, header, mac, malformed};
use super::stamp::{TimeAt, Timestamp, check, time_text};
use super::{Secret, SignWith, SignatureError, Unverified};
use crate::field::Field;

/// A hash function of an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// What proves a request: an HMAC under a shared secret, or a signature
/// checked with a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crypto {
    /// An HMAC with this hash.
    Hmac(Algorithm),
    /// Ed25519.
    Ed25519,
    /// ECDSA on P-256 with SHA-256, the signature DER (ASN.1) encoded.
    EcdsaP256Sha256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
}

/// How a signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal (either case).
    Hex,
    /// Standard base64.
    Base64,
    /// URL-safe base64, padded or not.
    Base64Url,
}

/// The form a configured secret takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// Its bytes as written.
    Text,
    /// Base64 of the key.
    Base64,
    /// Hex of the key.
    Hex,
    /// `whsec_<base64>` (the prefix optional).
    Whsec,
    /// A PEM public key (`-----BEGIN PUBLIC KEY-----`).
    Pem,
}

/// Where the signature text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureAt {
    /// In the first of these headers present; each present one is read.
    Headers(Vec<String>),
    /// At a JSON pointer in the body.
    Body(String),
}

/// How the signature text holds the signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The whole value is one signature.
    Whole,
    /// A list separated by this character.
    List(char),
    /// A field of `k=v` pairs separated by `separator` (repeated = several).
    Field {
        /// The field's name, e.g. `v1`.
        name: String,
        /// What separates the pairs.
        separator: char,
    },
}

/// Where a signature is and how it is written around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// Where its text is.
    pub at: SignatureAt,
    /// How the text holds signatures.
    pub shape: Shape,
    /// Text before each signature.
    pub prefix: String,
}

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// The raw body.
    Body,
    /// The timestamp as sent.
    Timestamp,
    /// The delivery id (the source's `delivery_id`).
    Id,
    /// The public URL with the request's path and query.
    Url,
    /// The request method.
    Method,
    /// A header's value (lowercase name).
    Header(String),
    /// A body field's text (empty if absent).
    BodyField(String),
}

/// A signature scheme as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Where the signature is.
    pub locator: Locator,
    /// What proves the request.
    pub crypto: Crypto,
    /// How the signature is written.
    pub encoding: Encoding,
    /// The form of the secrets.
    pub key: KeyForm,
    /// The signed timestamp, if any.
    pub timestamp: Option<Timestamp>,
    /// What is signed.
    pub signed: Vec<Piece>,
    /// The public base URL (`{url}`), no trailing `/`.
    pub public_url: Option<String>,
    /// Where the delivery id is (`{id}`).
    pub id: Option<Field>,
    /// A body array that must hold exactly one element.
    pub single_item: Option<String>,
}

/// The body read as JSON once, if a block needs it.
struct Body<'a> {
    raw: &'a [u8],
    json: Option<Option<Value>>,
}

impl Body<'_> {
    fn at(&mut self, pointer: &str) -> Option<&Value> {
        let raw = self.raw;
        self.json
            .get_or_insert_with(|| serde_json::from_slice(raw).ok())
            .as_ref()?
            .pointer(pointer)
    }

    fn text(&mut self, pointer: &str) -> Option<String> {
        match self.at(pointer)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl Spec {
    /// Whether the spec uses `{id}` (and so needs the source's delivery id).
    pub fn signs_id(&self) -> bool {
        self.signed.contains(&Piece::Id)
    }

    /// Whether secrets are public keys (they verify but cannot sign).
    pub fn is_public_key(&self) -> bool {
        !matches!(self.crypto, Crypto::Hmac(_))
    }

    /// Decodes a secret into its key, as checked at start-up.
    pub(super) fn check_secret(&self, secret: &Secret) -> Result<(), String> {
        secret.key_for(self).map(|_| ()).ok_or_else(|| {
            let form = match self.key {
                KeyForm::Text => "text",
                KeyForm::Base64 => "base64",
                KeyForm::Hex => "hex",
                KeyForm::Whsec => "whsec_<base64>",
                KeyForm::Pem => "PEM",
            };
            if self.is_public_key() {
                format!("not a {form} public key for this algorithm")
            } else {
                format!("not a {form} secret")
            }
        })
    }

    pub(super) fn verify(
        &self,
        secrets: &[Secret],
        request: &Unverified<'_>,
        tolerance: Duration,
    ) -> Check<bool> {
        let mut body = Body {
            raw: request.body,
            json: None,
        };
        if let Some(pointer) = &self.single_item {
            let count = body.at(pointer).and_then(Value::as_array).map(Vec::len);
            if count != Some(1) {
                return Err(malformed(pointer, "must be an array of exactly one item"));
            }
        }
        let (texts, label) = self.signature_texts(request, &mut body)?;
        let given = self.signatures(&texts, &label)?;
        let timestamp = match &self.timestamp {
            Some(t) => {
                let (text, name) = self.timestamp_text(t, request, &texts, &label, &mut body)?;
                check(t.format, &text, &name, request.now, tolerance)?;
                text
            }
            None => String::new(),
        };
        let message = self.content(request, &timestamp, &mut body)?;
        let parts: Vec<&[u8]> = message.iter().map(|p| p.as_ref()).collect();
        Ok(match self.crypto {
            Crypto::Hmac(algorithm) => secrets.iter().any(|secret| {
                secret.key_for(self).is_some_and(|key| {
                    let expected = mac(algorithm, key.bytes(), &parts);
                    given
                        .iter()
                        .any(|g| bool::from(expected.as_slice().ct_eq(g)))
                })
            }),
            _ => {
                let whole = parts.concat();
                secrets.iter().any(|secret| {
                    secret
                        .key_for(self)
                        .is_some_and(|key| given.iter().any(|g| key.verify(&whole, g)))
                })
            }
        })
    }

    /// The signature texts (one per header present) and what to call them.
    fn signature_texts(
        &self,
        request: &Unverified<'_>,
        body: &mut Body<'_>,
    ) -> Check<(Vec<String>, String)> {
        match &self.locator.at {
            SignatureAt::Headers(names) => {
                let texts: Vec<String> = names
                    .iter()
                    .filter(|n| request.headers.contains_key(n.as_str()))
                    .map(|n| header(request.headers, n).map(str::to_owned))
                    .collect::<Check<_>>()?;
                if texts.is_empty() {
                    return Err(SignatureError::MissingHeader(names.join(" or ")));
                }
                Ok((texts, names[0].clone()))
            }
            SignatureAt::Body(pointer) => match body.text(pointer) {
                Some(text) => Ok((vec![text], pointer.clone())),
                None => Err(malformed(pointer, "the body has no signature there")),
            },
        }
    }

    /// Every signature the texts carry, decoded.
    fn signatures(&self, texts: &[String], label: &str) -> Check<Vec<Vec<u8>>> {
        let prefix = self.locator.prefix.as_str();
        let mut given = Vec::new();
        for text in texts {
            let candidates: Vec<&str> = match &self.locator.shape {
                Shape::Whole => vec![text.as_str()],
                Shape::List(sep) => text.split(*sep).map(str::trim).collect(),
                Shape::Field { name, separator } => fields(text, *separator, name).collect(),
            };
            for candidate in candidates {
                if let Some(decoded) = candidate
                    .strip_prefix(prefix)
                    .and_then(|sig| decode(self.encoding, sig))
                {
                    given.push(decoded);
                }
            }
        }
        if given.is_empty() {
            let what = match &self.locator.shape {
                Shape::Field { name, .. } => format!("no {name}= field"),
                _ if prefix.is_empty() => format!("not {}", encoding_name(self.encoding)),
                _ => format!(
                    "expected the prefix {prefix:?} then {}",
                    encoding_name(self.encoding)
                ),
            };
            return Err(malformed(label, &what));
        }
        Ok(given)
    }

    fn timestamp_text(
        &self,
        t: &Timestamp,
        request: &Unverified<'_>,
        texts: &[String],
        label: &str,
        body: &mut Body<'_>,
    ) -> Check<(String, String)> {
        match &t.at {
            TimeAt::Header(name) => Ok((header(request.headers, name)?.to_owned(), name.clone())),
            TimeAt::Field(field) => {
                let separator = match self.locator.shape {
                    Shape::Field { separator, .. } => separator,
                    _ => ',',
                };
                texts
                    .iter()
                    .find_map(|text| fields(text, separator, field).next())
                    .map(|v| (v.to_owned(), label.to_owned()))
                    .ok_or_else(|| malformed(label, &format!("no {field}= timestamp")))
            }
            TimeAt::Body(pointer) => body
                .text(pointer)
                .map(|v| (v, pointer.clone()))
                .ok_or_else(|| malformed(pointer, "the body has no timestamp there")),
        }
    }

    /// The signed content, in pieces (the body borrowed).
    fn content<'r>(
        &self,
        request: &Unverified<'r>,
        timestamp: &str,
        body: &mut Body<'_>,
    ) -> Check<Vec<Cow<'r, [u8]>>> {
        let mut out = Vec::with_capacity(self.signed.len());
        for piece in &self.signed {
            out.push(match piece {
                Piece::Text(text) => Cow::Owned(text.as_bytes().to_vec()),
                Piece::Body => Cow::Borrowed(request.body),
                Piece::Timestamp => Cow::Owned(timestamp.as_bytes().to_vec()),
                Piece::Method => Cow::Owned(request.method.as_bytes().to_vec()),
                Piece::Url => Cow::Owned(self.url(request.path_and_query).into_bytes()),
                Piece::Header(name) => {
                    Cow::Owned(header(request.headers, name)?.as_bytes().to_vec())
                }
                Piece::BodyField(pointer) => {
                    Cow::Owned(body.text(pointer).unwrap_or_default().into_bytes())
                }
                Piece::Id => {
                    let id = self.id.as_ref().and_then(|f| match f {
                        Field::Pointer(p) => body.text(p),
                        other => other.resolve(&Value::Null, request.headers),
                    });
                    let id = id.ok_or_else(|| {
                        let name = self.id.as_ref().map_or("id".into(), Field::describe);
                        SignatureError::MissingHeader(name)
                    })?;
                    Cow::Owned(id.into_bytes())
                }
            });
        }
        Ok(out)
    }

    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{path_and_query}",
            self.public_url.as_deref().unwrap_or("")
        )
    }

    /// The headers (and, for a signature inside the body, the new body) a
    /// sender adds to sign `with`.
    pub(super) fn sign(&self, with: &SignWith<'_>) -> (Vec<(String, String)>, Option<Vec<u8>>) {
        let Crypto::Hmac(algorithm) = self.crypto else {
            return (Vec::new(), None);
        };
        let Some(key) = with.secret.key_for(self) else {
            return (Vec::new(), None);
        };
        // A timestamp the body carries (Mailgun's) is written into it when
        // absent, so the body signed is the body sent.
        let mut rewritten = None;
        if let Some(Timestamp {
            at: TimeAt::Body(pointer),
            format,
        }) = &self.timestamp
            && let Ok(mut json) = serde_json::from_slice::<Value>(with.body)
            && json.pointer(pointer).is_none()
        {
            crate::field::set_pointer(&mut json, pointer, &time_text(*format, with.now));
            rewritten = Some(json.to_string().into_bytes());
        }
        let raw = rewritten.as_deref().unwrap_or(with.body);
        let mut body = Body { raw, json: None };
        let mut headers = Vec::new();
        let timestamp = match &self.timestamp {
            None => String::new(),
            Some(t) => match &t.at {
                TimeAt::Body(pointer) => body.text(pointer).unwrap_or_default(),
                at => {
                    let text = time_text(t.format, with.now);
                    if let TimeAt::Header(name) = at {
                        headers.push((name.clone(), text.clone()));
                    }
                    text
                }
            },
        };
        let mut message: Vec<u8> = Vec::new();
        for piece in &self.signed {
            match piece {
                Piece::Text(text) => message.extend_from_slice(text.as_bytes()),
                Piece::Body => message.extend_from_slice(raw),
                Piece::Timestamp => message.extend_from_slice(timestamp.as_bytes()),
                Piece::Method => message.extend_from_slice(b"POST"),
                Piece::Url => message.extend_from_slice(self.url(with.path_and_query).as_bytes()),
                Piece::BodyField(p) => {
                    message.extend_from_slice(body.text(p).unwrap_or_default().as_bytes())
                }
                Piece::Header(name) => {
                    message.extend_from_slice(with.id.as_bytes());
                    headers.push((name.clone(), with.id.to_owned()));
                }
                Piece::Id => {
                    message.extend_from_slice(with.id.as_bytes());
                    if let Some(Field::Header(name)) = &self.id {
                        headers.push((name.clone(), with.id.to_owned()));
                    }
                }
            }
        }
        let sig = mac(algorithm, key.bytes(), &[&message]);
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(sig),
            Encoding::Base64 => BASE64.encode(sig),
            Encoding::Base64Url => BASE64URL.encode(sig),
        };
        let signature = format!("{}{encoded}", self.locator.prefix);
        let value = match (&self.locator.shape, &self.timestamp) {
            (
                Shape::Field { name, separator },
                Some(Timestamp {
                    at: TimeAt::Field(t),
                    ..
                }),
            ) => {
                format!("{t}={timestamp}{separator}{name}={signature}")
            }
            (Shape::Field { name, .. }, _) => format!("{name}={signature}"),
            _ => signature,
        };
        match &self.locator.at {
            SignatureAt::Headers(names) => {
                headers.push((names[0].clone(), value));
                (headers, rewritten)
            }
            SignatureAt::Body(pointer) => {
                let mut json: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
                crate::field::set_pointer(&mut json, pointer, &value);
                (headers, Some(json.to_string().into_bytes()))
            }
        }
    }
}

/// The values of field `name` in `k=v` pairs separated by `separator`.
fn fields<'t>(text: &'t str, separator: char, name: &'t str) -> impl Iterator<Item = &'t str> {
    text.split(separator).filter_map(move |pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

fn decode(encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    match encoding {
        Encoding::Hex => hex::decode(text).ok(),
        Encoding::Base64 => BASE64.decode(text).ok(),
        Encoding::Base64Url => BASE64URL.decode(text.trim_end_matches('=')).ok(),
    }
}

fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Hex => "hex",
        Encoding::Base64 => "base64",
        Encoding::Base64Url => "base64url",
    }
}
