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

/// Every error answer with the documented body `{"error": {"code",
/// "message"}}`: answers made outside Inlet's handlers (axum's extractor
/// rejections in plain text, an empty 405, the timeout layer's empty 408)
/// are rewritten here, once, keeping their status and headers. Apply it
/// with `axum::middleware::map_response(json_errors)` as the outermost
/// layer.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // 101 and the rest of the 1xx-3xx, and JSON errors, pass as they are.
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let body = serde_json::json!({ "error": { "code": status_code(status), "message": text } });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// The error body's `code` for a status made outside Inlet's handlers, in
/// the words [`Error::code`] uses.
fn status_code(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        503 => "unavailable",
        s if s < 500 => "bad_request",
        _ => "internal",
    }
}

/// A function's router as it is served: unknown paths get a JSON 404 and
/// every error answer the JSON body ([`json_errors`]).
pub fn served(router: axum::Router) -> axum::Router {
    router
        .fallback(route_not_found)
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::map_response(flush_metrics))
}

/// In Lambda, writes the invocation's metrics (EMF) once it is answered; a
/// no-op elsewhere.
async fn flush_metrics(response: axum::response::Response) -> axum::response::Response {
    crate::telemetry::emf::flush();
    response
}

/// Whether the request's `Host` is a loopback name or address (with or
/// without a port).
pub fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let is_port = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((name, "")) => name,
            Some((name, after)) if after.strip_prefix(':').is_some_and(is_port) => name,
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    async fn rewritten(response: Response) -> (StatusCode, HeaderMap, serde_json::Value) {
        let response = json_errors(response).await;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&body).unwrap(),
        )
    }

    #[tokio::test]
    async fn plain_and_empty_error_answers_get_the_json_body_and_keep_their_headers() {
        let (status, headers, body) = rewritten(
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "POST")],
                "",
            )
                .into_response(),
        )
        .await;
        assert_eq!(status, 405);
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(body["error"]["message"], "method not allowed");

        let (status, _, body) =
            rewritten((StatusCode::REQUEST_TIMEOUT, Body::empty()).into_response()).await;
        assert_eq!(status, 408);
        assert_eq!(body["error"]["code"], "request_timeout");

        let (_, headers, body) = rewritten(
            (
                StatusCode::BAD_REQUEST,
                "Failed to deserialize query string: negotiateVersion: invalid digit",
            )
                .into_response(),
        )
        .await;
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("negotiateVersion")
        );
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_unchanged() {
        let ok = json_errors((StatusCode::OK, "plain").into_response()).await;
        assert_eq!(
            axum::body::to_bytes(ok.into_body(), 100).await.unwrap(),
            "plain"
        );
        let (_, _, body) =
            rewritten(Error::NotFound("no such source".into()).into_response()).await;
        assert_eq!(body["error"]["message"], "no such source");
    }

    #[test]
    fn only_loopback_names_and_addresses_are_loopback_hosts() {
        let host = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, value.parse().unwrap());
            host_is_loopback(&headers)
        };
        for loopback in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1:8787",
            "127.5.6.7",
            "[::1]:80",
            "[::1]",
        ] {
            assert!(host(loopback), "{loopback}");
        }
        for foreign in [
            "rebind.evil.example",
            "rebind.evil.example:8787",
            "localhost.evil.example",
            "10.0.0.1:8787",
            "[fe80::1]:80",
        ] {
            assert!(!host(foreign), "{foreign}");
        }
        assert!(!host_is_loopback(&HeaderMap::new()));
    }
}
