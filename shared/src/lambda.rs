//! The one Lambda start-up every function's `main.rs` calls: tracing (JSON
//! when the function's log format says so), the configuration from the
//! environment (its `secret:` references from Secrets Manager), the AWS
//! configuration once, the Kinesis sink, the DynamoDB
//! stores the configuration names, and the start-up warnings.

use std::sync::Arc;

use std::time::{Duration, Instant, SystemTime};

use crate::checkpoint::{CheckpointStore, DynamoCheckpoints};
use crate::config::{Config, ConfigError, ConfigHandle, Wiring};
use crate::dedupe::DynamoDedupe;
use crate::publish::Publisher;
use crate::sink::KinesisSink;

/// What a function's handler needs, built once per cold start.
pub struct Runtime {
    /// The validated configuration, swappable while the function runs.
    pub config: ConfigHandle,
    /// The AWS configuration every client is built from.
    pub aws: crate::SdkConfig,
    /// Publishes into Kinesis.
    pub publisher: Publisher,
    /// The function's own resources, from its `INLET_*` variables.
    pub wiring: Wiring,
}

impl Runtime {
    /// The publisher, remembering delivery ids in the `[dedupe]` table; with
    /// no table it warns that redeliveries are published again.
    pub fn publisher_with_dedupe(&self) -> Publisher {
        match &self.config.current().dedupe_table {
            Some(table) => self
                .publisher
                .clone()
                .with_dedupe(Arc::new(DynamoDedupe::from_config(
                    &self.aws,
                    table.clone(),
                ))),
            None => {
                tracing::warn!(
                    "no [dedupe] table configured: redelivered webhooks are published again"
                );
                self.publisher.clone()
            }
        }
    }

    /// Where the webhook receiver keeps rejected webhooks: the stack's
    /// table (`INLET_REJECTED_TABLE`), if it is given one.
    pub fn rejections(&self) -> Option<Arc<dyn crate::rejected::Rejections>> {
        let table = self.wiring.rejected_table.clone()?;
        let client = aws_sdk_dynamodb::Client::new(&self.aws);
        Some(Arc::new(crate::rejected::RejectedTable::new(client, table)))
    }

    /// The `[checkpoints]` table, for functions that keep checkpoints.
    pub fn checkpoints(&self) -> Result<Arc<dyn CheckpointStore>, ConfigError> {
        let table = self
            .config
            .current()
            .checkpoint_table
            .clone()
            .ok_or_else(|| {
                ConfigError::new(
                    "checkpoints.table",
                    "this function needs a [checkpoints] table",
                )
            })?;
        Ok(Arc::new(DynamoCheckpoints::from_config(&self.aws, table)))
    }
}

/// Starts a function: logs each of `warnings(config)` once; a configuration
/// that cannot be used is logged and returned, so the cold start fails.
pub async fn start(warnings: fn(&Config) -> Vec<String>) -> Result<Runtime, ConfigError> {
    lambda_runtime::tracing::init_default_subscriber();
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "inlet".into());
    crate::telemetry::emf::install(&function);
    let aws = crate::load_aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let config = crate::secrets::load_config(&secrets, &|name| std::env::var(name).ok())
        .await
        .and_then(|config| config.check_usable().map(|()| config))
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let publisher = Publisher::new(Arc::new(KinesisSink::from_config(&aws)));
    for warning in warnings(&config) {
        tracing::warn!("{warning}");
    }
    let ttl = secret_ttl(&|name| std::env::var(name).ok())?;
    let from_secrets = FromSecrets::new(secrets, |name| std::env::var(name).ok());
    let handle = ConfigHandle::new(Arc::new(config)).reloading(Arc::new(from_secrets), ttl);
    Ok(Runtime {
        config: handle,
        aws,
        publisher,
        wiring: Wiring::from_env(&|name| std::env::var(name).ok()),
    })
}

/// How long a Lambda function keeps its `secret:` values before it loads
/// the configuration again (`INLET_SECRET_TTL`, e.g. `5m`; default 5
/// minutes).
pub const SECRET_TTL_ENV: &str = "INLET_SECRET_TTL";

fn secret_ttl(env: crate::config::Env<'_>) -> Result<Duration, ConfigError> {
    match env(SECRET_TTL_ENV) {
        None => Ok(crate::config::DEFAULT_SECRET_TTL),
        Some(text) => humantime::parse_duration(&text)
            .map_err(|e| ConfigError::new(SECRET_TTL_ENV, format!("{text:?}: {e}"))),
    }
}

/// The configuration loaded again as at start: the file (as the
/// environment names it), and its `secret:` values fetched anew from
/// Secrets Manager.
pub struct FromSecrets {
    client: aws_sdk_secretsmanager::Client,
    env: Box<Lookup>,
}

/// An environment variable's value by name.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl FromSecrets {
    /// Loads through `client`, reading the environment through `env`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        FromSecrets {
            client,
            env: Box::new(env),
        }
    }
}

#[async_trait::async_trait]
impl crate::config::Load for FromSecrets {
    async fn load(&self) -> Result<Config, ConfigError> {
        let config = crate::secrets::load_config(&self.client, &*self.env).await?;
        config.check_usable()?;
        Ok(config)
    }
}

/// An invocation's deadline as an [`Instant`], from the context's (Unix
/// milliseconds).
pub fn deadline(unix_millis: u64) -> Instant {
    let left = Duration::from_millis(unix_millis).saturating_sub(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    Instant::now() + left
}
