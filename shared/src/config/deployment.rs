//! What a deployment tells each function about the resources it created,
//! in environment variables `template.yaml` sets, applied to the
//! configuration: the stream of every topic the file names none for
//! (`<stack>.<id>`, the id being the topic's letters and digits), and the
//! DynamoDB tables. So one `inlet.toml` runs
//! locally and in AWS, and a topic the deployment did not create is refused
//! at cold start by name, with no Describe call.

use super::{Config, ConfigError, Env};

/// `<stack>.`: the prefix of the stream names the stack created.
pub const STREAM_PREFIX_ENV: &str = "INLET_STREAM_PREFIX";
/// The ids ([`resource_id`]) of the topics the stack created a stream for,
/// comma-separated.
pub const TOPICS_ENV: &str = "INLET_TOPICS";
/// The stack's delivery-id table.
pub const DEDUPE_TABLE_ENV: &str = "INLET_DEDUPE_TABLE";
/// The stack's checkpoint table.
pub const CHECKPOINT_TABLE_ENV: &str = "INLET_CHECKPOINT_TABLE";

/// The resources a deployment created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Prefix of the created streams' names.
    pub stream_prefix: String,
    /// Ids of the topics with a created stream.
    pub topics: Vec<String>,
    /// The delivery-id table, if the stack has one.
    pub dedupe_table: Option<String>,
    /// The checkpoint table, if the stack has one.
    pub checkpoint_table: Option<String>,
}

impl Deployment {
    /// The deployment described by the environment; `None` outside one
    /// (`INLET_STREAM_PREFIX` unset), where the configuration is used as is.
    pub fn from_env(env: Env<'_>) -> Option<Deployment> {
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        Some(Deployment {
            stream_prefix: non_empty(STREAM_PREFIX_ENV)?,
            topics: non_empty(TOPICS_ENV)
                .map(|list| list.split(',').map(|t| t.trim().to_owned()).collect())
                .unwrap_or_default(),
            dedupe_table: non_empty(DEDUPE_TABLE_ENV),
            checkpoint_table: non_empty(CHECKPOINT_TABLE_ENV),
        })
    }
}

/// The table of the Reader hub's subscriptions (the hub and its fan-out).
pub const HUB_TABLE_ENV: &str = "INLET_HUB_TABLE";
/// The WebSocket API's `@connections` endpoint (the hub and its fan-out).
pub const HUB_CONNECTIONS_URL_ENV: &str = "INLET_HUB_CONNECTIONS_URL";
/// The destination a destination function delivers; unset for the retry
/// function.
pub const DESTINATION_ENV: &str = "INLET_DESTINATION";
/// The destinations' state table.
pub const DESTINATION_TABLE_ENV: &str = "INLET_DESTINATION_TABLE";
/// The destinations' retry queue.
pub const DESTINATION_RETRIES_ENV: &str = "INLET_DESTINATION_RETRIES";

/// The table the webhook receiver keeps rejected webhooks in.
pub const REJECTED_TABLE_ENV: &str = "INLET_REJECTED_TABLE";

/// The resources `template.yaml` hands one function in `INLET_*`
/// variables of its own, read once at cold start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    /// `INLET_HUB_TABLE`.
    pub hub_table: Option<String>,
    /// `INLET_HUB_CONNECTIONS_URL`.
    pub hub_connections_url: Option<String>,
    /// `INLET_DESTINATION`.
    pub destination: Option<String>,
    /// `INLET_DESTINATION_TABLE`.
    pub destination_table: Option<String>,
    /// `INLET_DESTINATION_RETRIES`.
    pub destination_retries: Option<String>,
    /// `INLET_REJECTED_TABLE`.
    pub rejected_table: Option<String>,
}

impl Wiring {
    /// The variables as the environment sets them (an empty one as unset).
    pub fn from_env(env: Env<'_>) -> Wiring {
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        Wiring {
            hub_table: non_empty(HUB_TABLE_ENV),
            hub_connections_url: non_empty(HUB_CONNECTIONS_URL_ENV),
            destination: non_empty(DESTINATION_ENV),
            destination_table: non_empty(DESTINATION_TABLE_ENV),
            destination_retries: non_empty(DESTINATION_RETRIES_ENV),
            rejected_table: non_empty(REJECTED_TABLE_ENV),
        }
    }

