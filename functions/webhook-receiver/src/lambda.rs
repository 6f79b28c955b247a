//! The receiver as a Lambda function: its router, plus the replay of a kept
//! rejected webhook when the function is invoked directly with
//! `{"replay": {"source": …, "id": …, "trust": false}}` (what `inlet
//! rejected replay --table` sends, so the secrets stay in AWS). `lambda_http`
//! hands an event that is not API Gateway's to `POST /events`, marked as
//! passed through; a request through API Gateway never carries that mark.

use std::sync::Arc;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use inlet_shared::rejected::Rejections;
use inlet_shared::{Error, Result};
use lambda_http::request::RequestContext;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{WebhookReceiver, routes};

/// The most bytes read of a direct invocation's event, and of the
/// receiver's answer to it.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Deserialize)]
struct Invocation {
    replay: Replay,
}

#[derive(Deserialize)]
struct Replay {
    source: String,
    id: String,
    #[serde(default)]
    trust: bool,
}

#[derive(Clone)]
struct Invoked {
    receiver: WebhookReceiver,
    rejections: Option<Arc<dyn Rejections>>,
}

/// The function's router: webhooks through API Gateway, and replays by
/// direct invocation from `rejections` (the stack's `RejectedTable`).
pub fn lambda_router(receiver: WebhookReceiver, rejections: Option<Arc<dyn Rejections>>) -> Router {
    let receiver = match &rejections {
        Some(kept) => receiver.with_rejections(kept.clone()),
        None => receiver,
    };
    let invoked = Router::new()
        .route("/events", post(invocation))
        .with_state(Invoked {
            receiver: receiver.clone(),
            rejections,
        });
    inlet_shared::http::served(routes(receiver).merge(invoked))
}

/// A direct invocation: answered `{"status": <HTTP status>, "body": <the
/// receiver's JSON answer>}`, as `inlet rejected replay` prints it.
async fn invocation(State(invoked): State<Invoked>, request: Request) -> Result<Response> {
    let direct = matches!(
        request.extensions().get::<RequestContext>(),
        Some(RequestContext::PassThrough)
    );
    if !direct {
        return Err(Error::NotFound("no such route".into()));
    }
    let body = to_bytes(request.into_body(), MAX_ANSWER)
        .await
        .map_err(|e| Error::BadRequest(format!("invocation: {e}")))?;
    let Invocation { replay } = serde_json::from_slice(&body).map_err(|e| {
        Error::BadRequest(format!(
            "a direct invocation is {{\"replay\": {{\"source\", \"id\", \"trust\"}}}}: {e}"
        ))
    })?;
    let answer = replayed(&invoked, &replay).await.into_response();
    let status = answer.status().as_u16();
    let bytes = to_bytes(answer.into_body(), MAX_ANSWER)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice::<Value>(&bytes)
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned().into());
    Ok(axum::Json(json!({"status": status, "body": body})).into_response())
}

async fn replayed(invoked: &Invoked, replay: &Replay) -> Result<Response> {
    let rejections = invoked.rejections.as_ref().ok_or_else(|| {
        Error::NotFound("this function keeps no rejected webhooks (INLET_REJECTED_TABLE)".into())
    })?;
    let rejected = crate::replay::find(rejections.as_ref(), &replay.source, &replay.id).await?;
    invoked.receiver.replay(&rejected, replay.trust).await
}
