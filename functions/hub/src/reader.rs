//! The Reader hub: a connection's subscriptions, and the pushes a stored
//! record becomes for it, shaped as Quix's Streaming Reader sends them
//! (quixio/quix-docs `docs/apis/streaming-reader-api/`; the package models
//! of quixio/quix-streams release/v0.5 `QuixStreams.Telemetry/Models`).

use std::collections::BTreeSet;

use crate::signalr::protocol;
use inlet_shared::config::{Config, Token};
use inlet_shared::{Error, Result};

use crate::streams::{Action, ActiveStream, TopicMetrics};

pub use crate::item::Item;
pub use crate::pushes::{ANY, PackageReceived, package_received, topic_id};
use crate::pushes::{event_data_received, parameter_data_received};
use inlet_shared::model::Message;

/// What the Reader hub hands its connections: a stored record, or a change
/// of a topic's streams or metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A record, as stored.
    Record(Item),
    /// A stream was added, updated or removed (`ActiveStreamsChanged`).
    Stream(ActiveStream, Action),
    /// A topic's last second (`TopicMetricsUpdated`).
    Metrics(TopicMetrics),
}

impl Update {
    /// The topic it is about.
    pub fn topic(&self) -> &str {
        match self {
            Update::Record(item) => &item.topic,
            Update::Stream(stream, _) => &stream.topic_name,
            Update::Metrics(metrics) => &metrics.topic_name,
        }
    }
}

/// What one connection is subscribed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    packages: BTreeSet<String>,
    active_streams: BTreeSet<String>,
    metrics: BTreeSet<String>,
    /// (topic, stream, parameter).
    parameters: BTreeSet<(String, String, String)>,
    /// (topic, stream, event).
    events: BTreeSet<(String, String, String)>,
}

fn matches(pattern: &str, value: &str) -> bool {
    pattern == ANY || pattern == value
}

/// A Reader hub method and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `SubscribeToPackages(topic)` (also `SubscribeToTopicPackages`).
    Packages(String),
    /// `UnsubscribeFromPackages(topic)`.
    NoPackages(String),
    /// `SubscribeToParameter(topic, stream, parameter)`.
    Parameter(String, String, String),
    /// `UnsubscribeFromParameter(topic, stream, parameter)`.
    NoParameter(String, String, String),
    /// `SubscribeToEvent(topic, stream, event)`.
    Event(String, String, String),
    /// `UnsubscribeFromEvent(topic, stream, event)`.
    NoEvent(String, String, String),
    /// `UnsubscribeFromStream(topic, stream)`: its parameters and events.
    NoStream(String, String),
    /// `SubscribeToActiveStreams(topic)`.
    ActiveStreams(String),
    /// `UnsubscribeFromActiveStreams(topic)`.
    NoActiveStreams(String),
    /// `SubscribeToTopicMetrics(topic)`.
    Metrics(String),
    /// `UnsubscribeFromTopicMetrics(topic)`.
    NoMetrics(String),
}

impl Change {
    /// The topic the change names.
    pub fn topic(&self) -> &str {
        match self {
            Change::Packages(t)
            | Change::NoPackages(t)
            | Change::NoStream(t, _)
            | Change::ActiveStreams(t)
            | Change::NoActiveStreams(t)
            | Change::Metrics(t)
            | Change::NoMetrics(t) => t,
            Change::Parameter(t, ..)
            | Change::NoParameter(t, ..)
            | Change::Event(t, ..)
            | Change::NoEvent(t, ..) => t,
        }
    }

    /// Whether it subscribes (and so needs read access).
    pub fn subscribes(&self) -> bool {
        matches!(
            self,
            Change::Packages(_)
                | Change::Parameter(..)
                | Change::Event(..)
                | Change::ActiveStreams(_)
                | Change::Metrics(_)
        )
    }
}

/// Checks that `caller` may read `topic` (or, for `*`, some topic): 404 for
/// an unknown topic, 403 without read access.
pub fn authorize_read(config: &Config, caller: &Token, topic: &str) -> Result<()> {
    if topic != ANY {
        config.topic(topic)?;
    }
    let allowed = match &caller.read {
        inlet_shared::config::TopicAccess::All => true,
        inlet_shared::config::TopicAccess::Only(topics) => {
            if topic == ANY {
                !topics.is_empty()
            } else {
                topics.iter().any(|t| t == topic)
            }
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "token {:?} may not read topic {topic:?} (tokens.{}.read)",
            caller.name, caller.name
        )))
    }
}

