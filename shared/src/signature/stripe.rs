//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `{t}.{body}`.

use std::time::Duration;

use super::parts::{Check, check_time, header, hmac_matches, mac, malformed, unix_text};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(
    secrets: &[Secret],
    request: &Unverified<'_>,
    tolerance: Duration,
) -> Check<bool> {
    let value = header(request.headers, headers::STRIPE)?;
    let mut timestamp = None;
    let mut given = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => {
                if let Ok(sig) = hex::decode(sig) {
                    given.push(sig);
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| malformed(headers::STRIPE, "no t="))?;
    check_time(t, headers::STRIPE, request.now, tolerance)?;
    if given.is_empty() {
        return Err(malformed(headers::STRIPE, "no v1= signature"));
    }
    let prefix = format!("{t}.");
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha256,
        &[prefix.as_bytes(), request.body],
        &given,
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let t = unix_text(with.now);
    let sig = mac(
        Algorithm::Sha256,
        with.secret.key(),
        &[format!("{t}.").as_bytes(), with.body],
    );
    vec![(
        headers::STRIPE.to_owned(),
        format!("t={t},v1={}", hex::encode(sig)),
    )]
}
