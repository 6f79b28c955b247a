//! The one publish path every function takes: build the CloudEvent, put it
//! through the sink, wait until it is durable, log one line, and run the
//! dedupe protocol when the sender gave a delivery id.
//!
//! A function only turns its input into messages (after vector's
//! `HttpSource`: a source builds events; acknowledgement is waited for in
//! one place).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::Topic;
use crate::dedupe::{Claim, DedupeStore, NoDedupe};
use crate::error::{Error, Result};
use crate::model::{CloudEvent, DeliveryKey};
use crate::record::Record;
use crate::sink::{Ack, Sink};
use crate::{Clock, system_clock};

/// Where a publish goes: the CloudEvents `source`, the topic and the stream
/// id (the partition key).
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The CloudEvents `source`, e.g. `/webhooks/segment` or `/writer`.
    pub source: &'a str,
    /// The topic.
    pub topic: &'a Topic,
    /// The stream id.
    pub stream_id: &'a str,
}

/// A delivery id to publish at most once within `window`.
#[derive(Debug, Clone)]
pub struct DeliveryId {
    /// The key remembered (unique across sources, e.g. `segment/<id>`).
    pub key: DeliveryKey,
    /// How long it is remembered after publishing.
    pub window: Duration,
}

/// What became of a publish with a delivery id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    /// The record is durably in the stream.
    Stored(Ack),
    /// The delivery was published before and was not published again.
    Duplicate,
}

/// Counts of what was published, for a summary line now and then in place
/// of a line per request (`inlet serve`; each Lambda invocation logs its own
/// line).
#[derive(Debug, Default)]
pub struct PublishCounts {
    records: BTreeMap<String, AtomicU64>,
    other: AtomicU64,
    duplicates: AtomicU64,
}

impl PublishCounts {
    /// Counters for `topics`.
    pub fn new<'a>(topics: impl IntoIterator<Item = &'a str>) -> Self {
        PublishCounts {
            records: topics
                .into_iter()
                .map(|t| (t.to_owned(), AtomicU64::new(0)))
                .collect(),
            ..PublishCounts::default()
        }
    }

    fn add(&self, topic: &str, records: usize) {
        self.records
            .get(topic)
            .unwrap_or(&self.other)
            .fetch_add(records as u64, Ordering::Relaxed);
    }

    /// The records published per topic so far, and the redeliveries
    /// acknowledged without publishing.
    pub fn totals(&self) -> (BTreeMap<String, u64>, u64) {
        let records = self
            .records
            .iter()
            .map(|(topic, n)| (topic.clone(), n.load(Ordering::Relaxed)))
            .collect();
        (records, self.duplicates.load(Ordering::Relaxed))
    }
}

/// Builds records and publishes them durably; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    sink: Arc<dyn Sink>,
    dedupe: Arc<dyn DedupeStore>,
    clock: Clock,
    /// When set, publishes are counted here and each one's line is at debug
    /// level: a line per request cost about 13% of `inlet serve`'s
    /// throughput (formatting, not writing).
    published: Option<Arc<PublishCounts>>,
}

