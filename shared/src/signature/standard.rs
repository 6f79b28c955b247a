//! Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64> ...` over `{id}.{timestamp}.{body}`, with
//! the secret `whsec_<base64>`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::parts::{Check, any_matches, header, mac, malformed, signed_time, unix_text};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(
    secrets: &[Secret],
    request: &Unverified<'_>,
    tolerance: Duration,
) -> Check<bool> {
    let id = header(request.headers, headers::WEBHOOK_ID)?;
    let t = signed_time(
        request.headers,
        headers::WEBHOOK_TIMESTAMP,
        request.now,
        tolerance,
    )?;
    let value = header(request.headers, headers::WEBHOOK_SIGNATURE)?;
    let given: Vec<Vec<u8>> = value
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| BASE64.decode(sig).ok())
        .collect();
    if given.is_empty() {
        return Err(malformed(
            headers::WEBHOOK_SIGNATURE,
            "no v1,<base64> entry",
        ));
    }
    let prefix = format!("{id}.{t}.");
    Ok(any_matches(
        secrets,
        |s| {
            s.standard_key()
                .map(|key| mac(Algorithm::Sha256, key, &[prefix.as_bytes(), request.body]))
        },
        &given,
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let t = unix_text(with.now);
    let key = with.secret.standard_key().unwrap_or_default();
    let sig = mac(
        Algorithm::Sha256,
        key,
        &[format!("{}.{t}.", with.id).as_bytes(), with.body],
    );
    vec![
        (headers::WEBHOOK_ID.to_owned(), with.id.to_owned()),
        (headers::WEBHOOK_TIMESTAMP.to_owned(), t),
        (
            headers::WEBHOOK_SIGNATURE.to_owned(),
            format!("v1,{}", BASE64.encode(sig)),
        ),
    ]
}

/// The `webhook-timestamp` and `webhook-signature` values of a message
/// signed by each of `secrets` (several while a key is rotated).
pub fn signature_headers(
    secrets: &[Secret],
    id: &str,
    now: std::time::SystemTime,
    body: &[u8],
) -> (String, String) {
    let t = unix_text(now);
    let prefix = format!("{id}.{t}.");
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let key = secret.standard_key().unwrap_or_default();
            let sig = mac(Algorithm::Sha256, key, &[prefix.as_bytes(), body]);
            format!("v1,{}", BASE64.encode(sig))
        })
        .collect();
    (t, signatures.join(" "))
}

/// The key of a Standard Webhooks secret: base64 after an optional `whsec_`.
pub(super) fn decode_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    BASE64.decode(encoded).ok().filter(|k| !k.is_empty())
}
