//! Unordered destinations in AWS: a record worth retrying is set aside in
//! an SQS retry queue (the template's `DestinationRetries`), delayed by the
//! back-off (at most SQS's 15 minutes), so later records flow. The retry
//! function (the same binary, triggered by the queue) delivers each again:
//! delivered, it is done; refused for good, it is parked; refused again, it
//! goes back with a longer delay, until `max_attempts`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use inlet_shared::config::Destination;
use inlet_shared::time::unix_millis;
use serde::{Deserialize, Serialize};

use crate::delivery::{Deliver, Delivery, Outcome, Parked, backoff};
use crate::table::DestinationTable;

/// The longest one attempt may take here (an HTTP destination's timeout is
/// at most this in practice; a slower one is cut and retried).
const ATTEMPT_TIME: Duration = Duration::from_secs(20);
/// SQS's longest delay.
const MAX_DELAY: Duration = Duration::from_secs(900);
/// The largest record the queue takes (a message is 256 KiB, base64 adds a
/// third).
pub const MAX_RECORD_BYTES: usize = 180 * 1024;

/// A record set aside, as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryMessage {
    /// The destination.
    pub destination: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The record's topic.
    pub topic: String,
    /// Its shard.
    pub shard: String,
    /// Its sequence number.
    pub sequence: String,
    /// Its partition key.
    pub partition_key: String,
    /// When the stream stored it (Unix milliseconds).
    pub arrival_millis: u64,
    /// Its data, base64.
    pub data: String,
}

impl RetryMessage {
    fn delivery(&self) -> Option<Delivery> {
        Some(Delivery {
            topic: self.topic.clone(),
            shard: self.shard.clone(),
            sequence: self.sequence.clone(),
            partition_key: self.partition_key.clone(),
            arrival: SystemTime::UNIX_EPOCH + Duration::from_millis(self.arrival_millis),
            data: Bytes::from(BASE64.decode(&self.data).ok()?),
        })
    }
}

/// The retry queue.
#[derive(Clone, Debug)]
pub struct RetryQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl RetryQueue {
    /// The queue at `url`, through `client`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        RetryQueue {
            client,
            url: url.into(),
        }
    }

    /// Sets `record` aside for attempt `attempts + 1` after `delay`.
    pub async fn send(
        &self,
        destination: &str,
        record: &Delivery,
        attempts: u32,
        delay: Duration,
    ) -> std::io::Result<()> {
        if record.data.len() > MAX_RECORD_BYTES {
            return Err(std::io::Error::other(format!(
                "a record of {} bytes is larger than the retry queue takes",
                record.data.len()
            )));
        }
        let message = RetryMessage {
            destination: destination.to_owned(),
            attempts,
            topic: record.topic.clone(),
            shard: record.shard.clone(),
            sequence: record.sequence.clone(),
            partition_key: record.partition_key.clone(),
            arrival_millis: unix_millis(record.arrival),
            data: BASE64.encode(&record.data),
        };
        let delay = i32::try_from(delay.min(MAX_DELAY).as_secs()).unwrap_or(900);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(&message).expect("serializes"))
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|e| std::io::Error::other(format!("SQS: {}", e.into_service_error())))?;
        Ok(())
    }
}

/// The retry function: every destination's records set aside.
pub struct RetryFunction {
    destinations: HashMap<String, (Destination, Arc<dyn Deliver>)>,
    table: DestinationTable,
    queue: RetryQueue,
}

impl RetryFunction {
    /// Delivers for `destinations`, parking in `table`, requeueing in
    /// `queue`.
    pub fn new(
        destinations: impl IntoIterator<Item = (Destination, Arc<dyn Deliver>)>,
        table: DestinationTable,
        queue: RetryQueue,
    ) -> Self {
        RetryFunction {
            destinations: destinations
                .into_iter()
                .map(|(d, deliver)| (d.name.clone(), (d, deliver)))
                .collect(),
            table,
            queue,
        }
    }

