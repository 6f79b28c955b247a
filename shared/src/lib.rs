//! Inlet's shared crate: the event model, webhook signature verification,
//! the configuration, the one error type, the stream sinks and the embedded
//! log.

pub mod checkpoint;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod field;
pub mod http;
pub mod lambda;
pub mod log;
pub mod model;
pub mod publish;
pub mod record;
pub mod secrets;
pub mod service;
pub mod signalr;
pub mod signature;
pub mod sink;
pub mod time;
pub mod writer;

pub use config::Config;
pub use error::{Error, Result};

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// A source of the current time, injected so tests are deterministic.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// Takes a data directory (creating it) for this process alone, through its
/// `LOCK` file: two `inlet serve` must not share the embedded log, the
/// delivery ids or the checkpoints. The lock lasts as long as the file.
pub fn lock_data_dir(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    lock.try_lock().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            format!(
                "data directory {} is in use by another inlet process",
                dir.display()
            ),
        )
    })?;
    Ok(lock)
}

pub use aws_config::SdkConfig;

/// The AWS configuration every client of a process is built from, once: the
/// standard environment (region, credentials, `AWS_ENDPOINT_URL_KINESIS`,
/// `AWS_ENDPOINT_URL_DYNAMODB`). Makes no network call.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::load_from_env().await
}
