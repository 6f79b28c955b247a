//! Webhooks refused for their signature, kept for diagnosis and replay:
//! the time, the reason code, the headers (credentials removed) and the
//! body (cut at [`MAX_KEPT_BODY`], marked when cut). A source keeps its
//! last `keep_rejected` (default 1,000) for `keep_rejected_for` (default
//! 24 h), at most [`PER_MINUTE`] a minute, so junk traffic cannot fill the
//! disk. [`Rejections`] is where they are kept (locally: files under the
//! data directory, `inlet-embedded`; in AWS: [`RejectedTable`]).

mod dynamo;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::time::unix_millis;

pub use dynamo::RejectedTable;

/// The most rejected requests a source keeps a minute.
pub const PER_MINUTE: usize = 60;

/// The most body bytes kept of a rejected request.
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// The default number a source keeps.
pub const DEFAULT_KEEP: usize = 1_000;

/// The default time a rejected request is kept.
pub const DEFAULT_KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

/// Headers never kept: they carry credentials or cookies.
const NEVER_KEPT: [&str; 3] = ["cookie", "authorization", "proxy-authorization"];

/// A rejected webhook, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    /// Its id (`<unix ms>-<n>`), unique in its source.
    pub id: String,
    /// The source it was sent to.
    pub source: String,
    /// When it was received, Unix milliseconds.
    pub received_millis: u64,
    /// The reason code (`no_match`, `too_old`, …).
    pub reason: String,
    /// The refusal's message (never a secret or an expected signature).
    pub message: String,
    /// The path and query it was sent to.
    pub path_and_query: String,
    /// Its headers, credentials removed.
    pub headers: Vec<(String, String)>,
    /// Its body, base64 (the exact bytes, cut at [`MAX_KEPT_BODY`]).
    pub body_base64: String,
    /// The body was longer than what is kept.
    pub body_cut: bool,
    /// A credential header was removed (a shared-token request: replayed
    /// only when the operator vouches for it).
    pub credential_removed: bool,
}

impl Rejected {
    /// What to keep of a request to `source` refused for `reason`;
    /// `credential` is the header a shared-token scheme reads its token
    /// from, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        source: &str,
        received: SystemTime,
        (reason, message): (&str, String),
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
        credential: Option<&str>,
    ) -> Self {
        let mut credential_removed = false;
        let headers = headers
            .iter()
            .filter(|(name, _)| {
                let secret =
                    NEVER_KEPT.contains(&name.as_str()) || Some(name.as_str()) == credential;
                credential_removed |= secret && Some(name.as_str()) == credential;
                credential_removed |= secret && name.as_str() == "authorization";
                !secret
            })
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        let kept = &body[..body.len().min(MAX_KEPT_BODY)];
        Rejected {
            id,
            source: source.to_owned(),
            received_millis: unix_millis(received),
            reason: reason.to_owned(),
            message,
            path_and_query: path_and_query.to_owned(),
            headers,
            body_base64: BASE64.encode(kept),
            body_cut: body.len() > MAX_KEPT_BODY,
            credential_removed,
        }
    }

    /// The body as kept.
    pub fn body(&self) -> Vec<u8> {
        BASE64.decode(&self.body_base64).unwrap_or_default()
    }

    /// When it was received.
    pub fn received(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.received_millis)
    }

    /// The headers as a map.
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                axum::http::HeaderValue::from_str(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

/// Where rejected requests are kept.
#[async_trait]
pub trait Rejections: Send + Sync {
    /// Keeps `rejected` if its source's rate and limits allow (a store that
    /// cannot take it logs why: keeping is never a reason to answer
    /// otherwise).
    async fn keep(&self, rejected: Rejected, keep: usize, keep_for: Duration);
    /// The kept requests of `source` (every source: `None`), newest first.
    async fn list(&self, source: Option<&str>) -> Result<Vec<Rejected>>;
    /// The kept request `id` of `source`.
    async fn get(&self, source: &str, id: &str) -> Result<Option<Rejected>>;
}

/// The per-source limit of [`PER_MINUTE`] kept a minute.
#[derive(Debug, Default)]
pub struct PerMinute {
    sources: Mutex<HashMap<String, (u64, usize)>>,
}

impl PerMinute {
    /// Whether one more of `source`'s, received at `millis`, may be kept.
    pub fn allow(&self, source: &str, millis: u64) -> bool {
        let minute = millis / 60_000;
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let counted = sources.entry(source.to_owned()).or_default();
        if counted.0 != minute {
            *counted = (minute, 0);
        }
        if counted.1 >= PER_MINUTE {
            tracing::debug!(
                source,
                "rejected webhook not kept: {PER_MINUTE} this minute already"
            );
            return false;
        }
        counted.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_cookies_are_never_kept_and_a_long_body_is_cut_and_marked() {
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", "hunter2".parse().unwrap());
        headers.insert("cookie", "session=abc".parse().unwrap());
        headers.insert("x-gitlab-event", "Push Hook".parse().unwrap());
        let body = vec![b'a'; MAX_KEPT_BODY + 10];
        let kept = Rejected::new(
            "1-0".into(),
            "gitlab",
            SystemTime::UNIX_EPOCH,
            ("bad_token", "no match".into()),
            "/webhooks/gitlab",
            &headers,
            &body,
            Some("x-gitlab-token"),
        );
        assert_eq!(
            kept.headers,
            vec![("x-gitlab-event".to_owned(), "Push Hook".to_owned())]
        );
        assert!(kept.credential_removed);
        assert!(kept.body_cut);
        assert_eq!(kept.body().len(), MAX_KEPT_BODY);
        assert!(!serde_json::to_string(&kept).unwrap().contains("hunter2"));
    }
}
