//! `[tokens.<name>]`: bearer tokens of the Writer API and the hub, the
//! topics each may write to and the topics each may read.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::validate::{Env, resolve_secret};
use super::{ConfigError, Topic, check_topic};
use crate::signature::Secret;

/// Which topics a token may write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicAccess {
    /// Every topic (`["*"]`).
    All,
    /// Only these topics.
    Only(Vec<String>),
}

impl TopicAccess {
    /// Whether the token may write to `topic`.
    pub fn allows(&self, topic: &str) -> bool {
        match self {
            TopicAccess::All => true,
            TopicAccess::Only(topics) => topics.iter().any(|t| t == topic),
        }
    }
}

/// A Writer API bearer token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token's name, for logs.
    pub name: String,
    /// The token value.
    pub token: Secret,
    /// Topics it may write to.
    pub topics: TopicAccess,
    /// Topics it may read through the hub (`read`; none unless given).
    pub read: TopicAccess,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    token: String,
    topics: Vec<String>,
    #[serde(default)]
    read: Vec<String>,
}

fn access(
    topics: &BTreeMap<String, Topic>,
    at: &str,
    names: Vec<String>,
) -> Result<TopicAccess, ConfigError> {
    if names.iter().any(|t| t == "*") {
        return Ok(TopicAccess::All);
    }
    for topic in &names {
        check_topic(topics, at, topic)?;
    }
    Ok(TopicAccess::Only(names))
}

pub(super) fn parse(
    raw: BTreeMap<String, RawToken>,
    topics: &BTreeMap<String, Topic>,
    env: Env<'_>,
) -> Result<BTreeMap<String, Token>, ConfigError> {
    let mut tokens = BTreeMap::new();
    for (name, raw) in raw {
        let at = format!("tokens.{name}");
        let token = resolve_secret(&format!("{at}.token"), &raw.token, env)?;
        let write = access(topics, &format!("{at}.topics"), raw.topics)?;
        let read = access(topics, &format!("{at}.read"), raw.read)?;
        tokens.insert(
            name.clone(),
            Token {
                name,
                token,
                topics: write,
                read,
            },
        );
    }
    Ok(tokens)
}
