//! Webhook signature verification over the raw body bytes, one [`Scheme`] per
//! provider, each as the provider documents it, one file per provider.
//!
//! A scheme turns an unverified request into a [`Verified`] one; only a
//! `Verified` body can be published, so nothing unverified reaches a stream.
//! Every comparison is constant-time, every scheme accepts any of several
//! secrets (rotation), and schemes with a signed timestamp reject requests
//! outside a tolerance in both directions.

mod arrivals;
mod blocks;
pub mod catalogue;
mod github;
pub mod headers;
mod keys;
mod parts;
mod secret;
mod segment;
mod shopify;
mod slack;
mod spec;
mod stamp;
mod standard;
mod stripe;
mod token;
mod twilio;

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use bytes::Bytes;

use crate::field::Field;

pub use arrivals::{Arrivals, Arrived};
pub use blocks::{BlockError, Blocks};
pub use secret::Secret;
pub use spec::{Algorithm, Crypto, Encoding, Spec};
pub use standard::Sender;
pub use standard::signature_headers as standard_webhooks_signature;
pub use token::{Carrier, TOKEN_PROVIDERS, TokenProvider};

/// Why a request's signature was not accepted; every case is a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header the scheme needs is absent.
    #[error("missing {0} header")]
    MissingHeader(String),
    /// A header is present but cannot be read.
    #[error("malformed {header} header: {why}")]
    Malformed {
        /// The header's name.
        header: String,
        /// What is wrong with it.
        why: String,
    },
    /// The signed timestamp is further in the past than the tolerance.
    #[error("signed timestamp is {off_by} s from now, outside the tolerance of {tolerance} s")]
    TooOld {
        /// Seconds between the timestamp and now.
        off_by: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signed timestamp is further in the future than the tolerance.
    #[error("signed timestamp is {off_by} s from now, outside the tolerance of {tolerance} s")]
    TooNew {
        /// Seconds between the timestamp and now.
        off_by: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// Twilio: the body is not the one whose hash the URL carries.
    #[error("twilio body does not match the signed bodySHA256")]
    BodyHashMismatch,
    /// A shared-token sender's token matches none of the secrets.
    #[error("the {header} token matches none of the configured secrets")]
    BadToken {
        /// The header that carried it.
        header: String,
    },
    /// No configured secret produces the given signature.
    #[error("{scheme} signature does not match the body")]
    NoMatch {
        /// The scheme's name.
        scheme: &'static str,
    },
}

impl SignatureError {
    /// Why, as one of a closed set of codes (the `reason` of the 401 body
    /// and log line, and a metric label): `missing_header`, `malformed`,
    /// `too_old`, `too_new`, `body_hash_mismatch`, `bad_token`, `no_match`.
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader(_) => "missing_header",
            SignatureError::Malformed { .. } => "malformed",
            SignatureError::TooOld { .. } => "too_old",
            SignatureError::TooNew { .. } => "too_new",
            SignatureError::BodyHashMismatch => "body_hash_mismatch",
            SignatureError::BadToken { .. } => "bad_token",
            SignatureError::NoMatch { .. } => "no_match",
        }
    }
}

/// How a source's webhooks are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Segment: hex HMAC-SHA1 of the body in `X-Signature`.
    Segment,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    Github,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `{t}.{body}`.
    Stripe,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`.
    Slack,
    /// Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the body.
    Shopify,
    /// Standard Webhooks (Svix and the senders on it): `webhook-id` (or
    /// `svix-id`), `webhook-timestamp`, `webhook-signature: v1,<base64>`
    /// (HMAC-SHA256, secret `whsec_<base64>`) or `v1a,<base64>` (Ed25519,
    /// public key `whpk_<base64>`) over `{id}.{timestamp}.{body}`.
    StandardWebhooks(Sender),
    /// Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 over the public URL and
    /// the sorted form parameters.
    Twilio {
        /// The public base URL Twilio calls, e.g. `https://hooks.example.com`.
        public_url: String,
    },
    /// A provider of the [`catalogue`]: its signature as data.
    Provider {
        /// The catalogue entry.
        provider: &'static catalogue::Provider,
        /// Its signature, built once.
        spec: Spec,
    },
    /// A sender of a shared token, not a signature (GitLab, Okta, Postmark).
    Token(&'static TokenProvider),
    /// A scheme of the source's own, written as building blocks.
    Hmac(Spec),
    /// Unsigned: accepted only when configured explicitly.
    None,
}

