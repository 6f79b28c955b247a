//! The rejected webhooks of `inlet serve`, under the console's API (so a
//! configured token, or the loopback demo, is needed): listed, shown and
//! replayed (`inlet rejected` calls these).
//!
//! - `GET /console/api/rejected[?source=NAME]`: newest first.
//! - `GET /console/api/rejected/{source}/{id}`: one, whole.
//! - `POST /console/api/rejected/{source}/{id}/replay[?trust=true]`: verified
//!   again with today's secrets as at the time it was received, then
//!   published as any webhook; the answer is the receiver's.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use inlet_shared::rejected::{Rejected, Rejections};
use inlet_shared::{Error, Result};
use serde::Deserialize;

use crate::WebhookReceiver;

#[derive(Clone)]
struct Kept {
    receiver: WebhookReceiver,
    rejections: Arc<dyn Rejections>,
}

/// The routes over `rejections`, replaying through `receiver`.
pub(crate) fn routes(receiver: WebhookReceiver, rejections: Arc<dyn Rejections>) -> Router {
    Router::new()
        .route("/console/api/rejected", get(list))
        .route("/console/api/rejected/{source}/{id}", get(show))
        .route("/console/api/rejected/{source}/{id}/replay", post(replay))
        .with_state(Kept {
            receiver,
            rejections,
        })
}

#[derive(Deserialize)]
struct ListQuery {
    source: Option<String>,
}

async fn list(
    State(kept): State<Kept>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Rejected>>> {
    kept.rejections
        .list(query.source.as_deref())
        .await
        .map(Json)
}

/// The kept rejected webhook `id` of `source`, or a 404.
pub(crate) async fn find(rejections: &dyn Rejections, source: &str, id: &str) -> Result<Rejected> {
    rejections.get(source, id).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "no rejected webhook {id:?} is kept for source {source:?}"
        ))
    })
}

async fn show(
    State(kept): State<Kept>,
    Path((source, id)): Path<(String, String)>,
) -> Result<Json<Rejected>> {
    find(kept.rejections.as_ref(), &source, &id).await.map(Json)
}

#[derive(Deserialize)]
struct ReplayQuery {
    #[serde(default)]
    trust: bool,
}

async fn replay(
    State(kept): State<Kept>,
    Path((source, id)): Path<(String, String)>,
    Query(query): Query<ReplayQuery>,
) -> Result<Response> {
    let rejected = find(kept.rejections.as_ref(), &source, &id).await?;
    kept.receiver.replay(&rejected, query.trust).await
}
