//! The webhook receiver: `POST /webhooks/{source}` verifies a SaaS webhook's
//! signature over the raw body and publishes it as a Quix `EventData` in a
//! CloudEvent; it answers 200 only once the record is durably in the stream.

mod handshake;
mod lambda;
mod local;
mod replay;

pub use lambda::lambda_router;
pub use local::{curl, local, sample_body};

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use inlet_shared::config::{ConfigHandle, Source};
use inlet_shared::field::Document;
use inlet_shared::http::{method_not_allowed, read_body};
use inlet_shared::model::{CloudEvent, DeliveryKey, EventData, event_type, webhook_source};
use inlet_shared::publish::{DeliveryId, Publication, Publisher, Route};
use inlet_shared::rejected::{Rejected, Rejections};
use inlet_shared::signature::{Arrivals, SignatureError, Unverified, Verified};
use inlet_shared::telemetry::{self, WebhookOutcome};
use inlet_shared::time::unix_nanos;
use inlet_shared::{Config, Error, Result};
use serde::Serialize;

/// The receiver's state: the configuration (each request takes the current
/// one), the publisher, and the secrets that arrived in handshakes.
#[derive(Clone)]
pub struct WebhookReceiver {
    config: ConfigHandle,
    publisher: Publisher,
    arrivals: Arrivals,
    rejections: Option<Arc<dyn Rejections>>,
}

impl WebhookReceiver {
    /// A receiver of `config`'s sources, publishing through `publisher`.
    pub fn new(config: impl Into<ConfigHandle>, publisher: Publisher) -> Self {
        WebhookReceiver {
            config: config.into(),
            publisher,
            arrivals: Arrivals::default(),
            rejections: None,
        }
    }

    /// Keeps the webhooks refused for their signature in `rejections`.
    pub fn with_rejections(mut self, rejections: Arc<dyn Rejections>) -> Self {
        self.rejections = Some(rejections);
        self
    }

    /// Verifies a kept rejected webhook again with today's secrets, at the
    /// time it was received (so its timestamp is judged as it was), and if
    /// it passes publishes it as any webhook (its delivery id deduplicated).
    /// A shared-token request, whose token was not kept, is published only
    /// with `trust`.
    pub async fn replay(&self, rejected: &Rejected, trust: bool) -> Result<Response> {
        let config = self.config.fresh().await;
        let source = source(&config, &rejected.source)?;
        if rejected.body_cut {
            return Err(Error::Conflict(
                "its body was cut when it was kept, so it cannot be replayed".into(),
            ));
        }
        if rejected.credential_removed && !trust {
            return Err(Error::Conflict(
                "a shared-token request cannot be verified again (its token was not kept): replay it with --trust to publish it unverified".into(),
            ));
        }
        let uri: Uri = rejected
            .path_and_query
            .parse()
            .map_err(|_| Error::BadRequest("the kept path is not a URI".into()))?;
        let check = if rejected.credential_removed {
            Check::Trusted
        } else {
            Check::At(rejected.received())
        };
        let headers = rejected.header_map();
        let body = rejected.body();
        let (response, _) =
            verify_and_publish(self, &config, source, &uri, &headers, &body, check).await?;
        tracing::info!(source = %rejected.source, id = %rejected.id, trusted = trust, "rejected webhook replayed");
        Ok(response)
    }

    /// Keeps the secrets that arrive in handshakes in `arrivals` (the
    /// console's), for the operator to take.
    pub fn with_arrivals(mut self, arrivals: Arrivals) -> Self {
        self.arrivals = arrivals;
        self
    }
}

/// What the receiver warns about at start-up: every source that accepts
/// unsigned requests.
pub fn warnings(config: &Config) -> Vec<String> {
    config
        .unsigned_sources()
        .map(|source| {
            format!(
                "webhook source {:?} accepts UNSIGNED requests (scheme = \"none\"): anyone who knows the URL can publish",
                source.name
            )
        })
        .collect()
}

/// The answer to a published webhook.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The CloudEvent id of the record (the provider's delivery id, if any).
    pub id: String,
    /// The topic it went to.
    pub topic: String,
    /// The shard that took it (absent for a duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// Its sequence number in that shard (absent for a duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// The delivery was published before and was not published again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// The receiver's routes without a fallback, for mounting beside others.
pub fn routes(receiver: WebhookReceiver) -> Router {
    Router::new()
        .route(
            "/webhooks/{source}",
            post(receive)
                .get(handshake_get)
                .fallback(|| async { method_not_allowed("POST") }),
        )
        .with_state(receiver)
}

