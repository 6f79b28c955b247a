//! Lambda entry of the webhook receiver: configuration and the AWS clients
//! are built once per cold start; `lambda_http` serves the router.

use std::sync::Arc;

use inlet_shared::Config;
use inlet_shared::dedupe::DynamoDedupe;
use inlet_shared::sink::KinesisSink;
use webhook_receiver::{Receiver, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&|name| std::env::var(name).ok())
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let dedupe_table = config.dedupe_table.clone();
    let aws = inlet_shared::load_aws_config().await;
    let mut receiver = Receiver::new(Arc::new(config), Arc::new(KinesisSink::from_config(&aws)));
    match dedupe_table {
        Some(table) => {
            receiver = receiver.with_deduper(Arc::new(DynamoDedupe::from_config(&aws, table)));
        }
        None => {
            tracing::warn!("no [dedupe] table configured: redelivered webhooks are published again")
        }
    }
    receiver.warn_unsigned();
    lambda_http::run(router(receiver)).await
}
