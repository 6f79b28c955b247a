//! The demo set-up `inlet serve` runs without `--config`, and the sample
//! requests it prints.

use inlet_shared::{Config, Result};
use rand::Rng;

/// The environment variable that fixes the demo's Segment secret.
pub(crate) const DEMO_SECRET_ENV: &str = "INLET_DEMO_SECRET";
/// The environment variable that fixes the demo's writer token.
pub(crate) const DEMO_TOKEN_ENV: &str = "INLET_DEMO_TOKEN";

const DEMO_CONFIG: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[topics.telemetry]
stream = "inlet-telemetry"

[sources.segment]
scheme = "segment"
secrets = ["env:INLET_DEMO_SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"

[tokens.demo]
token = "env:INLET_DEMO_TOKEN"
topics = ["*"]
read = ["*"]

# Browser pages on any origin may call the Writer API (with a token).
[writer]
cors_origins = ["*"]
"#;

/// The demo configuration and where its secrets came from.
pub(crate) struct Demo {
    pub config: Config,
    /// The Segment source's secret.
    pub secret: String,
    /// The writer token.
    pub token: String,
    /// The Segment secret was generated for this run (not taken from the environment).
    pub generated_secret: bool,
    /// The writer token was generated for this run.
    pub generated_token: bool,
}

/// The demo configuration; its secret and token come from `INLET_DEMO_SECRET`
/// and `INLET_DEMO_TOKEN`, or are generated.
pub(crate) fn demo(env: &dyn Fn(&str) -> Option<String>) -> Result<Demo> {
    let given_secret = env(DEMO_SECRET_ENV).filter(|s| !s.is_empty());
    let given_token = env(DEMO_TOKEN_ENV).filter(|s| !s.is_empty());
    let (generated_secret, generated_token) = (given_secret.is_none(), given_token.is_none());
    let secret = given_secret.unwrap_or_else(random_hex);
    let token = given_token.unwrap_or_else(random_hex);
    let env = |name: &str| match name {
        DEMO_SECRET_ENV => Some(secret.clone()),
        DEMO_TOKEN_ENV => Some(token.clone()),
        other => env(other),
    };
    Ok(Demo {
        config: Config::parse(DEMO_CONFIG, &env)?,
        secret,
        token,
        generated_secret,
        generated_token,
    })
}

fn random_hex() -> String {
    hex::encode(rand::rng().random::<[u8; 16]>())
}

/// A ready-to-paste `curl` that writes one event through the Writer API.
pub(crate) fn writer_curl(base_url: &str, topic: &str, token: &str) -> String {
    format!(
        "curl -sS -w '%{{http_code}}\\n' -X POST {base_url}/topics/{topic}/streams/demo-stream/events/data -H 'Authorization: Bearer {token}' -H 'content-type: application/json' -d '[{{\"id\": \"hello\", \"timestamp\": {}, \"value\": \"Hello, Inlet\"}}]'",
        inlet_shared::time::unix_nanos(std::time::SystemTime::now())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_uses_the_given_secret_and_token_or_generates_them() {
        let given = demo(&|n| match n {
            DEMO_SECRET_ENV => Some("abc".to_owned()),
            DEMO_TOKEN_ENV => Some("tok".to_owned()),
            _ => None,
        })
        .unwrap();
        assert!(!given.generated_secret && !given.generated_token);
        assert_eq!(given.config.sources["segment"].secrets[0].expose(), "abc");
        assert_eq!(given.config.tokens["demo"].token.expose(), "tok");
        let fresh = demo(&|_| None).unwrap();
        assert!(fresh.generated_secret && fresh.generated_token);
        assert_eq!(
            fresh.config.sources["segment"].secrets[0].expose().len(),
            32
        );
        assert_eq!(fresh.config.tokens["demo"].token.expose().len(), 32);
        assert!(fresh.config.topics.contains_key("telemetry"));
        assert!(fresh.config.tokens["demo"].topics.allows("telemetry"));
    }
}