impl Publisher {
    /// A publisher into `sink` on the system clock, remembering no delivery ids.
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Publisher {
            sink,
            dedupe: Arc::new(NoDedupe),
            clock: system_clock(),
            published: None,
        }
    }

    /// Counts publishes in `published` and logs each at debug level only.
    pub fn with_summary(mut self, published: Arc<PublishCounts>) -> Self {
        self.published = Some(published);
        self
    }

    /// Remembers delivery ids in `dedupe`, so redeliveries are published once.
    pub fn with_dedupe(mut self, dedupe: Arc<dyn DedupeStore>) -> Self {
        self.dedupe = dedupe;
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The time now, by this publisher's clock.
    pub fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// A CloudEvent for `route`, stamped `time`, with a fresh id.
    pub fn event<D: Serialize>(
        &self,
        route: &Route<'_>,
        ty: &str,
        time: SystemTime,
        data: D,
    ) -> CloudEvent<D> {
        CloudEvent::new(
            route.source,
            ty,
            route.topic.name.clone(),
            route.stream_id,
            time,
            data,
        )
    }

    /// The record of one message for `route`, stamped now.
    pub fn record<D: Serialize>(&self, route: &Route<'_>, ty: &str, data: &D) -> Record {
        self.record_at(route, ty, self.now(), data)
    }

    /// The record of one message for `route`, stamped `time`.
    pub fn record_at<D: Serialize>(
        &self,
        route: &Route<'_>,
        ty: &str,
        time: SystemTime,
        data: &D,
    ) -> Record {
        self.event(route, ty, time, data).to_record()
    }

    /// Publishes `records` and returns once every one is durable, with one
    /// ack per record; logs one line naming `what` was published.
    pub async fn publish(
        &self,
        route: &Route<'_>,
        what: &str,
        records: Vec<Record>,
    ) -> Result<Vec<Ack>> {
        self.put(route, what, records, None).await
    }

    async fn put(
        &self,
        route: &Route<'_>,
        what: &str,
        records: Vec<Record>,
        id: Option<&str>,
    ) -> Result<Vec<Ack>> {
        let count = records.len();
        let bytes = records.iter().map(|r| r.data.len()).sum();
        let started = std::time::Instant::now();
        let acks = self.sink.put(route.topic, records).await?;
        crate::telemetry::published(&route.topic.name, count, bytes, started.elapsed());
        let sequence_number = acks.first().map_or("", |a| a.sequence_number.as_str());
        macro_rules! published {
            ($level:ident) => {
                tracing::$level!(
                    source = route.source,
                    topic = %route.topic.name,
                    stream_id = route.stream_id,
                    id,
                    records = count,
                    sequence_number,
                    "{what} published"
                )
            };
        }
        match &self.published {
            Some(published) => {
                published.add(&route.topic.name, count);
                published!(debug);
            }
            None => published!(info),
        }
        Ok(acks)
    }

    /// Publishes one event, at most once per `delivery` within its window:
    /// the id is claimed, the event published, and the id remembered (or
    /// released if publishing failed, so the sender's retry is not blocked).
    pub async fn publish_once<D: Serialize>(
        &self,
        route: &Route<'_>,
        what: &str,
        event: &CloudEvent<D>,
        delivery: Option<&DeliveryId>,
    ) -> Result<Publication> {
        let now = self.now();
        if let Some(delivery) = delivery {
            match self.dedupe.claim(delivery.key.as_str(), now).await? {
                Claim::New => {}
                Claim::Duplicate => {
                    macro_rules! duplicate {
                        ($level:ident) => {
                            tracing::$level!(
                                source = route.source,
                                id = %delivery.key,
                                "redelivered {what} acknowledged, not published again"
                            )
                        };
                    }
                    match &self.published {
                        Some(published) => {
                            published.duplicates.fetch_add(1, Ordering::Relaxed);
                            duplicate!(debug);
                        }
                        None => duplicate!(info),
                    }
                    return Ok(Publication::Duplicate);
                }
                Claim::InFlight => {
                    return Err(Error::unavailable(format!(
                        "delivery {} is being published by another request",
                        delivery.key
                    )));
                }
            }
        }
        let published = self
            .put(route, what, vec![event.to_record()], Some(&event.id))
            .await;
        let Some(delivery) = delivery else {
            return published.map(|mut acks| Publication::Stored(acks.remove(0)));
        };
        match published {
            Ok(mut acks) => {
                if let Err(e) = self
                    .dedupe
                    .complete(delivery.key.as_str(), now, delivery.window)
                    .await
                {
                    // The record is in the stream; a redelivery may publish it again.
                    tracing::warn!(error = %e, "cannot remember a published delivery id");
                }
                Ok(Publication::Stored(acks.remove(0)))
            }
            Err(err) => {
                if let Err(e) = self.dedupe.release(delivery.key.as_str()).await {
                    tracing::warn!(error = %e, "cannot release a dedupe claim; it expires with its lease");
                }
                Err(err)
            }
        }
    }
}
