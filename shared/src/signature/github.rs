//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use super::parts::{Check, any_matches, header, hex_value, mac, malformed};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(secrets: &[Secret], request: &Unverified<'_>) -> Check<bool> {
    let value = header(request.headers, headers::GITHUB)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or_else(|| malformed(headers::GITHUB, "expected sha256=<hex>"))?;
    let given = hex_value(hex, headers::GITHUB)?;
    Ok(any_matches(
        secrets,
        |s| Some(mac(Algorithm::Sha256, s.key(), &[request.body])),
        &[given],
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let sig = mac(Algorithm::Sha256, with.secret.key(), &[with.body]);
    vec![(
        headers::GITHUB.to_owned(),
        format!("sha256={}", hex::encode(sig)),
    )]
}
