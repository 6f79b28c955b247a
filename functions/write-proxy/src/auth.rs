//! Bearer-token authentication of the Writer API.

use axum::http::{HeaderMap, header};
use inlet_shared::config::{Token, Topic};
use inlet_shared::{Config, Error, Result};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The configured tokens, hashed once at start-up so every comparison is
/// constant-time over equal lengths.
#[derive(Clone)]
pub(crate) struct Tokens {
    hashed: Vec<([u8; 32], Token)>,
}

impl Tokens {
    pub(crate) fn new(config: &Config) -> Self {
        Tokens {
            hashed: config
                .tokens
                .values()
                .map(|t| (digest(t.token.expose()), t.clone()))
                .collect(),
        }
    }

    /// The topic, if the request's bearer token may write to it:
    /// 401 without a valid token, 404 for an unknown topic, 403 if not allowed.
    pub(crate) fn authorize<'a>(
        &self,
        config: &'a Config,
        headers: &HeaderMap,
        topic: &str,
    ) -> Result<&'a Topic> {
        let token = self.token(headers)?;
        let topic = config.topic(topic)?;
        if token.topics.allows(&topic.name) {
            Ok(topic)
        } else {
            Err(Error::Forbidden(format!(
                "token {:?} may not write to topic {:?}",
                token.name, topic.name
            )))
        }
    }

    fn token(&self, headers: &HeaderMap) -> Result<&Token> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                Error::Unauthorized("missing Authorization: Bearer <token> header".into())
            })?
            .to_str()
            .map_err(|_| Error::Unauthorized("malformed Authorization header".into()))?;
        let (scheme, given) = value.trim().split_once(' ').ok_or_else(|| {
            Error::Unauthorized("Authorization must be \"Bearer <token>\"".into())
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unauthorized(
                "Authorization scheme must be Bearer".into(),
            ));
        }
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

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
