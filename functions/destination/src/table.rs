//! A destination's state in AWS, in one DynamoDB table (the template's
//! `DestinationTable`, keys `pk`/`sk`), under `destination#<name>`:
//!
//! - `state`: why the endpoint is disabled (a 410), if it is;
//! - `parked#<shard>#<sequence>`: a parked record, as the local dead letter
//!   keeps it (the CloudEvent, why, the status, the response). An item holds
//!   400 KB: a larger record is kept cut, marked `truncated`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

/// The most of a record's JSON a parked item keeps.
const KEPT_BYTES: usize = 350 * 1024;

/// The table.
#[derive(Clone, Debug)]
pub struct DestinationTable {
    client: Client,
    table: String,
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("DynamoDB: {e}"))
}

impl DestinationTable {
    /// `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DestinationTable {
            client,
            table: table.into(),
        }
    }

    fn pk(destination: &str) -> AttributeValue {
        AttributeValue::S(format!("destination#{destination}"))
    }

    /// Why `destination`'s endpoint is disabled, if it is.
    pub async fn disabled(&self, destination: &str) -> std::io::Result<Option<String>> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", Self::pk(destination))
            .key("sk", AttributeValue::S("state".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| io(e.into_service_error()))?;
        Ok(item
            .item()
            .and_then(|i| i.get("disabled"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Disables `destination`'s endpoint, saying why.
    pub async fn disable(&self, destination: &str, reason: &str) -> std::io::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", Self::pk(destination))
            .item("sk", AttributeValue::S("state".into()))
            .item("disabled", AttributeValue::S(reason.to_owned()))
            .send()
            .await
            .map_err(|e| io(e.into_service_error()))?;
        Ok(())
    }

    /// Enables it again; whether it was disabled.
    pub async fn enable(&self, destination: &str) -> std::io::Result<Option<String>> {
        let old = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", Self::pk(destination))
            .key("sk", AttributeValue::S("state".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| io(e.into_service_error()))?;
        Ok(old
            .attributes()
            .and_then(|i| i.get("disabled"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Keeps a parked record (a dead letter line) durably.
    pub async fn park(&self, destination: &str, line: &Value) -> std::io::Result<()> {
        let text = |key: &str| line[key].as_str().unwrap_or_default().to_owned();
        let mut data = line["data"].to_string();
        let truncated = data.len() > KEPT_BYTES;
        if truncated {
            let mut end = KEPT_BYTES;
            while !data.is_char_boundary(end) {
                end -= 1;
            }
            data.truncate(end);
        }
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", Self::pk(destination))
            .item(
                "sk",
                AttributeValue::S(format!("parked#{}#{}", text("shard"), text("sequence"))),
            )
            .item("topic", AttributeValue::S(text("topic")))
            .item("partition_key", AttributeValue::S(text("partitionKey")))
            .item("reason", AttributeValue::S(text("reason")))
            .item(
                "parked_at",
                AttributeValue::N(line["parkedAtMillis"].to_string()),
            )
            .item("data", AttributeValue::S(data))
            .item("truncated", AttributeValue::Bool(truncated));
        if let Some(status) = line["status"].as_u64() {
            put = put.item("status", AttributeValue::N(status.to_string()));
        }
        if let Some(response) = line["response"].as_str() {
            put = put.item("response", AttributeValue::S(response.to_owned()));
        }
        put.send().await.map_err(|e| io(e.into_service_error()))?;
        Ok(())
    }

    /// Forgets the parked record kept under `sk`.
    pub async fn forget(&self, destination: &str, sk: &str) -> std::io::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", Self::pk(destination))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(|e| io(e.into_service_error()))?;
        Ok(())
    }

    /// The parked records of `destination`, as kept.
    pub async fn parked(&self, destination: &str) -> std::io::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :parked)")
                .expression_attribute_values(":pk", Self::pk(destination))
                .expression_attribute_values(":parked", AttributeValue::S("parked#".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| io(e.into_service_error()))?;
            for item in page.items() {
                let get = |key: &str| item.get(key).and_then(|v| v.as_s().ok()).cloned();
                items.push(serde_json::json!({
                    "sk": get("sk"),
                    "topic": get("topic"),
                    "partitionKey": get("partition_key"),
                    "reason": get("reason"),
                    "status": item.get("status").and_then(|v| v.as_n().ok()),
                    "data": get("data"),
                    "truncated": item.get("truncated").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                }));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
