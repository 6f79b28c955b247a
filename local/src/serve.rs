//! `inlet serve`: every function's router on one address, over the embedded
//! log (or Kinesis), until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use inlet_embedded::EmbeddedCheckpoints;
use inlet_embedded::EmbeddedLog;
use inlet_embedded::lock_data_dir;
use inlet_embedded::log::LogOptions;
use inlet_embedded::{EmbeddedDedupe, Follow};
use inlet_shared::config::{ConfigError, ConfigHandle};
use inlet_shared::http::{json_errors, route_not_found};
use inlet_shared::publish::{PublishCounts, Publisher};
use inlet_shared::service::{LocalContext, LogFeed};
use inlet_shared::signature::Arrivals;
use inlet_shared::sink::{KinesisSink, Sink};
use inlet_shared::{Config, Error, Result, load_aws_config};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::banner::Banner;
use crate::console::{self, Console};
use crate::demo::{self};
use crate::options::{ServeArgs, SinkKind};
use crate::server::{self, Limits};

/// Where refused webhooks are kept; none (and a warning) if the data
/// directory cannot hold them (a full disk must not stop the server).
fn rejections(data_dir: &std::path::Path) -> Option<Arc<dyn inlet_shared::rejected::Rejections>> {
    match inlet_embedded::RejectedFiles::open(data_dir) {
        Ok(files) => Some(Arc::new(files)),
        Err(e) => {
            tracing::warn!(error = %e, "refused webhooks are not kept: cannot open <data-dir>/rejected");
            None
        }
    }
}

pub(crate) async fn serve(args: ServeArgs) -> Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    let (config, demo) = match &args.config {
        Some(path) => {
            let config = Config::load(path, &env)?;
            config.check_usable()?;
            (config, None)
        }
        None => {
            let demo = demo::demo(&env)?;
            let config = demo.config.clone();
            (config, Some(demo))
        }
    };
    let config = Arc::new(config);

    // The embedded log holds the data directory's lock itself; with Kinesis
    // the directory still keeps delivery ids and checkpoints, so lock it here.
    let (sink, _lock, log_feed): (Arc<dyn Sink>, _, _) = match args.sink {
        SinkKind::Embedded => {
            let log = EmbeddedLog::open_with(
                &args.data_dir,
                config.topics.keys().map(String::as_str),
                LogOptions {
                    retention: args.retention.0,
                    ..LogOptions::default()
                },
            )?;
            let feed = LogFeed {
                data_dir: args.data_dir.clone(),
                id: log.id().to_owned(),
                commits: log.commits(),
            };
            (Arc::new(log), None, Some(feed))
        }
        SinkKind::Kinesis => {
            let lock = lock_data_dir(&args.data_dir)?;
            let sink = KinesisSink::from_config(&load_aws_config().await);
            (Arc::new(sink), Some(lock), None)
        }
    };
    // Delivery ids; with the embedded log, the store follows the topics of
    // the sources that keep them, so an id stored just before a crash is
    // known after it. Other topics are not read back at all.
    let keeping: Vec<_> = config
        .sources
        .values()
        .filter(|s| s.delivery_id.is_some() && !s.dedupe_window.is_zero())
        .collect();
    let commits = log_feed
        .as_ref()
        .map(|feed| feed.commits.clone())
        .unwrap_or_default();
    let follow = Follow {
        topics: commits
            .keys()
            .filter(|topic| keeping.iter().any(|s| &s.topic == *topic))
            .cloned()
            .collect(),
        commits,
        windows: keeping
            .iter()
            .map(|s| (s.name.clone(), s.dedupe_window))
            .collect(),
    };
    let dedupe = Arc::new(EmbeddedDedupe::open_following(
        &args.data_dir,
        SystemTime::now(),
        follow,
    )?);

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| {
            Error::Config(ConfigError::new(
                "--addr",
                format!("cannot listen on {}: {e}", args.addr),
            ))
        })?;
    let local = listener.local_addr()?;
    if !args.no_metrics && inlet_shared::telemetry::prometheus::handle().is_none() {
        tracing::warn!("another metrics recorder is installed: GET /metrics stays empty");
    }
    let published = Arc::new(PublishCounts::new(config.topics.keys().map(String::as_str)));
    let ctx = LocalContext {
        config: ConfigHandle::new(config.clone()),
        publisher: Publisher::new(sink)
            .with_dedupe(dedupe)
            .with_summary(published.clone()),
        checkpoints: Arc::new(EmbeddedCheckpoints::open(&args.data_dir)?),
        log_feed,
        base_url: base_url(local),
        shutdown: CancellationToken::new(),
        arrivals: Arrivals::default(),
        rejections: rejections(&args.data_dir),
    };
    let services = [
        webhook_receiver::local(&ctx),
        write_proxy::local(&ctx),
        rest_poller::local(&ctx),
        hub::local(&ctx),
        destination::local(&ctx),
    ];

    let sink_name = args.sink.name();
    let mut app = Router::new().route(
        "/health",
        get(move || async move { Json(json!({ "status": "ok", "sink": sink_name })) }),
    );
    if !args.no_metrics {
        // Prometheus text, unauthenticated as Prometheus endpoints are.
        app = app.route(
            "/metrics",
            get(|| async {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    inlet_shared::telemetry::prometheus::render(),
                )
            }),
        );
    }
    let mut banner = Banner::new(&args, &ctx.base_url, demo.as_ref());
    let mut tasks = Vec::new();
    for service in services {
        for warning in &service.warnings {
            tracing::warn!("{warning}");
        }
        app = app.merge(service.routes);
        banner.sections.extend(service.banner);
        tasks.extend(service.tasks);
    }
    let console = Console::new(
        ctx.config.clone(),
        ctx.base_url.clone(),
        args.addr.ip().is_loopback(),
        demo.as_ref().map(|d| d.token.clone()),
        ctx.log_feed.clone(),
        ctx.arrivals.clone(),
    );
    let guard = console.clone();
    app = app
        .merge(console.routes())
        .merge(crate::reload::routes(
            args.config.clone(),
            ctx.config.clone(),
        ))
        .layer(axum::middleware::from_fn_with_state(
            guard,
            console::require_access,
        ));
    banner.finish(&args, &ctx.base_url, &config, demo.as_ref());
    // Requests cannot hang forever; connection-level limits against slow
    // clients are separate.
    let app = app
        .fallback(route_not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            args.request_timeout,
        ))
        .layer(axum::middleware::map_response(json_errors));

    print!("{banner}");
    let mut tasks: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
    if let Some(path) = &args.config {
        tasks.push(tokio::spawn(crate::reload::on_hangup(
            path.clone(),
            ctx.config.clone(),
            ctx.shutdown.clone(),
        )));
    }
    tasks.push(tokio::spawn(summarize(
        published,
        SUMMARY_EVERY,
        ctx.shutdown.clone(),
    )));
    if !args.no_metrics {
        let log = ctx.log_feed.as_ref().map(|feed| {
            (
                feed.data_dir.clone(),
                feed.commits.keys().cloned().collect(),
            )
        });
        tasks.push(tokio::spawn(keep_metrics(log, ctx.shutdown.clone())));
    }
    let limits = Limits {
        header_timeout: args.header_timeout,
        write_timeout: args.write_timeout,
        max_header_bytes: args.max_header_bytes,
        max_connections: args.max_connections,
        max_connections_per_peer: args.max_connections_per_peer,
        shutdown_grace: args.shutdown_grace,
    };
    server::serve(listener, app, limits, shutdown_signal()).await;
    ctx.shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }
    match args.sink {
        SinkKind::Embedded => tracing::info!("stopped; every acknowledged record is on disk"),
        SinkKind::Kinesis => tracing::info!("stopped"),
    }
    Ok(())
}

