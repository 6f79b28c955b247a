//! Lambda entry of the hub behind API Gateway's WebSocket API: its
//! `$connect` authorizer and its routes (see `hub::aws::run`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let runtime = inlet_shared::lambda::start(hub::warnings).await?;
    hub::aws::run(runtime).await
}
