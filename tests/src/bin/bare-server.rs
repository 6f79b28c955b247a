//! The load benchmark's reference: an HTTP server that does nothing but read
//! each request's body and answer 200 with a small JSON body, on the same
//! stack as `inlet serve` (axum on hyper and tokio). `local/bench/load.sh`
//! drives it with the same requests and prints Inlet's figures as ratios of
//! its own, the most a server on this machine can answer.
//!
//! `bare-server ADDR` prints `listening on http://ADDR` once it accepts.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bare-server binds its address");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("an address")
    );
    let app = Router::new().fallback(|body: Bytes| async move {
        (
            [(header::CONTENT_TYPE, "application/json")],
            format!(r#"{{"received":{}}}"#, body.len()),
        )
    });
    axum::serve(listener, app)
        .await
        .expect("bare-server serves");
}
