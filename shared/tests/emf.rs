//! A Lambda function's metrics as CloudWatch Embedded Metric Format: one
//! JSON document per metric flushed, in namespace `Inlet`, with the
//! `function` dimension and the metric's labels as dimensions (this test
//! binary installs the process's one recorder).

use inlet_shared::telemetry::{self, WebhookOutcome, emf};
use serde_json::Value;

#[test]
fn an_invocations_metrics_are_flushed_as_emf_documents_with_their_dimensions() {
    emf::install("inlet-WebhookReceiver-test");
    telemetry::webhook_request("github", WebhookOutcome::Rejected);
    telemetry::webhook_rejected("github", "too_old");
    let mut out = Vec::new();
    emf::flush_to(&mut out);
    let documents: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let rejected = documents
        .iter()
        .find(|d| d.get("inlet_webhook_rejections_total").is_some())
        .unwrap_or_else(|| panic!("no rejection metric in {documents:?}"));
    let spec = &rejected["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(spec["Namespace"], emf::NAMESPACE);
    let dimensions: Vec<&str> = spec["Dimensions"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    for name in ["function", "source", "reason"] {
        assert!(dimensions.contains(&name), "{name} not in {dimensions:?}");
    }
    assert_eq!(rejected["function"], "inlet-WebhookReceiver-test");
    assert_eq!(rejected["source"], "github");
    assert_eq!(rejected["reason"], "too_old");
    assert_eq!(rejected["inlet_webhook_rejections_total"], 1);
    assert!(rejected["_aws"]["Timestamp"].as_u64().is_some());
    // A second flush carries no new counts.
    let mut again = Vec::new();
    emf::flush_to(&mut again);
    assert!(!String::from_utf8(again).unwrap().contains("too_old\""));
}
