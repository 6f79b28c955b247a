//! Lambda entry of the hub's negotiate (`POST /hub/negotiate`) behind the
//! HTTP API.

use hub::{Hub, negotiate_routes, warnings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = inlet_shared::lambda::start(warnings).await?;
    let hub = Hub::new(runtime.config, runtime.publisher);
    lambda_http::run(inlet_shared::http::served(negotiate_routes(hub))).await
}
