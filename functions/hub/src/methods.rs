//! The Writer hub's methods, as Quix's Streaming Writer hub names them, each
//! bound to the writer core. Names are matched ignoring case and argument
//! property names too, as ASP.NET Core binds them.

use std::ops::RangeInclusive;

use crate::signalr::Invocation;
use inlet_shared::config::Token;
use inlet_shared::telemetry;
use inlet_shared::writer::{Message, MessageKind};
use inlet_shared::{Error, Result};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::Hub;
use crate::reader::{ANY, Change, Subscriptions, authorize_read};
use crate::streams::Topics;

/// A method of the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `CreateStream(topic, details)` returns `{streamId}`.
    CreateStream,
    /// `UpdateStream(topic, streamId, details)`; `(topic, details)`, as the
    /// Quix documentation's JavaScript calls it, creates a stream as
    /// `CreateStream` does.
    UpdateStream,
    /// `SendParameterData(topic, streamId, data)`.
    SendParameterData,
    /// `SendEventData(topic, streamId, events)`.
    SendEventData,
    /// `CloseStream(topic, streamId[, endStreamState])`.
    CloseStream,
    /// `SubscribeToPackages(topic)`; also called `SubscribeToTopicPackages`.
    SubscribeToPackages,
    /// `UnsubscribeFromPackages(topic)`.
    UnsubscribeFromPackages,
    /// `SubscribeToParameter(topic, streamId, parameterId)`.
    SubscribeToParameter,
    /// `UnsubscribeFromParameter(topic, streamId, parameterId)`.
    UnsubscribeFromParameter,
    /// `SubscribeToEvent(topic, streamId, eventId)`.
    SubscribeToEvent,
    /// `UnsubscribeFromEvent(topic, streamId, eventId)`.
    UnsubscribeFromEvent,
    /// `UnsubscribeFromStream(topic, streamId)`.
    UnsubscribeFromStream,
    /// `SubscribeToActiveStreams(topic)` returns the active streams.
    SubscribeToActiveStreams,
    /// `UnsubscribeFromActiveStreams(topic)`.
    UnsubscribeFromActiveStreams,
    /// `SubscribeToTopicMetrics(topic)` returns the last 5 minutes' metrics.
    SubscribeToTopicMetrics,
    /// `UnsubscribeFromTopicMetrics(topic)`.
    UnsubscribeFromTopicMetrics,
}

impl Method {
    /// Every method, in the order functions/hub/README.md lists them.
    pub const ALL: [Method; 16] = [
        Method::CreateStream,
        Method::UpdateStream,
        Method::SendParameterData,
        Method::SendEventData,
        Method::CloseStream,
        Method::SubscribeToPackages,
        Method::UnsubscribeFromPackages,
        Method::SubscribeToParameter,
        Method::UnsubscribeFromParameter,
        Method::SubscribeToEvent,
        Method::UnsubscribeFromEvent,
        Method::UnsubscribeFromStream,
        Method::SubscribeToActiveStreams,
        Method::UnsubscribeFromActiveStreams,
        Method::SubscribeToTopicMetrics,
        Method::UnsubscribeFromTopicMetrics,
    ];

