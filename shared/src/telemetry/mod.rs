//! Inlet's metrics, each named and labelled once here (the table in this
//! module's README), recorded through the `metrics` facade. `inlet serve`
//! renders them as Prometheus text at `GET /metrics` ([`prometheus`]); a
//! Lambda function writes them as CloudWatch Embedded Metric Format on
//! stdout after each invocation ([`emf`]), so no API call is on a request's
//! path. With no recorder installed (tests), recording costs nothing.

pub mod emf;
pub mod prometheus;

use std::time::Duration;

use metrics::{counter, gauge, histogram};

/// The metric names, as Prometheus and CloudWatch show them.
pub mod names {
    /// Webhook requests by `source` and `outcome`.
    pub const WEBHOOK_REQUESTS: &str = "inlet_webhook_requests_total";
    /// Webhooks refused for their signature, by `source` and `reason`.
    pub const WEBHOOK_REJECTIONS: &str = "inlet_webhook_rejections_total";
    /// Writes through the one writer core (Writer API requests and Writer hub
    /// invocations) by `topic` and `outcome` (`published`, `refused`, `unavailable`).
    pub const WRITER_WRITES: &str = "inlet_writer_writes_total";
    /// Records durably published, by `topic`.
    pub const RECORDS_PUBLISHED: &str = "inlet_records_published_total";
    /// Bytes of records durably published, by `topic`.
    pub const BYTES_PUBLISHED: &str = "inlet_published_bytes_total";
    /// Seconds from handing records to the sink to their acknowledgement, by `topic`.
    pub const PUBLISH_SECONDS: &str = "inlet_publish_seconds";
    /// Records Kinesis refused in a `PutRecords` and that were sent again, by `topic`.
    pub const KINESIS_RETRIED: &str = "inlet_kinesis_records_retried_total";
    /// Records still refused after every attempt (the request got a 503), by `topic`.
    pub const KINESIS_FAILED: &str = "inlet_kinesis_records_failed_total";
    /// Poll runs by `target` and `outcome` (`published`, `not_modified`, `failed`).
    pub const POLLER_RUNS: &str = "inlet_poller_runs_total";
    /// Items a poll target published, by `target`.
    pub const POLLER_ITEMS: &str = "inlet_poller_items_published_total";
    /// Destination records by `destination` and `outcome` (`delivered`, `retried`, `parked`).
    pub const DESTINATION_RECORDS: &str = "inlet_destination_records_total";
    /// 1 while a destination's endpoint is disabled (after a 410), by `destination`.
    pub const DESTINATION_DISABLED: &str = "inlet_destination_disabled";
    /// Seconds between a record's store time and its delivery, by `destination`.
    pub const DESTINATION_LAG_SECONDS: &str = "inlet_destination_lag_seconds";
    /// Records stored and not yet delivered, by `destination` (`inlet serve`).
    pub const DESTINATION_BEHIND_RECORDS: &str = "inlet_destination_behind_records";
    /// Open hub connections (`inlet serve`).
    pub const HUB_CONNECTIONS: &str = "inlet_hub_connections";
    /// Frames of Reader pushes sent to hub connections (`inlet serve`).
    pub const HUB_PUSH_FRAMES: &str = "inlet_hub_push_frames_total";
    /// Hub connections closed for falling too far behind their subscriptions.
    pub const HUB_CLOSED_BEHIND: &str = "inlet_hub_connections_closed_behind_total";
    /// Hub connections subscribed to something of a topic, by `topic`.
    pub const HUB_SUBSCRIBERS: &str = "inlet_hub_subscribers";
    /// Reader pushes (messages) sent to hub connections, by `topic`.
    pub const HUB_PUSHES: &str = "inlet_hub_pushes_total";
    /// Seconds to append records to the embedded log and fsync them.
    pub const LOG_WRITE_SECONDS: &str = "inlet_log_write_seconds";
    /// Segment files the embedded log keeps, by `topic`.
    pub const LOG_SEGMENTS: &str = "inlet_log_segments";
    /// Bytes the embedded log keeps on disk, by `topic`.
    pub const LOG_BYTES: &str = "inlet_log_bytes";
}

