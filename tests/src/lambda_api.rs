//! The Lambda Invoke API in front of [`LambdaHost`]s, as the AWS SDK calls
//! it (`POST /2015-03-31/functions/{name}/invocations`, RequestResponse):
//! the function's answer as the body with 200; a function error as its
//! error document with `X-Amz-Function-Error: Unhandled`; an unknown
//! function as 404 `ResourceNotFoundException`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::apigw::LambdaHost;

type Functions = Arc<HashMap<String, Arc<LambdaHost>>>;

/// Serves the Invoke API for `functions` (by name) on a loopback port;
/// returns its endpoint (for `AWS_ENDPOINT_URL_LAMBDA`).
pub async fn invoke_api(functions: Vec<(&str, Arc<LambdaHost>)>) -> String {
    let functions: Functions = Arc::new(
        functions
            .into_iter()
            .map(|(name, host)| (name.to_owned(), host))
            .collect(),
    );
    let app = Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(functions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

async fn invoke(
    State(functions): State<Functions>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some(host) = functions.get(&name) else {
        let message = format!("Function not found: {name}");
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            axum::Json(json!({"Type": "User", "message": message})),
        )
            .into_response();
    };
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match host.invoke(event).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(error) => ([("x-amz-function-error", "Unhandled")], axum::Json(error)).into_response(),
    }
}
