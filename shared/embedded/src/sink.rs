//! The embedded log as a [`Sink`]: records are checked against the stream
//! limits, appended and acknowledged with Kinesis-like shard and sequence
//! numbers.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use async_trait::async_trait;

use crate::log::{AppendError, Log, LogOptions, sequence_number};
use inlet_shared::config::Topic;
use inlet_shared::record::{Record, check_records};
use inlet_shared::sink::{Ack, Sink, SinkError};

/// The one shard of an embedded topic.
pub const SHARD_ID: &str = "shardId-000000000000";

/// The embedded durable log, open for writing by this process alone.
#[derive(Debug)]
pub struct EmbeddedLog {
    log: Log,
}

impl EmbeddedLog {
    /// [`EmbeddedLog::open_with`] the default [`LogOptions`].
    pub fn open<'a>(dir: &Path, topics: impl IntoIterator<Item = &'a str>) -> io::Result<Self> {
        Self::open_with(dir, topics, LogOptions::default())
    }

    /// Opens the log of each topic under `dir` (see [`Log::open`]).
    pub fn open_with<'a>(
        dir: &Path,
        topics: impl IntoIterator<Item = &'a str>,
        options: LogOptions,
    ) -> io::Result<Self> {
        Ok(EmbeddedLog {
            log: Log::open(dir, topics, options)?,
        })
    }
}

impl EmbeddedLog {
    /// Per topic, the end of what is durable, announced at each commit.
    pub fn commits(&self) -> HashMap<String, tokio::sync::watch::Receiver<u64>> {
        self.log.commits()
    }

    /// Follows `topic` from `from` as it becomes durable (see
    /// [`crate::log::Log::subscribe`]).
    pub fn subscribe(&self, topic: &str, from: u64) -> Option<crate::log::Subscription> {
        self.log.subscribe(topic, from)
    }

    /// The data directory's id, made once (see [`crate::log::Log::id`]).
    pub fn id(&self) -> &str {
        self.log.id()
    }
}

#[async_trait]
impl Sink for EmbeddedLog {
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>, SinkError> {
        check_records(&records)?;
        let count = records.len();
        let first = self
            .log
            .append(&topic.name, records)
            .await
            .map_err(|e| match e {
                AppendError::UnknownTopic(topic) => SinkError::UnknownTopic(topic),
                AppendError::Stopped | AppendError::Failed(_) => SinkError::Unavailable {
                    reason: e.to_string(),
                    failed: (0..count).collect(),
                },
            })?;
        Ok((first..first + count as u64)
            .map(|seq| Ack {
                shard_id: SHARD_ID.to_owned(),
                sequence_number: sequence_number(seq),
            })
            .collect())
    }
}