/// Every metric and its labels (in Lambda, each also has `function`): the
/// table of the README, and what the template's alarms and dashboard query.
pub const METRICS: [(&str, &[&str]); 22] = [
    (names::WEBHOOK_REQUESTS, &["source", "outcome"]),
    (names::WEBHOOK_REJECTIONS, &["source", "reason"]),
    (names::WRITER_WRITES, &["topic", "outcome"]),
    (names::RECORDS_PUBLISHED, &["topic"]),
    (names::BYTES_PUBLISHED, &["topic"]),
    (names::PUBLISH_SECONDS, &["topic"]),
    (names::KINESIS_RETRIED, &["topic"]),
    (names::KINESIS_FAILED, &["topic"]),
    (names::POLLER_RUNS, &["target", "outcome"]),
    (names::POLLER_ITEMS, &["target"]),
    (names::DESTINATION_RECORDS, &["destination", "outcome"]),
    (names::DESTINATION_DISABLED, &["destination"]),
    (names::DESTINATION_LAG_SECONDS, &["destination"]),
    (names::DESTINATION_BEHIND_RECORDS, &["destination"]),
    (names::HUB_CONNECTIONS, &[]),
    (names::HUB_PUSH_FRAMES, &[]),
    (names::HUB_CLOSED_BEHIND, &[]),
    (names::HUB_SUBSCRIBERS, &["topic"]),
    (names::HUB_PUSHES, &["topic"]),
    (names::LOG_WRITE_SECONDS, &[]),
    (names::LOG_SEGMENTS, &["topic"]),
    (names::LOG_BYTES, &["topic"]),
];

/// How a webhook request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Stored in the stream.
    Published,
    /// Its delivery id was published before.
    Duplicate,
    /// A provider's handshake, answered.
    Handshake,
    /// Its signature or token did not verify (401).
    Rejected,
    /// Over `max_body_bytes` (413).
    TooLarge,
    /// Not JSON, or no event id (400).
    BadRequest,
    /// Storage could not take it (503).
    Unavailable,
}

impl WebhookOutcome {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            WebhookOutcome::Published => "published",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Handshake => "handshake",
            WebhookOutcome::Rejected => "rejected",
            WebhookOutcome::TooLarge => "too_large",
            WebhookOutcome::BadRequest => "bad_request",
            WebhookOutcome::Unavailable => "unavailable",
        }
    }
}

/// A webhook request to a configured `source` ended with `outcome`.
pub fn webhook_request(source: &str, outcome: WebhookOutcome) {
    counter!(names::WEBHOOK_REQUESTS, "source" => source.to_owned(), "outcome" => outcome.label())
        .increment(1);
}

/// A webhook to `source` was refused for `reason` (a signature reason code).
pub fn webhook_rejected(source: &str, reason: &'static str) {
    counter!(names::WEBHOOK_REJECTIONS, "source" => source.to_owned(), "reason" => reason)
        .increment(1);
}

/// A write to `topic` through the writer core (a Writer API request or a
/// Writer hub invocation, authorized) ended with `outcome` (`published`,
/// `refused`: a message the stream cannot take, `unavailable`).
pub fn writer_write(topic: &str, outcome: &'static str) {
    counter!(names::WRITER_WRITES, "topic" => topic.to_owned(), "outcome" => outcome).increment(1);
}

/// `records` records of `bytes` bytes were stored in `topic`'s stream,
/// acknowledged `took` after they were handed to the sink.
pub fn published(topic: &str, records: usize, bytes: usize, took: Duration) {
    counter!(names::RECORDS_PUBLISHED, "topic" => topic.to_owned()).increment(records as u64);
    counter!(names::BYTES_PUBLISHED, "topic" => topic.to_owned()).increment(bytes as u64);
    histogram!(names::PUBLISH_SECONDS, "topic" => topic.to_owned()).record(took.as_secs_f64());
}

/// Kinesis refused `count` records of `topic`, which are sent again.
pub fn kinesis_retried(topic: &str, count: usize) {
    counter!(names::KINESIS_RETRIED, "topic" => topic.to_owned()).increment(count as u64);
}

/// `count` records of `topic` still failed after every attempt.
pub fn kinesis_failed(topic: &str, count: usize) {
    counter!(names::KINESIS_FAILED, "topic" => topic.to_owned()).increment(count as u64);
}

/// A poll of `target` ended with `outcome` (`published`, `not_modified`,
/// `failed`) after publishing `items` items.
pub fn poll(target: &str, outcome: &'static str, items: usize) {
    counter!(names::POLLER_RUNS, "target" => target.to_owned(), "outcome" => outcome).increment(1);
    if items > 0 {
        counter!(names::POLLER_ITEMS, "target" => target.to_owned()).increment(items as u64);
    }
}

/// `count` records of `destination` ended with `outcome` (`delivered`,
/// `retried`, `parked`).
pub fn destination_records(destination: &str, outcome: &'static str, count: usize) {
    counter!(
        names::DESTINATION_RECORDS,
        "destination" => destination.to_owned(),
        "outcome" => outcome
    )
    .increment(count as u64);
}

/// Whether `destination`'s endpoint is disabled.
pub fn destination_disabled(destination: &str, disabled: bool) {
    gauge!(names::DESTINATION_DISABLED, "destination" => destination.to_owned()).set(if disabled {
        1.0
    } else {
        0.0
    });
}

