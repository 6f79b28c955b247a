//! The HTTP destination: each record (or a batch, as a JSON array) POSTed
//! to an endpoint, signed per Standard Webhooks.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::StreamExt;
use inlet_shared::config::HttpDestination;
use inlet_shared::signature::{headers, standard_webhooks_signature};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use crate::delivery::{Deliver, Delivery, Outcome, Parked, error_chain};

/// How much of a refusing endpoint's answer a dead letter keeps.
const RESPONSE_KEPT: usize = 1024;

/// POSTs records to one endpoint.
pub struct HttpDelivery {
    settings: HttpDestination,
    client: reqwest::Client,
    /// Several records per request, as a JSON array.
    batched: bool,
    /// Records per request when batched.
    batch_size: usize,
    /// Records one at a time, each after the previous is delivered.
    ordered: bool,
}

impl HttpDelivery {
    /// A client for `settings`: no redirects followed, the configured
    /// timeout, connections kept alive. With `batch_size` above 1, records
    /// go as JSON arrays of up to that many.
    pub fn new(settings: &HttpDestination, batch_size: usize, ordered: bool) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("inlet/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with these settings builds");
        HttpDelivery {
            settings: settings.clone(),
            client,
            batched: batch_size > 1,
            batch_size,
            ordered,
        }
    }

    async fn post(&self, id: &str, content_type: &'static str, body: Vec<u8>) -> Outcome {
        let (timestamp, signature) =
            standard_webhooks_signature(&self.settings.secrets, id, SystemTime::now(), &body);
        let mut request = self
            .client
            .post(&self.settings.url)
            .header(CONTENT_TYPE, content_type)
            .header(headers::WEBHOOK_ID, id)
            .header(headers::WEBHOOK_TIMESTAMP, timestamp)
            .header(headers::WEBHOOK_SIGNATURE, signature);
        for (name, value) in &self.settings.headers {
            request = request.header(name.as_str(), value.expose());
        }
        match request.body(body).send().await {
            Ok(response) => {
                let status = response.status();
                let after = retry_after(response.headers(), SystemTime::now());
                if status.is_success() {
                    return Outcome::Delivered;
                }
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                classify(status, after, location, start_of(response).await)
            }
            Err(e) if e.is_timeout() => Outcome::Retry {
                reason: format!("no answer within {:?}", self.settings.timeout),
                after: None,
            },
            Err(e) => Outcome::Retry {
                reason: format!(
                    "cannot reach {}: {}",
                    self.settings.shown_url,
                    error_chain(&e.without_url())
                ),
                after: None,
            },
        }
    }

    /// One request: `group` as one record, or as a JSON array.
    async fn post_group(&self, group: &[Delivery]) -> Outcome {
        if !self.batched {
            let record = &group[0];
            return self
                .post(
                    &record.message_id(),
                    "application/cloudevents+json",
                    record.data.to_vec(),
                )
                .await;
        }
        let mut body = b"[".to_vec();
        for (i, record) in group.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            if serde_json::from_slice::<serde::de::IgnoredAny>(&record.data).is_ok() {
                body.extend_from_slice(&record.data);
            } else {
                body.extend_from_slice(record.data_json().to_string().as_bytes());
            }
        }
        body.push(b']');
        // One id for the batch, from its records: the same records are
        // retried together, so the retry carries the same id.
        let id = format!("{}-{}", group[0].message_id(), group.len());
        self.post(&id, "application/cloudevents-batch+json", body)
            .await
    }

    async fn post_counted(&self, group: &[Delivery]) -> (usize, Outcome) {
        (group.len(), self.post_group(group).await)
    }
}

