//! The Lambda driver: a destination's function, invoked by its event source
//! mapping with a batch of one shard's records (`KinesisEvent`), answers
//! which to retry (`batchItemFailures`, the first record not delivered:
//! Lambda checkpoints before it and sends it and the rest again).
//!
//! A record worth retrying is retried here first, with back-off, while the
//! invocation has time for another attempt, and parked after
//! `max_attempts`; near the deadline the rest is reported as failed rather
//! than the whole batch timing out (each delivery is also bounded by the
//! time left). Parked
//! records (4xx, 410, a bad row) are kept in the destination table
//! ([`DestinationTable`]) and logged; a 410 disables the endpoint there,
//! and later records are parked without a request until `inlet
//! destinations enable` clears it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use bytes::Bytes;
use inlet_shared::config::{Destination, DestinationKind};

use crate::delivery::{Deliver, Delivery, Outcome, Parked, backoff};
use crate::retry::RetryQueue;
use crate::table::DestinationTable;

/// Time kept back at the end of an invocation to answer.
const MARGIN: Duration = Duration::from_secs(2);

/// One destination's function.
pub struct LambdaDestination {
    settings: Destination,
    deliver: Arc<dyn Deliver>,
    table: Option<DestinationTable>,
    retries: Option<RetryQueue>,
}

impl LambdaDestination {
    /// The function of `settings`, delivering through `deliver`, keeping
    /// its state and parked records in `table` (with none, parked records
    /// are only logged).
    pub fn new(
        settings: Destination,
        deliver: Arc<dyn Deliver>,
        table: Option<DestinationTable>,
    ) -> Self {
        LambdaDestination {
            settings,
            deliver,
            table,
            retries: None,
        }
    }

    /// Sets records of an unordered destination aside in `queue` instead
    /// of holding the shard back.
    pub fn with_retries(mut self, queue: RetryQueue) -> Self {
        self.retries = Some(queue);
        self
    }

