//! The options of `inlet serve`: its command-line flags (each also an
//! `INLET_*` variable), read by the server and shown by its banner.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};

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
    /// Keep no metrics and serve no `GET /metrics` (for measuring what they
    /// cost; the console's charts stay empty).
    #[arg(long, env = "INLET_NO_METRICS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_metrics: bool,
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
    pub(crate) fn name(self) -> &'static str {
        match self {
            SinkKind::Embedded => "embedded",
            SinkKind::Kinesis => "kinesis",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