/// Every 5 s: folds the histograms' samples into their buckets (held until
/// then), and measures the embedded log's segments and bytes per topic.
async fn keep_metrics(log: Option<(PathBuf, Vec<String>)>, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => return,
        }
        let log = log.clone();
        let _ = tokio::task::spawn_blocking(move || {
            inlet_shared::telemetry::prometheus::upkeep();
            if let Some((dir, topics)) = &log {
                for topic in topics {
                    if let Ok((segments, bytes)) = inlet_embedded::log::disk_usage(dir, topic) {
                        inlet_shared::telemetry::log_disk(topic, segments, bytes);
                    }
                }
            }
        })
        .await;
    }
}

/// How often `inlet serve` logs what was published (each request's own
/// line is at debug level: `RUST_LOG=debug` shows it).
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Logs, every `every` while anything is published, how many records each
/// topic took and how many redeliveries were acknowledged.
async fn summarize(published: Arc<PublishCounts>, every: Duration, stop: CancellationToken) {
    let mut last = published.totals();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        // At shutdown (after the last request), what the last tick missed.
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            () = stop.cancelled() => true,
        };
        let now = published.totals();
        let topics: Vec<String> = now
            .0
            .iter()
            .filter_map(|(topic, n)| {
                let new = n - last.0.get(topic).copied().unwrap_or(0);
                (new > 0).then(|| format!("{topic} {new}"))
            })
            .collect();
        let duplicates = now.1 - last.1;
        if !topics.is_empty() || duplicates > 0 {
            let period = if stopping {
                "since the last summary".to_owned()
            } else {
                format!("in the last {}s", every.as_secs())
            };
            tracing::info!(
                records = %topics.join(", "),
                redeliveries = duplicates,
                "published {period}"
            );
        }
        if stopping {
            return;
        }
        last = now;
    }
}

fn base_url(local: SocketAddr) -> String {
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    format!("http://{host}:{}", local.port())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
