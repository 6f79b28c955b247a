//! Rejected webhooks in AWS: a DynamoDB table (the stack's `RejectedTable`),
//! each source's last `keep_rejected` as a ring numbered by a counter, its
//! items expired by DynamoDB's TTL on `expires_at`.
//!
//! Table: partition key `pk` (the source), sort key `sk`: `n#<20 digits>`
//! for the n-th kept of the source, `counter` for the source's count. An
//! item holds the whole request as JSON in `item` (under 100 KB: the body
//! is cut at 64 KiB) and its summary beside it for listing. Keeping the
//! n-th first deletes the (n - keep)-th (and, when `keep` shrank, every one
//! that fell out: the counter notes the `keep` it was last given); TTL
//! deletes lazily, so reads compare `expires_at` too. The per-minute limit
//! is per function instance.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, WriteRequest};

use super::{PerMinute, Rejected, Rejections};
use crate::error::{Error, Result};
use crate::time::unix_secs;

type Item = std::collections::HashMap<String, AttributeValue>;

const SUMMARY: &str =
    "pk, id, received_millis, reason, message, path_and_query, body_cut, credential_removed";

/// Rejected webhooks in a DynamoDB table.
#[derive(Debug)]
pub struct RejectedTable {
    client: Client,
    table: String,
    per_minute: PerMinute,
}

