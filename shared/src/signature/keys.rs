//! A configured secret decoded into the key a [`Spec`] uses: HMAC key bytes
//! in their written form, or a public key parsed once (aws-lc-rs, already
//! linked through rustls, verifies Ed25519, ECDSA and RSA).

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::spec::{Crypto, KeyForm, Spec};

/// A decoded key.
#[derive(Debug, Clone)]
pub(super) enum Key {
    /// HMAC key bytes.
    Bytes(Vec<u8>),
    /// A public key, parsed.
    Public(ParsedPublicKey),
}

/// A key borrowed for one check.
pub(super) enum KeyRef<'a> {
    Bytes(&'a [u8]),
    Public(&'a ParsedPublicKey),
}

impl KeyRef<'_> {
    /// The HMAC key (empty for a public key, which never reaches an HMAC).
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            KeyRef::Bytes(b) => b,
            KeyRef::Public(_) => &[],
        }
    }

    /// Whether `signature` is a signature of `message` by this public key.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            KeyRef::Public(key) => key.verify_sig(message, signature).is_ok(),
            KeyRef::Bytes(_) => false,
        }
    }
}

/// `value` decoded as `spec` reads its secrets; `None` if it is not one.
pub(super) fn decode(value: &str, spec: &Spec) -> Option<Key> {
    let value = value.trim();
    let bytes = match spec.key {
        KeyForm::Text => value.as_bytes().to_vec(),
        KeyForm::Base64 => BASE64.decode(value).ok()?,
        KeyForm::Hex => hex::decode(value).ok()?,
        KeyForm::Whsec => BASE64
            .decode(value.strip_prefix("whsec_").unwrap_or(value))
            .ok()?,
        KeyForm::Pem => pem_body(value)?,
    };
    let algorithm: &'static dyn VerificationAlgorithm = match spec.crypto {
        Crypto::Hmac(_) => return Some(Key::Bytes(bytes)),
        Crypto::Ed25519 => &ED25519,
        Crypto::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1,
        Crypto::RsaSha256 => &RSA_PKCS1_2048_8192_SHA256,
    };
    ParsedPublicKey::new(algorithm, bytes).ok().map(Key::Public)
}

/// The DER inside a PEM block (hand-written: a dozen lines, no crate needed).
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let mut lines = pem.lines().map(str::trim);
    lines.next().filter(|l| l.starts_with("-----BEGIN "))?;
    let body: String = lines.take_while(|l| !l.starts_with("-----END ")).collect();
    BASE64.decode(body).ok()
}
