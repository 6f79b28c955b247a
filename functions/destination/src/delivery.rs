//! The delivery core both drivers share: a batch of a topic's records in,
//! one [`Outcome`] per record out.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use inlet_shared::time::{Backoff, Jitter, unix_millis};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One record to deliver, wherever it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The topic.
    pub topic: String,
    /// The shard it was read from (`shardId-000000000000` locally).
    pub shard: String,
    /// Its sequence number in the shard.
    pub sequence: String,
    /// Its partition key (the stream id).
    pub partition_key: String,
    /// When the stream stored it.
    pub arrival: SystemTime,
    /// Its data: a CloudEvent in JSON.
    pub data: Bytes,
}

impl Delivery {
    /// The Standard Webhooks message id: the same for every attempt at
    /// this record (`msg_` and a hash of topic, shard and sequence), so a
    /// receiver can drop a redelivery.
    pub fn message_id(&self) -> String {
        let mut hash = Sha256::new();
        for part in [&self.topic, &self.shard, &self.sequence] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        format!("msg_{}", hex::encode(&hash.finalize()[..16]))
    }

    /// The data as JSON, or as a base64 string if it is not JSON.
    pub fn data_json(&self) -> Value {
        serde_json::from_slice(&self.data)
            .unwrap_or_else(|_| Value::String(BASE64.encode(&self.data)))
    }

    /// Where it is, for logs and dead letters.
    pub fn position(&self) -> String {
        format!("{}/{}/{}", self.topic, self.shard, self.sequence)
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by the destination.
    Delivered,
    /// Not now; worth another attempt, `after` when the destination said
    /// (`Retry-After`).
    Retry {
        /// Why, for the log.
        reason: String,
        /// How long the destination asked to wait.
        after: Option<Duration>,
    },
    /// Never deliverable as it is: parked in the dead letter.
    Poison(Parked),
    /// The endpoint is gone (410): it is disabled, and this record and the
    /// later ones are parked until it is enabled again.
    Gone(Parked),
}

/// Why a record was parked, as the dead letter keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// Why.
    pub reason: String,
    /// The HTTP status, if there was one.
    pub status: Option<u16>,
    /// The start of the response body, if there was one.
    pub response: Option<String>,
}

impl Parked {
    /// Parked for `reason` alone.
    pub fn because(reason: impl Into<String>) -> Self {
        Parked {
            reason: reason.into(),
            status: None,
            response: None,
        }
    }

    /// The dead letter's line for `record`.
    pub fn dead_letter(&self, destination: &str, record: &Delivery, at: SystemTime) -> Value {
        json!({
            "destination": destination,
            "topic": record.topic,
            "shard": record.shard,
            "sequence": record.sequence,
            "partitionKey": record.partition_key,
            "arrivalMillis": unix_millis(record.arrival),
            "parkedAtMillis": unix_millis(at),
            "reason": self.reason,
            "status": self.status,
            "response": self.response,
            "data": record.data_json(),
        })
    }
}

/// A consumer's progress past a batch, for a destination that keeps it
/// with the records (exactly once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The consumer (the destination's name).
    pub consumer: String,
    /// The next record to deliver once this batch is in.
    pub next: u64,
}

/// A destination: delivers a batch, saying what became of each record.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Delivers `batch` (records of one shard, in order); one outcome per
    /// record, in the same order.
    async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome>;

    /// [`Deliver::deliver`], keeping `progress` with the records if the
    /// destination can (in one transaction): then, if every record is
    /// delivered or parked, [`Deliver::progress`] says so after a crash.
    async fn deliver_recording(
        &self,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Vec<Outcome> {
        let _ = progress;
        self.deliver(batch).await
    }

    /// The progress the destination keeps for `consumer`, if it keeps any.
    async fn progress(&self, consumer: &str) -> std::io::Result<Option<u64>> {
        let _ = consumer;
        Ok(None)
    }

    /// Moves the progress the destination keeps (if it keeps any) back or
    /// on to `progress.next`: a rewind.
    async fn set_progress(&self, progress: &Progress) -> std::io::Result<()> {
        let _ = progress;
        Ok(())
    }
}

