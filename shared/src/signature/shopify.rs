//! Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::parts::{Check, base64_value, header, hmac_matches, mac};
use super::{Algorithm, Secret, SignWith, Unverified, headers};

pub(super) fn verify(secrets: &[Secret], request: &Unverified<'_>) -> Check<bool> {
    let given = base64_value(header(request.headers, headers::SHOPIFY)?, headers::SHOPIFY)?;
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha256,
        &[request.body],
        &[given],
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let sig = mac(Algorithm::Sha256, with.secret.key(), &[with.body]);
    vec![(headers::SHOPIFY.to_owned(), BASE64.encode(sig))]
}
