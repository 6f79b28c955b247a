//! The Reader hub's subscriptions in AWS, in one DynamoDB table: the hub
//! function writes them as connections subscribe; the fan-out function
//! reads a topic's subscribers for each batch of records. Every item expires
//! (TTL `expires_at`) after API Gateway's 2-hour connection limit, since
//! `$disconnect` is best effort.
//!
//! Two items per subscription: under `topic#<topic>` (what the fan-out
//! queries) and under `connection#<id>` (what a disconnect or a gone
//! connection deletes). The fan-out also keeps each topic's active streams
//! (`streams#<topic>`, a day past their last record) and its metrics
//! (`metrics#<topic>`, 5 minutes).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use inlet_shared::{Error, Result};

use crate::reader::{ANY, Change, Subscriptions};
use crate::streams::{ActiveStream, TopicMetrics};

/// How long a stream with no record stays listed.
pub const STREAM_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long metrics are kept: what `SubscribeToTopicMetrics` returns.
pub const METRICS_TTL: Duration = Duration::from_secs(300);

/// How long a subscription is kept: API Gateway closes a connection after
/// 2 hours.
pub const TTL: Duration = Duration::from_secs(2 * 3600 + 600);

/// A connection subscribed to a topic, as the fan-out needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// API Gateway's connection id.
    pub connection: String,
    /// The name of the token it connected with.
    pub token: String,
    /// Its subscriptions on the topic (and on `*`).
    pub subscriptions: Subscriptions,
}

/// The table.
#[derive(Clone, Debug)]
pub struct HubTable {
    client: Client,
    table: String,
}

/// A subscription as stored: kind, topic, stream, item.
fn parts(change: &Change) -> Option<(&'static str, &str, &str, &str)> {
    Some(match change {
        Change::Packages(t) | Change::NoPackages(t) => ("packages", t, "", ""),
        Change::Parameter(t, s, p) | Change::NoParameter(t, s, p) => ("parameter", t, s, p),
        Change::Event(t, s, e) | Change::NoEvent(t, s, e) => ("event", t, s, e),
        Change::ActiveStreams(t) | Change::NoActiveStreams(t) => ("streams", t, "", ""),
        Change::Metrics(t) | Change::NoMetrics(t) => ("metrics", t, "", ""),
        Change::NoStream(..) => return None,
    })
}

fn change_of(kind: &str, topic: String, stream: String, item: String) -> Option<Change> {
    Some(match kind {
        "packages" => Change::Packages(topic),
        "parameter" => Change::Parameter(topic, stream, item),
        "event" => Change::Event(topic, stream, item),
        "streams" => Change::ActiveStreams(topic),
        "metrics" => Change::Metrics(topic),
        _ => return None,
    })
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn text(item: &HashMap<String, AttributeValue>, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("hub table {what}: {e}"))
}

impl HubTable {
    /// The table `table` through `client`.
    pub fn new(client: Client, table: String) -> Self {
        HubTable { client, table }
    }

    /// Applies a subscribe or unsubscribe of `connection` (token `token`).
    pub async fn apply(
        &self,
        connection: &str,
        token: &str,
        change: &Change,
        now: SystemTime,
    ) -> Result<()> {
        if let Change::NoStream(topic, stream) = change {
            for (pk, sk) in self.items_of(connection).await? {
                let parts: Vec<&str> = sk.splitn(4, '#').collect();
                // sk: <connection>#<kind>#<stream>#<item> under topic#<topic>.
                if pk == format!("topic#{topic}")
                    && matches!(parts.get(1), Some(&"parameter") | Some(&"event"))
                    && parts.get(2) == Some(&stream.as_str())
                {
                    self.delete(connection, &pk, &sk).await?;
                }
            }
            return Ok(());
        }
        let Some((kind, topic, stream, item)) = parts(change) else {
            return Ok(());
        };
        let pk = format!("topic#{topic}");
        let sk = format!("{connection}#{kind}#{stream}#{item}");
        if !change.subscribes() {
            return self.delete(connection, &pk, &sk).await;
        }
        let expires = inlet_shared::time::unix_secs(now + TTL).to_string();
        let under_topic = [
            ("pk", s(&pk)),
            ("sk", s(&sk)),
            ("connection", s(connection)),
            ("token", s(token)),
            ("kind", s(kind)),
            ("topic", s(topic)),
            ("stream", s(stream)),
            ("item", s(item)),
            ("expires_at", AttributeValue::N(expires.clone())),
        ];
        let under_connection = [
            ("pk", s(format!("connection#{connection}"))),
            ("sk", s(format!("{pk}|{sk}"))),
            ("expires_at", AttributeValue::N(expires)),
        ];
        for item in [&under_topic[..], &under_connection[..]] {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(
                    item.iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                ))
                .send()
                .await
                .map_err(|e| {
                    unavailable("write", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                })?;
        }
        Ok(())
    }

