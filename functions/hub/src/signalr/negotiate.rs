//! Negotiation (`POST {hub}/negotiate`): the connection id and the secret
//! connection token a client then opens its socket with
//! (`TransportProtocols.md`). The token is stateless, an HMAC over the id
//! and an expiry, so negotiate and the socket may be served by different
//! processes (two Lambda invocations) that share only the configuration.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use inlet_shared::config::Config;

/// How long a connection token opens a socket: a client connects right
/// after negotiating, and negotiates again to reconnect.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

const ID_BYTES: usize = 16;
const MAC_BYTES: usize = 16;

/// Issues and checks connection tokens.
#[derive(Clone)]
pub struct ConnectionTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for ConnectionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionTokens(..)")
    }
}

/// Why a connection token does not open a socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this hub issued.
    #[error("unknown connection id")]
    Unknown,
    /// Issued, but too long ago.
    #[error("the connection id has expired; negotiate again")]
    Expired,
}

impl ConnectionTokens {
    /// Tokens keyed by `key`.
    pub fn new(key: [u8; 32]) -> Self {
        ConnectionTokens { key }
    }

    /// Tokens keyed by the configuration's writer tokens, so every process
    /// with the same configuration agrees and no other key must be shared.
    /// A connection token grants nothing by itself: the socket still needs a
    /// bearer token.
    pub fn for_config(config: &Config) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"inlet signalr connection tokens v1\0");
        for token in config.tokens.values() {
            hash.update(token.name.as_bytes());
            hash.update([0]);
            hash.update(token.token.expose().as_bytes());
            hash.update([0]);
        }
        ConnectionTokens::new(hash.finalize().into())
    }

    /// A new connection: its public id and its secret token.
    pub fn issue(&self, now: SystemTime) -> (String, String) {
        let id: [u8; ID_BYTES] = rand::random();
        let expires = inlet_shared::time::unix_secs(now + TOKEN_LIFETIME);
        let mut token = Vec::with_capacity(ID_BYTES + 8 + MAC_BYTES);
        token.extend_from_slice(&id);
        token.extend_from_slice(&expires.to_be_bytes());
        let mac = self.mac(&token);
        token.extend_from_slice(&mac[..MAC_BYTES]);
        (URL_SAFE_NO_PAD.encode(id), URL_SAFE_NO_PAD.encode(token))
    }

    /// The connection id of a token this hub issued that has not expired.
    pub fn check(&self, token: &str, now: SystemTime) -> Result<String, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Unknown)?;
        if bytes.len() != ID_BYTES + 8 + MAC_BYTES {
            return Err(TokenError::Unknown);
        }
        let (signed, mac) = bytes.split_at(ID_BYTES + 8);
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(signed);
        check
            .verify_truncated_left(mac)
            .map_err(|_| TokenError::Unknown)?;
        let expires = u64::from_be_bytes(signed[ID_BYTES..].try_into().expect("8 bytes"));
        if inlet_shared::time::unix_secs(now) > expires {
            return Err(TokenError::Expired);
        }
        Ok(URL_SAFE_NO_PAD.encode(&signed[..ID_BYTES]))
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// The negotiate answer for the client's `negotiateVersion` (absent: 0),
/// offering the one transport served: WebSockets, text frames.
pub fn response(version: u32, connection_id: &str, connection_token: &str) -> Value {
    let transports = json!([{ "transport": "WebSockets", "transferFormats": ["Text"] }]);
    if version >= 1 {
        json!({
            "negotiateVersion": 1,
            "connectionId": connection_id,
            "connectionToken": connection_token,
            "availableTransports": transports,
        })
    } else {
        // Version 0 has no token: the client opens its socket with the id,
        // so the id is the secret token.
        json!({
            "negotiateVersion": 0,
            "connectionId": connection_token,
            "availableTransports": transports,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn an_issued_token_opens_its_connection_until_it_expires() {
        let tokens = ConnectionTokens::new([7; 32]);
        let (id, token) = tokens.issue(at(1_000));
        assert_ne!(id, token);
        assert_eq!(tokens.check(&token, at(1_000)), Ok(id.clone()));
        assert_eq!(tokens.check(&token, at(1_300)), Ok(id));
        assert_eq!(tokens.check(&token, at(1_301)), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_of_another_key_or_altered_is_unknown() {
        let (_, token) = ConnectionTokens::new([7; 32]).issue(at(1_000));
        let other = ConnectionTokens::new([8; 32]);
        assert_eq!(other.check(&token, at(1_000)), Err(TokenError::Unknown));
        let tokens = ConnectionTokens::new([7; 32]);
        let mut altered = token.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(tokens.check(&altered, at(1_000)), Err(TokenError::Unknown));
        assert_eq!(tokens.check("", at(1_000)), Err(TokenError::Unknown));
        assert_eq!(tokens.check("%%%", at(1_000)), Err(TokenError::Unknown));
    }

    #[test]
    fn ids_are_distinct() {
        let tokens = ConnectionTokens::new([7; 32]);
        assert_ne!(tokens.issue(at(1)).0, tokens.issue(at(1)).0);
    }

    #[test]
    fn version_1_answers_with_a_token_and_version_0_with_the_token_as_id() {
        let v1 = response(1, "id", "secret");
        assert_eq!(v1["connectionId"], "id");
        assert_eq!(v1["connectionToken"], "secret");
        assert_eq!(v1["availableTransports"][0]["transport"], "WebSockets");
        assert_eq!(
            v1["availableTransports"][0]["transferFormats"],
            json!(["Text"])
        );
        let v0 = response(0, "id", "secret");
        assert_eq!(v0["connectionId"], "secret");
        assert!(v0.get("connectionToken").is_none());
    }
}