    /// Keeps a parked record; `false` if it could not be kept.
    async fn park(&self, record: &Delivery, why: &Parked) -> bool {
        let name = &self.settings.name;
        let line = why.dead_letter(name, record, SystemTime::now());
        tracing::error!(destination = %name, record = %record.position(), status = why.status, "parked: {}", why.reason);
        match &self.table {
            Some(table) => match table.park(name, &line).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(destination = %name, "cannot keep a parked record: {e}");
                    false
                }
            },
            None => {
                tracing::error!(destination = %name, dead_letter = %line, "parked record");
                true
            }
        }
    }

    /// How long one attempt may take.
    fn attempt_time(&self) -> Duration {
        match &self.settings.kind {
            DestinationKind::Http(http) => http.timeout,
            DestinationKind::Postgres(_) => Duration::from_secs(15),
        }
    }

    /// Delivers a batch; `deadline` is the invocation's.
    pub async fn handle(&self, event: KinesisEvent, deadline: Instant) -> KinesisEventResponse {
        let records: Vec<Delivery> = event
            .records
            .iter()
            .map(|r| delivery(&self.settings.topic, r))
            .collect();
        let mut response = KinesisEventResponse::default();
        let name = &self.settings.name;
        let mut pending: &[Delivery] = &records;
        let mut attempts = 0u32;
        // Read once per invocation; a 410 met here sets it.
        let mut disabled = match &self.table {
            Some(table) => match table.disabled(name).await {
                Ok(disabled) => disabled,
                Err(e) => {
                    tracing::error!(destination = %name, "cannot read the destination's state: {e}");
                    if let Some(first) = pending.first() {
                        response.add_failure(first.sequence.clone());
                    }
                    return response;
                }
            },
            None => None,
        };
        while let Some(first) = pending.first() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < self.attempt_time() + MARGIN {
                tracing::warn!(destination = %name, record = %first.position(), "out of time: the rest of the batch is retried");
                response.add_failure(first.sequence.clone());
                return response;
            }
            // Ordered, one request's worth at a time (each costs at most a
            // timeout); unordered, all at once (they go concurrently).
            let slice = if self.settings.ordered {
                &pending[..self.settings.batch_size.min(pending.len())]
            } else {
                pending
            };
            let outcomes = match &disabled {
                Some(why) => vec![
                    Outcome::Poison(Parked::because(format!(
                        "the endpoint is disabled ({why}); enable it with `inlet destinations enable {name}`"
                    )));
                    slice.len()
                ],
                None => {
                    match tokio::time::timeout(left - MARGIN, self.deliver.deliver(slice)).await {
                        Ok(outcomes) => outcomes,
                        Err(_) => {
                            tracing::warn!(destination = %name, record = %first.position(), "out of time mid-delivery: the rest of the batch is retried");
                            response.add_failure(first.sequence.clone());
                            return response;
                        }
                    }
                }
            };
            let mut done = 0;
            let mut held = None;
            for (record, outcome) in slice.iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered => {}
                    Outcome::Poison(why) => {
                        if !self.park(record, &why).await {
                            response.add_failure(record.sequence.clone());
                            return response;
                        }
                    }
                    Outcome::Gone(why) => {
                        if let Some(table) = &self.table
                            && let Err(e) = table.disable(name, &why.reason).await
                        {
                            tracing::error!(destination = %name, "cannot disable the endpoint: {e}");
                            response.add_failure(record.sequence.clone());
                            return response;
                        }
                        tracing::error!(destination = %name, "DISABLED: {}; later records are parked until `inlet destinations enable {name}`", why.reason);
                        disabled = Some(why.reason.clone());
                        if !self.park(record, &why).await {
                            response.add_failure(record.sequence.clone());
                            return response;
                        }
                    }
                    Outcome::Retry { reason, after } => match &self.retries {
                        Some(queue) if !self.settings.ordered => {
                            let delay = backoff(1, after);
                            if let Err(e) = queue.send(name, record, 1, delay).await {
                                // Not set aside: hold the shard back instead.
                                tracing::warn!(destination = %name, record = %record.position(), "cannot set aside for retry: {e}");
                                held = Some((reason, after));
                                break;
                            }
                            tracing::info!(destination = %name, record = %record.position(), "set aside for retry in {delay:?}: {reason}");
                        }
                        _ => {
                            held = Some((reason, after));
                            break;
                        }
                    },
                }
                done += 1;
            }
            if done > 0 {
                attempts = 0;
            }
            pending = &pending[done..];
            let Some((reason, after)) = held else {
                continue;
            };
            attempts += 1;
            let record = &pending[0];
            if self
                .settings
                .max_attempts
                .is_some_and(|max| attempts >= max)
            {
                let why = Parked::because(format!("gave up after {attempts} attempts: {reason}"));
                if !self.park(record, &why).await {
                    response.add_failure(record.sequence.clone());
                    return response;
                }
                pending = &pending[1..];
                attempts = 0;
                continue;
            }
            let wait = backoff(attempts, after);
            if Instant::now() + wait + self.attempt_time() + MARGIN > deadline {
                // The event source mapping retries from here (bounded by its
                // MaximumRetryAttempts and record age, then its on-failure
                // destination).
                tracing::warn!(destination = %name, record = %record.position(), attempt = attempts, "not delivered: {reason}; out of time, reported for retry");
                response.add_failure(record.sequence.clone());
                return response;
            }
            tracing::info!(destination = %name, record = %record.position(), attempt = attempts, "not delivered: {reason}; retrying in {wait:?}");
            tokio::time::sleep(wait).await;
        }
        response
    }
}