    /// The Writer hub's methods.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Method::CreateStream
                | Method::UpdateStream
                | Method::SendParameterData
                | Method::SendEventData
                | Method::CloseStream
        )
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::CreateStream => "CreateStream",
            Method::UpdateStream => "UpdateStream",
            Method::SendParameterData => "SendParameterData",
            Method::SendEventData => "SendEventData",
            Method::CloseStream => "CloseStream",
            Method::SubscribeToPackages => "SubscribeToPackages",
            Method::UnsubscribeFromPackages => "UnsubscribeFromPackages",
            Method::SubscribeToParameter => "SubscribeToParameter",
            Method::UnsubscribeFromParameter => "UnsubscribeFromParameter",
            Method::SubscribeToEvent => "SubscribeToEvent",
            Method::UnsubscribeFromEvent => "UnsubscribeFromEvent",
            Method::UnsubscribeFromStream => "UnsubscribeFromStream",
            Method::SubscribeToActiveStreams => "SubscribeToActiveStreams",
            Method::UnsubscribeFromActiveStreams => "UnsubscribeFromActiveStreams",
            Method::SubscribeToTopicMetrics => "SubscribeToTopicMetrics",
            Method::UnsubscribeFromTopicMetrics => "UnsubscribeFromTopicMetrics",
        }
    }

    /// Its arguments, for errors.
    fn signature(self) -> &'static str {
        match self {
            Method::CreateStream => "(topic, details)",
            Method::UpdateStream => "(topic, streamId, details)",
            Method::SendParameterData => "(topic, streamId, data)",
            Method::SendEventData => "(topic, streamId, events)",
            Method::CloseStream => "(topic, streamId, endStreamState?)",
            Method::SubscribeToPackages
            | Method::UnsubscribeFromPackages
            | Method::SubscribeToActiveStreams
            | Method::UnsubscribeFromActiveStreams
            | Method::SubscribeToTopicMetrics
            | Method::UnsubscribeFromTopicMetrics => "(topic)",
            Method::SubscribeToParameter | Method::UnsubscribeFromParameter => {
                "(topic, streamId, parameterId)"
            }
            Method::SubscribeToEvent | Method::UnsubscribeFromEvent => "(topic, streamId, eventId)",
            Method::UnsubscribeFromStream => "(topic, streamId)",
        }
    }

    /// The method called `target`, ignoring case (with the other names the
    /// Quix documentation uses).
    pub fn find(target: &str) -> Option<Method> {
        const ALIASES: [(&str, Method); 2] = [
            ("SubscribeToTopicPackages", Method::SubscribeToPackages),
            (
                "UnsubscribeFromTopicPackages",
                Method::UnsubscribeFromPackages,
            ),
        ];
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(target))
            .or_else(|| {
                ALIASES
                    .into_iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(target))
                    .map(|(_, m)| m)
            })
    }
}

/// Where a connection's subscriptions live: in `inlet serve`'s memory, or
/// in AWS in the hub's table (read by the fan-out function).
#[derive(Clone, Copy)]
pub enum Reading<'a> {
    /// A socket of `inlet serve`.
    Local(&'a Session),
    /// An API Gateway connection.
    Table {
        /// The table.
        table: &'a crate::table::HubTable,
        /// API Gateway's connection id.
        connection: &'a str,
    },
}

/// A connection's subscriptions, and what the Reader hub knows of each
/// topic (for the lists the subscribe methods return).
#[derive(Debug)]
pub struct Session {
    /// What the connection is subscribed to.
    pub subscriptions: std::sync::Mutex<Subscriptions>,
    /// Every topic's streams and metrics.
    pub topics: Topics,
}

impl Session {
    /// A connection with no subscriptions.
    pub fn new(topics: Topics) -> Self {
        Session {
            subscriptions: std::sync::Mutex::default(),
            topics,
        }
    }
}

