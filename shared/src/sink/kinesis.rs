//! The Kinesis Data Streams sink: `PutRecords` in batches, retrying only the
//! records a partly failed call did not store.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use super::{Ack, Sink, SinkError};
use crate::config::Topic;
use crate::record::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, Record, check_records};
use crate::time::{Backoff, Jitter};

/// How often and how patiently failed records are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Calls per batch, the first included.
    pub max_attempts: u32,
    /// The first back-off ceiling; doubled on every retry.
    pub base_delay: Duration,
    /// The largest back-off ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter" back-off before retry number `retry` (1-based).
    fn delay(&self, retry: u32) -> Duration {
        Backoff {
            base: self.base_delay,
            max: self.max_delay,
            jitter: Jitter::Full,
        }
        .delay(retry)
    }
}

/// Publishes to the Kinesis stream of each topic.
#[derive(Debug, Clone)]
pub struct KinesisSink {
    client: Client,
    retry: RetryPolicy,
}

impl KinesisSink {
    /// A sink over a client built once at start-up.
    pub fn new(client: Client, retry: RetryPolicy) -> Self {
        KinesisSink { client, retry }
    }

    /// A sink on the shared AWS configuration (see [`crate::load_aws_config`]).
    pub fn from_config(config: &crate::SdkConfig) -> Self {
        KinesisSink::new(Client::new(config), RetryPolicy::default())
    }

    /// Writes one batch, retrying failed records; fills `acks` for the stored ones.
    async fn put_batch(
        &self,
        topic: &Topic,
        records: &[Record],
        range: Range<usize>,
        acks: &mut [Option<Ack>],
    ) -> Result<(), SinkError> {
        let stream = topic.stream.as_str();
        let mut pending: Vec<usize> = range.collect();
        let mut attempt = 1;
        loop {
            let entries = pending
                .iter()
                .map(|&i| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(records[i].partition_key.clone())
                        .data(Blob::new(records[i].data.to_vec()))
                        .build()
                        .expect("data and partition key are set")
                })
                .collect::<Vec<_>>();
            let output = self
                .client
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send()
                .await
                .map_err(|e| SinkError::Unavailable {
                    reason: format!("PutRecords to {stream}: {}", DisplayErrorContext(&e)),
                    failed: pending.clone(),
                })?;

            let mut failed = Vec::new();
            let mut last_error = None;
            for (&i, entry) in pending.iter().zip(output.records()) {
                match (
                    entry.error_code(),
                    entry.sequence_number(),
                    entry.shard_id(),
                ) {
                    (None, Some(sequence_number), Some(shard_id)) => {
                        acks[i] = Some(Ack {
                            shard_id: shard_id.to_owned(),
                            sequence_number: sequence_number.to_owned(),
                        });
                    }
                    (code, _, _) => {
                        last_error = Some(format!(
                            "{}: {}",
                            code.unwrap_or("no sequence number"),
                            entry.error_message().unwrap_or("")
                        ));
                        failed.push(i);
                    }
                }
            }
            // A response shorter than the request leaves records unaccounted for.
            failed.extend(pending.iter().skip(output.records().len()));
            if failed.is_empty() {
                return Ok(());
            }
            if attempt >= self.retry.max_attempts {
                return Err(SinkError::Unavailable {
                    reason: format!(
                        "{} of {} records to {stream} still failing after {attempt} attempts; last: {}",
                        failed.len(),
                        pending.len(),
                        last_error.unwrap_or_default()
                    ),
                    failed,
                });
            }
            tracing::warn!(
                stream,
                failed = failed.len(),
                attempt,
                error = last_error.as_deref().unwrap_or(""),
                "PutRecords partly failed; retrying the failed records"
            );
            crate::telemetry::kinesis_retried(&topic.name, failed.len());
            tokio::time::sleep(self.retry.delay(attempt)).await;
            pending = failed;
            attempt += 1;
        }
    }
}

#[async_trait]
impl Sink for KinesisSink {
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>, SinkError> {
        check_records(&records)?;
        let mut acks = vec![None; records.len()];
        for range in batches(&records) {
            // Stop at the first batch that fails: later batches are not sent,
            // so a retrying sender does not find later records before earlier ones.
            if let Err(mut err) = self
                .put_batch(topic, &records, range.clone(), &mut acks)
                .await
            {
                if let SinkError::Unavailable { failed, .. } = &mut err {
                    failed.extend(range.end..records.len());
                    crate::telemetry::kinesis_failed(&topic.name, failed.len());
                }
                return Err(err);
            }
        }
        Ok(acks
            .into_iter()
            .map(|ack| ack.expect("every record acknowledged"))
            .collect())
    }
}

/// Splits records into `PutRecords` calls of at most 500 records and 5 MiB.
pub fn batches(records: &[Record]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, record) in records.iter().enumerate() {
        let full = i - start == MAX_BATCH_RECORDS || bytes + record.size() > MAX_BATCH_BYTES;
        if full && i > start {
            ranges.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += record.size();
    }
    if start < records.len() {
        ranges.push(start..records.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::MAX_RECORD_BYTES;
    use bytes::Bytes;

    fn records(count: usize, size: usize) -> Vec<Record> {
        (0..count)
            .map(|i| Record {
                partition_key: format!("k{}", i % 10),
                data: Bytes::from(vec![b'x'; size]),
            })
            .collect()
    }

    #[test]
    fn batches_hold_at_most_500_records() {
        assert_eq!(
            batches(&records(1001, 10)),
            vec![0..500, 500..1000, 1000..1001]
        );
        assert_eq!(batches(&records(500, 10)), vec![0..500]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn batches_hold_at_most_five_mib() {
        // Six records of almost 1 MiB: five fit in 5 MiB, the sixth starts a new call.
        let big = records(6, MAX_RECORD_BYTES - 2);
        let ranges = batches(&big);
        assert_eq!(ranges, vec![0..5, 5..6]);
        for range in ranges {
            let size: usize = big[range].iter().map(Record::size).sum();
            assert!(size <= MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn back_off_grows_but_stays_under_the_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        for retry in 1..20 {
            assert!(policy.delay(retry) <= Duration::from_millis(50));
        }
        assert!(policy.delay(1) <= Duration::from_millis(20));
    }
}