    /// Another attempt at each queued record before `deadline` (the
    /// invocation's); the messages not dealt with are reported, so SQS
    /// offers them again.
    pub async fn handle(&self, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            if Instant::now() + ATTEMPT_TIME > deadline {
                // No time for another attempt: offered again later.
                response.add_failure(id);
                continue;
            }
            let parsed: Option<RetryMessage> = message
                .body
                .as_deref()
                .and_then(|body| serde_json::from_str(body).ok());
            let Some(retry) = parsed else {
                tracing::error!(message = %id, "not a retry message: dropped");
                continue;
            };
            if !self.attempt(&retry).await {
                response.add_failure(id);
            }
        }
        response
    }

    /// One attempt; `false` if the message must be offered again.
    async fn attempt(&self, retry: &RetryMessage) -> bool {
        let Some((settings, deliver)) = self.destinations.get(&retry.destination) else {
            tracing::error!(destination = %retry.destination, "a retry for a destination the configuration no longer has: dropped");
            return true;
        };
        let Some(record) = retry.delivery() else {
            tracing::error!(destination = %retry.destination, "a retry message without base64 data: dropped");
            return true;
        };
        let name = &settings.name;
        let outcome = match self.table.disabled(name).await {
            Ok(Some(why)) => Outcome::Poison(Parked::because(format!(
                "the endpoint is disabled ({why}); enable it with `inlet destinations enable {name}`"
            ))),
            Ok(None) => {
                let attempt = deliver.deliver(std::slice::from_ref(&record));
                match tokio::time::timeout(ATTEMPT_TIME, attempt).await {
                    Ok(mut outcomes) => outcomes.pop().unwrap_or(Outcome::Delivered),
                    Err(_) => Outcome::Retry {
                        reason: format!("no answer within {ATTEMPT_TIME:?}"),
                        after: None,
                    },
                }
            }
            Err(e) => {
                tracing::error!(destination = %name, "cannot read the destination's state: {e}");
                return false;
            }
        };
        let attempts = retry.attempts + 1;
        let parked = match outcome {
            Outcome::Delivered => {
                tracing::info!(destination = %name, record = %record.position(), attempt = attempts, "delivered on retry");
                return true;
            }
            Outcome::Gone(why) => {
                if let Err(e) = self.table.disable(name, &why.reason).await {
                    tracing::error!(destination = %name, "cannot disable the endpoint: {e}");
                    return false;
                }
                why
            }
            Outcome::Poison(why) => why,
            Outcome::Retry { reason, .. }
                if settings.max_attempts.is_some_and(|max| attempts >= max) =>
            {
                Parked::because(format!("gave up after {attempts} attempts: {reason}"))
            }
            Outcome::Retry { reason, after } => {
                let delay = backoff(attempts, after);
                tracing::info!(destination = %name, record = %record.position(), attempt = attempts, "not delivered: {reason}; again in {delay:?}");
                return match self.queue.send(name, &record, attempts, delay).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(destination = %name, "cannot requeue: {e}");
                        false
                    }
                };
            }
        };
        let line = parked.dead_letter(name, &record, SystemTime::now());
        tracing::error!(destination = %name, record = %record.position(), "parked: {}", parked.reason);
        self.table.park(name, &line).await.is_ok()
    }
}

/// What [`redrive`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redriven {
    /// Parked records queued for delivery again (and forgotten in the table).
    pub queued: usize,
    /// Parked records kept cut (over 350 KB), left in the table.
    pub truncated: usize,
}

/// Queues every record `destination` parked in `table` for delivery again
/// through the retry queue (the retry function delivers it), forgetting it
/// in the table once queued.
pub async fn redrive(
    table: &DestinationTable,
    queue: &RetryQueue,
    destination: &str,
) -> std::io::Result<Redriven> {
    let mut done = Redriven {
        queued: 0,
        truncated: 0,
    };
    for item in table.parked(destination).await? {
        if item["truncated"] == true {
            done.truncated += 1;
            continue;
        }
        let sk = item["sk"].as_str().unwrap_or_default();
        let mut place = sk.splitn(3, '#').skip(1);
        let (Some(shard), Some(sequence)) = (place.next(), place.next()) else {
            continue;
        };
        // Kept as JSON: the CloudEvent, or a string of base64 for data that
        // was not JSON.
        let text = item["data"].as_str().unwrap_or_default();
        let data = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(b64)) => BASE64.decode(b64).unwrap_or_default(),
            _ => text.as_bytes().to_vec(),
        };
        let record = Delivery {
            topic: item["topic"].as_str().unwrap_or_default().to_owned(),
            shard: shard.to_owned(),
            sequence: sequence.to_owned(),
            partition_key: item["partitionKey"].as_str().unwrap_or_default().to_owned(),
            arrival: SystemTime::now(),
            data: Bytes::from(data),
        };
        queue.send(destination, &record, 0, Duration::ZERO).await?;
        table.forget(destination, sk).await?;
        done.queued += 1;
    }
    Ok(done)
}
