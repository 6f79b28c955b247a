//! Lambda entry of the write proxy: `lambda_http` serves the router.

use write_proxy::{WriteProxy, router, warnings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = inlet_shared::lambda::start(warnings).await?;
    lambda_http::run(router(WriteProxy::new(runtime.config, runtime.publisher))).await
}
