//! What the Reader hub knows of each topic beyond its records: the active
//! streams (`SubscribeToActiveStreams`, `ActiveStreamsChanged`) and the
//! recent metrics (`SubscribeToTopicMetrics`, `TopicMetricsUpdated`).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::item::Item;
use crate::pushes::topic_id;
use inlet_shared::model::Message;

/// The most streams kept per topic; the one seen longest ago goes first.
pub const MAX_STREAMS: usize = 10_000;
/// How many one-second metrics are kept per topic: the last 5 minutes.
pub const METRICS_KEPT: usize = 300;

/// A stream as `SubscribeToActiveStreams` lists it (camelCase, nulls
/// omitted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveStream {
    /// The stream id.
    pub stream_id: String,
    /// `{workspace}-{topic}`.
    pub topic_id: String,
    /// The topic.
    pub topic_name: String,
    /// From the stream's properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// From the stream's properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// From the stream's properties.
    pub metadata: BTreeMap<String, String>,
    /// From the stream's properties.
    pub parents: Vec<String>,
    /// From the stream's properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_of_recording: Option<String>,
    /// The parameters seen or defined.
    pub parameters: BTreeMap<String, ParameterInfo>,
    /// The events seen or defined.
    pub events: BTreeMap<String, EventInfo>,
    /// When the stream was first seen.
    pub first_seen: String,
    /// When it was last seen.
    pub last_seen: String,
    /// When it last carried data (parameters or events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_data: Option<String>,
    /// `Receiving` until the stream ends (then it is removed, `Closed`).
    pub status: String,
}