    /// `value`, set from `variable`, or an error naming the variable.
    pub fn required<'a>(value: &'a Option<String>, variable: &str) -> Result<&'a str, ConfigError> {
        value.as_deref().ok_or_else(|| {
            ConfigError::new(
                variable,
                "is not set (template.yaml sets it for this function)",
            )
        })
    }
}

/// A topic's id in the template: its letters and digits, which name its
/// stream's resources (`${Topic}Stream`, so a mapping can `GetAtt` it) and
/// end its stream's name.
pub fn resource_id(topic: &str) -> String {
    topic.chars().filter(char::is_ascii_alphanumeric).collect()
}

impl Config {
    /// Points the configuration at what `deployment` created: each topic
    /// without a configured stream gets `<prefix><id>` (an error naming
    /// the topic if the deployment created none for it), and the tables the
    /// file leaves out are the stack's.
    pub fn deploy(&mut self, deployment: &Deployment) -> Result<(), ConfigError> {
        for name in &self.created_streams {
            let id = resource_id(name);
            if !deployment.topics.contains(&id) {
                return Err(ConfigError::new(
                    format!("topics.{name}"),
                    "this deployment created no stream for this topic: run `inlet deploy-params` with this configuration and `sam deploy` again (or name an existing stream in topics.<name>.stream)",
                ));
            }
            if let Some(topic) = self.topics.get_mut(name) {
                topic.stream = format!("{}{id}", deployment.stream_prefix);
            }
        }
        if self.dedupe_table.is_none() {
            self.dedupe_table = deployment.dedupe_table.clone();
        }
        if self.checkpoint_table.is_none() {
            self.checkpoint_table = deployment.checkpoint_table.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[topics.webhooks]

[topics.orders]
stream = "existing-orders"

[sources.github]
scheme = "github"
secrets = ["secret:inlet/github"]
topic = "webhooks"
"#;

    fn config() -> Config {
        Config::parse(TEXT, &|_| Some("x".to_owned())).unwrap()
    }

    #[test]
    fn topics_without_a_stream_get_the_deployments_and_named_ones_keep_theirs() {
        let mut config = config();
        assert_eq!(
            config.topics["webhooks"].stream, "webhooks",
            "locally: the name"
        );
        let env = |name: &str| match name {
            STREAM_PREFIX_ENV => Some("prod-".to_owned()),
            TOPICS_ENV => Some("webhooks".to_owned()),
            DEDUPE_TABLE_ENV => Some("prod-DedupeTable-1".to_owned()),
            _ => None,
        };
        config.deploy(&Deployment::from_env(&env).unwrap()).unwrap();
        assert_eq!(config.topics["webhooks"].stream, "prod-webhooks");
        assert_eq!(config.topics["orders"].stream, "existing-orders");
        assert_eq!(config.dedupe_table.as_deref(), Some("prod-DedupeTable-1"));
        assert_eq!(config.checkpoint_table, None);
    }

    #[test]
    fn a_topic_the_deployment_did_not_create_is_refused_by_name() {
        let deployment = Deployment {
            stream_prefix: "prod-".into(),
            topics: vec!["telemetry".into()],
            dedupe_table: None,
            checkpoint_table: None,
        };
        let error = config().deploy(&deployment).unwrap_err().to_string();
        assert!(
            error.contains("topics.webhooks") && error.contains("inlet deploy-params"),
            "{error}"
        );
        assert!(Deployment::from_env(&|_| None).is_none());
        let wiring = Wiring::from_env(&|name| (name == HUB_TABLE_ENV).then(|| "hubs".to_owned()));
        assert_eq!(
            Wiring::required(&wiring.hub_table, HUB_TABLE_ENV).unwrap(),
            "hubs"
        );
        let missing = Wiring::required(&wiring.destination_table, DESTINATION_TABLE_ENV)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("INLET_DESTINATION_TABLE"), "{missing}");
    }
}
