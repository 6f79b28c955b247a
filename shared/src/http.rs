//! HTTP pieces every function's router shares: bounded body reading and the
//! JSON 404 and 405 answers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::{Error, Result};

/// Reads a whole body, refusing more than `limit` bytes with 413: at once if
/// `Content-Length` says so, else as soon as the stream passes the limit.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            Error::PayloadTooLarge { limit }
        } else {
            Error::BadRequest(format!("cannot read the request body: {inner}"))
        }
    })
}

/// The fallback handler of every router: a JSON 404 for an unknown path.
pub async fn route_not_found() -> Error {
    Error::NotFound("no such route".to_owned())
}

/// A JSON 405 naming the allowed methods in `Allow`.
pub fn method_not_allowed(allow: &str) -> Response {
    let mut response = Error::MethodNotAllowed.into_response();
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}
