//! Standard Webhooks (Svix and the senders built on it): the message id,
//! timestamp and signatures in `webhook-id`, `webhook-timestamp` and
//! `webhook-signature`, or in Svix's `svix-id`, `svix-timestamp` and
//! `svix-signature` (Svix's own libraries accept both; Clerk and Resend send
//! the second). The signature header holds space-separated entries over
//! `{id}.{timestamp}.{body}`: `v1,<base64>` an HMAC-SHA256 under a
//! `whsec_<base64>` secret, `v1a,<base64>` an Ed25519 signature checked with
//! a `whpk_<base64>` public key (standard-webhooks `spec/standard-webhooks.md`).

use std::time::Duration;

use aws_lc_rs::signature::{ED25519, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use subtle::ConstantTimeEq;

use super::parts::{Check, header, mac, malformed, signed_time, unix_text};
use super::{Algorithm, Secret, SignWith, SignatureError, Unverified, headers};
use crate::field::Field;

/// A Standard Webhooks key, decoded once from its secret.
#[derive(Debug, Clone)]
pub(super) enum StandardKey {
    /// `whsec_<base64>` (or bare base64): the HMAC-SHA256 key of `v1`.
    Hmac(Vec<u8>),
    /// `whpk_<base64>`: the Ed25519 public key of `v1a`, parsed once.
    Ed25519(ParsedPublicKey),
}

/// One spelling of the three headers.
struct Spelling {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD: Spelling = Spelling {
    id: headers::WEBHOOK_ID,
    timestamp: headers::WEBHOOK_TIMESTAMP,
    signature: headers::WEBHOOK_SIGNATURE,
};

const SVIX: Spelling = Spelling {
    id: headers::SVIX_ID,
    timestamp: headers::SVIX_TIMESTAMP,
    signature: headers::SVIX_SIGNATURE,
};

/// The spelling a request uses: Standard Webhooks' unless only Svix's id
/// header is there.
fn spelling(request: &Unverified<'_>) -> &'static Spelling {
    if !request.headers.contains_key(STANDARD.id) && request.headers.contains_key(SVIX.id) {
        &SVIX
    } else {
        &STANDARD
    }
}

pub(super) fn verify(
    secrets: &[Secret],
    request: &Unverified<'_>,
    tolerance: Duration,
) -> Check<bool> {
    let names = spelling(request);
    if !request.headers.contains_key(names.id) {
        return Err(SignatureError::MissingHeader(format!(
            "{} or {}",
            STANDARD.id, SVIX.id
        )));
    }
    let id = header(request.headers, names.id)?;
    let t = signed_time(request.headers, names.timestamp, request.now, tolerance)?;
    let value = header(request.headers, names.signature)?;
    let (mut macs, mut signatures) = (Vec::new(), Vec::new());
    for entry in value.split(' ') {
        match entry.split_once(',') {
            Some(("v1", sig)) => macs.extend(BASE64.decode(sig).ok()),
            Some(("v1a", sig)) => signatures.extend(BASE64.decode(sig).ok()),
            _ => {}
        }
    }
    if macs.is_empty() && signatures.is_empty() {
        return Err(malformed(
            names.signature,
            "no v1,<base64> or v1a,<base64> entry",
        ));
    }
    let prefix = format!("{id}.{t}.");
    let mut message: Option<Vec<u8>> = None;
    Ok(secrets.iter().any(|secret| match secret.standard_key() {
        Some(StandardKey::Hmac(key)) if !macs.is_empty() => {
            let expected = mac(Algorithm::Sha256, key, &[prefix.as_bytes(), request.body]);
            macs.iter().any(|given| bool::from(expected.ct_eq(given)))
        }
        Some(StandardKey::Ed25519(key)) if !signatures.is_empty() => {
            let message = message.get_or_insert_with(|| [prefix.as_bytes(), request.body].concat());
            signatures
                .iter()
                .any(|sig| key.verify_sig(message, sig).is_ok())
        }
        _ => false,
    }))
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
        .filter_map(|secret| match secret.standard_key() {
            Some(StandardKey::Hmac(key)) => {
                let sig = mac(Algorithm::Sha256, key, &[prefix.as_bytes(), body]);
                Some(format!("v1,{}", BASE64.encode(sig)))
            }
            _ => None,
        })
        .collect();
    (t, signatures.join(" "))
}

/// The key of a Standard Webhooks secret: `whpk_<base64>` an Ed25519 public
/// key of 32 bytes, else base64 after an optional `whsec_`.
pub(super) fn decode_key(secret: &str) -> Option<StandardKey> {
    if let Some(public) = secret.strip_prefix("whpk_") {
        return BASE64
            .decode(public)
            .ok()
            .filter(|k| k.len() == 32)
            .and_then(|k| ParsedPublicKey::new(&ED25519, k).ok())
            .map(StandardKey::Ed25519);
    }
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    BASE64
        .decode(encoded)
        .ok()
        .filter(|k| !k.is_empty())
        .map(StandardKey::Hmac)
}

/// Who sends Standard Webhooks, named as in the configuration: the same
/// verification, each with its own header spelling when signing and its own
/// event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// `standard-webhooks`: any sender of the specification.
    Standard,
    /// `svix`: a sender on Svix (its `svix-*` headers).
    Svix,
    /// `clerk` (Svix; clerk.com/docs, "verifyWebhook").
    Clerk,
    /// `resend` (Svix; resend.com/docs/webhooks/verify-webhooks-requests).
    Resend,
    /// `openai` (`webhook-*`; platform.openai.com/docs/guides/webhooks).
    OpenAi,
    /// `replicate` (`webhook-*`; replicate.com/docs/topics/webhooks/verify-webhook).
    Replicate,
    /// `gitlab` with signing tokens (`whsec_…`): GitLab's Standard Webhooks
    /// signature, `webhook-id` equal to its `Idempotency-Key`
    /// (gitlab-org/gitlab merge requests 230944 and 231325). Chosen by the
    /// secrets (`Scheme::for_secrets`), so not among [`Sender::ALL`].
    Gitlab,
}

impl Sender {
    /// Every sender.
    pub const ALL: [Sender; 6] = [
        Sender::Standard,
        Sender::Svix,
        Sender::Clerk,
        Sender::Resend,
        Sender::OpenAi,
        Sender::Replicate,
    ];

    /// The name `scheme` takes in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Sender::Standard => "standard-webhooks",
            Sender::Svix => "svix",
            Sender::Clerk => "clerk",
            Sender::Resend => "resend",
            Sender::OpenAi => "openai",
            Sender::Replicate => "replicate",
            Sender::Gitlab => "gitlab",
        }
    }

    /// The sender called `name`.
    pub fn from_name(name: &str) -> Option<Sender> {
        Sender::ALL.into_iter().find(|s| s.name() == name)
    }

    fn spelling(self) -> &'static Spelling {
        match self {
            Sender::Svix | Sender::Clerk | Sender::Resend => &SVIX,
            Sender::Standard | Sender::OpenAi | Sender::Replicate | Sender::Gitlab => &STANDARD,
        }
    }

    /// Where its event id is (Replicate posts the prediction, whose
    /// `status` says what happened), and its delivery id: the signed
    /// message id (for `standard-webhooks`, in either spelling).
    pub(super) fn default_fields(self) -> (Field, Option<Field>) {
        let event = match self {
            Sender::Replicate => Field::Pointer("/status".to_owned()),
            Sender::Gitlab => Field::Header("x-gitlab-event".to_owned()),
            _ => Field::Pointer("/type".to_owned()),
        };
        let delivery = match self {
            Sender::Standard => Field::Headers(vec![
                headers::WEBHOOK_ID.to_owned(),
                headers::SVIX_ID.to_owned(),
            ]),
            other => Field::Header(other.spelling().id.to_owned()),
        };
        (event, Some(delivery))
    }

    /// The headers of a message signed as this sender signs it.
    pub(super) fn sign(self, with: &SignWith<'_>) -> Vec<(String, String)> {
        let names = self.spelling();
        let (t, signature) = signature_headers(
            std::slice::from_ref(with.secret),
            with.id,
            with.now,
            with.body,
        );
        vec![
            (names.id.to_owned(), with.id.to_owned()),
            (names.timestamp.to_owned(), t),
            (names.signature.to_owned(), signature),
        ]
    }
}
