//! Destinations: a topic's records delivered out, to HTTP endpoints as
//! Standard Webhooks or into PostgreSQL. One delivery core ([`delivery`])
//! and two drivers: a Kinesis-triggered Lambda function ([`aws`]) and, in
//! `inlet serve`, a consumer of the embedded log per destination
//! (`local`).

pub mod aws;
pub mod delivery;
pub mod http;
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
pub mod postgres;
pub mod quix_rows;
pub mod retry;
pub mod table;

use std::sync::Arc;

use inlet_shared::config::{Destination, DestinationKind};

pub use delivery::{Deliver, Delivery, Outcome, Parked, Progress};

/// The delivery of `destination`, built once, its outcomes measured.
pub fn build(destination: &Destination) -> Arc<dyn Deliver> {
    let inner: Arc<dyn Deliver> = match &destination.kind {
        DestinationKind::Http(settings) => Arc::new(http::HttpDelivery::new(
            settings,
            destination.batch_size,
            destination.ordered,
        )),
        DestinationKind::Postgres(settings) => Arc::new(postgres::PostgresDelivery::new(
            &destination.name,
            settings,
            destination.batch_size,
        )),
    };
    Arc::new(delivery::Measured::new(&destination.name, inner))
}

/// The destinations of `inlet serve`: one consumer of the embedded log each.
#[cfg(feature = "local")]
pub fn local(ctx: &inlet_shared::service::LocalContext) -> inlet_shared::service::LocalService {
    use inlet_shared::service::{BannerSection, LocalService, Task};

    // The destinations are those of the configuration at start-up.
    let config = ctx.config.current();
    let destinations = &config.destinations;
    let mut service = LocalService {
        routes: axum::Router::new(),
        tasks: Vec::new(),
        banner: Vec::new(),
        warnings: Vec::new(),
    };
    if destinations.is_empty() {
        return service;
    }
    let Some(feed) = &ctx.log_feed else {
        service.warnings.push(
            "destinations need the embedded log: with --sink kinesis they run as Lambda functions (see functions/destination/README.md)".to_owned(),
        );
        return service;
    };
    let all: Vec<_> = destinations.values().cloned().collect();
    service.routes = local::status_routes(all.clone(), feed.clone());
    service.tasks.push(Box::pin(local::measure_behind(
        all,
        feed.clone(),
        ctx.shutdown.clone(),
    )) as Task);
    let mut lines = Vec::new();
    for destination in destinations.values() {
        let Some(commits) = feed.commits.get(&destination.topic) else {
            continue;
        };
        let consumer = local::Consumer {
            settings: destination.clone(),
            deliver: build(destination),
            data_dir: feed.data_dir.clone(),
            log_id: feed.id.clone(),
            commits: commits.clone(),
            shutdown: ctx.shutdown.clone(),
        };
        service.tasks.push(Box::pin(consumer.run()) as Task);
        let target = match &destination.kind {
            DestinationKind::Http(http) => http.shown_url.clone(),
            DestinationKind::Postgres(pg) => format!("postgres table {}", pg.table),
        };
        lines.push(format!(
            "{:<12} topic {} -> {} ({}, {})",
            destination.name,
            destination.topic,
            target,
            destination.kind.name(),
            if destination.ordered {
                "ordered"
            } else {
                "unordered"
            }
        ));
    }
    service
        .banner
        .push(BannerSection::new("Destinations (delivered out):", lines));
    service
}
