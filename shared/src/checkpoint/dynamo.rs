//! Checkpoints in DynamoDB: one item per target (`pk`), holding the
//! checkpoint as JSON; the lease is a token and an expiry on the same item,
//! taken and released with conditional updates.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Checkpoint, CheckpointStore, Lease, new_token};
use crate::error::{Error, Result};
use crate::time::unix_secs;

/// Checkpoints in a DynamoDB table with partition key `pk`.
#[derive(Debug, Clone)]
pub struct DynamoCheckpoints {
    client: Client,
    table: String,
}

impl DynamoCheckpoints {
    /// A store over a client built once at start-up.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCheckpoints {
            client,
            table: table.into(),
        }
    }

    /// A store on the shared AWS configuration (see [`crate::load_aws_config`]).
    pub fn from_config(config: &crate::SdkConfig, table: impl Into<String>) -> Self {
        DynamoCheckpoints::new(Client::new(config), table)
    }
}

fn failed(what: &str, err: impl std::error::Error) -> Error {
    Error::unavailable(format!(
        "checkpoint table {what}: {}",
        DisplayErrorContext(&err)
    ))
}

fn conditional<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    err: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl CheckpointStore for DynamoCheckpoints {
    async fn begin(
        &self,
        target: &str,
        now: SystemTime,
        hold: Duration,
    ) -> Result<Option<(Checkpoint, Lease)>> {
        let token = new_token();
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(target.to_owned()))
            .update_expression("SET lease_token = :token, lease_until = :until")
            .condition_expression("attribute_not_exists(lease_until) OR lease_until <= :now")
            .expression_attribute_values(":token", AttributeValue::S(token.clone()))
            .expression_attribute_values(
                ":until",
                AttributeValue::N((unix_secs(now) + hold.as_secs()).to_string()),
            )
            .expression_attribute_values(":now", AttributeValue::N(unix_secs(now).to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let output = match updated {
            Ok(output) => output,
            Err(err) if conditional(&err) => return Ok(None),
            Err(err) => return Err(failed("lease", err)),
        };
        let checkpoint = match output
            .attributes()
            .and_then(|a| a.get("checkpoint"))
            .and_then(|v| v.as_s().ok())
        {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                Error::unavailable(format!("checkpoint of {target} is not valid: {e}"))
            })?,
            None => Checkpoint::default(),
        };
        Ok(Some((
            checkpoint,
            Lease {
                target: target.to_owned(),
                token,
            },
        )))
    }

    async fn commit(&self, lease: &Lease, checkpoint: &Checkpoint) -> Result<()> {
        let json = serde_json::to_string(checkpoint).expect("a checkpoint serialises");
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(lease.target.clone()))
            .update_expression("SET checkpoint = :cp REMOVE lease_token, lease_until")
            .condition_expression("lease_token = :token")
            .expression_attribute_values(":cp", AttributeValue::S(json))
            .expression_attribute_values(":token", AttributeValue::S(lease.token.clone()))
            .send()
            .await
            .map_err(|err| {
                if conditional(&err) {
                    Error::unavailable(format!(
                        "the lease of {} was lost; checkpoint not saved",
                        lease.target
                    ))
                } else {
                    failed("commit", err)
                }
            })?;
        Ok(())
    }

    async fn abort(&self, lease: &Lease) -> Result<()> {
        let released = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(lease.target.clone()))
            .update_expression("REMOVE lease_token, lease_until")
            .condition_expression("lease_token = :token")
            .expression_attribute_values(":token", AttributeValue::S(lease.token.clone()))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            Err(err) if conditional(&err) => Ok(()),
            Err(err) => Err(failed("release", err)),
        }
    }
}
