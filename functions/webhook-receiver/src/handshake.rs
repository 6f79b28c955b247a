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
//! - Slack (`slack`): a POST `{"type": "url_verification", "challenge"}`,
//!   signed and verified like any event, answered `{"challenge"}`.
//! - Twitch (`twitch`): a POST with `Twitch-Eventsub-Message-Type:
//!   webhook_callback_verification`, verified like any event, answered 200
//!   with the `challenge` as plain text (dev.twitch.tv, handling webhook
//!   events).
//! - Discord (`discord`, Webhook Events): a PING `{"type": 0}`, verified
//!   like any event, answered 204 with no body (discord.com/developers,
//!   webhook events).
//! - X (`twitter`): `GET ?crc_token=…` answered `{"response_token":
//!   "sha256=<base64 HMAC-SHA256 of the token>"}` under the first secret
//!   (docs.x.com, webhooks). X does not sign the GET, so the token is
//!   restricted (at most 256 characters of the base64 and base64url
//!   alphabets, and not itself JSON) so that the answer cannot sign a body.
//! - Notion (`notion`): its first POST, unsigned, carries
//!   `{"verification_token"}`, the secret that signs every later event. It is
//!   kept in memory for the operator to take once ([`Arrivals`]), never
//!   logged, and answered 200; it verifies nothing until the operator puts it
//!   in `secrets`.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use inlet_shared::config::Source;
use inlet_shared::field::Lookup;
use inlet_shared::http::method_not_allowed;
use inlet_shared::signature::{Arrivals, Unverified};
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
        "twitter" => crc(source, query),
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

/// The answer to a verified POST that is a provider's handshake (Slack,
/// Zoom, Twitch, Discord), or `None` for an event to publish.
pub(crate) fn post(
    source: &Source,
    json: &impl Lookup,
    request: &Unverified<'_>,
) -> Option<Response> {
    match source.scheme.name() {
        "slack" if json.scalar_at("/type").as_deref() == Some("url_verification") => {
            let challenge = json.scalar_at("/challenge")?;
            Some(Json(json!({ "challenge": challenge })).into_response())
        }
        "zoom" if json.scalar_at("/event").as_deref() == Some("endpoint.url_validation") => {
            zoom(source, json, request)
        }
        "twitch"
            if header_text(request.headers, TWITCH_MESSAGE_TYPE)
                == Some("webhook_callback_verification") =>
        {
            let challenge = json.scalar_at("/challenge")?;
            Some(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response())
        }
        "discord" if json.scalar_at("/type").as_deref() == Some("0") => {
            Some(StatusCode::NO_CONTENT.into_response())
        }
        _ => None,
    }
}

/// Twitch's message type header.
const TWITCH_MESSAGE_TYPE: &str = "twitch-eventsub-message-type";

/// Zoom's `endpoint.url_validation`, after the request was verified: the
/// plain token and its HMAC under the secret that verified the request.
fn zoom(source: &Source, json: &impl Lookup, request: &Unverified<'_>) -> Option<Response> {
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

/// The longest CRC token answered.
const MAX_CRC_TOKEN: usize = 256;

fn crc(source: &Source, query: Option<&str>) -> Result<Response> {
    let token = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "crc_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| Error::BadRequest("a GET needs the crc_token query parameter".into()))?;
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "+/=_-".contains(c);
    if token.is_empty()
        || token.len() > MAX_CRC_TOKEN
        || !token.chars().all(alphabet)
        || serde_json::from_str::<serde_json::Value>(&token).is_ok()
    {
        return Err(Error::BadRequest(format!(
            "crc_token must be 1 to {MAX_CRC_TOKEN} characters of the base64 alphabets, and not JSON"
        )));
    }
    let secret = source.secrets.first().ok_or_else(|| {
        Error::Forbidden("the source has no secret to answer X's CRC with".into())
    })?;
    let response = BASE64.encode(secret.hmac_sha256(token.as_bytes()));
    Ok(Json(json!({ "response_token": format!("sha256={response}") })).into_response())
}

/// Notion's first request, unsigned, carrying the subscription's
/// verification token: kept for the operator, answered 200, never logged.
/// `None` for any other request (which is then verified as usual).
pub(crate) fn notion(
    source: &Source,
    request: &Unverified<'_>,
    arrivals: &Arrivals,
) -> Option<Response> {
    if source.scheme.name() != "notion" || request.headers.contains_key(NOTION_SIGNATURE) {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(request.body).ok()?;
    let token = body.get("verification_token")?.as_str()?;
    arrivals.put(&source.name, token.to_owned(), request.now);
    tracing::warn!(
        source = %source.name,
        "Notion sent its verification token (not logged): take it once with `inlet handshake-secret --source {}` or in the console, paste it into Notion, then add it to the source's secrets",
        source.name
    );
    Some(Json(json!({ "received": "verification_token" })).into_response())
}

/// Notion's signature header.
const NOTION_SIGNATURE: &str = "x-notion-signature";

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}
