//! The one publish path through the real embedded log and dedupe store: a
//! delivery is published once, a failed publish releases its claim, and a
//! delivery being published answers 503.

use std::sync::Arc;
use std::time::Duration;

use inlet_embedded::EmbeddedDedupe;
use inlet_shared::model::{EventData, event_type};
use inlet_shared::publish::{DeliveryId, Publication, Publisher, Route};
use inlet_shared::{Config, Error};
use inlet_test_kit::{self as kit, NOW, Script, ScriptedSink};

fn setup() -> (Arc<ScriptedSink>, Publisher, Arc<Config>) {
    let sink = ScriptedSink::new(&["t"]);
    let dedupe = EmbeddedDedupe::open(sink.dir(), kit::at(NOW)).unwrap();
    let publisher = sink.publisher().with_dedupe(Arc::new(dedupe));
    (
        sink,
        publisher,
        kit::config("[topics.t]\nstream = \"s\"", &[]),
    )
}

fn event(publisher: &Publisher, route: &Route<'_>) -> inlet_shared::model::CloudEvent<EventData> {
    let data = EventData {
        id: "e".into(),
        timestamp: 1,
        value: "{}".into(),
        tags: Default::default(),
    };
    publisher.event(route, event_type::EVENTS, kit::at(NOW), data)
}

/// Publishes one event as delivery `id` of source `src`.
async fn once(publisher: &Publisher, route: &Route<'_>, id: &str) -> Result<Publication, Error> {
    let delivery = DeliveryId {
        key: inlet_shared::model::DeliveryKey::new("src", id),
        window: Duration::from_secs(3600),
    };
    publisher
        .publish_once(route, "webhook", &event(publisher, route), Some(&delivery))
        .await
}

#[tokio::test]
async fn a_delivery_is_published_once_and_a_failed_publish_releases_it() {
    let (sink, publisher, config) = setup();
    let route = Route {
        source: "/webhooks/src",
        topic: &config.topics["t"],
        stream_id: "s1",
    };
    let first = once(&publisher, &route, "d1").await.unwrap();
    assert!(
        matches!(first, Publication::Stored(ref ack) if ack.sequence_number == "00000000000000000000")
    );
    let again = once(&publisher, &route, "d1").await.unwrap();
    assert_eq!(again, Publication::Duplicate);

    sink.script(Script::FailAll);
    let failed = once(&publisher, &route, "d2").await.unwrap_err();
    assert!(matches!(failed, Error::Unavailable { .. }), "{failed:?}");
    sink.script(Script::Pass);
    let retried = once(&publisher, &route, "d2").await.unwrap();
    assert!(matches!(retried, Publication::Stored(_)));

    let stored = sink.stored("t");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["source"], "/webhooks/src");
    assert_eq!(stored[0]["subject"], "s1");
    assert_eq!(stored[0]["topic"], "t");
    assert_eq!(stored[0]["time"], "2023-11-14T22:13:20.000000000Z");
}

#[tokio::test]
async fn a_delivery_being_published_is_503_until_it_is_stored() {
    let (sink, publisher, config) = setup();
    let topic = config.topics["t"].clone();
    sink.hold();
    let first = {
        let publisher = publisher.clone();
        let topic = topic.clone();
        tokio::spawn(async move {
            let route = Route {
                source: "/webhooks/src",
                topic: &topic,
                stream_id: "s1",
            };
            once(&publisher, &route, "d3").await
        })
    };
    sink.until_held(1).await;
    let route = Route {
        source: "/webhooks/src",
        topic: &topic,
        stream_id: "s1",
    };
    let second = once(&publisher, &route, "d3").await.unwrap_err();
    assert_eq!(second.status(), 503);
    sink.release();
    assert!(matches!(
        first.await.unwrap().unwrap(),
        Publication::Stored(_)
    ));
    assert_eq!(sink.stored("t").len(), 1);
}

#[tokio::test]
async fn without_a_delivery_every_publish_is_stored_and_acked_in_order() {
    let (sink, publisher, config) = setup();
    let route = Route {
        source: "/writer",
        topic: &config.topics["t"],
        stream_id: "s",
    };
    let records = (0..3)
        .map(|i| publisher.record(&route, event_type::EVENTS, &i))
        .collect();
    let acks = publisher.publish(&route, "events", records).await.unwrap();
    let seqs: Vec<_> = acks.iter().map(|a| a.sequence_number.as_str()).collect();
    assert_eq!(
        seqs,
        [
            "00000000000000000000",
            "00000000000000000001",
            "00000000000000000002"
        ]
    );
    let data: Vec<_> = sink.stored("t").iter().map(|e| e["data"].clone()).collect();
    assert_eq!(data, [0, 1, 2]);
}