    /// Every subscription of `connection`: (pk, sk) of its topic items.
    async fn items_of(&self, connection: &str) -> Result<Vec<(String, String)>> {
        let rows = self.query(&format!("connection#{connection}")).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let sk = text(row, "sk");
                sk.split_once('|')
                    .map(|(pk, sk)| (pk.to_owned(), sk.to_owned()))
            })
            .collect())
    }

    async fn delete(&self, connection: &str, pk: &str, sk: &str) -> Result<()> {
        let keys = [
            (pk.to_owned(), sk.to_owned()),
            (format!("connection#{connection}"), format!("{pk}|{sk}")),
        ];
        for (pk, sk) in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .send()
                .await
                .map_err(|e| {
                    unavailable("delete", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                })?;
        }
        Ok(())
    }

    /// Forgets every subscription of `connection` (it disconnected, or is
    /// gone).
    pub async fn forget(&self, connection: &str) -> Result<()> {
        for (pk, sk) in self.items_of(connection).await? {
            self.delete(connection, &pk, &sk).await?;
        }
        Ok(())
    }

    async fn query(&self, pk: &str) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut rows = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    unavailable("query", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                })?;
            rows.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(rows),
            }
        }
    }

    /// The connections subscribed to `topic` (or to every topic), each with
    /// its subscriptions; expired items are left out.
    pub async fn subscribers(&self, topic: &str, now: SystemTime) -> Result<Vec<Subscriber>> {
        let now = inlet_shared::time::unix_secs(now);
        let mut by_connection: BTreeMap<String, Subscriber> = BTreeMap::new();
        let mut patterns = vec![topic];
        if topic != ANY {
            patterns.push(ANY);
        }
        for pattern in patterns {
            for row in self.query(&format!("topic#{pattern}")).await? {
                let expires: u64 = row
                    .get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if expires <= now {
                    continue;
                }
                let Some(change) = change_of(
                    &text(&row, "kind"),
                    text(&row, "topic"),
                    text(&row, "stream"),
                    text(&row, "item"),
                ) else {
                    continue;
                };
                let connection = text(&row, "connection");
                by_connection
                    .entry(connection.clone())
                    .or_insert_with(|| Subscriber {
                        connection,
                        token: text(&row, "token"),
                        subscriptions: Subscriptions::default(),
                    })
                    .subscriptions
                    .apply(change);
            }
        }
        Ok(by_connection.into_values().collect())
    }

    async fn put_json(
        &self,
        pk: String,
        sk: String,
        json: String,
        expires: SystemTime,
    ) -> Result<()> {
        let expires = inlet_shared::time::unix_secs(expires).to_string();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("json", s(json))
            .item("expires_at", AttributeValue::N(expires))
            .send()
            .await
            .map_err(|e| unavailable("write", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn query_json<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        now: SystemTime,
    ) -> Result<Vec<T>> {
        let now = inlet_shared::time::unix_secs(now);
        Ok(self
            .query(pk)
            .await?
            .iter()
            .filter(|row| {
                row.get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|expires| expires > now)
            })
            .filter_map(|row| serde_json::from_str(&text(row, "json")).ok())
            .collect())
    }

    /// The active streams of `topic`.
    pub async fn streams(&self, topic: &str, now: SystemTime) -> Result<Vec<ActiveStream>> {
        self.query_json(&format!("streams#{topic}"), now).await
    }

    /// Keeps `stream` (a day past `now`).
    pub async fn put_stream(&self, stream: &ActiveStream, now: SystemTime) -> Result<()> {
        let json = serde_json::to_string(stream).expect("a stream serialises");
        self.put_json(
            format!("streams#{}", stream.topic_name),
            stream.stream_id.clone(),
            json,
            now + STREAM_TTL,
        )
        .await
    }

    /// Forgets an ended stream.
    pub async fn delete_stream(&self, topic: &str, stream_id: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("streams#{topic}")))
            .key("sk", s(stream_id))
            .send()
            .await
            .map_err(|e| unavailable("delete", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Keeps `metrics` for 5 minutes.
    pub async fn put_metrics(&self, metrics: &TopicMetrics, now: SystemTime) -> Result<()> {
        let json = serde_json::to_string(metrics).expect("metrics serialise");
        self.put_json(
            format!("metrics#{}", metrics.topic_name),
            metrics.timestamp.clone(),
            json,
            now + METRICS_TTL,
        )
        .await
    }

    /// The metrics of the last 5 minutes, oldest first.
    pub async fn metrics(&self, topic: &str, now: SystemTime) -> Result<Vec<TopicMetrics>> {
        self.query_json(&format!("metrics#{topic}"), now).await
    }
}
