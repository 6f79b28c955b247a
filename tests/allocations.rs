//! Heap allocations per webhook, counted by dhat's heap profiler (the
//! workspace forbids `unsafe`, so no hand-written counting allocator): a
//! signed ~1 KiB Segment webhook with its own `messageId`, through the
//! receiver's router, into the embedded log with the dedupe index following
//! it, as `inlet serve` runs it (the HTTP connection's own allocations are
//! not counted). Every thread counts: the log writer and the indexer too.
//!
//! `cargo test -p inlet-e2e --test allocations -- --nocapture` prints the
//! figure; the test fails if it grows past the bound, so a regression shows.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::Request;
use inlet_embedded::EmbeddedLog;
use inlet_embedded::{EmbeddedDedupe, Follow};
use inlet_shared::Config;
use inlet_shared::publish::Publisher;
use inlet_shared::signature::{Scheme, Secret, SignWith};
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// The most allocations one webhook may take (99 measured; 157 before the
/// body was read without building a `serde_json::Value`).
const BOUND: u64 = 120;
const WEBHOOKS: u64 = 2000;

#[test]
fn a_webhook_takes_a_bounded_number_of_allocations() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| (name == "SECRET").then(|| "alloc-secret".to_owned());
    let config = Arc::new(
        Config::parse(
            r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"
"#,
            &env,
        )
        .unwrap(),
    );
    let per_webhook = runtime.block_on(async {
        let log = EmbeddedLog::open(dir.path(), ["webhooks"]).unwrap();
        let follow = Follow {
            topics: vec!["webhooks".to_owned()],
            commits: log.commits(),
            windows: [(
                "segment".to_owned(),
                config.sources["segment"].dedupe_window,
            )]
            .into(),
        };
        let dedupe = EmbeddedDedupe::open_following(dir.path(), SystemTime::now(), follow).unwrap();
        let publisher = Publisher::new(Arc::new(log)).with_dedupe(Arc::new(dedupe));
        let router = webhook_receiver::router(webhook_receiver::WebhookReceiver::new(
            config.clone(),
            publisher,
        ));
        let secret = Secret::new("alloc-secret".to_owned());
        let send = |n: u64| {
            let body = inlet_e2e::segment_body(1, 0, n);
            let signed = Scheme::Segment.sign(&SignWith::new(&secret, body.as_bytes()));
            let request = Request::post("/webhooks/segment")
                .header("content-type", "application/json")
                .header(signed[0].0.as_str(), signed[0].1.as_str())
                .body(Body::from(body))
                .unwrap();
            router.clone().oneshot(request)
        };
        // Warm up: lazily built state, the log's buffers, the index's pages.
        for n in 0..200 {
            assert_eq!(send(n).await.unwrap().status(), 200);
        }
        let before = dhat::HeapStats::get();
        for n in 1_000..1_000 + WEBHOOKS {
            assert_eq!(send(n).await.unwrap().status(), 200);
        }
        let after = dhat::HeapStats::get();
        let blocks = (after.total_blocks - before.total_blocks) / WEBHOOKS;
        let bytes = (after.total_bytes - before.total_bytes) / WEBHOOKS;
        println!("allocations per webhook: {blocks} ({bytes} bytes)");
        blocks
    });
    assert!(
        per_webhook <= BOUND,
        "{per_webhook} allocations per webhook, over the bound of {BOUND}"
    );
}
