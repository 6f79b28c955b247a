//! `inlet serve`: every function's router on one address, over the embedded
//! log (or Kinesis), until Ctrl-C or SIGTERM.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::routing::get;
use axum::{Json, Router};
use clap::{Args, ValueEnum};
use inlet_shared::checkpoint::EmbeddedCheckpoints;
use inlet_shared::config::ConfigError;
use inlet_shared::dedupe::EmbeddedDedupe;
use inlet_shared::http::route_not_found;
use inlet_shared::log::LogOptions;
use inlet_shared::sink::{EmbeddedLog, KinesisSink, Sink};
use inlet_shared::{Config, Error, Result, load_aws_config, lock_data_dir, system_clock};
use rest_poller::{PollDeps, poll_once};
use serde_json::json;
use webhook_receiver::Receiver;
use write_proxy::Writer;

use crate::demo;

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
        Some(path) => (Config::load(path, &env)?, None),
        None => {
            let demo = demo::demo(&env)?;
            let generated = (demo.generated_secret, demo.generated_token);
            (demo.config, Some(generated))
        }
    };
    let config = Arc::new(config);

    // The embedded log holds the data directory's lock itself; with Kinesis
    // the directory still keeps delivery ids and checkpoints, so lock it here.
    let (sink, _lock): (Arc<dyn Sink>, _) = match args.sink {
        SinkKind::Embedded => {
            let log = EmbeddedLog::open_with(
                &args.data_dir,
                config.topics.keys().map(String::as_str),
                LogOptions {
                    retention: args.retention.0,
                    ..LogOptions::default()
                },
            )?;
            (Arc::new(log), None)
        }
        SinkKind::Kinesis => {
            let lock = lock_data_dir(&args.data_dir)?;
            let sink = KinesisSink::from_config(&load_aws_config().await);
            (Arc::new(sink), Some(lock))
        }
    };

    let deduper = Arc::new(EmbeddedDedupe::open(&args.data_dir, SystemTime::now())?);
    let receiver = Receiver::new(config.clone(), sink.clone()).with_deduper(deduper);
    let poll_deps = PollDeps {
        http: PollDeps::http_client(),
        sink: sink.clone(),
        checkpoints: Arc::new(EmbeddedCheckpoints::open(&args.data_dir)?),
        config: config.clone(),
        clock: system_clock(),
    };
    receiver.warn_unsigned();
    let writer = Writer::new(config.clone(), sink);
    writer.warn_if_unusable();
    let sink_name = args.sink.name();
    let app = Router::new()
        .route(
            "/health",
            get(move || async move { Json(json!({ "status": "ok", "sink": sink_name })) }),
        )
        .merge(webhook_receiver::routes(receiver))
        .merge(write_proxy::routes(writer))
        .fallback(route_not_found);

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| {
            Error::Config(ConfigError::new(
                "--addr",
                format!("cannot listen on {}: {e}", args.addr),
            ))
        })?;
    let local = listener.local_addr()?;
    print_banner(&args, &config, local, demo);
    let pollers = start_pollers(&config, &poll_deps);

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    for poller in pollers {
        poller.abort();
    }
    tracing::info!("stopped; every acknowledged record is on disk");
    Ok(())
}

/// One task per poll target, polling at once and then every `every`.
fn start_pollers(config: &Config, deps: &PollDeps) -> Vec<tokio::task::JoinHandle<()>> {
    config
        .pollers
        .values()
        .map(|target| {
            let target = target.clone();
            let deps = deps.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(target.every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    ticks.tick().await;
                    poll_once(&target, &deps).await;
                }
            })
        })
        .collect()
}

fn print_banner(args: &ServeArgs, config: &Config, local: SocketAddr, demo: Option<(bool, bool)>) {
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    let base = format!("http://{host}:{}", local.port());
    let store = match args.sink {
        SinkKind::Embedded => format!(
            "embedded log in {}, records kept {}",
            args.data_dir.display(),
            args.retention
        ),
        SinkKind::Kinesis => "Kinesis".to_owned(),
    };
    println!("Inlet is serving on {base} ({store})");
    if let Some((generated_secret, generated_token)) = demo {
        println!();
        println!("No --config given: running the demo set-up.");
        let secret = config.sources["segment"].secrets[0].expose();
        if generated_secret {
            println!(
                "  Segment secret (generated; set {} to keep one): {secret}",
                demo::DEMO_SECRET_ENV
            );
        } else {
            println!("  Segment secret: taken from {}", demo::DEMO_SECRET_ENV);
        }
        let token = config.tokens["demo"].token.expose();
        if generated_token {
            println!(
                "  Writer token (generated; set {} to keep one): {token}",
                demo::DEMO_TOKEN_ENV
            );
        } else {
            println!("  Writer token: taken from {}", demo::DEMO_TOKEN_ENV);
        }
    }
    println!();
    println!("Webhook endpoints:");
    for source in config.sources.values() {
        let stream = config
            .topics
            .get(&source.topic)
            .map_or("", |t| t.stream.as_str());
        println!(
            "  POST {base}/webhooks/{:<12} scheme {}, topic {} (stream {stream})",
            source.name,
            source.scheme.name(),
            source.topic
        );
    }
    for source in config.sources.values() {
        println!();
        println!("Send a signed test webhook to {}:", source.name);
        println!("  {}", demo::curl(&base, source));
    }
    println!();
    println!("Writer API (Quix Streaming Writer API compatible):");
    println!("  base URL  {base}");
    println!("  OpenAPI   {base}/openapi.json");
    println!("  samples   {base}/samples/{{curl,javascript,python}}?topic=T&stream=S");
    if !config.pollers.is_empty() {
        println!();
        println!("Polling:");
        for target in config.pollers.values() {
            println!(
                "  {:<12} {} every {} -> topic {}",
                target.name,
                target.url,
                humantime::format_duration(target.every),
                target.topic
            );
        }
    }
    if demo.is_some() {
        println!();
        println!("Write an event to the telemetry topic:");
        println!(
            "  {}",
            demo::writer_curl(&base, "telemetry", config.tokens["demo"].token.expose())
        );
    }
    if args.sink == SinkKind::Embedded {
        let data_dir = if args.data_dir.as_path() == Path::new(".inlet") {
            String::new()
        } else {
            format!(" --data-dir {}", args.data_dir.display())
        };
        println!();
        println!("Watch the records arrive:");
        for topic in config.topics.keys() {
            println!("  cargo run -p inlet -- tail {topic}{data_dir}");
        }
    }
    println!();
    println!("Ready. Ctrl-C stops the server.");
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
    use super::*;

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
