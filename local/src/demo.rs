//! The demo set-up `inlet serve` runs without `--config`, and the sample
//! requests it prints.

use inlet_shared::config::{Field, Source};
use inlet_shared::signature::SignWith;
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
"#;

/// The demo configuration and where its secrets came from.
pub(crate) struct Demo {
    pub config: Config,
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

/// A small JSON body that carries an event id where `source` looks for it.
pub(crate) fn sample_body(source: &Source) -> String {
    let mut body = serde_json::json!({
        "type": "track",
        "event": "Inlet Tried",
        "userId": "newcomer",
        "properties": { "hello": "world" }
    });
    if let Field::Pointer(pointer) = &source.event_id {
        set_pointer(&mut body, pointer, "track");
    }
    body.to_string()
}

fn set_pointer(root: &mut serde_json::Value, pointer: &str, value: &str) {
    let mut at = root;
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        if !at.is_object() {
            *at = serde_json::json!({});
        }
        let map = at.as_object_mut().expect("an object");
        at = if i + 1 == tokens.len() {
            map.insert(token.clone(), value.into());
            return;
        } else {
            map.entry(token.clone())
                .or_insert_with(|| serde_json::json!({}))
        };
    }
}

/// A ready-to-paste `curl` that sends a correctly signed sample webhook.
pub(crate) fn curl(base_url: &str, source: &Source) -> String {
    let body = sample_body(source);
    let mut command = format!(
        "curl -sS -X POST {base_url}/webhooks/{} -H 'content-type: application/json'",
        source.name
    );
    if let Some(secret) = source.secrets.first() {
        let path = format!("/webhooks/{}", source.name);
        let id = format!("msg_{}", hex::encode(rand::rng().random::<[u8; 12]>()));
        let signed = source.scheme.sign(&SignWith {
            secret,
            body: body.as_bytes(),
            now: std::time::SystemTime::now(),
            path_and_query: &path,
            id: &id,
        });
        for (name, value) in signed {
            command.push_str(&format!(" -H '{name}: {value}'"));
        }
    }
    command.push_str(&format!(" -d '{body}'"));
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::signature::Scheme;

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

    #[test]
    fn curl_carries_a_valid_signature_of_its_body() {
        let demo = demo(&|n| (n == DEMO_SECRET_ENV).then(|| "abc".to_owned())).unwrap();
        let source = &demo.config.sources["segment"];
        let command = curl("http://127.0.0.1:8787", source);
        let body = sample_body(source);
        let (_, sig) = &Scheme::Segment.sign(&SignWith {
            secret: &source.secrets[0],
            body: body.as_bytes(),
            now: std::time::SystemTime::now(),
            path_and_query: "/",
            id: "",
        })[0];
        assert!(
            command.contains(&format!("-H 'x-signature: {sig}'")),
            "{command}"
        );
        assert!(command.contains(&format!("-d '{body}'")));
        assert!(command.contains("http://127.0.0.1:8787/webhooks/segment"));
    }

    #[test]
    fn sample_body_puts_the_event_id_where_the_source_reads_it() {
        let mut source = demo(&|_| None).unwrap().config.sources["segment"].clone();
        source.event_id = Field::Pointer("/meta/kind".into());
        let body: serde_json::Value = serde_json::from_str(&sample_body(&source)).unwrap();
        assert_eq!(body.pointer("/meta/kind").unwrap(), "track");
    }
}