/// A destination's delivery, its outcomes counted and its lag (the age of
/// the last record delivered) kept as metrics.
pub(crate) struct Measured {
    name: String,
    inner: std::sync::Arc<dyn Deliver>,
}

impl Measured {
    pub(crate) fn new(name: &str, inner: std::sync::Arc<dyn Deliver>) -> Self {
        Measured {
            name: name.to_owned(),
            inner,
        }
    }

    fn measure(&self, batch: &[Delivery], outcomes: &[Outcome]) {
        use inlet_shared::telemetry::{destination_disabled, destination_lag, destination_records};
        let mut counts = [0usize; 3];
        for outcome in outcomes {
            counts[match outcome {
                Outcome::Delivered => 0,
                Outcome::Retry { .. } => 1,
                Outcome::Poison(_) | Outcome::Gone(_) => 2,
            }] += 1;
        }
        for (outcome, count) in ["delivered", "retried", "parked"].into_iter().zip(counts) {
            if count > 0 {
                destination_records(&self.name, outcome, count);
            }
        }
        if outcomes.iter().any(|o| matches!(o, Outcome::Gone(_))) {
            destination_disabled(&self.name, true);
        }
        let last_delivered = batch
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| matches!(o, Outcome::Delivered))
            .map(|(record, _)| record.arrival)
            .max();
        if let Some(arrival) = last_delivered {
            destination_disabled(&self.name, false);
            let behind = SystemTime::now()
                .duration_since(arrival)
                .unwrap_or_default();
            destination_lag(&self.name, behind);
        }
    }
}

#[async_trait]
impl Deliver for Measured {
    async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        let outcomes = self.inner.deliver(batch).await;
        self.measure(batch, &outcomes);
        outcomes
    }

    async fn deliver_recording(
        &self,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Vec<Outcome> {
        let outcomes = self.inner.deliver_recording(batch, progress).await;
        self.measure(batch, &outcomes);
        outcomes
    }

    async fn progress(&self, consumer: &str) -> std::io::Result<Option<u64>> {
        self.inner.progress(consumer).await
    }

    async fn set_progress(&self, progress: &Progress) -> std::io::Result<()> {
        self.inner.set_progress(progress).await
    }
}

/// An error and its causes, `: `-separated (the cause says why: a refused
/// certificate, a reset connection).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait before retry `retry` (1-based): jittered, doubling from about a
/// second to five minutes, or what the destination asked for.
pub fn backoff(retry: u32, asked: Option<Duration>) -> Duration {
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(500),
        max: Duration::from_secs(300),
        jitter: Jitter::Equal,
    };
    // At least a second, whatever was asked (`Retry-After: 0` must not spin).
    asked.map_or_else(
        || BACKOFF.delay(retry),
        |asked| asked.max(Duration::from_secs(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: &str) -> Delivery {
        Delivery {
            topic: "orders".into(),
            shard: "shardId-000000000000".into(),
            sequence: sequence.into(),
            partition_key: "s".into(),
            arrival: SystemTime::UNIX_EPOCH,
            data: Bytes::from_static(b"{\"id\":1}"),
        }
    }

    #[test]
    fn a_record_keeps_its_message_id_and_another_gets_its_own() {
        assert_eq!(record("1").message_id(), record("1").message_id());
        assert_ne!(record("1").message_id(), record("2").message_id());
        let id = record("1").message_id();
        assert!(id.starts_with("msg_") && !id.contains('.'), "{id}");
    }

    #[test]
    fn backoff_grows_to_five_minutes_and_honours_retry_after() {
        assert!(backoff(1, None) <= Duration::from_secs(1));
        assert!(backoff(40, None) >= Duration::from_secs(150));
        assert!(backoff(40, None) <= Duration::from_secs(300));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_dead_letter_keeps_the_record_and_why() {
        let line = Parked {
            reason: "400 Bad Request".into(),
            status: Some(400),
            response: Some("no".into()),
        }
        .dead_letter("hook", &record("7"), SystemTime::UNIX_EPOCH);
        assert_eq!(line["data"]["id"], 1);
        assert_eq!(line["status"], 400);
        assert_eq!(line["sequence"], "7");
    }
}