/// A GET on a source: a provider's handshake (Meta, Okta), else 405.
async fn handshake_get(
    State(receiver): State<WebhookReceiver>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response> {
    let name = source_name(path)?;
    let config = receiver.config.fresh().await;
    let source = source(&config, &name)?;
    let request = Unverified {
        headers: &headers,
        body: &[],
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        method: "GET",
        now: receiver.publisher.now(),
    };
    let answer = handshake::get(source, uri.query(), &request);
    if answer
        .as_ref()
        .is_ok_and(|r| r.status() == axum::http::StatusCode::OK)
    {
        telemetry::webhook_request(&source.name, WebhookOutcome::Handshake);
    }
    answer
}

/// The source name a request's path holds: 400 for a bad path.
fn source_name(path: Result<Path<String>, PathRejection>) -> Result<String> {
    let Path(name) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
    Ok(name)
}

/// The source called `name`: 404 for an unknown source.
fn source<'c>(config: &'c Config, name: &str) -> Result<&'c Source> {
    config
        .sources
        .get(name)
        .ok_or_else(|| Error::NotFound(format!("unknown webhook source {name:?}")))
}

/// How a request is checked: its signature verified as at a time (now, or
/// when a replayed request was received), or trusted (an operator's
/// replay of a shared-token request).
#[derive(Debug, Clone, Copy)]
enum Check {
    At(SystemTime),
    Trusted,
}

