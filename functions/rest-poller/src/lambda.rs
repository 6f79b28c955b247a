//! The poller in Lambda: an EventBridge schedule in.

use crate::RestPoller;

/// Runs the poller in Lambda until the runtime stops it: an EventBridge
/// schedule invokes it with the target to poll (`{"target": "beer"}`), or
/// with no target to poll every target that is due.
pub async fn run_in_lambda(
    runtime: inlet_shared::lambda::Runtime,
) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{Error, LambdaEvent, service_fn};

    let poller = RestPoller::new(
        runtime.config.current(),
        runtime.publisher.clone(),
        runtime.checkpoints()?,
    );
    let poller = &poller;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = (event.context.deadline > 0).then(|| {
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.context.deadline)
            });
            let answer = poller.handle(&event.payload, deadline).await;
            inlet_shared::telemetry::emf::flush();
            answer.map_err(Error::from)
        },
    ))
    .await
}