impl Subscriptions {
    /// Applies a subscribe or unsubscribe.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Packages(topic) => {
                self.packages.insert(topic);
            }
            Change::NoPackages(topic) => {
                self.packages.remove(&topic);
            }
            Change::Parameter(t, s, p) => {
                self.parameters.insert((t, s, p));
            }
            Change::NoParameter(t, s, p) => {
                self.parameters.remove(&(t, s, p));
            }
            Change::Event(t, s, e) => {
                self.events.insert((t, s, e));
            }
            Change::NoEvent(t, s, e) => {
                self.events.remove(&(t, s, e));
            }
            Change::NoStream(t, s) => {
                self.parameters
                    .retain(|(pt, ps, _)| !(pt == &t && ps == &s));
                self.events.retain(|(et, es, _)| !(et == &t && es == &s));
            }
            Change::ActiveStreams(topic) => {
                self.active_streams.insert(topic);
            }
            Change::NoActiveStreams(topic) => {
                self.active_streams.remove(&topic);
            }
            Change::Metrics(topic) => {
                self.metrics.insert(topic);
            }
            Change::NoMetrics(topic) => {
                self.metrics.remove(&topic);
            }
        }
    }

    /// Whether nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.parameters.is_empty()
            && self.events.is_empty()
            && self.active_streams.is_empty()
            && self.metrics.is_empty()
    }

    /// The topics its subscriptions name (`*` as itself).
    pub fn topics(&self) -> BTreeSet<String> {
        self.packages
            .iter()
            .chain(&self.active_streams)
            .chain(&self.metrics)
            .cloned()
            .chain(self.parameters.iter().map(|(topic, ..)| topic.clone()))
            .chain(self.events.iter().map(|(topic, ..)| topic.clone()))
            .collect()
    }

    /// The pushes `update` makes for this connection, as framed hub
    /// messages appended to `out`; only of topics `caller` may read.
    pub fn pushes(&self, workspace: &str, caller: &Token, update: &Update, out: &mut String) {
        let item = match update {
            Update::Record(item) => item,
            Update::Stream(stream, action) => {
                if caller.read.allows(&stream.topic_name)
                    && self
                        .active_streams
                        .iter()
                        .any(|t| matches(t, &stream.topic_name))
                {
                    out.push_str(&protocol::invocation(
                        "ActiveStreamsChanged",
                        &(stream, action.name()),
                    ));
                }
                return;
            }
            Update::Metrics(metrics) => {
                if caller.read.allows(&metrics.topic_name)
                    && self.metrics.iter().any(|t| matches(t, &metrics.topic_name))
                {
                    out.push_str(&protocol::invocation("TopicMetricsUpdated", &[metrics]));
                }
                return;
            }
        };
        if !caller.read.allows(&item.topic) {
            return;
        }
        let topic = &item.topic;
        if self.packages.iter().any(|t| matches(t, topic)) {
            out.push_str(&protocol::invocation(
                "PackageReceived",
                &[package_received(workspace, item)],
            ));
        }
        let stream = &item.stream_id;
        match &item.message {
            Message::ParameterData(data) => {
                let wanted: BTreeSet<&str> = self
                    .parameters
                    .iter()
                    .filter(|(t, s, _)| matches(t, topic) && matches(s, stream))
                    .map(|(_, _, p)| p.as_str())
                    .collect();
                if let Some(push) = parameter_data_received(workspace, item, data, &wanted) {
                    out.push_str(&protocol::invocation("ParameterDataReceived", &[push]));
                }
            }
            Message::Events(events) => {
                for event in events {
                    let subscribed = self.events.iter().any(|(t, s, e)| {
                        matches(t, topic) && matches(s, stream) && matches(e, &event.id)
                    });
                    if subscribed {
                        out.push_str(&protocol::invocation(
                            "EventDataReceived",
                            &[event_data_received(workspace, item, event)],
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
