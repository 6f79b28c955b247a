//! The destination functions in Lambda. With `INLET_DESTINATION` set, one
//! destination's function: its topic's Kinesis stream (an event source
//! mapping) in, the records delivered out. One function per destination:
//! an event does not say which mapping sent it, and each destination keeps
//! its own timeout and concurrency. Without it, the retry function: the
//! retry queue (SQS) in, the records unordered destinations set aside
//! delivered again.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use inlet_shared::config::deployment::{
    DESTINATION_ENV, DESTINATION_RETRIES_ENV, DESTINATION_TABLE_ENV,
};
use inlet_shared::config::{ConfigError, Wiring};
use inlet_shared::lambda::{Runtime, deadline};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::aws::LambdaDestination;
use crate::retry::{RetryFunction, RetryQueue};
use crate::table::DestinationTable;

/// Runs the function the environment names until the runtime stops it.
pub async fn run(runtime: Runtime) -> Result<(), lambda_runtime::Error> {
    let wiring = &runtime.wiring;
    let table = DestinationTable::new(
        aws_sdk_dynamodb::Client::new(&runtime.aws),
        Wiring::required(&wiring.destination_table, DESTINATION_TABLE_ENV)?.to_owned(),
    );
    let queue = RetryQueue::new(
        aws_sdk_sqs::Client::new(&runtime.aws),
        Wiring::required(&wiring.destination_retries, DESTINATION_RETRIES_ENV)?.to_owned(),
    );
    let Some(name) = &wiring.destination else {
        let function = RetryFunction::new(
            runtime
                .config
                .current()
                .destinations
                .values()
                .map(|d| (d.clone(), crate::build(d))),
            table,
            queue,
        );
        let function = &function;
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let deadline = deadline(event.context.deadline);
            let answer = function.handle(event.payload, deadline).await;
            inlet_shared::telemetry::emf::flush();
            Ok::<_, lambda_runtime::Error>(answer)
        }))
        .await;
    };
    let settings = runtime
        .config
        .current()
        .destinations
        .get(name)
        .cloned()
        .ok_or_else(|| {
            ConfigError::new(
                DESTINATION_ENV,
                format!("the configuration has no [destinations.{name}]"),
            )
        })?;
    let function = LambdaDestination::new(settings.clone(), crate::build(&settings), Some(table))
        .with_retries(queue);
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            let deadline = deadline(event.context.deadline);
            let answer = function.handle(event.payload, deadline).await;
            inlet_shared::telemetry::emf::flush();
            Ok::<_, lambda_runtime::Error>(answer)
        },
    ))
    .await
}
