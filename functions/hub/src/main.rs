//! Lambda entry of the hub behind API Gateway's WebSocket API: its
//! `$connect` authorizer and its routes.

use hub::Hub;
use hub::aws::{Invocation, Reach, handle};
use hub::fanout::{ApiGatewayConnections, Connections};
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
    // The `@connections` API, to close a connection after a protocol error.
    let connections = std::env::var("INLET_HUB_CONNECTIONS_URL")
        .ok()
        .map(|url| ApiGatewayConnections::new(&runtime.aws, &url));
    let hub = Hub::new(runtime.config, runtime.publisher);
    let hub = &hub;
    let reach = Reach {
        table: table.as_ref(),
        connections: connections.as_ref().map(|c| c as &dyn Connections),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_event(event.payload)?;
        Ok::<_, lambda_runtime::Error>(handle(hub, reach, invocation).await?)
    }))
    .await
}
