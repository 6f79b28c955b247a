//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use super::parts::{Check, header, hex_value, hmac_matches, mac, malformed};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(secrets: &[Secret], request: &Unverified<'_>) -> Check<bool> {
    let value = header(request.headers, headers::GITHUB)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or_else(|| malformed(headers::GITHUB, "expected sha256=<hex>"))?;
    let given = hex_value(hex, headers::GITHUB)?;
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha256,
        &[request.body],
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
