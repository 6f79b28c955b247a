//! Lambda entry of the webhook receiver: configuration and the Kinesis client
//! are built once per cold start; `lambda_http` serves the router.

use std::sync::Arc;

use inlet_shared::Config;
use inlet_shared::sink::KinesisSink;
use webhook_receiver::{Receiver, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&|name| std::env::var(name).ok())
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let receiver = Receiver::new(Arc::new(config), Arc::new(KinesisSink::from_env().await));
    receiver.warn_unsigned();
    lambda_http::run(router(receiver)).await
}
