//! The Reader hub's fan-out in AWS: a function triggered by each topic's
//! Kinesis stream (an event source mapping) that looks up the topic's
//! subscribers and sends each its pushes with API Gateway's
//! `PostToConnection`: several SignalR messages per frame up to the 32 KB
//! frame limit, one connection's frames in order, connections in parallel.
//! A gone connection (410) is forgotten, a throttled one (429) is retried
//! with back-off; neither fails the batch, so a subscriber never holds back
//! a shard. Only a failure to read the subscribers fails the batch (Lambda
//! retries it, at most as often as the mapping allows).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use futures_util::StreamExt;
use inlet_shared::Config;
use inlet_shared::time::{Backoff, Jitter};

use crate::reader::{Item, Update};
use crate::streams::{Action, ActiveStream, TopicMetrics, TopicState};
use crate::table::{HubTable, Subscriber};

/// The largest frame API Gateway passes to a client.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Connections posted to at once.
const PARALLEL: usize = 16;
/// Tries of one frame to a throttled connection.
const TRIES: u32 = 4;

/// Why a post did not reach its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// The connection is gone (410): forget it.
    Gone,
    /// Too many posts, or the client's buffer is full (429): retry later.
    Throttled,
    /// Anything else.
    Failed(String),
}

/// Where pushes are posted: API Gateway's `@connections` API.
#[async_trait]
pub trait Connections: Send + Sync {
    /// Sends `frame` to `connection` as one text frame.
    async fn post(&self, connection: &str, frame: String) -> Result<(), PostError>;

    /// Closes `connection` from the server's side.
    async fn close(&self, connection: &str) -> Result<(), PostError>;
}

/// `@connections` through the AWS SDK.
pub struct ApiGatewayConnections {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayConnections {
    /// The `@connections` API at `endpoint`
    /// (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`).
    pub fn new(aws: &inlet_shared::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(aws)
            .endpoint_url(endpoint)
            .build();
        ApiGatewayConnections {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl Connections for ApiGatewayConnections {
    async fn post(&self, connection: &str, frame: String) -> Result<(), PostError> {
        use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection)
            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(frame))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PostToConnectionError::GoneException(_)) => Err(PostError::Gone),
                Some(PostToConnectionError::LimitExceededException(_)) => Err(PostError::Throttled),
                _ => Err(PostError::Failed(
                    aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
                )),
            },
        }
    }

    async fn close(&self, connection: &str) -> Result<(), PostError> {
        use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
        let deleted = self
            .client
            .delete_connection()
            .connection_id(connection)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteConnectionError::GoneException(_)) => Err(PostError::Gone),
                Some(DeleteConnectionError::LimitExceededException(_)) => Err(PostError::Throttled),
                _ => Err(PostError::Failed(
                    aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
                )),
            },
        }
    }
}

/// The fan-out: configuration, subscriptions and connections, built once.
#[derive(Clone)]
pub struct Fanout {
    config: Arc<Config>,
    table: HubTable,
    connections: Arc<dyn Connections>,
    backoff: Backoff,
}

impl Fanout {
    /// A fan-out over `config`'s topics and tokens.
    pub fn new(config: Arc<Config>, table: HubTable, connections: Arc<dyn Connections>) -> Self {
        Fanout {
            config,
            table,
            connections,
            backoff: Backoff {
                base: Duration::from_millis(50),
                max: Duration::from_secs(1),
                jitter: Jitter::Equal,
            },
        }
    }

