//! The handshakes providers require before they save a webhook URL,
//! answered as each documents and never published:
//!
//! - Meta (`meta`): `GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`
//!   answered 200 with the challenge as plain text when the verify token is
//!   the configured `verify_token`, else 403 (developers.facebook.com,
//!   Webhooks getting started).
//! - Okta (`okta`): a GET carrying `X-Okta-Verification-Challenge`, with its
//!   token like any request, answered `{"verification": <the header>}`
//!   (developer.okta.com, event hooks: one-time verification).
//! - Zoom (`zoom`): a POST of event `endpoint.url_validation`, signed like
//!   any event and verified first (so the answer is no signing oracle),
//!   answered `{"plainToken", "encryptedToken"}`, the hex HMAC-SHA256 of the
//!   plain token under the secret that verified it (zoom/webhook-sample).
//! - Slack's `url_verification` (a POST) is answered where the body is read.

use axum::Json;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use inlet_shared::config::Source;
use inlet_shared::field::Lookup;
use inlet_shared::http::method_not_allowed;
use inlet_shared::signature::Unverified;
use inlet_shared::{Error, Result};
use serde_json::json;

/// Okta's one-time verification header.
const OKTA_CHALLENGE: &str = "x-okta-verification-challenge";

/// The answer to a GET on `source`: a handshake where the provider has one,
/// else 405.
pub(crate) fn get(
    source: &Source,
    query: Option<&str>,
    request: &Unverified<'_>,
) -> Result<Response> {
    match source.scheme.name() {
        "meta" => meta(source, query),
        "okta" => okta(source, request),
        _ => Ok(method_not_allowed("POST")),
    }
}

fn meta(source: &Source, query: Option<&str>) -> Result<Response> {
    let mut mode = None;
    let mut challenge = None;
    let mut token = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match &*key {
            "hub.mode" => mode = Some(value.into_owned()),
            "hub.challenge" => challenge = Some(value.into_owned()),
            "hub.verify_token" => token = Some(value.into_owned()),
            _ => {}
        }
    }
    let expected = source.verify_token.as_ref().ok_or_else(|| {
        Error::Forbidden(format!(
            "source {:?} has no verify_token to check Meta's subscription against",
            source.name
        ))
    })?;
    if mode.as_deref() != Some("subscribe") || !token.is_some_and(|t| expected.matches(&t)) {
        return Err(Error::Forbidden(
            "hub.mode must be subscribe and hub.verify_token the configured verify_token".into(),
        ));
    }
    let challenge =
        challenge.ok_or_else(|| Error::BadRequest("hub.challenge is missing".into()))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

fn okta(source: &Source, request: &Unverified<'_>) -> Result<Response> {
    let challenge = header_text(request.headers, OKTA_CHALLENGE)
        .ok_or_else(|| Error::BadRequest(format!("a GET needs the {OKTA_CHALLENGE} header")))?;
    source
        .scheme
        .verify(&source.secrets, request, source.tolerance)?;
    Ok(Json(json!({ "verification": challenge })).into_response())
}

/// Zoom's `endpoint.url_validation`, after the request was verified: the
/// answer, or `None` for any other event.
pub(crate) fn zoom(
    source: &Source,
    json: &impl Lookup,
    request: &Unverified<'_>,
) -> Option<Response> {
    if source.scheme.name() != "zoom"
        || json.scalar_at("/event").as_deref() != Some("endpoint.url_validation")
    {
        return None;
    }
    let plain = json.scalar_at("/payload/plainToken")?;
    let secret = source.secrets.iter().find(|secret| {
        source
            .scheme
            .verify(std::slice::from_ref(*secret), request, source.tolerance)
            .is_ok()
    })?;
    let encrypted = secret.hmac_sha256_hex(plain.as_bytes());
    Some(Json(json!({ "plainToken": plain, "encryptedToken": encrypted })).into_response())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}
