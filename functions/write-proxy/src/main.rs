//! Lambda entry of the write proxy: configuration and the Kinesis client are
//! built once per cold start; `lambda_http` serves the router.

use std::sync::Arc;

use inlet_shared::Config;
use inlet_shared::sink::KinesisSink;
use write_proxy::{Writer, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&|name| std::env::var(name).ok())
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let aws = inlet_shared::load_aws_config().await;
    let writer = Writer::new(Arc::new(config), Arc::new(KinesisSink::from_config(&aws)));
    writer.warn_if_unusable();
    lambda_http::run(router(writer)).await
}
