//! A configured secret: its value never shown, and the keys schemes decode
//! from it once.

use std::fmt;
use std::sync::OnceLock;

use super::spec::{KeyForm, Spec};
use super::{Algorithm, keys, parts, standard};

/// A secret value; its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret {
    value: String,
    /// The Standard Webhooks key, decoded from `value` on first use.
    standard_key: OnceLock<Option<standard::StandardKey>>,
    /// The key of a [`Spec`] that decodes its secrets, on first use (a
    /// secret belongs to one source, so to one spec).
    key: OnceLock<Option<Box<keys::Key>>>,
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret {
            value: value.into(),
            standard_key: OnceLock::new(),
            key: OnceLock::new(),
        }
    }

    /// The secret itself: use it for crypto only, never for logs.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether `given` is this secret, compared in constant time (over
    /// SHA-256 digests, so the length does not show either).
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        bool::from(Sha256::digest(self.value.as_bytes()).ct_eq(&Sha256::digest(given.as_bytes())))
    }

    /// The hex HMAC-SHA256 of `message` under this secret's bytes (Zoom's
    /// `encryptedToken`).
    pub fn hmac_sha256_hex(&self, message: &[u8]) -> String {
        hex::encode(self.hmac_sha256(message))
    }

    /// The HMAC-SHA256 of `message` under this secret's bytes (X's CRC).
    pub fn hmac_sha256(&self, message: &[u8]) -> Vec<u8> {
        parts::mac(Algorithm::Sha256, self.key(), &[message])
    }

    /// The HMAC key of the provider schemes: the secret's bytes.
    pub(super) fn key(&self) -> &[u8] {
        self.value.as_bytes()
    }

    /// The key `spec` reads from this secret (text is used as it is).
    pub(super) fn key_for(&self, spec: &Spec) -> Option<keys::KeyRef<'_>> {
        if spec.key == KeyForm::Text && !spec.is_public_key() {
            return Some(keys::KeyRef::Bytes(self.value.as_bytes()));
        }
        match self
            .key
            .get_or_init(|| keys::decode(&self.value, spec).map(Box::new))
            .as_deref()
        {
            Some(keys::Key::Bytes(bytes)) => Some(keys::KeyRef::Bytes(bytes)),
            Some(keys::Key::Public(key)) => Some(keys::KeyRef::Public(key)),
            None => None,
        }
    }

    /// The key of a Standard Webhooks secret (`whsec_<base64>` or a
    /// `whpk_<base64>` public key), decoded once.
    pub(super) fn standard_key(&self) -> Option<&standard::StandardKey> {
        self.standard_key
            .get_or_init(|| standard::decode_key(&self.value))
            .as_ref()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
