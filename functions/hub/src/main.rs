//! Lambda entry of the hub behind API Gateway's WebSocket API: its
//! `$connect` authorizer and its routes.

use hub::Hub;
use hub::aws::{Invocation, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(hub::warnings).await?;
    let hub = Hub::new(runtime.config, runtime.publisher);
    let hub = &hub;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_event(event.payload)?;
        Ok::<_, lambda_runtime::Error>(handle(hub, invocation).await?)
    }))
    .await
}