impl Session {
    /// Applies `change`, counting the connection in `inlet_hub_subscribers`
    /// of each topic it starts or stops naming.
    pub fn apply(&self, change: Change) {
        let mut subscriptions = self.subscriptions.lock().expect("not poisoned");
        let before = subscriptions.topics();
        subscriptions.apply(change);
        let after = subscriptions.topics();
        for topic in after.difference(&before) {
            telemetry::hub_subscribers(topic, 1.0);
        }
        for topic in before.difference(&after) {
            telemetry::hub_subscribers(topic, -1.0);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let subscriptions = self
            .subscriptions
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        for topic in subscriptions.topics() {
            telemetry::hub_subscribers(&topic, -1.0);
        }
    }
}

/// Runs `invocation` for `caller`: the result of a method that returns one.
/// Reader methods change `session`; without one (no feed of records here)
/// they are refused.
pub(crate) async fn call(
    hub: &Hub,
    caller: &Token,
    session: Option<Reading<'_>>,
    invocation: &Invocation,
) -> Result<Option<Value>> {
    if invocation.size > hub.max_message_bytes() {
        return Err(Error::PayloadTooLarge {
            limit: hub.max_message_bytes(),
        });
    }
    let method = Method::find(&invocation.target).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        Error::NotFound(format!(
            "the hub has no method {:?}; it has {}",
            invocation.target,
            names.join(", ")
        ))
    })?;
    let args = Arguments {
        method,
        values: &invocation.arguments,
    };
    let writer = hub.writer();
    if !method.writes() {
        return subscribe(hub, caller, session, &args).await;
    }
    match method {
        Method::CreateStream => {
            args.count(1..=2)?;
            let topic = writer.authorize_as(caller, &args.string(0, "topic")?)?;
            let properties = args.message_or_empty(1, MessageKind::Properties)?;
            let stream_id = writer.create_stream(topic, properties).await?;
            Ok(Some(json!({ "streamId": stream_id })))
        }
        Method::UpdateStream if args.values.len() == 2 => {
            let topic = writer.authorize_as(caller, &args.string(0, "topic")?)?;
            let properties = args.message_or_empty(1, MessageKind::Properties)?;
            let stream_id = writer.create_stream(topic, properties).await?;
            Ok(Some(json!({ "streamId": stream_id })))
        }
        Method::UpdateStream => {
            args.count(3..=3)?;
            write(
                hub,
                caller,
                &args,
                args.message_or_empty(2, MessageKind::Properties),
            )
            .await
        }
        Method::SendParameterData => {
            args.count(3..=3)?;
            write(
                hub,
                caller,
                &args,
                args.message(2, MessageKind::ParameterData),
            )
            .await
        }
        Method::SendEventData => {
            args.count(3..=3)?;
            write(hub, caller, &args, args.message(2, MessageKind::Events)).await
        }
        Method::CloseStream => {
            args.count(2..=3)?;
            let end = match args.values.get(2).map(|v| v.get()) {
                None | Some("null") => Message::parse(MessageKind::End, b""),
                Some(state) => {
                    let body = format!("{{\"endStreamState\":{state}}}");
                    Message::parse(MessageKind::End, body.as_bytes())
                }
            };
            write(hub, caller, &args, end).await
        }
        _ => unreachable!("reader methods are handled above"),
    }
}

/// A Reader hub method: the subscription changed, once the topic is known
/// to be readable by `caller`.
async fn subscribe(
    hub: &Hub,
    caller: &Token,
    session: Option<Reading<'_>>,
    args: &Arguments<'_>,
) -> Result<Option<Value>> {
    let string = |i: usize, what: &str| args.string(i, what);
    let change = match args.method {
        Method::SubscribeToActiveStreams
        | Method::UnsubscribeFromActiveStreams
        | Method::SubscribeToTopicMetrics
        | Method::UnsubscribeFromTopicMetrics => {
            args.count(1..=1)?;
            let topic = string(0, "topic")?;
            match args.method {
                Method::SubscribeToActiveStreams => Change::ActiveStreams(topic),
                Method::UnsubscribeFromActiveStreams => Change::NoActiveStreams(topic),
                Method::SubscribeToTopicMetrics => Change::Metrics(topic),
                _ => Change::NoMetrics(topic),
            }
        }
        Method::SubscribeToPackages | Method::UnsubscribeFromPackages => {
            args.count(1..=1)?;
            let topic = string(0, "topic")?;
            if args.method == Method::SubscribeToPackages {
                Change::Packages(topic)
            } else {
                Change::NoPackages(topic)
            }
        }
        Method::SubscribeToParameter | Method::UnsubscribeFromParameter => {
            args.count(3..=3)?;
            let (t, s, p) = (
                string(0, "topic")?,
                string(1, "streamId")?,
                string(2, "parameterId")?,
            );
            if args.method == Method::SubscribeToParameter {
                Change::Parameter(t, s, p)
            } else {
                Change::NoParameter(t, s, p)
            }
        }
        Method::SubscribeToEvent | Method::UnsubscribeFromEvent => {
            args.count(3..=3)?;
            let (t, s, e) = (
                string(0, "topic")?,
                string(1, "streamId")?,
                string(2, "eventId")?,
            );
            if args.method == Method::SubscribeToEvent {
                Change::Event(t, s, e)
            } else {
                Change::NoEvent(t, s, e)
            }
        }
        Method::UnsubscribeFromStream => {
            args.count(2..=2)?;
            Change::NoStream(string(0, "topic")?, string(1, "streamId")?)
        }
        _ => unreachable!("writer methods are handled by call"),
    };
    if change.subscribes() {
        authorize_read(&hub.config(), caller, change.topic())?;
    }
    let session = match session {
        Some(Reading::Local(session)) => session,
        Some(Reading::Table { table, connection }) => {
            let now = hub.writer().publisher().now();
            table.apply(connection, &caller.name, &change, now).await?;
            // The lists, from what the fan-out keeps in the table.
            let config = hub.config();
            let topics: Vec<&String> = config
                .topics
                .keys()
                .filter(|topic| caller.read.allows(topic))
                .filter(|topic| change.topic() == ANY || change.topic() == topic.as_str())
                .collect();
            return Ok(match change {
                Change::ActiveStreams(_) => {
                    let mut streams = Vec::new();
                    for topic in topics {
                        streams.extend(table.streams(topic, now).await?);
                    }
                    Some(serde_json::to_value(streams).expect("streams serialise"))
                }
                Change::Metrics(_) => {
                    let mut metrics = Vec::new();
                    for topic in topics {
                        metrics.extend(table.metrics(topic, now).await?);
                    }
                    Some(serde_json::to_value(metrics).expect("metrics serialise"))
                }
                _ => None,
            });
        }
        None => {
            return Err(Error::NotFound(
                "the Reader hub needs inlet serve's embedded log, or in AWS the hub's table: with --sink kinesis it is not served".into(),
            ));
        }
    };
    // What the two list-returning subscriptions return: the current state of
    // every topic the caller may read that the pattern names.
    let readable = |topic: &str| {
        caller.read.allows(topic) && (change.topic() == ANY || change.topic() == topic)
    };
    let result = match &change {
        Change::ActiveStreams(_) => {
            let streams: Vec<_> = session
                .topics
                .iter()
                .filter(|(topic, _)| readable(topic))
                .flat_map(|(_, state)| state.lock().expect("not poisoned").streams())
                .collect();
            Some(serde_json::to_value(streams).expect("streams serialise"))
        }
        Change::Metrics(_) => {
            let metrics: Vec<_> = session
                .topics
                .iter()
                .filter(|(topic, _)| readable(topic))
                .flat_map(|(_, state)| state.lock().expect("not poisoned").metrics())
                .collect();
            Some(serde_json::to_value(metrics).expect("metrics serialise"))
        }
        _ => None,
    };
    session.apply(change);
    Ok(result)
}

