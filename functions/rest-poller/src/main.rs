//! Lambda entry of the REST poller (see `rest_poller::run_in_lambda`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(|_| Vec::new()).await?;
    rest_poller::run_in_lambda(runtime).await
}
