//! Inlet's shared crate: the event model, webhook signature verification,
//! the configuration, the one error type, and the traits of sinks and
//! stores with their AWS implementations. The embedded ones (the log, the
//! delivery-id index, checkpoints on disk) are the `inlet-embedded` crate,
//! which no Lambda function compiles.

pub mod checkpoint;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod field;
pub mod http;
pub mod lambda;
pub mod model;
pub mod publish;
pub mod record;
pub mod rejected;
pub mod secrets;
pub mod service;
pub mod signature;
pub mod sink;
pub mod telemetry;
pub mod time;
pub mod writer;

pub use config::Config;
pub use error::{Error, Result};

use std::sync::Arc;
use std::time::SystemTime;

/// A source of the current time, injected so tests are deterministic.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

pub use aws_config::SdkConfig;

/// The AWS configuration every client of a process is built from, once: the
/// standard environment (region, credentials, `AWS_ENDPOINT_URL_KINESIS`,
/// `AWS_ENDPOINT_URL_DYNAMODB`). Makes no network call.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::load_from_env().await
}
