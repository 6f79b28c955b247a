//! Lambda entry of the Reader hub's fan-out: each topic's Kinesis stream
//! (an event source mapping) in, pushes to API Gateway connections out
//! (see `hub::fanout::run`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(hub::warnings).await?;
    hub::fanout::run(runtime).await
}