impl RejectedTable {
    /// The table `table` through `client` (built once).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        RejectedTable {
            client,
            table: table.into(),
            per_minute: PerMinute::default(),
        }
    }

    fn key(n: u64) -> AttributeValue {
        s(&format!("n#{n:020}"))
    }

    /// Numbers the next of `source`'s, noting `keep` on the counter: the
    /// number, and the `keep` noted before (if any).
    async fn count(&self, source: &str, keep: usize) -> Result<(u64, Option<u64>)> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(source))
            .key("sk", s("counter"))
            .update_expression("ADD n :one SET keep = :keep")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":keep", n(keep as u64))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("count", e))?;
        let old = answer.attributes();
        let count = old.and_then(|a| number(a, "n")).unwrap_or(0) + 1;
        Ok((count, old.and_then(|a| number(a, "keep"))))
    }

    /// Deletes the `numbers` of `source`, 25 to a request (what DynamoDB
    /// leaves unprocessed expires by TTL).
    async fn delete(&self, source: &str, numbers: std::ops::RangeInclusive<u64>) -> Result<()> {
        let all: Vec<u64> = numbers.collect();
        for chunk in all.chunks(25) {
            let requests = chunk
                .iter()
                .map(|&n| {
                    let key = DeleteRequest::builder()
                        .key("pk", s(source))
                        .key("sk", Self::key(n))
                        .build()
                        .expect("the key is set");
                    WriteRequest::builder().delete_request(key).build()
                })
                .collect();
            self.client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| unavailable("delete", e))?;
        }
        Ok(())
    }

    /// Keeps the n-th of the source after deleting what falls out of its
    /// last `keep` (first, so a put that fails leaves the ring no larger;
    /// when `keep` shrank, the whole range that fell out).
    async fn store(&self, mut rejected: Rejected, keep: usize, keep_for: Duration) -> Result<()> {
        let source = rejected.source.clone();
        let (n, kept_before) = self.count(&source, keep).await?;
        let keep = keep as u64;
        let oldest_kept = n.saturating_sub(keep) + 1;
        let from = match kept_before {
            Some(before) if before > keep => n.saturating_sub(before).max(1),
            _ => oldest_kept.saturating_sub(1).max(1),
        };
        if from < oldest_kept {
            self.delete(&source, from..=oldest_kept - 1).await?;
        }
        rejected.id = format!("{}-{n}", rejected.received_millis);
        let expires = rejected.received_millis / 1000 + keep_for.as_secs();
        let whole =
            serde_json::to_string(&rejected).map_err(|e| Error::Io(std::io::Error::other(e)))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&source))
            .item("sk", Self::key(n))
            .item("id", s(&rejected.id))
            .item("received_millis", self::n(rejected.received_millis))
            .item("reason", s(&rejected.reason))
            .item("message", s(&rejected.message))
            .item("path_and_query", s(&rejected.path_and_query))
            .item("body_cut", AttributeValue::Bool(rejected.body_cut))
            .item(
                "credential_removed",
                AttributeValue::Bool(rejected.credential_removed),
            )
            .item("item", s(&whole))
            .item("expires_at", self::n(expires))
            .send()
            .await
            .map_err(|e| unavailable("put", e))?;
        Ok(())
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn flag(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

fn unavailable(what: &str, err: impl std::error::Error) -> Error {
    Error::unavailable(format!(
        "rejected table {what}: {}",
        DisplayErrorContext(&err)
    ))
}

/// A listed item: its summary, without headers or body.
fn summary(item: &Item) -> Rejected {
    Rejected {
        id: text(item, "id"),
        source: text(item, "pk"),
        received_millis: number(item, "received_millis").unwrap_or(0),
        reason: text(item, "reason"),
        message: text(item, "message"),
        path_and_query: text(item, "path_and_query"),
        headers: Vec::new(),
        body_base64: String::new(),
        body_cut: flag(item, "body_cut"),
        credential_removed: flag(item, "credential_removed"),
    }
}

#[async_trait]
impl Rejections for RejectedTable {
    async fn keep(&self, rejected: Rejected, keep: usize, keep_for: Duration) {
        if keep == 0
            || !self
                .per_minute
                .allow(&rejected.source, rejected.received_millis)
        {
            return;
        }
        let source = rejected.source.clone();
        if let Err(e) = self.store(rejected, keep, keep_for).await {
            tracing::warn!(source = %source, error = %e, "cannot keep a rejected webhook");
        }
    }

    /// Summaries only (no headers or body): [`Rejections::get`] has them.
    async fn list(&self, source: Option<&str>) -> Result<Vec<Rejected>> {
        let now = n(unix_secs(SystemTime::now()));
        let items: Vec<Item> = match source {
            Some(source) => self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :n)")
                .filter_expression("expires_at > :now")
                .projection_expression(SUMMARY)
                .expression_attribute_values(":pk", s(source))
                .expression_attribute_values(":n", s("n#"))
                .expression_attribute_values(":now", now)
                .scan_index_forward(false)
                .into_paginator()
                .items()
                .send()
                .collect::<std::result::Result<_, _>>()
                .await
                .map_err(|e| unavailable("query", e))?,
            None => self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(sk, :n) AND expires_at > :now")
                .projection_expression(SUMMARY)
                .expression_attribute_values(":n", s("n#"))
                .expression_attribute_values(":now", now)
                .into_paginator()
                .items()
                .send()
                .collect::<std::result::Result<_, _>>()
                .await
                .map_err(|e| unavailable("scan", e))?,
        };
        let mut all: Vec<Rejected> = items.iter().map(summary).collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.received_millis));
        Ok(all)
    }

    async fn get(&self, source: &str, id: &str) -> Result<Option<Rejected>> {
        let Some(n) = id.rsplit_once('-').and_then(|(_, n)| n.parse::<u64>().ok()) else {
            return Ok(None);
        };
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(source))
            .key("sk", Self::key(n))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("get", e))?;
        let Some(item) = answer.item() else {
            return Ok(None);
        };
        let live = number(item, "expires_at").unwrap_or(0) > unix_secs(SystemTime::now());
        if !live || text(item, "id") != id {
            return Ok(None);
        }
        serde_json::from_str(&text(item, "item"))
            .map(Some)
            .map_err(|e| {
                Error::Io(std::io::Error::other(format!(
                    "rejected table item {source}/{id}: {e}"
                )))
            })
    }
}
