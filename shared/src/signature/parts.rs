//! What every scheme does alike: read a header, decode a signature, check a
//! signed timestamp, compute an HMAC, compare in constant time.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{Algorithm, Secret, SignatureError};
use crate::time::unix_secs;

pub(super) type Check<T> = std::result::Result<T, SignatureError>;

/// `true` if any secret's expected MAC equals any given signature.
pub(super) fn any_matches(
    secrets: &[Secret],
    expected: impl Fn(&Secret) -> Option<Vec<u8>>,
    given: &[Vec<u8>],
) -> bool {
    secrets.iter().any(|secret| {
        expected(secret)
            .is_some_and(|mac| given.iter().any(|g| bool::from(mac.as_slice().ct_eq(g))))
    })
}

/// `true` if any secret's HMAC of `parts` (its bytes as the key) is one of
/// `given`.
pub(super) fn hmac_matches(
    secrets: &[Secret],
    algorithm: Algorithm,
    parts: &[&[u8]],
    given: &[Vec<u8>],
) -> bool {
    any_matches(secrets, |s| Some(mac(algorithm, s.key(), parts)), given)
}

pub(super) fn mac(algorithm: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key size");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::Sha1 => run::<Hmac<Sha1>>(key, parts),
        Algorithm::Sha256 => run::<Hmac<Sha256>>(key, parts),
        Algorithm::Sha512 => run::<Hmac<Sha512>>(key, parts),
    }
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Check<&'a str> {
    let value = headers
        .get(name)
        .ok_or_else(|| SignatureError::MissingHeader(name.to_owned()))?;
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| malformed(name, "not text"))
}

pub(super) fn malformed(name: &str, why: &str) -> SignatureError {
    SignatureError::Malformed {
        header: name.to_owned(),
        why: why.to_owned(),
    }
}

pub(super) fn hex_value(value: &str, name: &str) -> Check<Vec<u8>> {
    hex::decode(value.trim()).map_err(|_| malformed(name, "not hex"))
}

pub(super) fn base64_value(value: &str, name: &str) -> Check<Vec<u8>> {
    BASE64
        .decode(value.trim())
        .map_err(|_| malformed(name, "not base64"))
}

/// Reads the signed Unix timestamp in header `name` and checks it is within
/// `tolerance` of `now`, in both directions; returns its text as signed.
pub(super) fn signed_time<'a>(
    headers: &'a HeaderMap,
    name: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Check<&'a str> {
    let text = header(headers, name)?;
    check_time(text, name, now, tolerance)?;
    Ok(text)
}

pub(super) fn check_time(
    text: &str,
    name: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Check<()> {
    let timestamp: u64 = text
        .trim()
        .parse()
        .map_err(|_| malformed(name, "timestamp is not a Unix time in seconds"))?;
    let now = unix_secs(now);
    let off_by = now.abs_diff(timestamp);
    if off_by <= tolerance.as_secs() {
        return Ok(());
    }
    let tolerance = tolerance.as_secs();
    Err(if timestamp < now {
        SignatureError::TooOld { off_by, tolerance }
    } else {
        SignatureError::TooNew { off_by, tolerance }
    })
}

/// The signing time as the providers write it: Unix seconds.
pub(super) fn unix_text(now: SystemTime) -> String {
    unix_secs(now).to_string()
}
