//! `inlet serve`'s metrics: a Prometheus recorder installed once per
//! process, rendered as text at `GET /metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::names;

/// Publish latency buckets, in seconds: an fsync is a few milliseconds, a
/// Kinesis `PutRecords` tens.
const PUBLISH_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The process's recorder, installed on first use; `None` if another
/// recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::PUBLISH_SECONDS.to_owned()),
                    &PUBLISH_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full(names::LOG_WRITE_SECONDS.to_owned()),
                    &PUBLISH_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// The metrics as Prometheus text.
pub fn render() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

/// Folds the histograms' samples recorded since the last call into their
/// buckets: without it they are held until the next scrape, growing with
/// every request when nothing scrapes. `inlet serve` calls it every 5 s.
pub fn upkeep() {
    if let Some(handle) = handle() {
        handle.run_upkeep();
    }
}
