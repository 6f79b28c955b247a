//! HTTP pieces every function's router shares: bounded body reading, the
//! JSON 404 and 405 answers, and the one CORS policy of browser-facing
//! endpoints.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;
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

/// The CORS policy of every endpoint a browser page calls (the Writer API,
/// the hub's negotiate), from `writer.cors_origins`; `None` adds no CORS
/// headers. An allowed origin is echoed with credentials allowed: the
/// SignalR client negotiates with `credentials: "include"`, which a `*`
/// answer fails.
pub fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::mirror_request(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-requested-with"),
                HeaderName::from_static("x-signalr-user-agent"),
            ])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}
