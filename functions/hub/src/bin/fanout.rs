//! Lambda entry of the Reader hub's fan-out: each topic's Kinesis stream
//! (an event source mapping) in, pushes to API Gateway connections out.

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use hub::fanout::{ApiGatewayConnections, Fanout};
use hub::table::HubTable;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(hub::warnings).await?;
    let fanout = Fanout::new(
        runtime.config,
        HubTable::new(
            aws_sdk_dynamodb::Client::new(&runtime.aws),
            required("INLET_HUB_TABLE")?,
        ),
        Arc::new(ApiGatewayConnections::new(
            &runtime.aws,
            &required("INLET_HUB_CONNECTIONS_URL")?,
        )),
    );
    let fanout = &fanout;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, lambda_runtime::Error>(fanout.handle(event.payload).await)
        },
    ))
    .await
}

/// A variable the template sets.
fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (the template sets it)"))
}
