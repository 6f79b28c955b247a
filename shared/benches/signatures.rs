//! Signature verification per scheme on 1 KiB and 64 KiB bodies, and the
//! encoding of one CloudEvent record.
//! Run: `cargo bench -p inlet-shared --bench signatures`.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use inlet_shared::model::{CloudEvent, EventData, event_type};
use inlet_shared::signature::{
    Algorithm, Encoding, HmacSpec, Scheme, Secret, SignWith, Unverified,
};

fn body(size: usize) -> Vec<u8> {
    let mut body = br#"{"type":"track","event":"Order Completed","properties":{"pad":""#.to_vec();
    while body.len() < size - 3 {
        body.push(b'x');
    }
    body.extend_from_slice(br#""}}"#);
    body
}

/// A form-encoded body of about `size` bytes, as Twilio sends.
fn form_body(size: usize) -> Vec<u8> {
    let mut body = b"AccountSid=AC0123456789abcdef&ApiVersion=2010-04-01&From=%2B15017122661&MessageSid=SM0123456789abcdef&MessageStatus=delivered&SmsSid=SM0123456789abcdef&SmsStatus=delivered&To=%2B15558675310&Body=".to_vec();
    while body.len() < size {
        body.extend_from_slice(b"Hello+");
    }
    body.truncate(size);
    body
}

fn schemes() -> Vec<(Scheme, Secret)> {
    let secret = Secret::new("a-reasonably-long-shared-secret-value");
    vec![
        (Scheme::Segment, secret.clone()),
        (Scheme::Github, secret.clone()),
        (
            Scheme::Stripe,
            Secret::new("whsec_test_secret_value_0123456789"),
        ),
        (Scheme::Slack, secret.clone()),
        (Scheme::Shopify, secret.clone()),
        (
            Scheme::StandardWebhooks,
            Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ),
        (
            Scheme::Twilio {
                public_url: "https://hooks.example.com".into(),
            },
            secret.clone(),
        ),
        (
            Scheme::Hmac(HmacSpec {
                algorithm: Algorithm::Sha512,
                header: "x-acme-signature".into(),
                encoding: Encoding::Base64,
                prefix: "sha512=".into(),
                timestamp_header: Some("x-acme-time".into()),
                signed_content: "{timestamp}.{body}".into(),
            }),
            secret,
        ),
    ]
}

fn verify(c: &mut Criterion) {
    let now = SystemTime::now();
    for size in [1024, 64 * 1024] {
        let json = body(size);
        let form = form_body(size);
        let mut group = c.benchmark_group(format!("verify/{}KiB", size / 1024));
        group.throughput(Throughput::Bytes(size as u64));
        for (scheme, secret) in schemes() {
            let body = if matches!(scheme, Scheme::Twilio { .. }) {
                &form
            } else {
                &json
            };
            let signed = scheme.sign(&SignWith {
                secret: &secret,
                body,
                now,
                path_and_query: "/webhooks/x",
                id: "msg_1",
            });
            let mut headers = HeaderMap::new();
            for (name, value) in &signed {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            let secrets = [secret];
            group.bench_function(BenchmarkId::from_parameter(scheme.name()), |b| {
                b.iter(|| {
                    let request = Unverified {
                        headers: &headers,
                        body,
                        path_and_query: "/webhooks/x",
                        now,
                    };
                    scheme
                        .verify(&secrets, &request, Duration::from_secs(300))
                        .expect("valid")
                })
            });
        }
        group.finish();
    }
}

fn encode(c: &mut Criterion) {
    let now = SystemTime::now();
    let small = "Lap 12 completed in 81.3 s".to_owned();
    let webhook = String::from_utf8(body(1024)).unwrap();
    for (name, value) in [
        ("encode/cloudevent-small-event", small),
        ("encode/cloudevent-1KiB-webhook", webhook),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let data = EventData {
                    id: "track".into(),
                    timestamp: 1_700_000_000_000_000_000,
                    value: value.clone(),
                    tags: Default::default(),
                };
                CloudEvent::new(
                    "/webhooks/segment",
                    event_type::EVENTS,
                    "webhooks",
                    "segment",
                    now,
                    data,
                )
                .to_record()
            })
        });
    }
}

criterion_group!(benches, verify, encode);
criterion_main!(benches);
