//! The SignalR hub: the Quix Streaming Writer hub's methods over websockets,
//! wire-compatible with the `@microsoft/signalr` clients Quix users already
//! have. Each invocation goes through the same writer core as the HTTP
//! Writer API (same models, validation and answers) and is completed only
//! once its records are durable.
//!
//! The protocol lives in `crate::signalr`; this crate holds the hub's
//! methods, negotiate, and (feature `local`) the socket of `inlet serve`.

pub mod aws;
pub mod binding;
pub mod fanout;
#[cfg(feature = "local")]
mod feed;
pub mod item;
#[cfg(feature = "local")]
mod local;
mod methods;
pub mod pushes;
pub mod reader;
pub mod signalr;
pub mod streams;
pub mod table;

#[cfg(feature = "local")]
pub use local::local;
pub use methods::{Method, Reading, Session};

use std::sync::Arc;

use crate::signalr::{ConnectionTokens, Invocation, TokenError, negotiate, protocol};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use inlet_shared::config::{ConfigHandle, Derived, Token};
use inlet_shared::http::{cors_layer, method_not_allowed};
use inlet_shared::publish::Publisher;
use inlet_shared::writer::{QuixWriter, bearer_token};
use inlet_shared::{Config, Error, Result};
use serde::Deserialize;

/// The error of an invocation's Completion: what a client may see, after
/// its code (`forbidden: token "x" may not write to topic "y"`), logged as
/// an HTTP answer is.
pub(crate) fn completion_message(error: &Error, method: &str) -> String {
    error.log();
    format!(
        "Failed to invoke '{method}': {}: {}",
        error.code(),
        error.public_message()
    )
}

/// The hub's path; negotiate is at `{HUB_PATH}/negotiate`.
pub const HUB_PATH: &str = "/hub";

/// The hub: the writer core (rebuilt when the configuration is replaced;
/// each call takes the current one) and the connection tokens it issued.
#[derive(Clone)]
pub struct Hub {
    writer: Arc<Derived<QuixWriter>>,
    connections: ConnectionTokens,
}

impl Hub {
    /// A hub over `config`'s topics and tokens, publishing through
    /// `publisher`.
    pub fn new(config: impl Into<ConfigHandle>, publisher: Publisher) -> Self {
        let config = config.into();
        Hub {
            connections: ConnectionTokens::for_config(&config.current()),
            writer: Arc::new(Derived::new(config, move |config| {
                QuixWriter::new(config, publisher.clone())
            })),
        }
    }

    /// The writer core of the current configuration.
    pub fn writer(&self) -> Arc<QuixWriter> {
        self.writer.current()
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<Config> {
        self.writer.config().current()
    }

    /// The largest message the hub takes, as large as a Writer API body
    /// (`writer.max_body_bytes`); a larger invocation is completed with an
    /// error.
    pub fn max_message_bytes(&self) -> usize {
        self.config().writer.max_body_bytes
    }

    /// The configured token a connection presents: from `Authorization`
    /// (negotiate; Node clients on the socket too) or else from
    /// `access_token` in the URL (browsers cannot set headers on a
    /// websocket). 401 if neither is a configured token.
    pub fn authenticate(&self, headers: &HeaderMap, access_token: Option<&str>) -> Result<Token> {
        let given = match (bearer_token(headers), access_token) {
            (Ok(token), _) => token,
            (Err(_), Some(token)) => token,
            (Err(e), None) => return Err(e),
        };
        self.writer().authenticate(given).cloned()
    }

    /// The connection id of a connection token from negotiate: 404 if this
    /// hub did not issue it or it has expired, as the SignalR transport
    /// protocol answers an unknown id.
    pub fn connection_id(&self, token: &str) -> Result<String> {
        let now = self.writer().publisher().now();
        self.connections.check(token, now).map_err(|e| match e {
            TokenError::Unknown | TokenError::Expired => Error::NotFound(e.to_string()),
        })
    }

    /// Runs one invocation for `caller` and returns its Completion, sent
    /// only once the invocation's records are durable; `None` for a call
    /// without an invocation id (`send()`), whose failure is only logged.
    pub async fn invoke(
        &self,
        caller: &Token,
        session: Option<Reading<'_>>,
        invocation: Invocation,
    ) -> Option<String> {
        let result = methods::call(self, caller, session, &invocation).await;
        match (invocation.invocation_id, result) {
            (Some(id), Ok(value)) => Some(protocol::completion(&id, value.as_ref())),
            (Some(id), Err(e)) => Some(protocol::completion_error(
                &id,
                &completion_message(&e, &invocation.target),
            )),
            (None, Err(e)) => {
                e.log();
                None
            }
            (None, Ok(_)) => None,
        }
    }
}

/// What the hub warns about at start-up.
pub fn warnings(config: &Config) -> Vec<String> {
    if config.tokens.is_empty() {
        vec!["the hub has no [tokens.*] configured: every connection gets 401".to_owned()]
    } else {
        Vec::new()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NegotiateQuery {
    negotiate_version: Option<u32>,
    #[serde(rename = "access_token")]
    access_token: Option<String>,
}

/// `POST /hub/negotiate`: a connection id and its secret token for a
/// client with a valid bearer token (else 401, before any socket).
async fn negotiate(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Query(query): Query<NegotiateQuery>,
) -> Result<Response> {
    let caller = hub.authenticate(&headers, query.access_token.as_deref())?;
    let (id, token) = hub.connections.issue(hub.writer().publisher().now());
    let version = query.negotiate_version.unwrap_or(0);
    tracing::debug!(token = %caller.name, connection_id = %id, "hub negotiated");
    Ok(axum::Json(negotiate::response(version, &id, &token)).into_response())
}

/// The hub's negotiate route (`POST /hub/negotiate`, with CORS from
/// `writer.cors_origins`), served locally and in Lambda behind the HTTP API.
pub fn negotiate_routes(hub: Hub) -> Router {
    let cors = cors_layer(&hub.config().writer.cors);
    let router = Router::new()
        .route(
            &format!("{HUB_PATH}/negotiate"),
            post(negotiate).fallback(|| async { method_not_allowed("POST") }),
        )
        .with_state(hub);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

#[cfg(test)]
mod tests;
