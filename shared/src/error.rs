//! The HTTP-facing error of Inlet and its one mapping to a status and a JSON
//! body. Domain errors (signature, sink, configuration) keep their meaning in
//! their own types and convert into it here.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::{ConfigError, UnknownTopic};
use crate::record::RecordError;
use crate::signature::SignatureError;
use crate::sink::SinkError;

/// Every failure Inlet can report, each carrying its own HTTP policy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; start-up stops with this message.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),

    /// The request is not signed, or not signed with a known secret.
    #[error("{0}")]
    Unauthorized(String),

    /// The webhook's signature was not accepted.
    #[error(transparent)]
    Signature(#[from] SignatureError),

    /// The request is malformed (bad JSON, a missing field, ...).
    #[error("{0}")]
    BadRequest(String),

    /// The credentials are valid but not for this resource.
    #[error("{0}")]
    Forbidden(String),

    /// No such route, source or topic.
    #[error("{0}")]
    NotFound(String),

    /// The resource is in a state that refuses the request (a hub
    /// connection id already in use).
    #[error("{0}")]
    Conflict(String),

    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,

    /// The body is larger than the configured limit.
    #[error("body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// A single record is larger than a stream accepts (1 MiB in Kinesis).
    #[error("record of {size} bytes exceeds the stream's record limit of {limit} bytes")]
    RecordTooLarge {
        /// The record's size: data plus partition key.
        size: usize,
        /// The stream's limit.
        limit: usize,
    },

    /// Storage (a stream, a dedupe or checkpoint table, an upstream API)
    /// cannot take the request now; the sender should retry.
    #[error("stream unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for logs; clients see a generic message.
        reason: String,
        /// When the sender should try again.
        retry_after: Duration,
    },

    /// A local I/O failure (the embedded log, a config file).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A result with Inlet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<UnknownTopic> for Error {
    fn from(err: UnknownTopic) -> Self {
        Error::NotFound(err.to_string())
    }
}

impl From<SinkError> for Error {
    fn from(err: SinkError) -> Self {
        match err {
            SinkError::Rejected(RecordError::TooLarge { size, limit }) => {
                Error::RecordTooLarge { size, limit }
            }
            SinkError::Rejected(
                RecordError::BadPartitionKey { .. } | RecordError::ControlCharacter { .. },
            ) => Error::BadRequest(err.to_string()),
            SinkError::UnknownTopic(_) => Error::NotFound(err.to_string()),
            SinkError::Unavailable { reason, .. } => Error::unavailable(reason),
        }
    }
}

impl Error {
    /// A failure the sender should retry after a second.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Error::Unavailable {
            reason: reason.into(),
            retry_after: Duration::from_secs(1),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized(_) | Error::Signature(_) => StatusCode::UNAUTHORIZED,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::PayloadTooLarge { .. } | Error::RecordTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config(_) | Error::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Unauthorized(_) | Error::Signature(_) => "unauthorized",
            Error::BadRequest(_) => "bad_request",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::RecordTooLarge { .. } => "record_too_large",
            Error::Unavailable { .. } => "unavailable",
            Error::Io(_) => "internal",
        }
    }

    /// Why a signature was refused (see [`SignatureError::reason`]); `None`
    /// for every other error.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Error::Signature(e) => Some(e.reason()),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::Io(_))
    }

    /// Logs the error as an answer to a caller: at ERROR for a server
    /// error, else at INFO with its code and reason.
    pub fn log(&self) {
        if self.status().is_server_error() {
            tracing::error!(error = %self, code = self.code(), "request failed");
        } else {
            tracing::info!(error = %self, code = self.code(), reason = self.reason(), "request rejected");
        }
    }

    /// The message a client may see: internal details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            Error::Unavailable { .. } => {
                "the stream cannot take the record now; retry later".to_owned()
            }
            Error::Config(_) | Error::Io(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let mut error = json!({ "code": self.code(), "message": self.public_message() });
        if let Some(reason) = self.reason() {
            error["reason"] = reason.into();
        }
        let body = json!({ "error": error });
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            Error::Unavailable { retry_after, .. } => Some(*retry_after),
            Error::Io(_) => Some(Duration::from_secs(1)),
            _ => None,
        };
        if let Some(after) = retry_after {
            let secs = after.as_secs().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_maps_to_503_with_retry_after() {
        let response = Error::unavailable("throttled").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn internal_details_are_not_sent_to_clients() {
        let err = Error::unavailable("kinesis said: secret internal detail");
        assert!(!err.public_message().contains("secret"));
        let err = Error::Io(std::io::Error::other("/var/data/private path"));
        assert_eq!(err.public_message(), "internal error");
    }

    #[test]
    fn client_errors_map_to_their_status() {
        assert_eq!(
            Error::Unauthorized("x".into()).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::BadRequest("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(Error::NotFound("x".into()).status(), StatusCode::NOT_FOUND);
        assert_eq!(Error::Forbidden("x".into()).status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Error::PayloadTooLarge { limit: 1 }.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert!(!Error::BadRequest("x".into()).is_retriable());
    }
}
