//! Lambda entry of the webhook receiver: `lambda_http` serves the router.

use webhook_receiver::{WebhookReceiver, lambda_router, warnings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = inlet_shared::lambda::start(warnings).await?;
    let publisher = runtime.publisher_with_dedupe();
    let rejections = runtime.rejections();
    let receiver = WebhookReceiver::new(runtime.config, publisher);
    lambda_http::run(lambda_router(receiver, rejections)).await
}
