//! Senders that do not sign: the request carries a shared token (a header,
//! `Authorization: Bearer`, or basic-auth credentials), compared in
//! constant time over SHA-256 digests so neither the token nor its length
//! shows. A token proves only that the sender knows it, and cannot be
//! checked again later: where a provider also signs, prefer that.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::parts::{Check, header, malformed};
use super::{Secret, SignWith, SignatureError, Unverified};

/// Where a token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// The value of this header (lowercase) is the token.
    Header(&'static str),
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic <base64 of user:password>`; the secret is
    /// `user:password`.
    Basic,
}

/// A provider that sends a shared token.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenProvider {
    /// Its `scheme` name.
    pub name: &'static str,
    /// Where the token is.
    pub carrier: Carrier,
    /// Where its event id is (as `event_id` is written).
    pub event_id: &'static str,
    /// Where its delivery id is.
    pub delivery_id: Option<&'static str>,
    /// Where this is documented.
    pub documented: &'static str,
}

/// The token providers.
pub const TOKEN_PROVIDERS: [TokenProvider; 3] = [
    TokenProvider {
        name: "gitlab",
        carrier: Carrier::Header("x-gitlab-token"),
        event_id: "header:x-gitlab-event",
        // Kept across retries (gitlab-org/gitlab merge request 160952).
        delivery_id: Some("header:idempotency-key"),
        documented: "docs.gitlab.com/user/project/integrations/webhooks (secret token, delivery headers)",
    },
    TokenProvider {
        name: "okta",
        carrier: Carrier::Header("authorization"),
        event_id: "/eventType",
        delivery_id: Some("/eventId"),
        documented: "developer.okta.com/docs/concepts/event-hooks (the Authorization header's value)",
    },
    TokenProvider {
        name: "postmark",
        carrier: Carrier::Basic,
        event_id: "/RecordType",
        delivery_id: None,
        documented: "postmarkapp.com/developer/webhooks/webhooks-overview (basic auth credentials in the webhook URL)",
    },
];

/// The token provider called `name`.
pub fn find(name: &str) -> Option<&'static TokenProvider> {
    TOKEN_PROVIDERS.iter().find(|p| p.name == name)
}

const AUTHORIZATION: &str = "authorization";

impl Carrier {
    fn header(self) -> &'static str {
        match self {
            Carrier::Header(name) => name,
            Carrier::Bearer | Carrier::Basic => AUTHORIZATION,
        }
    }
}

/// Accepts the request if its token equals one of `secrets`; a wrong token
/// is `bad_token`.
pub(super) fn verify(
    carrier: Carrier,
    secrets: &[Secret],
    request: &Unverified<'_>,
) -> Check<bool> {
    let name = carrier.header();
    let value = header(request.headers, name)?;
    let given = match carrier {
        Carrier::Header(_) => value.as_bytes().to_vec(),
        Carrier::Bearer => strip_scheme(value, "Bearer")
            .ok_or_else(|| malformed(name, "expected Bearer <token>"))?
            .as_bytes()
            .to_vec(),
        Carrier::Basic => strip_scheme(value, "Basic")
            .and_then(|encoded| BASE64.decode(encoded).ok())
            .ok_or_else(|| malformed(name, "expected Basic <base64 of user:password>"))?,
    };
    let given = Sha256::digest(&given);
    let matched = secrets
        .iter()
        .any(|s| bool::from(Sha256::digest(s.expose().as_bytes()).ct_eq(&given)));
    if matched {
        Ok(true)
    } else {
        Err(SignatureError::BadToken {
            header: name.to_owned(),
        })
    }
}

/// `value` after `scheme` and a space, the scheme in any case.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// The header a sender adds.
pub(super) fn sign(carrier: Carrier, with: &SignWith<'_>) -> Vec<(String, String)> {
    let secret = with.secret.expose();
    let value = match carrier {
        Carrier::Header(_) => secret.to_owned(),
        Carrier::Bearer => format!("Bearer {secret}"),
        Carrier::Basic => format!("Basic {}", BASE64.encode(secret)),
    };
    vec![(carrier.header().to_owned(), value)]
}
