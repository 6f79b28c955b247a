//! `inlet serve`: every function's router on one address, over the embedded
//! log (or Kinesis), until Ctrl-C or SIGTERM.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use clap::{Args, ValueEnum};
use inlet_embedded::EmbeddedCheckpoints;
use inlet_embedded::EmbeddedLog;
use inlet_embedded::lock_data_dir;
use inlet_embedded::log::LogOptions;
use inlet_embedded::{EmbeddedDedupe, Follow};
use inlet_shared::config::ConfigError;
use inlet_shared::http::{json_errors, route_not_found};
use inlet_shared::publish::{Published, Publisher};
use inlet_shared::service::{LocalContext, LogFeed};
use inlet_shared::sink::{KinesisSink, Sink};
use inlet_shared::{Config, Error, Result, load_aws_config};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::banner::Banner;
use crate::console::{self, Console};
use crate::demo::{self};
use crate::server::{self, Limits};

/// Arguments of `inlet serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", env = "INLET_ADDR")]
    pub addr: SocketAddr,
    /// Where the embedded log keeps its files.
    #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The TOML configuration file; without it, a demo set-up runs.
    #[arg(long, env = "INLET_CONFIG_FILE")]
    pub config: Option<PathBuf>,
    /// Where records go: the embedded log, or Kinesis (standard AWS
    /// environment: AWS_REGION, credentials, AWS_ENDPOINT_URL_KINESIS).
    #[arg(long, value_enum, default_value_t = SinkKind::Embedded)]
    pub sink: SinkKind,
    /// How long the embedded log keeps records, e.g. 24h or 30d; `forever`
    /// keeps everything. Records expire a whole 64 MiB segment at a time.
    #[arg(long, default_value = "7d", env = "INLET_RETENTION")]
    pub retention: Retention,
    /// How long one request may take, its body upload included, before it
    /// is answered 408 (e.g. 30s).
    #[arg(long, default_value = "30s", env = "INLET_REQUEST_TIMEOUT", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers, and how long
    /// an idle keep-alive connection stays open.
    #[arg(long, default_value = "10s", env = "INLET_HEADER_TIMEOUT", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// How long a client may leave an answer unread (no byte of it taken)
    /// before its connection is closed.
    #[arg(long, default_value = "30s", env = "INLET_WRITE_TIMEOUT", value_parser = positive_duration)]
    pub write_timeout: Duration,
    /// The most bytes of headers buffered per connection (at least 8192).
    #[arg(long, default_value_t = 64 * 1024, env = "INLET_MAX_HEADER_BYTES", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8192..))]
    pub max_header_bytes: usize,
    /// The most connections open at once. Past it, the connection that has
    /// waited longest (over a second) for a request's headers is closed to
    /// make room; if there is none, new connections wait.
    #[arg(long, default_value_t = 512, env = "INLET_MAX_CONNECTIONS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// The most connections one client address may hold (0: no cap). Past
    /// it, that address's connection that has waited longest (over a
    /// second) for a request's headers is closed, or else the new one.
    /// Raise it (or 0) behind a proxy that connects from one address.
    #[arg(long, default_value_t = 256, env = "INLET_MAX_CONNECTIONS_PER_PEER")]
    pub max_connections_per_peer: usize,
    /// On Ctrl-C or SIGTERM, how long requests in flight may take to finish
    /// before their connections are dropped.
    #[arg(long, default_value = "10s", env = "INLET_SHUTDOWN_GRACE", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// A duration above zero, e.g. `30s` (zero would fail every write at once).
fn positive_duration(value: &str) -> std::result::Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if d.is_zero() => Err("must be more than zero, e.g. 30s".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e}; write e.g. 30s")),
    }
}

/// How long the embedded log keeps records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<Duration>);

impl FromStr for Retention {
    type Err = String;

    fn from_str(value: &str) -> std::result::Result<Self, String> {
        if value == "forever" {
            return Ok(Retention(None));
        }
        match humantime::parse_duration(value) {
            Ok(duration) if !duration.is_zero() => Ok(Retention(Some(duration))),
            Ok(_) => Err("a retention of 0 would delete every record; use e.g. 1h".to_owned()),
            Err(e) => Err(format!("{e} (expected e.g. 24h, 7d or forever)")),
        }
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(duration) => write!(f, "{}", humantime::format_duration(duration)),
            None => f.write_str("forever"),
        }
    }
}

/// The stream store `inlet serve` publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SinkKind {
    /// Append-only files under --data-dir, fsynced before each answer.
    Embedded,
    /// The Kinesis streams named in the configuration.
    Kinesis,
}

