//! Remembering delivery ids, so a webhook the provider delivers again is
//! acknowledged without being published twice.
//!
//! A delivery is first *claimed* with a short lease, then *completed* once its
//! record is in the stream (remembered for the source's window), or
//! *released* if publishing failed, so the provider's retry is not blocked.
//! A claim whose lease ran out (the process died mid-publish) can be taken
//! again: an unfinished publish never blocks a delivery for longer than the lease.

mod dynamo;

pub use dynamo::DynamoDedupe;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::Result;

/// How long a claim holds before another delivery of the same id may take it.
pub const LEASE: Duration = Duration::from_secs(30);

/// The outcome of claiming a delivery id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen within the window: publish it.
    New,
    /// Already published within the window: acknowledge, do not publish.
    Duplicate,
    /// Being published right now by another request: ask the sender to retry.
    InFlight,
}

/// A store of recently published delivery ids.
#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// Claims `key` for publishing.
    async fn claim(&self, key: &str, now: SystemTime) -> Result<Claim>;
    /// Marks `key` published; it is remembered until `now + window`.
    async fn complete(&self, key: &str, now: SystemTime, window: Duration) -> Result<()>;
    /// Gives up a claim after a failed publish.
    async fn release(&self, key: &str) -> Result<()>;
}

/// No deduplication: every delivery is new.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDedupe;

#[async_trait]
impl DedupeStore for NoDedupe {
    async fn claim(&self, _: &str, _: SystemTime) -> Result<Claim> {
        Ok(Claim::New)
    }
    async fn complete(&self, _: &str, _: SystemTime, _: Duration) -> Result<()> {
        Ok(())
    }
    async fn release(&self, _: &str) -> Result<()> {
        Ok(())
    }
}
