//! `GET /metrics` of `inlet serve`: Prometheus text counting each webhook
//! by source and outcome, each rejection by reason, and what was published.

mod common;

use std::process::Command;

#[test]
fn metrics_count_webhooks_by_source_outcome_and_reason_in_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve(dir.path());
    let published = Command::new("sh")
        .arg("-c")
        .arg(&server.curl)
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
    let client = reqwest::blocking::Client::new();
    let refused = client
        .post(format!("{}/webhooks/segment", server.base_url))
        .header("content-type", "application/json")
        .header("x-signature", "00")
        .body(r#"{"type":"track"}"#)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);

    let answer = client
        .get(format!("{}/metrics", server.base_url))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = answer.text().unwrap();
    for line in [
        r#"inlet_webhook_requests_total{source="segment",outcome="published"} 1"#,
        r#"inlet_webhook_requests_total{source="segment",outcome="rejected"} 1"#,
        r#"inlet_webhook_rejections_total{source="segment",reason="no_match"} 1"#,
        r#"inlet_records_published_total{topic="webhooks"} 1"#,
        r#"inlet_publish_seconds_count{topic="webhooks"} 1"#,
        "inlet_log_write_seconds_count ",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    assert!(
        text.contains("inlet_publish_seconds_bucket{topic=\"webhooks\",le=\"0.005\"}"),
        "{text}"
    );
}
