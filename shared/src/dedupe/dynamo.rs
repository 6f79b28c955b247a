//! The AWS dedupe store: one DynamoDB item per delivery id, claimed with a
//! conditional put, expired by DynamoDB's TTL on `expires_at`.
//!
//! Table: partition key `pk` (string); TTL attribute `expires_at` (Unix
//! seconds). TTL deletes lazily, so every check also compares `expires_at`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Claim, DedupeStore, LEASE};
use crate::error::{Error, Result};
use crate::time::unix_secs;

const PENDING: &str = "pending";
const DONE: &str = "done";

/// Delivery ids in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoDedupe {
    client: Client,
    table: String,
}

impl DynamoDedupe {
    /// A store over a client built once at start-up.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDedupe {
            client,
            table: table.into(),
        }
    }

    /// A store on the shared AWS configuration (see [`crate::load_aws_config`]).
    pub fn from_config(config: &crate::SdkConfig, table: impl Into<String>) -> Self {
        DynamoDedupe::new(Client::new(config), table)
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn unavailable(what: &str, err: impl std::error::Error) -> Error {
    Error::unavailable(format!(
        "dedupe table {what}: {}",
        DisplayErrorContext(&err)
    ))
}

#[async_trait]
impl DedupeStore for DynamoDedupe {
    async fn claim(&self, key: &str, now: SystemTime) -> Result<Claim> {
        let now = unix_secs(now);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("status", s(PENDING))
            .item("lease_until", n(now + LEASE.as_secs()))
            .item("expires_at", n(now + LEASE.as_secs()))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now OR (#s = :pending AND lease_until <= :now)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::New),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(err) => return Err(unavailable("claim", err)),
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("read", e))?;
        let done = item.item().is_some_and(|item| {
            item.get("status")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(DONE)
        });
        Ok(if done {
            Claim::Duplicate
        } else {
            Claim::InFlight
        })
    }

    async fn complete(&self, key: &str, now: SystemTime, window: Duration) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("status", s(DONE))
            .item("expires_at", n(unix_secs(now) + window.as_secs()))
            .send()
            .await
            .map_err(|e| unavailable("complete", e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable("release", err)),
        }
    }
}
