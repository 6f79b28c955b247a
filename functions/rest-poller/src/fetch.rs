//! One page fetch, retried on 429 and 5xx with back-off (honouring
//! `Retry-After`) for as long as the run's time budget allows.

use std::time::{Duration, Instant, SystemTime};

use inlet_shared::config::PollMethod;
use inlet_shared::config::{PollAuth, Poller, shown_url};
use inlet_shared::time::{Backoff, Jitter};
use inlet_shared::{Error, Result};
use reqwest::header::{HeaderMap, HeaderName, LINK, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};

/// A fetched page.
pub(crate) struct Page {
    pub status: u16,
    pub body: Vec<u8>,
    pub next_link: Option<String>,
    headers: HeaderMap,
    url: Url,
}

impl Page {
    /// A response header as text.
    pub fn header(&self, name: HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// `reference` resolved against this page's URL.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        self.url
            .join(reference)
            .map(String::from)
            .map_err(|e| upstream(format!("next page {reference:?}: {e}")))
    }
}

pub(crate) struct Fetcher<'a> {
    http: &'a reqwest::Client,
    target: &'a Poller,
    deadline: Instant,
}

pub(crate) fn upstream(reason: String) -> Error {
    Error::unavailable(reason)
}

impl<'a> Fetcher<'a> {
    pub fn new(http: &'a reqwest::Client, target: &'a Poller, deadline: Instant) -> Self {
        Fetcher {
            http,
            target,
            deadline,
        }
    }

    /// GETs (or POSTs) `url`, retrying what can be retried within the budget.
    pub async fn get(&self, url: &str, extra: &[(HeaderName, String)]) -> Result<Page> {
        let parsed = Url::parse(url).map_err(|e| upstream(format!("{}: {e}", shown_url(url))))?;
        // What errors and logs name: never the user info or query values.
        let shown = shown_url(url);
        let url = shown.as_str();
        let method = match self.target.method {
            PollMethod::Get => Method::GET,
            PollMethod::Post => Method::POST,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), parsed.clone())
                .timeout(self.target.timeout);
            for (name, value) in &self.target.headers {
                request = request.header(name.as_str(), value.expose());
            }
            for (name, value) in extra {
                request = request.header(name, value);
            }
            request = match &self.target.auth {
                PollAuth::None => request,
                PollAuth::Bearer(token) => request.bearer_auth(token.expose()),
                PollAuth::Basic { user, password } => {
                    request.basic_auth(user, Some(password.expose()))
                }
            };

            let wait = match request.send().await {
                Err(e) => {
                    let wait = backoff(attempt);
                    let e = e.without_url();
                    self.check_budget(wait, || format!("{url}: {e} (attempt {attempt})"))?;
                    wait
                }
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        let wait = retry_after(response.headers(), SystemTime::now())
                            .unwrap_or_else(|| backoff(attempt));
                        self.check_budget(wait, || {
                            format!("{url}: HTTP {} (attempt {attempt})", status.as_u16())
                        })?;
                        tracing::info!(
                            url,
                            status = status.as_u16(),
                            wait_ms = wait.as_millis() as u64,
                            "retrying"
                        );
                        wait
                    } else if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        let headers = response.headers().clone();
                        let final_url = response.url().clone();
                        let body = response.bytes().await.map_err(|e| {
                            upstream(format!("{url}: reading the body: {}", e.without_url()))
                        })?;
                        return Ok(Page {
                            status: status.as_u16(),
                            next_link: next_link(&headers, &final_url),
                            body: body.to_vec(),
                            headers,
                            url: final_url,
                        });
                    } else {
                        return Err(upstream(format!("{url}: HTTP {}", status.as_u16())));
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Fails with `why` if waiting `wait` would pass the run's budget.
    fn check_budget(&self, wait: Duration, why: impl Fn() -> String) -> Result<()> {
        if Instant::now() + wait > self.deadline {
            Err(upstream(format!("{}; out of time budget", why())))
        } else {
            Ok(())
        }
    }
}

/// Exponential back-off with equal jitter: 200-400 ms, 400-800 ms, ... 5-10 s.
fn backoff(attempt: u32) -> Duration {
    Backoff {
        base: Duration::from_millis(200),
        max: Duration::from_secs(10),
        jitter: Jitter::Equal,
    }
    .delay(attempt)
}

/// `Retry-After` (RFC 9110) as a wait from `now`: delay-seconds, or an
/// HTTP-date (a date already past means no wait).
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => {
            let date = httpdate::parse_http_date(value).ok()?;
            Some(date.duration_since(now).unwrap_or_default())
        }
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288), resolved.
fn next_link(headers: &HeaderMap, base: &Url) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let is_next = parts.any(|param| {
                let Some((name, rel)) = param.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && rel
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return base.join(target).ok().map(String::from);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(link: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(LINK, link.parse().unwrap());
        map
    }

    #[test]
    fn finds_the_next_link_among_others() {
        let base = Url::parse("https://api.example.com/items?page=1").unwrap();
        let link = r#"<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last""#;
        assert_eq!(
            next_link(&headers(link), &base).as_deref(),
            Some("https://api.example.com/items?page=2")
        );
        assert_eq!(
            next_link(&headers(r#"</items?page=3>; rel="prev next""#), &base).as_deref(),
            Some("https://api.example.com/items?page=3")
        );
        assert_eq!(
            next_link(&headers(r#"<https://x/1>; rel="last""#), &base),
            None
        );
        assert_eq!(next_link(&HeaderMap::new(), &base), None);
    }

    #[test]
    fn retry_after_in_seconds_and_bounded_backoff() {
        let mut map = HeaderMap::new();
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let cases = [
            ("2", Some(Duration::from_secs(2))),
            (" 120 ", Some(Duration::from_secs(120))),
            (
                "Wed, 21 Oct 2015 07:28:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(Duration::ZERO)),
            ("soon", None),
            ("-1", None),
        ];
        for (value, expected) in cases {
            map.insert(RETRY_AFTER, value.parse().unwrap());
            assert_eq!(retry_after(&map, now), expected, "{value}");
        }
        map.remove(RETRY_AFTER);
        assert_eq!(retry_after(&map, now), None);
        for attempt in 1..20 {
            assert!(backoff(attempt) <= Duration::from_secs(10));
        }
    }
}