impl SinkKind {
    fn name(self) -> &'static str {
        match self {
            SinkKind::Embedded => "embedded",
            SinkKind::Kinesis => "kinesis",
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
    let published = Arc::new(Published::new(config.topics.keys().map(String::as_str)));
    let ctx = LocalContext {
        config: config.clone(),
        publisher: Publisher::new(sink)
            .with_dedupe(dedupe)
            .with_summary(published.clone()),
        checkpoints: Arc::new(EmbeddedCheckpoints::open(&args.data_dir)?),
        log_feed,
        base_url: base_url(local),
        shutdown: CancellationToken::new(),
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
        config.clone(),
        ctx.base_url.clone(),
        args.addr.ip().is_loopback(),
        demo.as_ref().map(|d| d.token.clone()),
        ctx.log_feed.clone(),
    );
    let guard = console.clone();
    app = app
        .merge(console.routes())
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
    tasks.push(tokio::spawn(summarize(
        published,
        SUMMARY_EVERY,
        ctx.shutdown.clone(),
    )));
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

/// How often `inlet serve` logs what was published (each request's own
/// line is at debug level: `RUST_LOG=debug` shows it).
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Logs, every `every` while anything is published, how many records each
/// topic took and how many redeliveries were acknowledged.
async fn summarize(published: Arc<Published>, every: Duration, stop: CancellationToken) {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use inlet_shared::service::BannerSection;

    fn args(extra: &[&str]) -> ServeArgs {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Cli::parse_from([&["inlet"], extra].concat()).serve
    }

    #[test]
    fn the_demo_banner_shows_where_to_send_and_how_to_watch() {
        let demo = demo::demo(&|name| match name {
            demo::DEMO_SECRET_ENV => Some("s3cret".to_owned()),
            _ => None,
        })
        .unwrap();
        let args = args(&[]);
        let base = "http://127.0.0.1:8787";
        let mut banner = Banner::new(&args, base, Some(&demo));
        banner.sections.push(BannerSection::new(
            "Webhook endpoints:",
            vec!["POST x".to_owned()],
        ));
        banner.finish(&args, base, &demo.config, Some(&demo));
        let text = banner.to_string();
        assert!(text.starts_with(
            "Inlet is serving on http://127.0.0.1:8787 (embedded log in .inlet, records kept 7days)\n\n"
        ));
        assert!(text.contains("\nNo --config given: running the demo set-up.\n  Segment secret: taken from INLET_DEMO_SECRET\n"));
        assert!(
            !text.contains("s3cret"),
            "a secret from the environment is not printed"
        );
        assert!(text.contains(&format!(
            "Writer token (generated; set INLET_DEMO_TOKEN to keep one): {}",
            demo.token
        )));
        assert!(text.contains("\nWebhook endpoints:\n  POST x\n"));
        assert!(text.contains("\nWrite an event to the telemetry topic:\n  curl "));
        assert!(text.contains("\nWatch the records arrive:\n  cargo run -p inlet -- tail telemetry\n  cargo run -p inlet -- tail webhooks\n"));
        assert!(text.ends_with("\n\nReady. Ctrl-C stops the server.\n"));
    }

    #[test]
    fn a_configured_banner_with_kinesis_has_no_demo_and_no_tail() {
        let config = Config::parse("[topics.a]\nstream = \"s\"", &|_| None).unwrap();
        let args = args(&["--sink", "kinesis"]);
        let mut banner = Banner::new(&args, "http://h:1", None);
        banner.finish(&args, "http://h:1", &config, None);
        assert_eq!(
            banner.to_string(),
            "Inlet is serving on http://h:1 (Kinesis)\n\nConsole (every way in, records arriving live), in a browser:\n  http://h:1/\n\nReady. Ctrl-C stops the server.\n"
        );
    }

    #[test]
    fn a_write_timeout_must_be_above_zero() {
        assert_eq!(positive_duration("30s"), Ok(Duration::from_secs(30)));
        assert!(
            positive_duration("0s")
                .unwrap_err()
                .contains("more than zero")
        );
        assert!(positive_duration("soon").unwrap_err().contains("e.g. 30s"));
    }

    #[test]
    fn retention_is_a_duration_or_forever() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!("24h".parse(), Ok(Retention(Some(day))));
        assert_eq!("7d".parse(), Ok(Retention(Some(7 * day))));
        assert_eq!("forever".parse(), Ok(Retention(None)));
        assert!(
            "0s".parse::<Retention>()
                .unwrap_err()
                .contains("delete every record")
        );
        assert!(
            "a week"
                .parse::<Retention>()
                .unwrap_err()
                .contains("forever")
        );
        assert_eq!(Retention(Some(7 * day)).to_string(), "7days");
        assert_eq!(Retention(None).to_string(), "forever");
    }
}
