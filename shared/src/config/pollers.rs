//! `[pollers.<name>]`: REST endpoints polled on a schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::validate::{
    Env, bad_duration, check_name, duration, http_url, is_secret_reference, resolve_secret,
    stream_id,
};
use super::{ConfigError, Field, JsonPointer, Topic, check_topic};
use crate::signature::Secret;

/// A REST poll target.
#[derive(Debug, Clone, PartialEq)]
pub struct Poller {
    /// The target's name.
    pub name: String,
    /// The URL to fetch.
    pub url: String,
    /// How often to fetch it.
    pub every: Duration,
    /// The array of items in a response; `None`: the body is one item.
    pub items: Option<JsonPointer>,
    /// Dedupe key of an item; `None` (or a value that is not a string or
    /// number): a hash of the item.
    pub key: Option<JsonPointer>,
    /// Where the event id comes from.
    pub event_id: Field,
    /// The published value; `None`: the whole item.
    pub value: Option<JsonPointer>,
    /// The topic its events go to.
    pub topic: String,
    /// The stream id of its events.
    pub stream_id: String,
    /// The HTTP method.
    pub method: PollMethod,
    /// Request headers; values may be secrets (`env:NAME`).
    pub headers: Vec<(String, Secret)>,
    /// Authentication.
    pub auth: PollAuth,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Time budget of one run, retries included.
    pub budget: Duration,
    /// How to find the next page.
    pub pagination: Pagination,
    /// Most pages fetched in one run.
    pub max_pages: u32,
    /// How many recent item keys the checkpoint keeps.
    pub keep_keys: usize,
}

impl Poller {
    /// The URL as a page or log may show it: user info and every query
    /// value hidden (an API key often travels in one).
    pub fn shown_url(&self) -> String {
        shown_url(&self.url)
    }
}

/// `url` as a page or log may show it: user info and every query value
/// hidden.
pub fn shown_url(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://…@{host}{path}"),
                None => format!("{scheme}://{authority}{path}"),
            }
        }
        None => base.to_owned(),
    };
    let Some(query) = query else {
        return base;
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}=…"),
            None => "…".to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod shown_url_tests {
    use super::shown_url;

    #[test]
    fn user_info_and_query_values_are_hidden() {
        assert_eq!(
            shown_url("https://user:pw@api.example.com/beers?key=s3cret&n=1#x"),
            "https://…@api.example.com/beers?key=…&n=…"
        );
        assert_eq!(
            shown_url("https://api.example.com/v1/random"),
            "https://api.example.com/v1/random"
        );
        assert_eq!(shown_url("http://h?tokenonly"), "http://h?…");
    }
}

/// The HTTP method a poller fetches with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMethod {
    /// `GET` (the default).
    Get,
    /// `POST`, with an empty body.
    Post,
}

impl PollMethod {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PollMethod::Get => "GET",
            PollMethod::Post => "POST",
        }
    }
}

/// How a poller authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollAuth {
    /// No authentication.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
}