    /// Pushes a batch of one stream's records to its topic's subscribers.
    pub async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        let mut response = KinesisEventResponse::default();
        let Some(first) = event.records.first() else {
            return response;
        };
        let stream = first
            .event_source_arn
            .as_deref()
            .and_then(|arn| arn.rsplit_once(":stream/"))
            .map(|(_, name)| name.to_owned())
            .unwrap_or_default();
        let Some(topic) = self.config.topics.values().find(|t| t.stream == stream) else {
            tracing::warn!(
                stream,
                "records of a stream no topic names: nothing to push"
            );
            return response;
        };
        let items: Vec<Item> = event
            .records
            .iter()
            .filter_map(|r| Item::decode(&topic.name, &r.kinesis.data))
            .collect();
        let now = SystemTime::now();
        let mut updates: Vec<Update> = Vec::new();
        match self.track(&topic.name, &items, now).await {
            Ok((changes, metrics)) => {
                updates.extend(changes.into_iter().map(|(s, a)| Update::Stream(s, a)));
                updates.extend(items.iter().cloned().map(Update::Record));
                updates.push(Update::Metrics(metrics));
            }
            Err(e) => {
                // The streams and metrics are best effort; records still go out.
                tracing::warn!(error = %e, "cannot keep the topic's streams and metrics");
                updates.extend(items.iter().cloned().map(Update::Record));
            }
        }
        let subscribers = match self.table.subscribers(&topic.name, now).await {
            Ok(subscribers) => subscribers,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the subscribers: the batch is retried");
                response.add_failure(first.kinesis.sequence_number.clone());
                return response;
            }
        };
        let (pushed, gone) = (
            std::sync::atomic::AtomicUsize::new(0),
            std::sync::atomic::AtomicUsize::new(0),
        );
        futures_util::stream::iter(subscribers)
            .for_each_concurrent(PARALLEL, |subscriber| {
                let (updates, pushed, gone) = (&updates, &pushed, &gone);
                async move {
                    match self.push(&subscriber, updates).await {
                        Ok(n) => {
                            pushed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(PostError::Gone) => {
                            gone.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if let Err(e) = self.table.forget(&subscriber.connection).await {
                                tracing::warn!(error = %e, "cannot forget a gone connection; its items expire");
                            }
                        }
                        Err(e) => tracing::warn!(connection = subscriber.connection, error = ?e, "pushes not delivered"),
                    }
                }
            })
            .await;
        tracing::info!(
            topic = topic.name,
            records = event.records.len(),
            frames = pushed.into_inner(),
            gone = gone.into_inner(),
            "pushed"
        );
        response
    }

    /// The topic's streams as `items` change them (kept in the table), and
    /// the batch's metrics: the fan-out's pace is its batches, about one a
    /// second per shard while records arrive.
    async fn track(
        &self,
        topic: &str,
        items: &[Item],
        now: SystemTime,
    ) -> inlet_shared::Result<(Vec<(ActiveStream, Action)>, TopicMetrics)> {
        let workspace = &self.config.hub.workspace;
        let known = self.table.streams(topic, now).await?;
        let mut state = TopicState::of_streams(known);
        let mut changes = Vec::new();
        let mut touched = std::collections::BTreeSet::new();
        for item in items {
            touched.insert(item.stream_id.clone());
            changes.extend(state.observe(workspace, item));
        }
        for (stream, action) in &changes {
            if *action == Action::Remove {
                self.table.delete_stream(topic, &stream.stream_id).await?;
                touched.remove(&stream.stream_id);
            }
        }
        for stream in state.streams() {
            if touched.contains(&stream.stream_id) {
                self.table.put_stream(&stream, now).await?;
            }
        }
        let at = humantime::format_rfc3339_millis(now).to_string();
        let metrics = state.tick(workspace, topic, &at);
        self.table.put_metrics(&metrics, now).await?;
        Ok((changes, metrics))
    }

    /// Sends one subscriber its pushes, in frames of at most 32 KB, in
    /// order; the frames sent.
    async fn push(&self, subscriber: &Subscriber, updates: &[Update]) -> Result<usize, PostError> {
        let Some(token) = self.config.tokens.get(&subscriber.token) else {
            // The token was removed from the configuration: so is its access.
            return Err(PostError::Gone);
        };
        let workspace = &self.config.hub.workspace;
        let mut frames = Vec::new();
        let mut frame = String::new();
        for update in updates {
            let mut pushes = String::new();
            subscriber
                .subscriptions
                .pushes(workspace, token, update, &mut pushes);
            for message in pushes.split_inclusive(crate::signalr::protocol::RECORD_SEPARATOR) {
                if message.len() > MAX_FRAME_BYTES {
                    tracing::warn!(
                        bytes = message.len(),
                        "a push over API Gateway's 32 KB frame limit is not sent"
                    );
                    continue;
                }
                if frame.len() + message.len() > MAX_FRAME_BYTES {
                    frames.push(std::mem::take(&mut frame));
                }
                frame.push_str(message);
            }
        }
        if !frame.is_empty() {
            frames.push(frame);
        }
        let count = frames.len();
        for frame in frames {
            let mut attempt = 0;
            loop {
                match self
                    .connections
                    .post(&subscriber.connection, frame.clone())
                    .await
                {
                    Ok(()) => break,
                    Err(PostError::Throttled) if attempt + 1 < TRIES => {
                        attempt += 1;
                        tokio::time::sleep(self.backoff.delay(attempt)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(count)
    }
}

/// Runs the fan-out function in Lambda until the runtime stops it, with
/// the hub's table (`INLET_HUB_TABLE`) and `@connections` endpoint
/// (`INLET_HUB_CONNECTIONS_URL`).
pub async fn run(runtime: inlet_shared::lambda::Runtime) -> Result<(), lambda_runtime::Error> {
    use inlet_shared::config::Wiring;
    use inlet_shared::config::deployment::{HUB_CONNECTIONS_URL_ENV, HUB_TABLE_ENV};
    use lambda_runtime::{LambdaEvent, service_fn};

    let wiring = &runtime.wiring;
    let fanout = Fanout::new(
        runtime.config.current(),
        crate::table::HubTable::new(
            aws_sdk_dynamodb::Client::new(&runtime.aws),
            Wiring::required(&wiring.hub_table, HUB_TABLE_ENV)?.to_owned(),
        ),
        Arc::new(ApiGatewayConnections::new(
            &runtime.aws,
            Wiring::required(&wiring.hub_connections_url, HUB_CONNECTIONS_URL_ENV)?,
        )),
    );
    let fanout = &fanout;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, lambda_runtime::Error>(fanout.handle(event.payload).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::reader::{Change, Subscriptions};

    /// Connections that record what they are sent and answer as scripted.
    #[derive(Default)]
    struct Recorded {
        frames: Mutex<Vec<(String, String)>>,
        answers: Mutex<Vec<Result<(), PostError>>>,
    }

    #[async_trait]
    impl Connections for Recorded {
        async fn post(&self, connection: &str, frame: String) -> Result<(), PostError> {
            let answer = self.answers.lock().unwrap().pop().unwrap_or(Ok(()));
            if answer.is_ok() {
                self.frames
                    .lock()
                    .unwrap()
                    .push((connection.to_owned(), frame));
            }
            answer
        }

        async fn close(&self, _connection: &str) -> Result<(), PostError> {
            Ok(())
        }
    }

    fn fanout(connections: Arc<Recorded>) -> Fanout {
        let config = inlet_test_kit::config(
            "[topics.t]\n[tokens.r]\ntoken = \"env:T\"\ntopics = []\nread = [\"*\"]\n",
            &[("T", "t")],
        );
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        Fanout::new(
            config,
            HubTable::new(dynamodb, "unused".into()),
            connections,
        )
    }

    fn items(count: usize, value_bytes: usize) -> Vec<Item> {
        (0..count)
            .map(|i| {
                let record = serde_json::to_vec(&json!({
                    "specversion": "1.0", "id": "1", "source": "/writer", "type": "io.quix.events",
                    "subject": "s", "time": "T", "datacontenttype": "application/json", "topic": "t",
                    "data": {"id": format!("e{i}"), "timestamp": i, "value": "x".repeat(value_bytes)},
                }))
                .unwrap();
                Item::decode("t", &record).unwrap()
            })
            .collect()
    }

    fn records(count: usize, value_bytes: usize) -> Vec<Update> {
        items(count, value_bytes)
            .into_iter()
            .map(Update::Record)
            .collect()
    }

    fn subscriber() -> Subscriber {
        let mut subscriptions = Subscriptions::default();
        subscriptions.apply(Change::Packages("t".into()));
        Subscriber {
            connection: "c1=".into(),
            token: "r".into(),
            subscriptions,
        }
    }

    #[tokio::test]
    async fn pushes_go_in_order_in_frames_of_at_most_32_kb() {
        let connections = Arc::new(Recorded::default());
        let sent = fanout(connections.clone())
            .push(&subscriber(), &records(100, 1000))
            .await
            .unwrap();
        let frames = connections.frames.lock().unwrap();
        assert_eq!(sent, frames.len());
        assert!(frames.len() > 1);
        assert!(
            frames
                .iter()
                .all(|(c, f)| c == "c1=" && f.len() <= MAX_FRAME_BYTES && f.ends_with('\u{1e}'))
        );
        let ids: Vec<String> = frames
            .iter()
            .flat_map(|(_, f)| f.split_terminator('\u{1e}'))
            .map(|m| {
                let m: serde_json::Value = serde_json::from_str(m).unwrap();
                let value: serde_json::Value =
                    serde_json::from_str(m["arguments"][0]["value"].as_str().unwrap()).unwrap();
                value[0]["Id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids, (0..100).map(|i| format!("e{i}")).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_throttled_connection_is_retried_and_a_gone_one_reported() {
        let connections = Arc::new(Recorded::default());
        connections
            .answers
            .lock()
            .unwrap()
            .extend([Err(PostError::Throttled), Err(PostError::Throttled)]);
        let fanout = fanout(connections.clone());
        assert_eq!(fanout.push(&subscriber(), &records(1, 10)).await, Ok(1));
        assert_eq!(connections.frames.lock().unwrap().len(), 1);
        connections
            .answers
            .lock()
            .unwrap()
            .push(Err(PostError::Gone));
        assert_eq!(
            fanout.push(&subscriber(), &records(1, 10)).await,
            Err(PostError::Gone)
        );
        // A push larger than a frame is not sent; the others are.
        let mut big = records(1, 40_000);
        big.extend(records(1, 10));
        assert_eq!(fanout.push(&subscriber(), &big).await, Ok(1));
    }
}
