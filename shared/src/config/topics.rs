//! `[topics.<name>]`: each topic and the Kinesis stream behind it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use super::validate::check_name;

/// A topic: in AWS, one Kinesis stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The topic's name.
    pub name: String,
    /// The Kinesis stream that backs it.
    pub stream: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    stream: String,
}

pub(super) fn parse(
    raw: BTreeMap<String, RawTopic>,
) -> Result<BTreeMap<String, Topic>, ConfigError> {
    let mut topics = BTreeMap::new();
    for (name, topic) in raw {
        check_name("topic", &name)?;
        if topic.stream.trim().is_empty() {
            return Err(ConfigError::new(
                format!("topics.{name}.stream"),
                "is empty",
            ));
        }
        topics.insert(
            name.clone(),
            Topic {
                name,
                stream: topic.stream,
            },
        );
    }
    Ok(topics)
}
