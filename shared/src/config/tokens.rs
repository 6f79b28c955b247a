//! `[tokens.<name>]`: bearer tokens of the Writer API and the topics each
//! may write to.

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    token: String,
    topics: Vec<String>,
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
        let access = if raw.topics.iter().any(|t| t == "*") {
            TopicAccess::All
        } else {
            for topic in &raw.topics {
                check_topic(topics, &format!("{at}.topics"), topic)?;
            }
            TopicAccess::Only(raw.topics)
        };
        tokens.insert(
            name.clone(),
            Token {
                name,
                token,
                topics: access,
            },
        );
    }
    Ok(tokens)
}
