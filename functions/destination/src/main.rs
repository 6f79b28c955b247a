//! Lambda entry of the destinations (see `destination::lambda`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(|_| Vec::new()).await?;
    destination::lambda::run(runtime).await
}
