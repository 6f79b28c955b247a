//! Lambda entry of the destinations. With `INLET_DESTINATION` set, one
//! destination's function: its topic's Kinesis stream (an event source
//! mapping) in, the records delivered out. One function per destination:
//! an event does not say which mapping sent it, and each destination keeps
//! its own timeout and concurrency. Without it, the retry function: the
//! retry queue (SQS) in, the records unordered destinations set aside
//! delivered again.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use destination::aws::LambdaDestination;
use destination::retry::{RetryFunction, RetryQueue};
use destination::table::DestinationTable;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(|_| Vec::new()).await?;
    let table = DestinationTable::new(
        aws_sdk_dynamodb::Client::new(&runtime.aws),
        required("INLET_DESTINATION_TABLE")?,
    );
    let queue = RetryQueue::new(
        aws_sdk_sqs::Client::new(&runtime.aws),
        required("INLET_DESTINATION_RETRIES")?,
    );
    let Ok(name) = std::env::var("INLET_DESTINATION") else {
        let function = RetryFunction::new(
            runtime
                .config
                .destinations
                .values()
                .map(|d| (d.clone(), destination::build(d))),
            table,
            queue,
        );
        let function = &function;
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let deadline = deadline(event.context.deadline);
            Ok::<_, lambda_runtime::Error>(function.handle(event.payload, deadline).await)
        }))
        .await;
    };
    let settings = runtime
        .config
        .destinations
        .get(&name)
        .cloned()
        .ok_or_else(|| format!("the configuration has no [destinations.{name}]"))?;
    let function =
        LambdaDestination::new(settings.clone(), destination::build(&settings), Some(table))
            .with_retries(queue);
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            let deadline = deadline(event.context.deadline);
            Ok::<_, lambda_runtime::Error>(function.handle(event.payload, deadline).await)
        },
    ))
    .await
}

/// The invocation's deadline (the context's, in Unix milliseconds).
fn deadline(unix_millis: u64) -> Instant {
    let left = Duration::from_millis(unix_millis).saturating_sub(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    Instant::now() + left
}

/// A variable the template sets.
fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (the template sets it)"))
}
