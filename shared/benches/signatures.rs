//! Signature verification per scheme on 1 KiB and 64 KiB bodies, and the
//! encoding of one CloudEvent record.
//! Run: `cargo bench -p inlet-shared --bench signatures`.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use inlet_shared::model::{CloudEvent, EventData, event_type};
use inlet_shared::signature::{Blocks, Scheme, Secret, Sender, SignWith, Unverified};

/// A realistic Segment `track` webhook (quotes every few bytes, as the load
/// benchmark's bodies), padded to `size` bytes with a note property.
fn body(size: usize) -> Vec<u8> {
    let mut event = serde_json::json!({
        "type": "track",
        "event": "Order Completed",
        "userId": "user-482913",
        "anonymousId": "3f9a1c0e5b7d2a64",
        "timestamp": "2026-11-23T12:04:31.512Z",
        "context": {
            "ip": "10.17.201.9",
            "library": {"name": "analytics.js", "version": "2.11.1"},
            "page": {"path": "/checkout", "url": "https://shop.example.com/checkout"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
        },
        "properties": {
            "orderId": "order-1042",
            "total": 127.85,
            "currency": "USD",
            "products": [
                {"sku": "sku-40213", "name": "Settlers of Catan", "price": 42.5, "quantity": 1},
                {"sku": "sku-11876", "name": "Uno Card Game", "price": 9.99, "quantity": 3},
                {"sku": "sku-72010", "name": "Ticket to Ride", "price": 55.38, "quantity": 1}
            ]
        }
    });
    let unpadded = serde_json::to_vec(&event).unwrap().len();
    event["properties"]["note"] = "x".repeat(size.saturating_sub(unpadded + 10)).into();
    serde_json::to_vec(&event).unwrap()
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
            Scheme::StandardWebhooks(Sender::Standard),
            Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ),
        (
            Scheme::Twilio {
                public_url: "https://hooks.example.com".into(),
            },
            secret.clone(),
        ),
        (
            Scheme::Hmac(
                Blocks {
                    algorithm: Some("sha512"),
                    header: Some("x-acme-signature"),
                    encoding: Some("base64"),
                    prefix: Some("sha512="),
                    timestamp_header: Some("x-acme-time"),
                    signed_content: Some("{timestamp}.{body}"),
                    ..Blocks::NONE
                }
                .spec(None)
                .expect("valid blocks"),
            ),
            secret.clone(),
        ),
        // Catalogue entries: a structured header with a signed timestamp,
        // and the URL and method in the signed content.
        (Scheme::from_name("paddle").unwrap(), secret.clone()),
        (
            Scheme::named("hubspot", Some("https://hooks.example.com"))
                .unwrap()
                .unwrap(),
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
            bench_one(
                &mut group,
                scheme.name(),
                &scheme,
                secret,
                &headers,
                body,
                now,
            );
        }
        group.finish();
    }
}

/// Standard Webhooks `v1a`: an Ed25519 signature checked with a `whpk_`
/// public key, against `v1` (HMAC-SHA256) over the same body.
fn verify_public_key(c: &mut Criterion) {
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
        RsaKeyPair,
    };
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;

    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let key = Secret::new(format!(
        "whpk_{}",
        BASE64.encode(pair.public_key().as_ref())
    ));
    let now = SystemTime::now();
    let t = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let body = body(1024);
    let message = [format!("msg_1.{t}.").as_bytes(), &body].concat();
    let signature = format!("v1a,{}", BASE64.encode(pair.sign(&message).as_ref()));
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", t.as_str()),
        ("webhook-signature", signature.as_str()),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    let scheme = Scheme::StandardWebhooks(Sender::Standard);
    let mut group = c.benchmark_group("verify/1KiB");
    group.throughput(Throughput::Bytes(1024));
    bench_one(
        &mut group,
        "standard-webhooks-v1a-ed25519",
        &scheme,
        key,
        &headers,
        &body,
        now,
    );

    // The catalogue's public keys (Discord: Ed25519, hex key; SendGrid: ECDSA
    // P-256, base64 key) and an RSA key of a user-defined scheme.
    let message = [t.as_bytes(), &body].concat();
    let ecdsa_pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let ecdsa =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, ecdsa_pkcs8.as_ref()).unwrap();
    let ecdsa_signature = ecdsa.sign(&rng, &message).unwrap();
    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let mut rsa_signature = vec![0; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut rsa_signature)
        .unwrap();
    let rsa_scheme = Scheme::Hmac(
        Blocks {
            header: Some("x-signature"),
            algorithm: Some("rsa-sha256"),
            encoding: Some("base64"),
            secret_encoding: Some("base64"),
            timestamp_header: Some("x-timestamp"),
            signed_content: Some("{timestamp}{body}"),
            ..Blocks::NONE
        }
        .spec(None)
        .unwrap(),
    );
    let cases = [
        (
            "discord-ed25519",
            Scheme::from_name("discord").unwrap(),
            hex::encode(pair.public_key().as_ref()),
            [
                (
                    "x-signature-ed25519",
                    hex::encode(pair.sign(&message).as_ref()),
                ),
                ("x-signature-timestamp", t.clone()),
            ],
        ),
        (
            "sendgrid-ecdsa-p256",
            Scheme::from_name("sendgrid").unwrap(),
            BASE64.encode(ecdsa.public_key().as_ref()),
            [
                (
                    "x-twilio-email-event-webhook-signature",
                    BASE64.encode(ecdsa_signature.as_ref()),
                ),
                ("x-twilio-email-event-webhook-timestamp", t.clone()),
            ],
        ),
        (
            "hmac-rsa-sha256",
            rsa_scheme,
            BASE64.encode(rsa.public_key().as_ref()),
            [
                ("x-signature", BASE64.encode(&rsa_signature)),
                ("x-timestamp", t.clone()),
            ],
        ),
    ];
    for (name, scheme, key, pairs) in cases {
        let mut headers = HeaderMap::new();
        for (header, value) in pairs {
            headers.insert(header, HeaderValue::from_str(&value).unwrap());
        }
        bench_one(
            &mut group,
            name,
            &scheme,
            Secret::new(key),
            &headers,
            &body,
            now,
        );
    }
    group.finish();
}

fn bench_one(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    scheme: &Scheme,
    key: Secret,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) {
    scheme.check_secret(&key).expect("a valid key");
    let secrets = [key];
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| {
            let request = Unverified {
                headers,
                body,
                path_and_query: "/webhooks/x",
                method: "POST",
                now,
            };
            scheme
                .verify(&secrets, &request, Duration::from_secs(300))
                .expect("valid")
        })
    });
}

fn encode(c: &mut Criterion) {
    let now = SystemTime::now();
    let small = "Lap 12 completed in 81.3 s".to_owned();
    let webhook = String::from_utf8(body(1024)).unwrap();
    for (name, value) in [
        ("encode/cloudevent-small-event", small),
        ("encode/cloudevent-1KiB-webhook", webhook),
    ] {
        let data = EventData {
            id: "track".into(),
            timestamp: 1_700_000_000_000_000_000,
            value,
            tags: Default::default(),
        };
        // The payload is cloned outside the timing: the receiver moves it in.
        c.bench_function(name, |b| {
            b.iter_batched(
                || data.clone(),
                |data| {
                    CloudEvent::new(
                        "/webhooks/segment",
                        event_type::EVENTS,
                        "webhooks",
                        "segment",
                        now,
                        data,
                    )
                    .to_record()
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, verify, verify_public_key, encode);
criterion_main!(benches);
