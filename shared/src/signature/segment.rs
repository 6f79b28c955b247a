//! Segment: hex HMAC-SHA1 of the body in `X-Signature`.

use super::parts::{Check, header, hex_value, hmac_matches, mac};
use super::{Algorithm, SignWith, Unverified, headers};

pub(super) fn verify(secrets: &[super::Secret], request: &Unverified<'_>) -> Check<bool> {
    let given = hex_value(header(request.headers, headers::SEGMENT)?, headers::SEGMENT)?;
    Ok(hmac_matches(
        secrets,
        Algorithm::Sha1,
        &[request.body],
        &[given],
    ))
}

pub(super) fn sign(with: &SignWith<'_>) -> Vec<(String, String)> {
    let sig = mac(Algorithm::Sha1, with.secret.key(), &[with.body]);
    vec![(headers::SEGMENT.to_owned(), hex::encode(sig))]
}