/// Authorises the topic of argument 1, then writes the message (parsed
/// after the topic is known to be allowed) to the stream of argument 2.
async fn write(
    hub: &Hub,
    caller: &Token,
    args: &Arguments<'_>,
    message: Result<Message>,
) -> Result<Option<Value>> {
    let writer = hub.writer();
    let topic = writer.authorize_as(caller, &args.string(0, "topic")?)?;
    let stream_id = args.string(1, "streamId")?;
    if stream_id.is_empty() {
        return Err(Error::BadRequest("argument 2 (streamId) is empty".into()));
    }
    writer.write(topic, &stream_id, message?).await?;
    Ok(None)
}

/// An invocation's arguments, read for one method.
struct Arguments<'a> {
    method: Method,
    values: &'a [Box<RawValue>],
}

impl Arguments<'_> {
    fn count(&self, allowed: RangeInclusive<usize>) -> Result<()> {
        let given = self.values.len();
        if allowed.contains(&given) {
            return Ok(());
        }
        let takes = if allowed.start() == allowed.end() {
            format!("{}", allowed.start())
        } else {
            format!("{} to {}", allowed.start(), allowed.end())
        };
        Err(Error::BadRequest(format!(
            "{} takes {takes} arguments {}; {given} given",
            self.method.name(),
            self.method.signature()
        )))
    }

    fn string(&self, index: usize, what: &str) -> Result<String> {
        serde_json::from_str(self.values[index].get()).map_err(|_| {
            Error::BadRequest(format!("argument {} ({what}) must be a string", index + 1))
        })
    }

    fn message(&self, index: usize, kind: MessageKind) -> Result<Message> {
        crate::binding::parse_argument(kind, self.values[index].get().as_bytes())
    }

    /// The message of argument `index`; absent or `null` is an empty one.
    fn message_or_empty(&self, index: usize, kind: MessageKind) -> Result<Message> {
        match self.values.get(index).map(|v| v.get()) {
            None | Some("null") => Message::parse(kind, b""),
            Some(_) => self.message(index, kind),
        }
    }
}
