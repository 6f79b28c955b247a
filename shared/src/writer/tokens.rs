//! Bearer tokens of the Writer API and the topics each may write to.

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, Token};
use crate::error::{Error, Result};

/// The configured tokens, hashed once at start-up so every comparison is
/// constant-time over equal lengths.
#[derive(Clone)]
pub struct Tokens {
    hashed: Vec<([u8; 32], Token)>,
}

impl Tokens {
    /// The tokens of `config`.
    pub fn new(config: &Config) -> Self {
        Tokens {
            hashed: config
                .tokens
                .values()
                .map(|t| (digest(t.token.expose()), t.clone()))
                .collect(),
        }
    }

    /// The configured token equal to `given`, or 401.
    pub fn check(&self, given: &str) -> Result<&Token> {
        let given = digest(given.trim());
        let mut found = None;
        for (hash, token) in &self.hashed {
            if bool::from(hash.ct_eq(&given)) {
                found = Some(token);
            }
        }
        found.ok_or_else(|| Error::Unauthorized("invalid bearer token".into()))
    }
}

/// The token of an `Authorization: Bearer <token>` (or `<token>`) header,
/// or 401.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::Unauthorized("missing Authorization: Bearer <token> header".into()))?
        .to_str()
        .map_err(|_| Error::Unauthorized("malformed Authorization header".into()))?;
    // The bare token with no scheme is accepted too: an earlier Quix
    // documentation example sent it that way.
    let Some((scheme, given)) = value.trim().split_once(' ') else {
        return Ok(value.trim());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::Unauthorized(
            "Authorization scheme must be Bearer".into(),
        ));
    }
    Ok(given.trim())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
