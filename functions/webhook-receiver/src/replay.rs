//! The rejected webhooks of `inlet serve`, under the console's API (so a
//! configured token, or the loopback demo, is needed): listed, shown and
//! replayed (`inlet rejected` calls these).
//!
//! - `GET /console/api/rejected[?source=NAME]`: newest first.
//! - `GET /console/api/rejected/{source}/{id}`: one, whole.
//! - `POST /console/api/rejected/{source}/{id}/replay[?trust=true]`: verified
//!   again with today's secrets as at the time it was received, then
//!   published as any webhook; the answer is the receiver's.
//!
//! A token sees, and may replay, the rejections of the sources whose topic
//! it may read (the console's check puts [`ReadableTopics`] on the
//! request); `trust=true` is an operator's: the loopback demo or a token
//! that may read every topic.

use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use inlet_shared::rejected::{Rejected, Rejections};
use inlet_shared::service::{ReadableTopics, VisibleTopics};
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

/// Whether the caller may see source `name`'s rejections.
fn shows(kept: &Kept, readable: Option<&ReadableTopics>, name: &str) -> bool {
    match readable.map(|r| &r.0) {
        Some(VisibleTopics::All) => true,
        Some(visible) => kept
            .receiver
            .config
            .current()
            .sources
            .get(name)
            .is_some_and(|s| visible.allows(&s.topic)),
        None => false,
    }
}

async fn list(
    State(kept): State<Kept>,
    readable: Option<Extension<ReadableTopics>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Rejected>>> {
    let readable = readable.map(|Extension(r)| r);
    let mut listed = kept.rejections.list(query.source.as_deref()).await?;
    listed.retain(|r| shows(&kept, readable.as_ref(), &r.source));
    Ok(Json(listed))
}

/// The kept rejected webhook `id` of `source`, or a 404.
pub(crate) async fn find(rejections: &dyn Rejections, source: &str, id: &str) -> Result<Rejected> {
    rejections.get(source, id).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "no rejected webhook {id:?} is kept for source {source:?}"
        ))
    })
}

/// The kept request, if the caller may see its source's.
async fn readable_one(
    kept: &Kept,
    readable: Option<&ReadableTopics>,
    source: &str,
    id: &str,
) -> Result<Rejected> {
    if !shows(kept, readable, source) {
        return Err(Error::NotFound(format!("no source {source:?}")));
    }
    find(kept.rejections.as_ref(), source, id).await
}

async fn show(
    State(kept): State<Kept>,
    readable: Option<Extension<ReadableTopics>>,
    Path((source, id)): Path<(String, String)>,
) -> Result<Json<Rejected>> {
    let readable = readable.map(|Extension(r)| r);
    readable_one(&kept, readable.as_ref(), &source, &id)
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct ReplayQuery {
    #[serde(default)]
    trust: bool,
}

async fn replay(
    State(kept): State<Kept>,
    readable: Option<Extension<ReadableTopics>>,
    Path((source, id)): Path<(String, String)>,
    Query(query): Query<ReplayQuery>,
) -> Result<Response> {
    let readable = readable.map(|Extension(r)| r);
    let rejected = readable_one(&kept, readable.as_ref(), &source, &id).await?;
    if query.trust && !readable.as_ref().is_some_and(ReadableTopics::all) {
        return Err(Error::Forbidden(
            "publishing a request unverified is an operator's: use a token that may read every topic (read = [\"*\"]) or the loopback demo".into(),
        ));
    }
    kept.receiver.replay(&rejected, query.trust).await
}
