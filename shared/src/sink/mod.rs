//! Where records go: one trait, two real implementations.
//!
//! A sink answers only once every record is durably stored, so a handler can
//! acknowledge its sender; on failure it says which records were not stored.

mod kinesis;

pub use kinesis::{KinesisSink, RetryPolicy, batches};

use async_trait::async_trait;

use crate::config::Topic;
use crate::record::{Record, RecordError};

/// Where a record was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The shard (embedded log: always `shardId-000000000000`).
    pub shard_id: String,
    /// The record's sequence number within its shard: a decimal string.
    pub sequence_number: String,
}

/// Why a sink did not store records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// A record no stream can take; nothing was written.
    #[error(transparent)]
    Rejected(#[from] RecordError),
    /// The sink has no stream for the topic.
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// The stream could not durably take some records; retrying may.
    #[error("stream unavailable: {reason}")]
    Unavailable {
        /// What went wrong.
        reason: String,
        /// Indexes (in the submitted batch) of the records that were not
        /// stored; the others were.
        failed: Vec<usize>,
    },
}

impl SinkError {
    /// Whether putting the same records again may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, SinkError::Unavailable { .. })
    }
}

/// A destination stream store.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Durably appends `records` to `topic`'s stream and returns one ack per
    /// record, in order. On error nothing may be assumed stored except what
    /// the error does not list as failed.
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>, SinkError>;
}
