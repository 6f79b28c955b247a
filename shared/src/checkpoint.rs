//! Where a REST poll target's progress is kept between runs: the validators
//! for conditional requests, the last cursor and poll time, and a bounded
//! window of recently published item keys.
//!
//! A run first *begins* (takes the target's lease, so two overlapping runs of
//! one target cannot both publish), then either *commits* a new checkpoint
//! (only after its items are in the stream) or *aborts*, leaving the old one.

mod dynamo;

pub use dynamo::DynamoCheckpoints;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A poll target's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The `ETag` of the last successful response, for `If-None-Match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Its `Last-Modified`, for `If-Modified-Since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the last successful poll started (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<u64>,
    /// The last pagination cursor seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Keys of recently published items, oldest first.
    #[serde(default)]
    pub recent_keys: VecDeque<String>,
    /// Hash of the last response body, for targets whose items have no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
}

impl Checkpoint {
    /// Whether an item with `key` was published recently.
    pub fn seen(&self, key: &str) -> bool {
        self.recent_keys.iter().any(|k| k == key)
    }

    /// Remembers `key`, forgetting the oldest beyond `keep`.
    pub fn remember(&mut self, key: String, keep: usize) {
        self.recent_keys.push_back(key);
        while self.recent_keys.len() > keep {
            self.recent_keys.pop_front();
        }
    }
}

/// Proof that this run holds a target's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The target.
    pub target: String,
    /// This run's token.
    pub token: String,
}

/// A store of checkpoints with per-target leases.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// Takes the target's lease for `hold` and returns its checkpoint, or
    /// `None` if another run holds an unexpired lease.
    async fn begin(
        &self,
        target: &str,
        now: SystemTime,
        hold: Duration,
    ) -> Result<Option<(Checkpoint, Lease)>>;
    /// Saves `checkpoint` and frees the lease; fails if the lease was lost.
    async fn commit(&self, lease: &Lease, checkpoint: &Checkpoint) -> Result<()>;
    /// Frees the lease, keeping the stored checkpoint.
    async fn abort(&self, lease: &Lease) -> Result<()>;
}

/// A fresh lease token.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_bounded_window_of_keys() {
        let mut checkpoint = Checkpoint::default();
        for i in 0..5 {
            checkpoint.remember(i.to_string(), 3);
        }
        assert!(!checkpoint.seen("1"));
        assert!(checkpoint.seen("2") && checkpoint.seen("4"));
        assert_eq!(checkpoint.recent_keys.len(), 3);
    }

    #[test]
    fn checkpoint_round_trips_as_json() {
        let mut checkpoint = Checkpoint {
            etag: Some("\"v1\"".into()),
            last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
            last_success: Some(1_700_000_000),
            cursor: Some("c2".into()),
            last_hash: Some("ab".into()),
            ..Default::default()
        };
        checkpoint.remember("k".into(), 10);
        let text = serde_json::to_string(&checkpoint).unwrap();
        assert_eq!(
            serde_json::from_str::<Checkpoint>(&text).unwrap(),
            checkpoint
        );
        assert_eq!(
            serde_json::from_str::<Checkpoint>("{}").unwrap(),
            Checkpoint::default()
        );
    }
}