/// Keeps what was refused of a request to `source`, credentials removed.
async fn keep_rejected(
    rejections: &dyn Rejections,
    source: &Source,
    received: SystemTime,
    error: &SignatureError,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = format!(
        "{}-{}",
        inlet_shared::time::unix_millis(received),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let rejected = Rejected::new(
        id,
        &source.name,
        received,
        (error.reason(), error.to_string()),
        uri.path_and_query().map_or("/", |p| p.as_str()),
        headers,
        body,
        source.scheme.credential_header(),
    );
    // Keeping is for diagnosis: it never holds the 401 back for long.
    let keep = rejections.keep(rejected, source.keep_rejected, source.keep_rejected_for);
    if tokio::time::timeout(KEEP_WITHIN, keep).await.is_err() {
        tracing::warn!(source = %source.name, "a rejected webhook was not kept within {KEEP_WITHIN:?}");
    }
}

/// How long keeping a rejected webhook may hold its answer.
const KEEP_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// The receiver's webhook routes, served as in Lambda (unknown paths get a
/// JSON 404); the function itself adds replays: [`lambda_router`].
pub fn router(receiver: WebhookReceiver) -> Router {
    inlet_shared::http::served(routes(receiver))
}

async fn receive(
    State(receiver): State<WebhookReceiver>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let name = source_name(path)?;
    // The configuration, loaded again first where its secrets have outlived
    // their time to live (Lambda).
    let config = receiver.config.fresh().await;
    // An unknown source is not counted: its name is the caller's to choose.
    let source = source(&config, &name)?;
    let answer = match read_body(&headers, body, source.max_body_bytes).await {
        Ok(body) => {
            let now = receiver.publisher.now();
            let first = verify_and_publish(
                &receiver,
                &config,
                source,
                &uri,
                &headers,
                &body,
                Check::At(now),
            )
            .await;
            // A signature or token that matches no secret may be signed
            // with a rotated one: load the secrets again (at most once per
            // 30 s) and check this request once more.
            let mismatch = matches!(
                first,
                Err(Error::Signature(
                    SignatureError::NoMatch { .. } | SignatureError::BadToken { .. }
                ))
            );
            let answer = if mismatch && receiver.config.reload_after_mismatch().await {
                let config = receiver.config.current();
                match config.sources.get(&name) {
                    Some(source) => {
                        verify_and_publish(
                            &receiver,
                            &config,
                            source,
                            &uri,
                            &headers,
                            &body,
                            Check::At(now),
                        )
                        .await
                    }
                    None => first,
                }
            } else {
                first
            };
            if let (Err(Error::Signature(e)), Some(rejections)) = (&answer, &receiver.rejections) {
                keep_rejected(rejections.as_ref(), source, now, e, &uri, &headers, &body).await;
            }
            answer
        }
        Err(e) => Err(e),
    };
    let outcome = match &answer {
        Ok((_, outcome)) => *outcome,
        Err(Error::Signature(e)) => {
            telemetry::webhook_rejected(&source.name, e.reason());
            WebhookOutcome::Rejected
        }
        Err(Error::Unauthorized(_)) => WebhookOutcome::Rejected,
        Err(Error::PayloadTooLarge { .. } | Error::RecordTooLarge { .. }) => {
            WebhookOutcome::TooLarge
        }
        Err(Error::BadRequest(_)) => WebhookOutcome::BadRequest,
        Err(_) => WebhookOutcome::Unavailable,
    };
    telemetry::webhook_request(&source.name, outcome);
    answer.map(|(response, _)| response)
}

/// Verifies a webhook to `source` and publishes it (or answers its
/// handshake): the answer, and how it ended.
async fn verify_and_publish(
    receiver: &WebhookReceiver,
    config: &Config,
    source: &Source,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    check: Check,
) -> Result<(Response, WebhookOutcome)> {
    let now = receiver.publisher.now();
    let request = Unverified {
        headers,
        body,
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        method: "POST",
        now: match check {
            Check::At(at) => at,
            Check::Trusted => now,
        },
    };
    if let Some(answer) = handshake::notion(source, &request, &receiver.arrivals) {
        return Ok((answer, WebhookOutcome::Handshake));
    }
    let verified = match check {
        Check::At(_) => source
            .scheme
            .verify(&source.secrets, &request, source.tolerance)?,
        Check::Trusted => Verified::trusted(body.to_vec().into()),
    };
    let mut webhook = Webhook::parse(source, &request, &verified)?;
    if let Some(answer) = webhook.handshake.take() {
        return Ok((answer, WebhookOutcome::Handshake));
    }
    let topic = config.topic(&source.topic)?;
    let delivery = match &webhook.delivery_id {
        Some(id) if !source.dedupe_window.is_zero() => Some(DeliveryId {
            key: DeliveryKey::new(&source.name, id),
            window: source.dedupe_window,
        }),
        _ => None,
    };
    let origin = webhook_source(&source.name);
    let route = Route {
        source: &origin,
        topic,
        stream_id: &source.stream_id,
    };
    let event = webhook.into_cloud_event(&receiver.publisher, &route, now);
    let outcome = receiver
        .publisher
        .publish_once(&route, "webhook", &event, delivery.as_ref())
        .await?;
    let (shard_id, sequence_number, duplicate) = match outcome {
        Publication::Stored(ack) => (Some(ack.shard_id), Some(ack.sequence_number), false),
        Publication::Duplicate => (None, None, true),
    };
    let outcome = if duplicate {
        WebhookOutcome::Duplicate
    } else {
        WebhookOutcome::Published
    };
    let receipt = Receipt {
        id: event.id,
        topic: topic.name.clone(),
        shard_id,
        sequence_number,
        duplicate,
    };
    Ok((Json(receipt).into_response(), outcome))
}

/// A verified webhook, read: its body as JSON text (form bodies become an
/// object of their fields), event id, delivery id, and the answer to a
/// handshake (Slack's, Zoom's), which is never published.
struct Webhook {
    value: String,
    event_id: String,
    delivery_id: Option<String>,
    handshake: Option<Response>,
}

impl Webhook {
    fn parse(source: &Source, request: &Unverified<'_>, verified: &Verified) -> Result<Webhook> {
        let headers = request.headers;
        let body = verified.body();
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let value = if form {
            let fields: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect();
            serde_json::Value::Object(fields).to_string()
        } else {
            std::str::from_utf8(body)
                .map_err(|_| Error::BadRequest("body is not valid UTF-8 JSON".to_owned()))?
                .to_owned()
        };
        let json = Document::parse(&value)
            .map_err(|e| Error::BadRequest(format!("body is not valid JSON: {e}")))?;
        // A handshake is answered and never published (nor needs an event id).
        if let Some(answer) = handshake::post(source, &json, request) {
            return Ok(Webhook {
                value: String::new(),
                event_id: String::new(),
                delivery_id: None,
                handshake: Some(answer),
            });
        }
        let event_id = source.event_id.resolve(&json, headers).ok_or_else(|| {
            Error::BadRequest(format!(
                "no event id: expected a value at {}",
                source.event_id.describe()
            ))
        })?;
        let delivery_id = source
            .delivery_id
            .as_ref()
            .and_then(|field| field.resolve(&json, headers));
        Ok(Webhook {
            value,
            event_id,
            delivery_id,
            handshake: None,
        })
    }

    /// The event a webhook becomes: `EventData` whose id is the configured
    /// field and whose value is the body; the CloudEvent id is the provider's
    /// delivery id where there is one.
    fn into_cloud_event(
        self,
        publisher: &Publisher,
        route: &Route<'_>,
        now: SystemTime,
    ) -> CloudEvent<EventData> {
        let data = EventData {
            id: self.event_id,
            timestamp: unix_nanos(now),
            value: self.value,
            tags: Default::default(),
        };
        let mut event = publisher.event(route, event_type::EVENTS, now, data);
        if let Some(id) = self.delivery_id {
            event.id = id;
        }
        event
    }
}

#[cfg(test)]
mod provider_tests;
#[cfg(test)]
mod tests;
