//! Lambda entry of the webhook receiver: `lambda_http` serves the router.

use webhook_receiver::{WebhookReceiver, router, warnings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = inlet_shared::lambda::start(warnings).await?;
    let publisher = runtime.publisher_with_dedupe();
    lambda_http::run(router(WebhookReceiver::new(runtime.config, publisher))).await
}
