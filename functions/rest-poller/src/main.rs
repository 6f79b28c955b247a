//! Lambda entry of the REST poller: an EventBridge schedule invokes it with
//! the target to poll (`{"target": "beer"}`); configuration, the HTTP client
//! and the AWS clients are built once per cold start.

use std::sync::Arc;

use inlet_shared::checkpoint::DynamoCheckpoints;
use inlet_shared::sink::KinesisSink;
use inlet_shared::{Config, system_clock};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use rest_poller::{PollDeps, PollReport, poll_once, target_of};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Arc::new(
        Config::from_env(&|name| std::env::var(name).ok())
            .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?,
    );
    let table = config
        .checkpoint_table
        .clone()
        .ok_or("no [checkpoints] table configured")?;
    let aws = inlet_shared::load_aws_config().await;
    let deps = PollDeps {
        http: PollDeps::http_client(),
        sink: Arc::new(KinesisSink::from_config(&aws)),
        checkpoints: Arc::new(DynamoCheckpoints::from_config(&aws, table)),
        config: config.clone(),
        clock: system_clock(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move {
            let name = target_of(&event.payload)?;
            let target = deps
                .config
                .pollers
                .get(&name)
                .ok_or_else(|| format!("no poll target {name:?} is configured"))?;
            let report: PollReport = poll_once(target, &deps).await;
            // A failed run is an invocation error, so it reaches the
            // on-failure destination; the checkpoint did not move.
            match &report.error {
                Some(error) => Err(Error::from(format!("poll of {name} failed: {error}"))),
                None => Ok(report),
            }
        }
    }))
    .await
}
