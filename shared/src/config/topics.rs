//! `[topics.<name>]`: each topic and the Kinesis stream behind it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::ConfigError;
use super::validate::check_name;

/// A topic: in AWS, one Kinesis stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The topic's name.
    pub name: String,
    /// The Kinesis stream that backs it: as configured, or (when the file
    /// names none) the one the deployment created for it, `<stack>.<topic>`;
    /// locally only shown.
    pub stream: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    stream: Option<String>,
}

/// The topics, and the names of those whose stream the file does not name
/// (the deployment creates theirs).
pub(super) fn parse(
    raw: BTreeMap<String, RawTopic>,
) -> Result<(BTreeMap<String, Topic>, BTreeSet<String>), ConfigError> {
    let (mut topics, mut created) = (BTreeMap::new(), BTreeSet::new());
    for (name, topic) in raw {
        check_name("topic", &name)?;
        let stream = match topic.stream {
            Some(stream) if stream.trim().is_empty() => {
                return Err(ConfigError::new(
                    format!("topics.{name}.stream"),
                    "is empty (leave it out to have the deployment create the stream)",
                ));
            }
            Some(stream) => stream,
            None => {
                created.insert(name.clone());
                name.clone()
            }
        };
        topics.insert(name.clone(), Topic { name, stream });
    }
    Ok((topics, created))
}
