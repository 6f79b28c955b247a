//! Lambda entry of the hub behind API Gateway's WebSocket API: its
//! `$connect` authorizer and its routes.

use hub::Hub;
use hub::aws::{Invocation, handle};
use hub::table::HubTable;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(hub::warnings).await?;
    // Subscriptions of the Reader hub; without the table (the template sets
    // it) only the Writer hub is served.
    let table = std::env::var("INLET_HUB_TABLE")
        .ok()
        .map(|name| HubTable::new(aws_sdk_dynamodb::Client::new(&runtime.aws), name));
    let hub = Hub::new(runtime.config, runtime.publisher);
    let (hub, table) = (&hub, table.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_event(event.payload)?;
        Ok::<_, lambda_runtime::Error>(handle(hub, table, invocation).await?)
    }))
    .await
}
