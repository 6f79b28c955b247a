//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`.

use std::time::Duration;

use super::parts::{
    Check, header, hex_value, hmac_matches, mac, malformed, signed_time, unix_text,
};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(
    secrets: &[Secret],
    request: &Unverified<'_>,
    tolerance: Duration,
) -> Check<bool> {
    let t = signed_time(
        request.headers,
        headers::SLACK_TIMESTAMP,
        request.now,
        tolerance,
    )?;
    let value = header(request.headers, headers::SLACK)?;
    let hex = value
        .strip_prefix("v0=")
        .ok_or_else(|| malformed(headers::SLACK, "expected v0=<hex>"))?;
    let given = hex_value(hex, headers::SLACK)?;
    let prefix = format!("v0:{t}:");
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha256,
        &[prefix.as_bytes(), request.body],
        &[given],
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let t = unix_text(with.now);
    let sig = mac(
        Algorithm::Sha256,
        with.secret.key(),
        &[format!("v0:{t}:").as_bytes(), with.body],
    );
    vec![
        (headers::SLACK_TIMESTAMP.to_owned(), t),
        (
            headers::SLACK.to_owned(),
            format!("v0={}", hex::encode(sig)),
        ),
    ]
}