/// A Kinesis record as a delivery: the shard from its event id
/// (`shardId-…:sequence`).
fn delivery(topic: &str, record: &KinesisEventRecord) -> Delivery {
    let shard = record
        .event_id
        .as_deref()
        .and_then(|id| id.split_once(':'))
        .map_or_else(String::new, |(shard, _)| shard.to_owned());
    let millis = record
        .kinesis
        .approximate_arrival_timestamp
        .0
        .timestamp_millis();
    Delivery {
        topic: topic.to_owned(),
        shard,
        sequence: record.kinesis.sequence_number.clone(),
        partition_key: record.kinesis.partition_key.clone(),
        arrival: SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0)),
        data: Bytes::from(record.kinesis.data.0.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Parked;
    use async_trait::async_trait;
    use inlet_shared::config::Config;
    use std::sync::Mutex;

    /// A destination answering from a script: per sequence number, one
    /// outcome per attempt (the last repeats).
    struct Scripted {
        script: Vec<(&'static str, Vec<Outcome>)>,
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Deliver for Scripted {
        async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
            let mut seen = self.seen.lock().unwrap();
            batch
                .iter()
                .map(|record| {
                    let attempt = seen.iter().filter(|s| **s == record.sequence).count();
                    seen.push(record.sequence.clone());
                    let outcomes = self
                        .script
                        .iter()
                        .find(|(seq, _)| *seq == record.sequence)
                        .map_or(&[Outcome::Delivered][..], |(_, o)| o);
                    outcomes[attempt.min(outcomes.len() - 1)].clone()
                })
                .collect()
        }
    }

    /// The shape AWS documents for a Kinesis event.
    fn event() -> KinesisEvent {
        let record = |seq: &str| {
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "stream-1",
                    "sequenceNumber": seq,
                    "data": "eyJuIjoxfQ==",
                    "approximateArrivalTimestamp": 1_545_084_650.987
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000006:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-2",
                "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/prod.orders"
            })
        };
        serde_json::from_value(serde_json::json!({
            "Records": [record("101"), record("102"), record("103"), record("104")]
        }))
        .unwrap()
    }

    fn destination(max_attempts: u32) -> Destination {
        let config = Config::parse(
            &format!(
                "[topics.orders]\n[sources.s]\nscheme = \"none\"\ntopic = \"orders\"\nevent_id = \"e\"\n\
                 [destinations.hook]\ntopic = \"orders\"\nkind = \"http\"\nurl = \"https://e/\"\n\
                 secrets = [\"env:K\"]\ntimeout = \"1s\"\nmax_attempts = {max_attempts}\n"
            ),
            &|_| Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
        )
        .unwrap();
        config.destinations["hook"].clone()
    }

    fn retry() -> Outcome {
        Outcome::Retry {
            reason: "503".into(),
            after: Some(Duration::from_millis(10)),
        }
    }

    #[tokio::test]
    async fn a_record_parked_or_retried_in_time_leaves_no_failure() {
        let deliver = Arc::new(Scripted {
            script: vec![
                ("102", vec![retry(), Outcome::Delivered]),
                ("103", vec![Outcome::Poison(Parked::because("400"))]),
            ],
            seen: Mutex::default(),
        });
        let function = LambdaDestination::new(destination(5), deliver.clone(), None);
        let response = function
            .handle(event(), Instant::now() + Duration::from_secs(60))
            .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            *deliver.seen.lock().unwrap(),
            ["101", "102", "102", "103", "104"],
            "one record at a time, ordered"
        );
    }

    #[tokio::test]
    async fn a_record_failing_max_attempts_times_is_parked_and_the_rest_flow() {
        let deliver = Arc::new(Scripted {
            script: vec![("102", vec![retry()])],
            seen: Mutex::default(),
        });
        let function = LambdaDestination::new(destination(3), deliver.clone(), None);
        let response = function
            .handle(event(), Instant::now() + Duration::from_secs(60))
            .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            *deliver.seen.lock().unwrap(),
            ["101", "102", "102", "102", "103", "104"]
        );
    }

    #[tokio::test]
    async fn a_record_whose_wait_outlasts_the_invocation_is_reported_as_the_first_failure() {
        let deliver = Arc::new(Scripted {
            script: vec![(
                "102",
                vec![Outcome::Retry {
                    reason: "429".into(),
                    after: Some(Duration::from_secs(30)),
                }],
            )],
            seen: Mutex::default(),
        });
        let function = LambdaDestination::new(destination(3), deliver, None);
        let response = function
            .handle(event(), Instant::now() + Duration::from_secs(10))
            .await;
        let failures: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failures, [Some("102".to_owned())]);
    }

    #[tokio::test]
    async fn near_the_deadline_the_rest_is_reported_instead_of_timing_out() {
        let deliver = Arc::new(Scripted {
            script: vec![],
            seen: Mutex::default(),
        });
        let function = LambdaDestination::new(destination(3), deliver.clone(), None);
        let response = function
            .handle(event(), Instant::now() + Duration::from_millis(500))
            .await;
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(
            response.batch_item_failures[0].item_identifier.as_deref(),
            Some("101")
        );
        assert!(deliver.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn a_kinesis_record_keeps_its_shard_sequence_and_arrival() {
        let record = delivery("orders", &event().records[0]);
        assert_eq!(record.shard, "shardId-000000000006");
        assert_eq!(record.sequence, "101");
        assert_eq!(record.data, Bytes::from_static(b"{\"n\":1}"));
        assert_eq!(
            record.arrival,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_545_084_650_987)
        );
    }
}
