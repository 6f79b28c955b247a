//! Where records go: one trait, two real implementations.
//!
//! A sink answers only once every record is durably stored, so a handler can
//! acknowledge its sender; on failure it says which records were not stored.

mod kinesis;
mod log;

pub use kinesis::{KinesisSink, RetryPolicy, batches};
pub use log::{DEFAULT_RETENTION, EmbeddedLog, LogOptions, LogReader, StoredRecord};

use async_trait::async_trait;

use crate::config::Topic;
use crate::error::{Error, Result};
use crate::model::Record;

/// Largest record (data plus partition key) a Kinesis stream takes: 1 MiB.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most records in one `PutRecords` call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes in one `PutRecords` call: 5 MiB.
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
/// Longest partition key Kinesis accepts, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Where a record was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The shard (embedded log: always `shardId-000000000000`).
    pub shard_id: String,
    /// The record's sequence number within its shard: a decimal string.
    pub sequence_number: String,
}

/// A destination stream store.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Durably appends `records` to `topic`'s stream and returns one ack per
    /// record, in order. On error nothing may be assumed stored except what
    /// the error does not list as failed.
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>>;
}

/// Refuses records no stream can take, before anything is written.
pub fn check_records(records: &[Record]) -> Result<()> {
    for record in records {
        if record.size() > MAX_RECORD_BYTES {
            return Err(Error::RecordTooLarge {
                size: record.size(),
                limit: MAX_RECORD_BYTES,
            });
        }
        let chars = record.partition_key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(Error::BadRequest(format!(
                "stream id must be 1 to {MAX_PARTITION_KEY_CHARS} characters, got {chars}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(key: &str, size: usize) -> Record {
        Record {
            partition_key: key.to_owned(),
            data: Bytes::from(vec![b'x'; size]),
        }
    }

    #[test]
    fn refuses_records_over_one_mib_counting_the_partition_key() {
        assert!(check_records(&[record("k", MAX_RECORD_BYTES - 1)]).is_ok());
        match check_records(&[record("k", 10), record("kk", MAX_RECORD_BYTES - 1)]) {
            Err(Error::RecordTooLarge { size, limit }) => {
                assert_eq!(size, MAX_RECORD_BYTES + 1);
                assert_eq!(limit, MAX_RECORD_BYTES);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_empty_or_overlong_partition_keys() {
        assert!(matches!(
            check_records(&[record("", 1)]),
            Err(Error::BadRequest(_))
        ));
        let long = "é".repeat(MAX_PARTITION_KEY_CHARS + 1);
        assert!(matches!(
            check_records(&[record(&long, 1)]),
            Err(Error::BadRequest(_))
        ));
        assert!(check_records(&[record(&"é".repeat(MAX_PARTITION_KEY_CHARS), 1)]).is_ok());
    }
}
