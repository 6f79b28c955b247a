//! The `inlet` command: `serve` runs every function locally, `tail` prints a
//! topic's records, `sign` computes webhook signature headers for testing,
//! `repair` mends a damaged log, `urls` lists a deployed stack's URLs.

mod admission;
mod banner;
mod console;
mod console_client;
mod demo;
mod deploy;
mod destinations;
mod handshake;
mod options;
mod rejected;
mod reload;
mod repair;
mod serve;
mod server;
mod sign;
mod tail;
mod urls;

use clap::{Parser, Subcommand};
use inlet_shared::config::ConfigError;

pub use deploy::{DeployParamsArgs, Parameters};
pub use handshake::HandshakeSecretArgs;
pub use options::{Retention, ServeArgs, SinkKind};
pub use rejected::RejectedArgs;
pub use repair::RepairArgs;
pub use sign::SignArgs;
pub use tail::TailArgs;
pub use urls::UrlsArgs;

/// Inlet: data into a stream and out of it, in real time.
///
/// In: webhooks, REST polling, the Quix Writer API and its SignalR hub.
/// Out: the Reader hub, signed webhooks and PostgreSQL. `inlet serve` runs
/// them all in one process on an embedded, durable log.
#[derive(Debug, Parser)]
#[command(name = "inlet", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every function on one address (with no --config: a demo set-up).
    Serve(ServeArgs),
    /// Print a topic's records, one CloudEvent JSON per line, from the start.
    Tail(TailArgs),
    /// Read a body on stdin and print the signature header(s) to send with it.
    Sign(SignArgs),
    /// Keep every readable record of a damaged log: each damaged segment is
    /// moved aside intact and rewritten with the records on both sides of
    /// the damage. Stop `inlet serve` first.
    Repair(RepairArgs),
    /// Check a configuration and stage it for `sam deploy`: the layer every
    /// function reads it from, and the template's parameters derived from it.
    DeployParams(DeployParamsArgs),
    /// Manage destinations: enable one disabled by a 410, redrive its dead
    /// letter.
    Destinations(destinations::DestinationsArgs),
    /// Print a deployed stack's URLs, with each configured webhook source's
    /// exact URL to paste into its provider's dashboard.
    Urls(UrlsArgs),
    /// Print, once, the secret a provider sent in its handshake to the
    /// running `inlet serve` (Notion's verification token); never logged.
    HandshakeSecret(HandshakeSecretArgs),
    /// The webhooks refused for their signature that `inlet serve` kept:
    /// list, show, and replay them once the secret is fixed.
    Rejected(RejectedArgs),
    /// Load the running `inlet serve`'s configuration file and its secrets
    /// again (as `kill -HUP` does), and say what needs a restart.
    Reload(reload::ReloadArgs),
}

/// Why an `inlet` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The flags do not make sense together, or name nothing that exists.
    #[error("{0}")]
    Usage(String),
    /// The configuration file cannot be used.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A file, the data directory or a terminal failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `inlet serve` stopped on an error.
    #[error(transparent)]
    Serve(#[from] inlet_shared::Error),
}

impl CliError {
    /// The process's exit code: 2 for a usage error (as for clap's), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => Ok(serve::serve(args).await?),
        Command::Tail(args) => tail::tail(args).await,
        Command::Sign(args) => sign::sign(args),
        Command::Repair(args) => repair::run(args),
        Command::Urls(args) => urls::run(args).await,
        Command::DeployParams(args) => deploy::run(args),
        Command::Destinations(args) => destinations::run(args).await,
        Command::HandshakeSecret(args) => handshake::run(args).await,
        Command::Rejected(args) => rejected::run(args).await,
        Command::Reload(args) => reload::run(args).await,
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info). Lines
/// are written by a background thread, so a request never waits on the
/// terminal; none is dropped (past 128,000 lines queued, logging waits).
/// Keep the guard until exit: dropping it writes what is queued.
pub fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .init();
    guard
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_help_names_every_way_in_and_out() {
        let help = Cli::command().render_long_help().to_string();
        for way in [
            "webhooks",
            "REST polling",
            "Writer API",
            "SignalR",
            "Reader hub",
            "signed webhooks",
            "PostgreSQL",
        ] {
            assert!(help.contains(way), "{way} missing from:\n{help}");
        }
    }
}
