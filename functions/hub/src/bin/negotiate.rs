//! Lambda entry of the hub's negotiate (`POST /hub/negotiate`) behind the
//! HTTP API.

use hub::{Hub, negotiate_routes, warnings};
use inlet_shared::http::route_not_found;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = inlet_shared::lambda::start(warnings).await?;
    let hub = Hub::new(runtime.config, runtime.publisher);
    lambda_http::run(negotiate_routes(hub).fallback(route_not_found)).await
}
