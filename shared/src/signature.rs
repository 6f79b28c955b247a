//! Webhook signature verification over the raw body bytes.
//!
//! A [`Scheme`] turns an unverified body into a [`Verified`] one; only a
//! `Verified` body can be published, so nothing unverified reaches a stream.

use std::fmt;
use std::time::SystemTime;

use axum::http::HeaderMap;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// A secret value; its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: use it for crypto only, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How a source's webhooks are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Segment: lowercase hex HMAC-SHA1 of the body in `X-Signature`.
    Segment,
    /// Unsigned: accepted only when configured explicitly.
    None,
}

/// The Segment signature header.
pub const SEGMENT_HEADER: &str = "x-signature";

/// A body whose signature was checked (or whose source is explicitly unsigned).
#[derive(Debug, Clone)]
pub struct Verified {
    body: Bytes,
}

impl Verified {
    /// The verified raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl Scheme {
    /// The scheme's name as written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Segment => "segment",
            Scheme::None => "none",
        }
    }

    /// Whether the scheme needs at least one secret.
    pub fn needs_secret(self) -> bool {
        !matches!(self, Scheme::None)
    }

    /// Checks the request against every secret (so secrets can be rotated).
    /// `now` is for schemes with signed timestamps.
    pub fn verify(
        self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: Bytes,
        _now: SystemTime,
    ) -> Result<Verified> {
        match self {
            Scheme::None => Ok(Verified { body }),
            Scheme::Segment => {
                let given = header(headers, SEGMENT_HEADER)?;
                let given = hex::decode(given.trim()).map_err(|_| {
                    Error::Unauthorized(format!("malformed {SEGMENT_HEADER} header: not hex"))
                })?;
                let matches = secrets.iter().any(|secret| {
                    let expected = hmac_sha1(secret, &body);
                    bool::from(expected.as_slice().ct_eq(&given))
                });
                if matches {
                    Ok(Verified { body })
                } else {
                    Err(Error::Unauthorized(format!(
                        "{SEGMENT_HEADER} does not match the body"
                    )))
                }
            }
        }
    }

    /// The headers a sender adds to sign `body` with `secret`.
    pub fn sign(self, secret: &Secret, body: &[u8]) -> Vec<(&'static str, String)> {
        match self {
            Scheme::None => Vec::new(),
            Scheme::Segment => vec![(SEGMENT_HEADER, hex::encode(hmac_sha1(secret, body)))],
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "segment" => Ok(Scheme::Segment),
            "none" => Ok(Scheme::None),
            other => Err(Error::Config(format!(
                "unknown signature scheme {other:?} (supported: segment, none)"
            ))),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    let value = headers
        .get(name)
        .ok_or_else(|| Error::Unauthorized(format!("missing {name} header")))?;
    value
        .to_str()
        .map_err(|_| Error::Unauthorized(format!("malformed {name} header")))
}

fn hmac_sha1(secret: &Secret, body: &[u8]) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key size");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const BODY: &[u8] = br#"{"type":"track","event":"Signed Up","userId":"u1"}"#;
    // Computed independently of this code:
    // printf '%s' "$BODY" | openssl dgst -sha1 -hmac 'segment-secret'
    const BODY_SIG: &str = "a9c6aec7ec4d633ba7507256a95f2be26379befa";
    // printf '' | openssl dgst -sha1 -hmac 'key'
    const EMPTY_SIG: &str = "f42bb0eeb018ebbd4597ae7213711ec60760843f";

    fn headers(sig: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SEGMENT_HEADER, HeaderValue::from_str(sig).unwrap());
        headers
    }

    fn verify(secrets: &[&str], headers: &HeaderMap, body: &'static [u8]) -> Result<Verified> {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
        Scheme::Segment.verify(
            &secrets,
            headers,
            Bytes::from_static(body),
            SystemTime::now(),
        )
    }

    #[test]
    fn segment_accepts_openssl_computed_vectors() {
        assert!(verify(&["segment-secret"], &headers(BODY_SIG), BODY).is_ok());
        assert!(verify(&["key"], &headers(EMPTY_SIG), b"").is_ok());
        assert!(
            verify(
                &["segment-secret"],
                &headers(&BODY_SIG.to_uppercase()),
                BODY
            )
            .is_ok()
        );
    }

    #[test]
    fn segment_sign_matches_openssl() {
        let signed = Scheme::Segment.sign(&Secret::new("segment-secret"), BODY);
        assert_eq!(signed, vec![(SEGMENT_HEADER, BODY_SIG.to_owned())]);
    }

    #[test]
    fn segment_accepts_any_of_several_secrets_for_rotation() {
        assert!(verify(&["new-secret", "segment-secret"], &headers(BODY_SIG), BODY).is_ok());
    }

    #[test]
    fn segment_rejects_bad_requests_with_unauthorized() {
        let tampered: &[u8] = br#"{"type":"track","event":"Signed Up","userId":"u2"}"#;
        let cases: Vec<(&str, Result<Verified>)> = vec![
            (
                "tampered body",
                verify(&["segment-secret"], &headers(BODY_SIG), tampered),
            ),
            ("wrong secret", verify(&["other"], &headers(BODY_SIG), BODY)),
            (
                "missing header",
                verify(&["segment-secret"], &HeaderMap::new(), BODY),
            ),
            (
                "not hex",
                verify(&["segment-secret"], &headers("zz-not-hex"), BODY),
            ),
            (
                "truncated",
                verify(&["segment-secret"], &headers(&BODY_SIG[..20]), BODY),
            ),
            ("empty", verify(&["segment-secret"], &headers(""), BODY)),
            ("no secrets", verify(&[], &headers(BODY_SIG), BODY)),
        ];
        for (name, result) in cases {
            match result {
                Err(Error::Unauthorized(_)) => {}
                other => panic!("{name}: expected Unauthorized, got {other:?}"),
            }
        }
    }

    #[test]
    fn none_scheme_accepts_anything_and_signs_nothing() {
        let verified = Scheme::None
            .verify(
                &[],
                &HeaderMap::new(),
                Bytes::from_static(BODY),
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(verified.body().as_ref(), BODY);
        assert!(Scheme::None.sign(&Secret::new("x"), BODY).is_empty());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
