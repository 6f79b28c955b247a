//! Lambda entry of a destination: its topic's Kinesis stream (an event
//! source mapping) in, the records delivered out. One function per
//! destination (`INLET_DESTINATION` names it): an event does not say which
//! mapping sent it, and each destination keeps its own timeout and
//! concurrency.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::kinesis::KinesisEvent;
use destination::aws::LambdaDestination;
use destination::table::DestinationTable;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(|_| Vec::new()).await?;
    let name = std::env::var("INLET_DESTINATION")
        .map_err(|_| "INLET_DESTINATION is not set (the template sets it)".to_owned())?;
    let settings = runtime
        .config
        .destinations
        .get(&name)
        .cloned()
        .ok_or_else(|| format!("the configuration has no [destinations.{name}]"))?;
    let table = std::env::var("INLET_DESTINATION_TABLE")
        .map_err(|_| "INLET_DESTINATION_TABLE is not set (the template sets it)".to_owned())?;
    let table = DestinationTable::new(aws_sdk_dynamodb::Client::new(&runtime.aws), table);
    let function =
        LambdaDestination::new(settings.clone(), destination::build(&settings), Some(table));
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            // The context's deadline is in Unix milliseconds.
            let left = Duration::from_millis(event.context.deadline).saturating_sub(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default(),
            );
            let deadline = Instant::now() + left;
            Ok::<_, lambda_runtime::Error>(function.handle(event.payload, deadline).await)
        },
    ))
    .await
}