/// A hub connection opened (`+1`) or closed (`-1`).
pub fn hub_connections(change: f64) {
    gauge!(names::HUB_CONNECTIONS).increment(change);
}

/// A frame of Reader pushes went to a hub connection.
pub fn hub_push_frame() {
    counter!(names::HUB_PUSH_FRAMES).increment(1);
}

/// A hub connection was closed for falling behind its subscriptions.
pub fn hub_closed_behind() {
    counter!(names::HUB_CLOSED_BEHIND).increment(1);
}

/// A hub connection started (`+1`) or stopped (`-1`) naming `topic` in its
/// subscriptions.
pub fn hub_subscribers(topic: &str, change: f64) {
    gauge!(names::HUB_SUBSCRIBERS, "topic" => topic.to_owned()).increment(change);
}

/// `messages` Reader pushes of `topic` went into a frame for a hub
/// connection.
pub fn hub_push(topic: &str, messages: usize) {
    counter!(names::HUB_PUSHES, "topic" => topic.to_owned()).increment(messages as u64);
}

/// How many records `destination` has yet to deliver.
pub fn destination_behind(destination: &str, records: u64) {
    gauge!(names::DESTINATION_BEHIND_RECORDS, "destination" => destination.to_owned())
        .set(records as f64);
}

/// What the embedded log keeps of `topic` on disk.
pub fn log_disk(topic: &str, segments: usize, bytes: u64) {
    gauge!(names::LOG_SEGMENTS, "topic" => topic.to_owned()).set(segments as f64);
    gauge!(names::LOG_BYTES, "topic" => topic.to_owned()).set(bytes as f64);
}

/// An append to the embedded log, fsync included, took `took`.
pub fn log_write(took: Duration) {
    histogram!(names::LOG_WRITE_SECONDS).record(took.as_secs_f64());
}

/// How far `destination` is behind: the age of the record it just delivered.
pub fn destination_lag(destination: &str, behind: Duration) {
    gauge!(names::DESTINATION_LAG_SECONDS, "destination" => destination.to_owned())
        .set(behind.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    #[test]
    fn each_way_in_and_out_is_counted_with_its_labels() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            webhook_request("github", WebhookOutcome::Published);
            webhook_request("github", WebhookOutcome::Published);
            webhook_rejected("github", "no_match");
            writer_write("orders", "published");
            published("orders", 3, 1200, Duration::from_millis(4));
            poll("beer", "not_modified", 0);
            destination_records("hooks-out", "parked", 2);
        });
        let text = handle.render();
        for line in [
            r#"inlet_webhook_requests_total{source="github",outcome="published"} 2"#,
            r#"inlet_webhook_rejections_total{source="github",reason="no_match"} 1"#,
            r#"inlet_writer_writes_total{topic="orders",outcome="published"} 1"#,
            r#"inlet_records_published_total{topic="orders"} 3"#,
            r#"inlet_published_bytes_total{topic="orders"} 1200"#,
            r#"inlet_poller_runs_total{target="beer",outcome="not_modified"} 1"#,
            r#"inlet_destination_records_total{destination="hooks-out",outcome="parked"} 2"#,
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        assert!(!text.contains("inlet_poller_items_published_total"));
    }

    #[test]
    fn every_metric_is_recorded_with_exactly_the_labels_of_the_table() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            webhook_request("s", WebhookOutcome::Duplicate);
            webhook_rejected("s", "too_old");
            writer_write("t", "refused");
            published("t", 1, 1, Duration::from_millis(1));
            kinesis_retried("t", 1);
            kinesis_failed("t", 1);
            poll("p", "published", 2);
            destination_records("d", "delivered", 1);
            destination_disabled("d", false);
            destination_lag("d", Duration::from_secs(1));
            hub_connections(1.0);
            hub_push_frame();
            hub_closed_behind();
            hub_subscribers("t", 1.0);
            hub_push("t", 2);
            log_write(Duration::from_millis(2));
            log_disk("t", 1, 4096);
            destination_behind("d", 3);
        });
        let text = handle.render();
        for (name, labels) in METRICS {
            let line = text
                .lines()
                .find(|l| {
                    [
                        format!("{name}{{"),
                        format!("{name} "),
                        format!("{name}_count"),
                    ]
                    .iter()
                    .any(|start| l.starts_with(start.as_str()))
                })
                .unwrap_or_else(|| panic!("{name} not recorded:\n{text}"));
            let inside = match (line.find('{'), line.find('}')) {
                (Some(open), Some(close)) => &line[open + 1..close],
                _ => "",
            };
            let keys: Vec<&str> = inside
                .split(',')
                .map(|pair| pair.split('=').next().unwrap())
                .filter(|key| !key.is_empty() && *key != "le" && *key != "quantile")
                .collect();
            assert_eq!(keys, labels, "{name}");
        }
    }
}
