//! Parsing and validating a 10,000-row `ParameterData`, and splitting it
//! into records and `PutRecords` batches.
//! Run: `cargo bench -p inlet-shared --bench parameters`.

use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inlet_shared::model::{CloudEvent, ParameterData, event_type};
use inlet_shared::sink::batches;
use inlet_shared::writer::payload::parameter_data;
use inlet_shared::writer::split::split_parameter_data;
use serde_json::json;

const ROWS: i64 = 10_000;

fn body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "epoch": 1_700_000_000_000_000_000_i64,
        "timestamps": (0..ROWS).map(|i| i * 1_000_000).collect::<Vec<_>>(),
        "numericValues": {
            "speed": (0..ROWS).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
            "rpm": (0..ROWS).map(|i| (i % 9000) as f64).collect::<Vec<_>>(),
        },
        "stringValues": {"gear": (0..ROWS).map(|i| format!("g{}", i % 7)).collect::<Vec<_>>()},
        "tagValues": {"lap": (0..ROWS).map(|i| (i / 1000).to_string()).collect::<Vec<_>>()},
    }))
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let body = body();
    let mut group = c.benchmark_group("parameters");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("parse-validate-10k-rows", |b| {
        b.iter(|| parameter_data(&body).unwrap())
    });
    let data = parameter_data(&body).unwrap();
    let now = SystemTime::now();
    let encode = |piece: &ParameterData| {
        CloudEvent::new(
            "/writer",
            event_type::PARAMETERS,
            "telemetry",
            "car-1",
            now,
            piece,
        )
        .to_record()
    };
    group.bench_function("split-into-records-and-batches-10k-rows", |b| {
        b.iter(|| {
            let records = split_parameter_data(data.clone(), &encode).unwrap();
            batches(&records)
        })
    });
    group.finish();
}

criterion_group!(parameter_benches, benches);
criterion_main!(parameter_benches);