/// A parameter of an active stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterInfo {
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Numeric`, `String` or `Binary`, once data was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_value: Option<f64>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_value: Option<f64>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// An event of an active stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo {
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// From its definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A topic's metrics over one second, as `TopicMetricsUpdated` pushes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicMetrics {
    /// The end of the second (RFC 3339).
    pub timestamp: String,
    /// `{workspace}-{topic}`.
    pub topic_id: String,
    /// The topic.
    pub topic_name: String,
    /// Bytes of records stored in that second.
    pub bytes_per_second: u64,
    /// Streams active at its end.
    pub active_streams: usize,
}

/// How a stream changed (`ActiveStreamsChanged`'s second argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New, or its properties or definitions changed.
    AddUpdate,
    /// It ended (or was evicted).
    Remove,
}

impl Action {
    /// The name Quix sends.
    pub fn name(self) -> &'static str {
        match self {
            Action::AddUpdate => "AddUpdate",
            Action::Remove => "Remove",
        }
    }
}

/// Every topic's state, by topic.
pub type Topics = std::sync::Arc<BTreeMap<String, std::sync::Mutex<TopicState>>>;

/// One topic's streams and metrics.
#[derive(Debug, Default)]
pub struct TopicState {
    streams: BTreeMap<String, ActiveStream>,
    metrics: VecDeque<TopicMetrics>,
    bytes: u64,
}

impl TopicState {
    /// A topic's state from streams kept elsewhere (the fan-out's table).
    pub fn of_streams(streams: impl IntoIterator<Item = ActiveStream>) -> Self {
        TopicState {
            streams: streams
                .into_iter()
                .map(|s| (s.stream_id.clone(), s))
                .collect(),
            ..TopicState::default()
        }
    }

    /// Takes a record in; the stream changes to announce.
    pub fn observe(&mut self, workspace: &str, item: &Item) -> Vec<(ActiveStream, Action)> {
        self.bytes += item.size as u64;
        let mut changes = Vec::new();
        if let Message::End(_) = item.message {
            if let Some(mut stream) = self.streams.remove(&item.stream_id) {
                stream.status = "Closed".to_owned();
                stream.last_seen = item.time.clone();
                changes.push((stream, Action::Remove));
            }
            return changes;
        }
        let new = !self.streams.contains_key(&item.stream_id);
        if new && self.streams.len() >= MAX_STREAMS {
            let oldest = self
                .streams
                .values()
                .min_by(|a, b| a.last_seen.cmp(&b.last_seen))
                .map(|s| s.stream_id.clone());
            if let Some(evicted) = oldest.and_then(|id| self.streams.remove(&id)) {
                changes.push((evicted, Action::Remove));
            }
        }
        let stream = self
            .streams
            .entry(item.stream_id.clone())
            .or_insert_with(|| ActiveStream {
                stream_id: item.stream_id.clone(),
                topic_id: topic_id(workspace, &item.topic),
                topic_name: item.topic.clone(),
                name: None,
                location: None,
                metadata: BTreeMap::new(),
                parents: Vec::new(),
                time_of_recording: None,
                parameters: BTreeMap::new(),
                events: BTreeMap::new(),
                first_seen: item.time.clone(),
                last_seen: item.time.clone(),
                last_data: None,
                status: "Receiving".to_owned(),
            });
        stream.last_seen = item.time.clone();
        let mut changed = new;
        match &item.message {
            Message::Properties(p) => {
                stream.name = p.name.clone();
                stream.location = p.location.clone();
                stream.metadata = p.metadata.clone();
                stream.parents = p.parents.clone();
                stream.time_of_recording = p.time_of_recording.clone();
                changed = true;
            }
            Message::Definitions(d) => {
                for p in &d.parameters {
                    let info = stream.parameters.entry(p.id.clone()).or_default();
                    info.name = p.name.clone();
                    info.description = p.description.clone();
                    info.minimum_value = p.minimum_value;
                    info.maximum_value = p.maximum_value;
                    info.unit = p.unit.clone();
                    info.location = p.location.clone();
                }
                for e in &d.events {
                    let info = stream.events.entry(e.id.clone()).or_default();
                    info.name = e.name.clone();
                    info.level = e.level.clone();
                    info.location = e.location.clone();
                    info.description = e.description.clone();
                }
                changed = true;
            }
            Message::ParameterData(data) => {
                stream.last_data = Some(item.time.clone());
                let columns = [
                    (data.numeric_values.keys().collect::<Vec<_>>(), "Numeric"),
                    (data.string_values.keys().collect(), "String"),
                    (data.binary_values.keys().collect(), "Binary"),
                ];
                for (names, data_type) in columns {
                    for name in names {
                        let info = stream.parameters.entry(name.clone()).or_default();
                        if info.data_type.is_none() {
                            info.data_type = Some(data_type.to_owned());
                            changed = true;
                        }
                    }
                }
            }
            Message::Events(events) => {
                stream.last_data = Some(item.time.clone());
                for event in events {
                    if !stream.events.contains_key(&event.id) {
                        stream.events.insert(event.id.clone(), EventInfo::default());
                        changed = true;
                    }
                }
            }
            Message::End(_) => unreachable!("handled above"),
        }
        if changed {
            changes.push((stream.clone(), Action::AddUpdate));
        }
        changes
    }

    /// Closes the current second: its metrics, kept for 5 minutes.
    pub fn tick(&mut self, workspace: &str, topic: &str, at: &str) -> TopicMetrics {
        let metrics = TopicMetrics {
            timestamp: at.to_owned(),
            topic_id: topic_id(workspace, topic),
            topic_name: topic.to_owned(),
            bytes_per_second: std::mem::take(&mut self.bytes),
            active_streams: self.streams.len(),
        };
        if self.metrics.len() == METRICS_KEPT {
            self.metrics.pop_front();
        }
        self.metrics.push_back(metrics.clone());
        metrics
    }

    /// The active streams, by id.
    pub fn streams(&self) -> Vec<ActiveStream> {
        self.streams.values().cloned().collect()
    }

    /// The metrics of the last 5 minutes, oldest first.
    pub fn metrics(&self) -> Vec<TopicMetrics> {
        self.metrics.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(ty: &str, stream: &str, time: &str, data: serde_json::Value) -> Item {
        let record = serde_json::to_vec(&json!({
            "specversion": "1.0", "id": "1", "source": "/writer", "type": ty, "subject": stream,
            "time": time, "datacontenttype": "application/json", "topic": "t", "data": data,
        }))
        .unwrap();
        Item::decode("t", &record).unwrap()
    }

    #[test]
    fn a_stream_is_added_updated_by_what_it_carries_and_removed_at_its_end() {
        let mut state = TopicState::default();
        let changes = state.observe(
            "ws",
            &item(
                "io.quix.stream.properties",
                "s1",
                "T1",
                json!({"name": "car", "metadata": {"a": "b"}}),
            ),
        );
        assert_eq!(changes.len(), 1);
        let (stream, action) = &changes[0];
        assert_eq!(*action, Action::AddUpdate);
        assert_eq!(
            serde_json::to_value(stream).unwrap(),
            json!({"streamId": "s1", "topicId": "ws-t", "topicName": "t", "name": "car", "metadata": {"a": "b"},
                "parents": [], "parameters": {}, "events": {}, "firstSeen": "T1", "lastSeen": "T1", "status": "Receiving"})
        );
        let changes = state.observe(
            "ws",
            &item(
                "io.quix.parameters",
                "s1",
                "T2",
                json!({"timestamps": [1], "numericValues": {"rpm": [1.0]}}),
            ),
        );
        assert_eq!(
            changes[0].0.parameters["rpm"].data_type.as_deref(),
            Some("Numeric")
        );
        assert_eq!(changes[0].0.last_data.as_deref(), Some("T2"));
        // The same data again changes nothing worth announcing.
        assert!(
            state
                .observe(
                    "ws",
                    &item(
                        "io.quix.parameters",
                        "s1",
                        "T3",
                        json!({"timestamps": [1], "numericValues": {"rpm": [2.0]}})
                    )
                )
                .is_empty()
        );
        assert_eq!(state.streams()[0].last_seen, "T3");
        let changes = state.observe(
            "ws",
            &item(
                "io.quix.events",
                "s1",
                "T4",
                json!({"id": "crash", "timestamp": 1}),
            ),
        );
        assert!(changes[0].0.events.contains_key("crash"));
        let changes = state.observe("ws", &item("io.quix.stream.end", "s1", "T5", json!({})));
        assert_eq!(changes[0].1, Action::Remove);
        assert!(state.streams().is_empty());
    }

    #[test]
    fn metrics_count_bytes_per_second_and_keep_five_minutes() {
        let mut state = TopicState::default();
        let one = item(
            "io.quix.events",
            "s1",
            "T1",
            json!({"id": "a", "timestamp": 1}),
        );
        state.observe("ws", &one);
        state.observe("ws", &one);
        let metrics = state.tick("ws", "t", "2026-12-05T00:00:01Z");
        assert_eq!(metrics.bytes_per_second, 2 * one.size as u64);
        assert_eq!(metrics.active_streams, 1);
        assert_eq!(
            serde_json::to_value(&metrics).unwrap(),
            json!({"timestamp": "2026-12-05T00:00:01Z", "topicId": "ws-t", "topicName": "t",
                "bytesPerSecond": 2 * one.size, "activeStreams": 1})
        );
        for _ in 0..METRICS_KEPT + 10 {
            state.tick("ws", "t", "later");
        }
        assert_eq!(state.metrics().len(), METRICS_KEPT);
        assert_eq!(state.metrics()[0].bytes_per_second, 0);
    }
}
