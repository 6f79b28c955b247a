//! The template's alarms and dashboard query Inlet's metrics by name and
//! dimensions (CloudWatch Metrics Insights): each query must name a metric
//! of the telemetry table with exactly the dimensions it is emitted with
//! (its labels and `function`), and the table in the README must list
//! every metric with its labels.

use std::collections::BTreeSet;

use inlet_shared::telemetry::METRICS;

const TEMPLATE: &str = include_str!("../../template.yaml");
const README: &str = include_str!("../src/telemetry/README.md");

/// Every `SELECT …(metric) FROM SCHEMA(Inlet, …)` in the template.
fn queries() -> Vec<(String, BTreeSet<String>)> {
    let mut found = Vec::new();
    let mut rest = TEMPLATE;
    while let Some(at) = rest.find("SELECT ") {
        rest = &rest[at + 7..];
        let metric = &rest[rest.find('(').unwrap() + 1..rest.find(')').unwrap()];
        let schema = &rest[rest.find("SCHEMA(").unwrap() + 7..];
        let schema = &schema[..schema.find(')').unwrap()];
        let mut parts = schema.split(',').map(str::trim);
        assert_eq!(parts.next(), Some("Inlet"), "{schema}");
        found.push((metric.to_owned(), parts.map(str::to_owned).collect()));
    }
    found
}

#[test]
fn every_alarm_and_dashboard_query_names_a_metric_with_its_exact_dimensions() {
    let queries = queries();
    assert!(queries.len() >= 12, "{queries:?}");
    for (metric, dimensions) in queries {
        let (_, labels) = METRICS
            .iter()
            .find(|(name, _)| *name == metric)
            .unwrap_or_else(|| panic!("the template queries {metric}, which Inlet does not emit"));
        let mut expected: BTreeSet<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        expected.insert("function".to_owned());
        assert_eq!(dimensions, expected, "{metric}");
    }
}

#[test]
fn the_readme_table_lists_every_metric_with_its_labels() {
    for (name, labels) in METRICS {
        let row = README
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} has no row in the telemetry README"));
        let labels_cell = row.split('|').nth(3).unwrap();
        for label in labels {
            assert!(
                labels_cell.contains(&format!("`{label}`")),
                "{name}: {label} not in {row}"
            );
        }
    }
}