/// How a poller finds the next page of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// One page only.
    None,
    /// Follow the `Link: <url>; rel="next"` header.
    LinkHeader,
    /// A JSON pointer to the next page's URL, or to a cursor put into the
    /// query parameter `cursor_param`.
    Pointer {
        /// Where the next URL or cursor is.
        pointer: JsonPointer,
        /// The query parameter a cursor goes into (`None`: the value is a URL).
        cursor_param: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPoller {
    url: String,
    every: String,
    #[serde(default)]
    items: String,
    key: Option<String>,
    event_id: Option<String>,
    value: Option<String>,
    topic: String,
    stream_id: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    bearer: Option<String>,
    basic_user: Option<String>,
    basic_password: Option<String>,
    timeout: Option<String>,
    budget: Option<String>,
    next: Option<String>,
    cursor_param: Option<String>,
    max_pages: Option<u32>,
    keep_keys: Option<usize>,
}

pub(super) fn parse(
    raw: BTreeMap<String, RawPoller>,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<BTreeMap<String, Poller>, ConfigError> {
    let mut pollers = BTreeMap::new();
    for (name, raw) in raw {
        check_name("poller", &name)?;
        let poller = parse_one(&name, raw, topics, env)?;
        pollers.insert(name, poller);
    }
    Ok(pollers)
}

/// An optional JSON pointer (`""` points at the whole document).
fn pointer(at: &str, key: &str, value: Option<&str>) -> Result<Option<JsonPointer>, ConfigError> {
    match value {
        None => Ok(None),
        Some(text) => JsonPointer::parse(text).map(Some).ok_or_else(|| {
            ConfigError::new(
                format!("{at}.{key}"),
                "must be a JSON pointer such as \"/id\"",
            )
        }),
    }
}

fn parse_one(
    name: &str,
    raw: RawPoller,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<Poller, ConfigError> {
    let at = format!("pollers.{name}");
    let key = |k: &str| format!("{at}.{k}");
    check_topic(topics, &key("topic"), &raw.topic)?;
    http_url(&key("url"), &raw.url)?;
    let every = humantime::parse_duration(&raw.every)
        .map_err(|e| ConfigError::new(key("every"), bad_duration(&raw.every, e)))?;
    if every < Duration::from_secs(1) {
        return Err(ConfigError::new(key("every"), "must be at least 1s"));
    }
    // `items = ""` (the default): the body is one item.
    let items = pointer(
        &at,
        "items",
        Some(raw.items.as_str()).filter(|i| !i.is_empty()),
    )?;
    let item_key = pointer(&at, "key", raw.key.as_deref())?;
    let value = pointer(&at, "value", raw.value.as_deref())?;
    let method = match raw
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase()
        .as_str()
    {
        "GET" => PollMethod::Get,
        "POST" => PollMethod::Post,
        _ => return Err(ConfigError::new(key("method"), "use GET or POST")),
    };
    let headers = raw
        .headers
        .iter()
        .map(|(header, value)| {
            let value = if is_secret_reference(value) {
                resolve_secret(&key(&format!("headers.{header}")), value, env)?
            } else {
                Secret::new(value.clone())
            };
            Ok((header.to_ascii_lowercase(), value))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let auth = match (raw.bearer, raw.basic_user, raw.basic_password) {
        (None, None, None) => PollAuth::None,
        (Some(token), None, None) => PollAuth::Bearer(resolve_secret(&key("bearer"), &token, env)?),
        (None, Some(user), Some(password)) => PollAuth::Basic {
            user,
            password: resolve_secret(&key("basic_password"), &password, env)?,
        },
        _ => {
            return Err(ConfigError::new(
                &at,
                "set either bearer, or basic_user with basic_password",
            ));
        }
    };
    let pagination = match raw.next.as_deref() {
        None if raw.cursor_param.is_some() => {
            return Err(ConfigError::new(
                key("cursor_param"),
                "needs next = \"/pointer/to/the/cursor\"",
            ));
        }
        None => Pagination::None,
        Some("link") => Pagination::LinkHeader,
        Some(other) => match JsonPointer::parse(other).filter(|_| other.starts_with('/')) {
            Some(pointer) => Pagination::Pointer {
                pointer,
                cursor_param: raw.cursor_param,
            },
            None => {
                return Err(ConfigError::new(
                    key("next"),
                    format!(
                        "{other:?}: use \"link\" (the Link header) or a JSON pointer to the next URL or cursor"
                    ),
                ));
            }
        },
    };
    let timeout = duration(
        &at,
        "timeout",
        raw.timeout.as_deref(),
        Duration::from_secs(10),
    )?;
    let budget = duration(
        &at,
        "budget",
        raw.budget.as_deref(),
        Duration::from_secs(25),
    )?;
    if timeout.is_zero() || budget < timeout {
        return Err(ConfigError::new(
            &at,
            "timeout must be above 0 and budget at least the timeout",
        ));
    }
    Ok(Poller {
        url: raw.url,
        every,
        items,
        key: item_key,
        event_id: Field::parse(raw.event_id.as_deref().unwrap_or(name)),
        value,
        topic: raw.topic,
        stream_id: stream_id(&at, raw.stream_id)?.unwrap_or_else(|| name.to_owned()),
        method,
        headers,
        auth,
        timeout,
        budget,
        pagination,
        max_pages: raw.max_pages.unwrap_or(10).max(1),
        keep_keys: raw.keep_keys.unwrap_or(1000).max(1),
        name: name.to_owned(),
    })
}
