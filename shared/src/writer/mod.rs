//! The Quix Streaming Writer core, transport-neutral: authorise a token for
//! a topic, parse and validate a message, split it into records that fit the
//! stream, and publish them, answering only once every one is durable. The
//! HTTP Writer API is one transport over it; a websocket hub can be another.

pub mod payload;
pub mod split;
mod tokens;

pub use tokens::{Tokens, bearer_token};

use std::sync::Arc;

use crate::config::{Config, Token, Topic};
use crate::error::{Error, Result};
pub use crate::model::Message;
use crate::model::{EventData, ParameterData, event_type};
use crate::publish::{Publisher, Route};

/// The CloudEvents `source` of everything the Writer publishes.
pub const SOURCE: &str = "/writer";

/// The kinds of message a stream takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Stream properties (creating or updating a stream).
    Properties,
    /// Time-series parameter data.
    ParameterData,
    /// Events.
    Events,
    /// Parameter definitions.
    ParameterDefinitions,
    /// Event definitions.
    EventDefinitions,
    /// The end of a stream.
    End,
}

impl Message {
    /// Parses and validates a body of `kind` (400 naming what is wrong).
    pub fn parse(kind: MessageKind, body: &[u8]) -> Result<Message> {
        Ok(match kind {
            MessageKind::Properties => Message::Properties(payload::stream_properties(body)?),
            MessageKind::ParameterData => Message::ParameterData(payload::parameter_data(body)?),
            MessageKind::Events => Message::Events(payload::events(body)?),
            MessageKind::ParameterDefinitions => {
                Message::Definitions(payload::parameter_definitions(body)?)
            }
            MessageKind::EventDefinitions => {
                Message::Definitions(payload::event_definitions(body)?)
            }
            MessageKind::End => Message::End(payload::stream_end(body)?),
        })
    }

    /// One event whose value is `body` as text, stamped `now`: the raw-body
    /// form (400 unless the body is UTF-8).
    pub fn event_value(id: String, now: std::time::SystemTime, body: &[u8]) -> Result<Message> {
        let value = std::str::from_utf8(body)
            .map_err(|_| Error::BadRequest("the event value is not UTF-8 text".into()))?;
        payload::check_id("the event id", &id)?;
        Ok(Message::Events(vec![EventData {
            id,
            timestamp: crate::time::unix_nanos(now),
            value: value.to_owned(),
            tags: Default::default(),
        }]))
    }

    /// What the message is, for logs.
    pub fn describe(&self) -> &'static str {
        match self {
            Message::Properties(_) => "stream properties",
            Message::ParameterData(_) => "parameter data",
            Message::Events(_) => "events",
            Message::Definitions(d) if d.parameters.is_empty() => "event definitions",
            Message::Definitions(_) => "parameter definitions",
            Message::End(_) => "stream end",
        }
    }
}

/// The writer core: tokens hashed once, the configuration and the publisher.
#[derive(Clone)]
pub struct QuixWriter {
    config: Arc<Config>,
    tokens: Tokens,
    publisher: Publisher,
}

impl QuixWriter {
    /// A writer over `config`'s topics and tokens.
    pub fn new(config: Arc<Config>, publisher: Publisher) -> Self {
        QuixWriter {
            tokens: Tokens::new(&config),
            config,
            publisher,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The publisher (and its clock).
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// The topic, if `token` may write to it: 401 for an unknown token, 404
    /// for an unknown topic, 403 if the token is not allowed on it.
    pub fn authorize(&self, token: &str, topic: &str) -> Result<&Topic> {
        let token = self.authenticate(token)?;
        self.authorize_as(token, topic)
    }

    /// The configured token equal to `token`, or 401.
    pub fn authenticate(&self, token: &str) -> Result<&Token> {
        self.tokens.check(token)
    }

    /// The topic, if the authenticated `token` may write to it: 404 for an
    /// unknown topic, 403 if the token is not allowed on it.
    pub fn authorize_as(&self, token: &Token, topic: &str) -> Result<&Topic> {
        let topic = self.config.topic(topic)?;
        if token.topics.allows(&topic.name) {
            Ok(topic)
        } else {
            Err(Error::Forbidden(format!(
                "token {:?} may not write to topic {:?}",
                token.name, topic.name
            )))
        }
    }

    /// Publishes `message` to `stream_id` of `topic`, returning once every
    /// record is durable.
    pub async fn write(&self, topic: &Topic, stream_id: &str, message: Message) -> Result<()> {
        let what = message.describe();
        self.publish(topic, stream_id, message, what).await
    }

    /// Creates a stream with `properties` under a new id, as Quix's
    /// create-stream does, and returns the id once it is durable.
    pub async fn create_stream(&self, topic: &Topic, properties: Message) -> Result<String> {
        let stream_id = uuid::Uuid::new_v4().to_string();
        self.publish(topic, &stream_id, properties, "stream created")
            .await?;
        Ok(stream_id)
    }

    async fn publish(
        &self,
        topic: &Topic,
        stream_id: &str,
        message: Message,
        what: &str,
    ) -> Result<()> {
        let route = Route {
            source: SOURCE,
            topic,
            stream_id,
        };
        let written = self.records(&route, message, what).await;
        let outcome = match &written {
            Ok(()) => "published",
            Err(Error::Unavailable { .. } | Error::Io(_)) => "unavailable",
            Err(_) => "refused",
        };
        crate::telemetry::writer_write(&topic.name, outcome);
        written
    }

    /// The records of `message`, published.
    async fn records(&self, route: &Route<'_>, message: Message, what: &str) -> Result<()> {
        let p = &self.publisher;
        let records = match message {
            Message::Properties(m) => vec![p.record(route, event_type::STREAM_PROPERTIES, &m)],
            Message::ParameterData(m) => {
                let encode = |piece: &ParameterData| p.record(route, event_type::PARAMETERS, piece);
                split::split_parameter_data(m, &encode)?
            }
            Message::Events(events) => events
                .iter()
                .map(|e| p.record(route, event_type::EVENTS, e))
                .collect(),
            Message::Definitions(m) => vec![p.record(route, event_type::DEFINITIONS, &m)],
            Message::End(m) => vec![p.record(route, event_type::STREAM_END, &m)],
        };
        p.publish(route, what, records).await?;
        Ok(())
    }
}