/// The names `scheme` takes in the configuration.
pub const SCHEME_NAMES: &str = "segment, github, stripe, slack, shopify, standard-webhooks, svix, clerk, resend, openai, replicate, twilio, intercom, jira, bitbucket, razorpay, xero, vercel, sentry, meta, typeform, linear, notion, zoom, docusign, lemon-squeezy, coinbase-commerce, twitter, pagerduty, calendly, workos, paddle, webflow, zendesk, twitch, square, hubspot, mailgun, adyen, sendgrid, telnyx, discord, gitlab, okta, postmark, hmac, none";

/// What a scheme looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct Unverified<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
    /// The request's path and query, as the sender addressed it (Twilio signs it).
    pub path_and_query: &'a str,
    /// The request method (`POST`).
    pub method: &'a str,
    /// The time now.
    pub now: SystemTime,
}

/// A request whose signature was checked (or whose source is explicitly unsigned).
#[derive(Debug, Clone)]
pub struct Verified {
    body: Bytes,
}

impl Verified {
    /// A body an operator vouches for (the replay of a kept shared-token
    /// request, whose token was not kept): never from a request.
    pub fn trusted(body: Bytes) -> Verified {
        Verified { body }
    }

    /// The verified raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// What a sender adds to a request to sign it.
#[derive(Debug, Clone, Copy)]
pub struct SignWith<'a> {
    /// The secret.
    pub secret: &'a Secret,
    /// The body.
    pub body: &'a [u8],
    /// The time of signing.
    pub now: SystemTime,
    /// The path and query the request goes to (Twilio).
    pub path_and_query: &'a str,
    /// The delivery id (Standard Webhooks).
    pub id: &'a str,
}

impl<'a> SignWith<'a> {
    /// Signing `body` now, for path `/` and a fixed message id.
    pub fn new(secret: &'a Secret, body: &'a [u8]) -> Self {
        SignWith {
            secret,
            body,
            now: SystemTime::now(),
            path_and_query: "/",
            id: "msg_inlet",
        }
    }
}

