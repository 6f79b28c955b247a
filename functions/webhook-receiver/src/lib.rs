//! The webhook receiver: `POST /webhooks/{source}` verifies a SaaS webhook's
//! signature over the raw body and publishes it as a Quix `EventData` in a
//! CloudEvent; it answers 200 only once the record is durably in the stream.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use inlet_shared::config::{Field, Source};
use inlet_shared::http::{method_not_allowed, read_body, route_not_found};
use inlet_shared::model::{CloudEvent, EventData, event_type, unix_nanos};
use inlet_shared::signature::Verified;
use inlet_shared::sink::Sink;
use inlet_shared::{Clock, Config, Error, Result, system_clock};
use serde::Serialize;

/// The receiver's state: configuration, sink and clock, built once.
#[derive(Clone)]
pub struct Receiver {
    config: Arc<Config>,
    sink: Arc<dyn Sink>,
    clock: Clock,
}

impl Receiver {
    /// A receiver on the system clock.
    pub fn new(config: Arc<Config>, sink: Arc<dyn Sink>) -> Self {
        Receiver {
            config,
            sink,
            clock: system_clock(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Logs a warning for every source that accepts unsigned requests.
    pub fn warn_unsigned(&self) {
        for source in self.config.unsigned_sources() {
            tracing::warn!(
                source = %source.name,
                "webhook source accepts UNSIGNED requests (scheme = \"none\"): anyone who knows the URL can publish"
            );
        }
    }
}

/// The answer to a published webhook.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// The CloudEvent id of the record.
    pub id: String,
    /// The topic it went to.
    pub topic: String,
    /// The shard that took it.
    pub shard_id: String,
    /// Its sequence number in that shard.
    pub sequence_number: String,
}

/// The receiver's routes without a fallback, for mounting beside others.
pub fn routes(receiver: Receiver) -> Router {
    Router::new()
        .route(
            "/webhooks/{source}",
            post(receive).fallback(|| async { method_not_allowed("POST") }),
        )
        .with_state(receiver)
}

/// The receiver's whole router, as served in Lambda: unknown paths get a JSON 404.
pub fn router(receiver: Receiver) -> Router {
    routes(receiver).fallback(route_not_found)
}

async fn receive(
    State(receiver): State<Receiver>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Published>> {
    let Path(name) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
    let source = receiver
        .config
        .sources
        .get(&name)
        .ok_or_else(|| Error::NotFound(format!("unknown webhook source {name:?}")))?;
    let body = read_body(&headers, body, source.max_body_bytes).await?;
    let now = (receiver.clock)();
    let verified = source.scheme.verify(&source.secrets, &headers, body, now)?;
    let event = to_cloud_event(source, &verified, now)?;
    let topic = receiver.config.topic(&source.topic)?;
    let ack = receiver
        .sink
        .put(topic, vec![event.to_record()])
        .await?
        .pop()
        .expect("one ack per record");
    tracing::info!(
        source = %source.name,
        topic = %topic.name,
        id = %event.id,
        sequence_number = %ack.sequence_number,
        "webhook published"
    );
    Ok(Json(Published {
        id: event.id,
        topic: topic.name.clone(),
        shard_id: ack.shard_id,
        sequence_number: ack.sequence_number,
    }))
}

/// The event a verified webhook becomes: `EventData` whose id is the
/// configured field (Segment: the body's `type`) and whose value is the body.
fn to_cloud_event(source: &Source, verified: &Verified, now: SystemTime) -> Result<CloudEvent> {
    let text = std::str::from_utf8(verified.body())
        .map_err(|_| Error::BadRequest("body is not valid UTF-8 JSON".to_owned()))?;
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::BadRequest(format!("body is not valid JSON: {e}")))?;
    let id = match &source.event_id {
        Field::Constant(id) => id.clone(),
        Field::Pointer(pointer) => match json.pointer(pointer) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            _ => {
                return Err(Error::BadRequest(format!(
                    "body has no event id: expected a string at {pointer}"
                )));
            }
        },
    };
    let data = EventData {
        id,
        timestamp: unix_nanos(now),
        value: text.to_owned(),
        tags: Default::default(),
    };
    Ok(CloudEvent::new(
        format!("/webhooks/{}", source.name),
        event_type::EVENTS,
        source.topic.clone(),
        source.stream_id.clone(),
        now,
        serde_json::to_value(data).expect("EventData always serialises"),
    ))
}

#[cfg(test)]
mod tests;
