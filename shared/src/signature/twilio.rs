//! Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 over the public URL and
//! the sorted form parameters; a JSON body is covered by `bodySHA256` in the
//! signed URL instead.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::parts::{Check, base64_value, header, hmac_matches, mac};
use super::{Algorithm, Secret, SignWith, SignatureError, Unverified, headers};

pub(super) fn verify(
    public_url: &str,
    secrets: &[Secret],
    request: &Unverified<'_>,
) -> Check<bool> {
    let given = base64_value(header(request.headers, headers::TWILIO)?, headers::TWILIO)?;
    if let Some(expected) = body_hash(request.path_and_query) {
        let actual = hex::encode(Sha256::digest(request.body));
        if !bool::from(
            actual
                .as_bytes()
                .ct_eq(expected.to_ascii_lowercase().as_bytes()),
        ) {
            return Err(SignatureError::BodyHashMismatch);
        }
    }
    let content = content(public_url, request.path_and_query, request.body);
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha1,
        &[&content],
        &[given],
    ))
}

pub(super) fn sign(public_url: &str, with: &SignWith<'_>) -> Vec<(String, String)> {
    let content = content(public_url, with.path_and_query, with.body);
    let sig = mac(Algorithm::Sha1, with.secret.key(), &[&content]);
    vec![(headers::TWILIO.to_owned(), BASE64.encode(sig))]
}

/// Twilio signs the full URL, then each form parameter's name and value
/// (decoded), sorted by name and, for repeated names, by value. A JSON body
/// is not signed itself: Twilio adds its SHA-256 to the URL as `bodySHA256`.
///
/// One pass over the body and no allocation per parameter: this runs on
/// every Twilio request, and decoding dominated its profile.
pub(super) fn content(public_url: &str, path_and_query: &str, body: &[u8]) -> Vec<u8> {
    let url = public_url.trim_end_matches('/');
    let mut content = Vec::with_capacity(url.len() + path_and_query.len() + body.len());
    content.extend_from_slice(url.as_bytes());
    content.extend_from_slice(path_and_query.as_bytes());
    if body_hash(path_and_query).is_some() {
        return content;
    }
    let mut params: Vec<(Cow<'_, [u8]>, &[u8])> = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'&', body).chain([body.len()]) {
        let pair = &body[start..end];
        start = end + 1;
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        params.push((form_decode(name), value));
    }
    params.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| form_decode(a.1).cmp(&form_decode(b.1)))
    });
    for (name, value) in params {
        content.extend_from_slice(&name);
        form_decode_into(&mut content, value);
    }
    content
}

/// The `bodySHA256` query parameter Twilio adds to the URL of a JSON body.
fn body_hash(path_and_query: &str) -> Option<&str> {
    let (_, query) = path_and_query.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("bodySHA256="))
}

/// A form-encoded name or value decoded: `+` is a space, `%XX` a byte.
fn form_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'+', b'%', raw).is_some() {
        let mut decoded = Vec::with_capacity(raw.len());
        form_decode_into(&mut decoded, raw);
        Cow::Owned(decoded)
    } else {
        Cow::Borrowed(raw)
    }
}

/// Appends `raw` form-decoded to `out`; a `%` not followed by two hex digits
/// stays as it is (as browsers and `form_urlencoded` do).
fn form_decode_into(out: &mut Vec<u8>, mut raw: &[u8]) {
    loop {
        let plain = memchr::memchr(b'%', raw).unwrap_or(raw.len());
        out.extend(
            raw[..plain]
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b }),
        );
        let Some((_, rest)) = raw[plain..].split_first() else {
            return;
        };
        let escaped = match rest {
            [high, low, ..] => hex_digit(*high).zip(hex_digit(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                raw = &rest[2..];
            }
            None => {
                out.push(b'%');
                raw = rest;
            }
        }
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