/// The start of a response's body (what a dead letter keeps), read no
/// further.
async fn start_of(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < RESPONSE_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// What an endpoint's answer means for the record.
fn classify(
    status: StatusCode,
    after: Option<Duration>,
    location: Option<String>,
    text: String,
) -> Outcome {
    let mut response = text;
    if response.len() > RESPONSE_KEPT {
        let mut end = RESPONSE_KEPT;
        while !response.is_char_boundary(end) {
            end -= 1;
        }
        response.truncate(end);
    }
    let parked = |reason: String| Parked {
        reason,
        status: Some(status.as_u16()),
        response: Some(response.clone()),
    };
    match status.as_u16() {
        410 => Outcome::Gone(parked(format!("the endpoint answered {status}"))),
        408 | 429 | 500..=599 => Outcome::Retry {
            reason: format!("the endpoint answered {status}"),
            after,
        },
        300..=399 => Outcome::Poison(parked(format!(
            "the endpoint answered {status} to {}; redirects are not followed",
            location.as_deref().unwrap_or("no Location")
        ))),
        _ => Outcome::Poison(parked(format!("the endpoint answered {status}"))),
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(24 * 3600)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or_default()
            .min(Duration::from_secs(24 * 3600)),
    )
}

/// Requests in flight at once to an unordered endpoint.
const CONCURRENT_REQUESTS: usize = 64;

#[async_trait]
impl Deliver for HttpDelivery {
    async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        let size = if self.batched { self.batch_size } else { 1 };
        let groups: Vec<&[Delivery]> = batch.chunks(size).collect();
        let mut outcomes = Vec::with_capacity(batch.len());
        if !self.ordered {
            let mut requests = Vec::with_capacity(groups.len());
            for group in groups {
                requests.push(self.post_counted(group));
            }
            let mut answers = futures_util::stream::iter(requests).buffered(CONCURRENT_REQUESTS);
            while let Some((n, outcome)) = answers.next().await {
                outcomes.extend(std::iter::repeat_n(outcome, n));
            }
            return outcomes;
        }
        let mut stopped: Option<Outcome> = None;
        for group in groups {
            let outcome = match &stopped {
                // Held back behind a record that is not delivered yet.
                Some(Outcome::Retry { .. }) => Outcome::Retry {
                    reason: "held back behind an earlier record".into(),
                    after: None,
                },
                Some(Outcome::Gone(gone)) => Outcome::Poison(Parked::because(format!(
                    "not sent: the endpoint was disabled by an earlier record's answer ({})",
                    gone.reason
                ))),
                _ => self.post_group(group).await,
            };
            if stopped.is_none() && matches!(outcome, Outcome::Retry { .. } | Outcome::Gone(_)) {
                stopped = Some(outcome.clone());
            }
            outcomes.extend(std::iter::repeat_n(outcome, group.len()));
        }
        outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_delivered_retried_parked_or_gone() {
        let retry = |s: u16| {
            matches!(
                classify(StatusCode::from_u16(s).unwrap(), None, None, String::new()),
                Outcome::Retry { .. }
            )
        };
        assert!(retry(429) && retry(502) && retry(503) && retry(504) && retry(500));
        assert!(matches!(
            classify(StatusCode::GONE, None, None, String::new()),
            Outcome::Gone(_)
        ));
        let Outcome::Poison(parked) =
            classify(StatusCode::BAD_REQUEST, None, None, "x".repeat(5000))
        else {
            panic!("a 400 is poison");
        };
        assert_eq!(parked.status, Some(400));
        assert_eq!(parked.response.unwrap().len(), RESPONSE_KEPT);
        let Outcome::Poison(parked) = classify(
            StatusCode::MOVED_PERMANENTLY,
            None,
            Some("https://elsewhere/".into()),
            String::new(),
        ) else {
            panic!("a redirect is not followed");
        };
        assert!(
            parked.reason.contains("https://elsewhere/"),
            "{}",
            parked.reason
        );
    }

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector_and_rotation_signs_with_each_key() {
        use inlet_shared::signature::Secret;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_649_367_553);
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let key = Secret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
        let (t, signature) = standard_webhooks_signature(std::slice::from_ref(&key), id, now, body);
        assert_eq!(t, "1649367553");
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let other = Secret::new("whsec_dGhlLW9sZC1rZXktb2YtdGhlLWRlc3RpbmF0aW9u");
        let (_, both) = standard_webhooks_signature(&[key, other], id, now, body);
        let entries: Vec<&str> = both.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], signature);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
