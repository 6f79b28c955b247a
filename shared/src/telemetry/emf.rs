//! A Lambda function's metrics: CloudWatch Embedded Metric Format documents
//! written to stdout (which Lambda sends to CloudWatch Logs, where they
//! become metrics) after each invocation: no API call on a request's path.
//! Every metric carries the `function` dimension besides its own labels.

use std::sync::OnceLock;

use metrics_cloudwatch_embedded::{Builder, Collector};

/// The CloudWatch namespace of every Inlet metric.
pub const NAMESPACE: &str = "Inlet";

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the EMF recorder for `function` (once per process).
pub fn install(function: &str) {
    COLLECTOR.get_or_init(|| {
        Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .with_dimension("function", function.to_owned())
            .init()
            .ok()
    });
}

/// Writes what was recorded since the last flush to stdout.
pub fn flush() {
    flush_to(std::io::stdout().lock());
}

/// Writes what was recorded since the last flush to `writer`.
pub fn flush_to(writer: impl std::io::Write) {
    if let Some(Some(collector)) = COLLECTOR.get()
        && let Err(e) = collector.flush(writer)
    {
        tracing::warn!(error = %e, "could not write the invocation's metrics");
    }
}