impl Scheme {
    /// The scheme's name as written in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Segment => "segment",
            Scheme::Github => "github",
            Scheme::Stripe => "stripe",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
            Scheme::StandardWebhooks(sender) => sender.name(),
            Scheme::Twilio { .. } => "twilio",
            Scheme::Provider { provider, .. } => provider.name,
            Scheme::Token(provider) => provider.name,
            Scheme::Hmac(_) => "hmac",
            Scheme::None => "none",
        }
    }

    /// The schemes that need no settings beyond their name.
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::named(name, None).ok().flatten()
    }

    /// The named scheme `name` (not `hmac`), with the public URL a provider
    /// that signs the URL needs; `Ok(None)` if no scheme has that name.
    pub fn named(name: &str, public_url: Option<&str>) -> Result<Option<Scheme>, BlockError> {
        let scheme = match name {
            "segment" => Scheme::Segment,
            "github" => Scheme::Github,
            "stripe" => Scheme::Stripe,
            "slack" => Scheme::Slack,
            "shopify" => Scheme::Shopify,
            "none" => Scheme::None,
            "twilio" => Scheme::Twilio {
                public_url: public_url
                    .ok_or_else(|| BlockError {
                        key: "public_url",
                        why: "scheme \"twilio\" signs the public URL Twilio calls; set it, e.g. \"https://hooks.example.com\"".into(),
                    })?
                    .to_owned(),
            },
            other => {
                if let Some(sender) = Sender::from_name(other) {
                    Scheme::StandardWebhooks(sender)
                } else if let Some(provider) = catalogue::find(other) {
                    let mut spec = provider.blocks.spec(public_url)?;
                    if spec.signs_id() {
                        spec.id = provider.delivery_id.map(Field::parse);
                    }
                    Scheme::Provider { provider, spec }
                } else if let Some(provider) = token::find(other) {
                    Scheme::Token(provider)
                } else {
                    return Ok(None);
                }
            }
        };
        Ok(Some(scheme))
    }

    /// The scheme as its secrets choose it: a `gitlab` source whose secrets
    /// are all signing tokens (`whsec_…`) verifies GitLab's Standard
    /// Webhooks signature instead of the `X-Gitlab-Token` secret token; a
    /// mix is refused, so no request passes on the weaker token.
    pub fn for_secrets(self, secrets: &[Secret]) -> Result<Scheme, String> {
        if !matches!(&self, Scheme::Token(p) if p.name == "gitlab") {
            return Ok(self);
        }
        let signing = secrets
            .iter()
            .filter(|s| s.expose().starts_with("whsec_"))
            .count();
        if signing == 0 {
            Ok(self)
        } else if signing == secrets.len() {
            Ok(Scheme::StandardWebhooks(Sender::Gitlab))
        } else {
            Err("mixes GitLab signing tokens (whsec_…) and secret tokens: a request could pass on the weaker secret token; list only signing tokens".into())
        }
    }

    /// Whether the scheme signs the URL it is called at (and so takes
    /// `public_url`).
    pub fn signs_url(&self) -> bool {
        match self {
            Scheme::Twilio { .. } => true,
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => spec.public_url.is_some(),
            _ => false,
        }
    }

    /// Whether the scheme needs at least one secret to start (Notion's
    /// arrives in its first request, so a Notion source may start without).
    pub fn needs_secret(&self) -> bool {
        !matches!(self, Scheme::None) && self.name() != "notion"
    }

    /// The header a shared-token scheme reads its token from (not kept with
    /// a rejected request).
    pub fn credential_header(&self) -> Option<&'static str> {
        match self {
            Scheme::Token(provider) => Some(match provider.carrier {
                token::Carrier::Header(name) => name,
                token::Carrier::Bearer | token::Carrier::Basic => "authorization",
            }),
            _ => None,
        }
    }

    /// The form its secrets take, as the provider's dashboard shows them
    /// (what to paste into `secrets`).
    pub fn secret_form(&self) -> &'static str {
        use spec::KeyForm;
        match self {
            Scheme::None => "none (unsigned)",
            Scheme::Stripe => "the endpoint's signing secret (whsec_…), as text",
            Scheme::StandardWebhooks(_) => {
                "whsec_<base64> (HMAC), or a whpk_<base64> Ed25519 public key"
            }
            Scheme::Twilio { .. } => "the account's Auth Token",
            Scheme::Token(provider) if provider.name == "postmark" => {
                "user:password, the basic-auth credentials in the webhook URL"
            }
            Scheme::Token(_) => "the shared token the provider sends",
            Scheme::Provider { provider, .. } if provider.name == "notion" => {
                "the verification_token Notion sends first (take it once: inlet handshake-secret)"
            }
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => {
                match (spec.is_public_key(), spec.key) {
                    (true, KeyForm::Hex) => "the public key, hex",
                    (true, KeyForm::Pem) => "the public key, PEM",
                    (true, _) => "the public key, base64",
                    (false, KeyForm::Hex) => "the signing key, hex",
                    (false, KeyForm::Base64) => "the signing key, base64",
                    (false, KeyForm::Whsec) => "whsec_<base64>",
                    (false, _) => "the signing secret, as text",
                }
            }
            _ => "the signing secret, as text",
        }
    }

    /// Whether the scheme signs a timestamp (and so rejects replays).
    pub fn has_timestamp(&self) -> bool {
        match self {
            Scheme::Stripe | Scheme::Slack | Scheme::StandardWebhooks(_) => true,
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => spec.timestamp.is_some(),
            _ => false,
        }
    }

    /// Checks a secret at start-up (Standard Webhooks secrets are base64,
    /// decoded here once and kept for every request).
    pub fn check_secret(&self, secret: &Secret) -> std::result::Result<(), String> {
        match self {
            Scheme::StandardWebhooks(_) => secret.standard_key().map(|_| ()).ok_or_else(|| {
                "not a whsec_<base64> secret or a whpk_<base64> Ed25519 public key (32 bytes)"
                    .to_owned()
            }),
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => spec.check_secret(secret),
            _ => Ok(()),
        }
    }

    /// Whether `secret` can sign requests (a public key only verifies).
    pub fn can_sign(&self, secret: &Secret) -> bool {
        match self {
            Scheme::StandardWebhooks(_) => {
                matches!(secret.standard_key(), Some(standard::StandardKey::Hmac(_)))
            }
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => !spec.is_public_key(),
            _ => true,
        }
    }

    /// Where the provider puts a webhook's event id and delivery id, unless
    /// the source configures them.
    pub fn default_fields(&self, source: &str) -> (Field, Option<Field>) {
        let pointer = |p: &str| Field::Pointer(p.to_owned());
        let header = |h: &str| Field::Header(h.to_owned());
        match self {
            Scheme::Segment => (pointer("/type"), Some(pointer("/messageId"))),
            Scheme::Github => (
                header(headers::GITHUB_EVENT),
                Some(header(headers::GITHUB_DELIVERY)),
            ),
            Scheme::Stripe => (pointer("/type"), Some(pointer("/id"))),
            Scheme::Slack => (pointer("/type"), Some(pointer("/event_id"))),
            Scheme::Shopify => (
                header(headers::SHOPIFY_TOPIC),
                Some(header(headers::SHOPIFY_WEBHOOK_ID)),
            ),
            Scheme::StandardWebhooks(sender) => sender.default_fields(),
            Scheme::Provider { provider, .. } => (
                Field::parse(provider.event_id),
                provider.delivery_id.map(Field::parse),
            ),
            Scheme::Token(provider) => (
                Field::parse(provider.event_id),
                provider.delivery_id.map(Field::parse),
            ),
            Scheme::Twilio { .. } => (
                Field::Constant(source.to_owned()),
                Some(header(headers::TWILIO_IDEMPOTENCY)),
            ),
            Scheme::Hmac(_) | Scheme::None => (pointer("/type"), None),
        }
    }

    /// Checks the request against every secret, and its timestamp (if the
    /// scheme signs one) against `tolerance` in both directions.
    pub fn verify(
        &self,
        secrets: &[Secret],
        request: &Unverified<'_>,
        tolerance: Duration,
    ) -> Result<Verified, SignatureError> {
        let matched = match self {
            Scheme::None => true,
            Scheme::Segment => segment::verify(secrets, request)?,
            Scheme::Github => github::verify(secrets, request)?,
            Scheme::Stripe => stripe::verify(secrets, request, tolerance)?,
            Scheme::Slack => slack::verify(secrets, request, tolerance)?,
            Scheme::Shopify => shopify::verify(secrets, request)?,
            Scheme::StandardWebhooks(_) => standard::verify(secrets, request, tolerance)?,
            Scheme::Twilio { public_url } => twilio::verify(public_url, secrets, request)?,
            Scheme::Token(provider) => token::verify(provider.carrier, secrets, request)?,
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => {
                spec.verify(secrets, request, tolerance)?
            }
        };
        if matched {
            Ok(Verified {
                body: Bytes::copy_from_slice(request.body),
            })
        } else {
            Err(SignatureError::NoMatch {
                scheme: self.name(),
            })
        }
    }

    /// The headers a provider sends to sign a request (for `inlet sign` and tests).
    pub fn sign(&self, with: &SignWith<'_>) -> Vec<(String, String)> {
        match self {
            Scheme::None => Vec::new(),
            Scheme::Segment => segment::sign(with),
            Scheme::Github => github::sign(with),
            Scheme::Stripe => stripe::sign(with),
            Scheme::Slack => slack::sign(with),
            Scheme::Shopify => shopify::sign(with),
            Scheme::StandardWebhooks(sender) => sender.sign(with),
            Scheme::Twilio { public_url } => twilio::sign(public_url, with),
            Scheme::Token(provider) => token::sign(provider.carrier, with),
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => spec.sign(with).0,
        }
    }

    /// The body a sender sends: `with.body`, or for a scheme whose signature
    /// is inside the body (Mailgun, Adyen), the body with it written in.
    pub fn signed_body(&self, with: &SignWith<'_>) -> Option<Vec<u8>> {
        match self {
            Scheme::Hmac(spec) | Scheme::Provider { spec, .. } => spec.sign(with).1,
            _ => None,
        }
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
