//! `secret:` references in AWS, through the real AWS SDK against a real
//! Secrets Manager API on loopback (moto's server mode, installed into
//! `.venv` by `tests/run.sh`): every referenced secret is fetched at cold
//! start in `BatchGetSecretValue` calls of at most 20, and a missing one is
//! an error naming it; a secret or token rotated in the store applies
//! without a restart (after a mismatch, or once the time to live passed).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use inlet_e2e::start_moto;
use inlet_shared::config::{ConfigHandle, Load};
use inlet_shared::lambda::FromSecrets;
use inlet_shared::publish::Publisher;
use inlet_shared::secrets::load_config;
use inlet_shared::signature::{Scheme, Secret, SignWith};
use tower::ServiceExt;
use webhook_receiver::WebhookReceiver;
use write_proxy::WriteProxy;

fn config_text(tokens: usize, extra: &str) -> String {
    let mut text = String::from("[topics.telemetry]\nstream = \"inlet-telemetry\"\n");
    for i in 0..tokens {
        text.push_str(&format!(
            "\n[tokens.t{i:02}]\ntoken = \"secret:inlet/token-{i:02}\"\ntopics = [\"telemetry\"]\n"
        ));
    }
    text.push_str(extra);
    text
}

#[tokio::test]
async fn secret_references_are_fetched_from_secrets_manager_at_start() {
    let moto = start_moto();
    let client = inlet_e2e::secrets_client(&moto.endpoint);
    // More than one call's worth (20), to show they are all fetched.
    for i in 0..23 {
        client
            .create_secret()
            .name(format!("inlet/token-{i:02}"))
            .secret_string(format!("value-{i:02}"))
            .send()
            .await
            .unwrap();
    }
    let text = config_text(23, "");
    let env = |name: &str| (name == "INLET_CONFIG").then(|| text.clone());
    let config = load_config(&client, &env).await.unwrap();
    assert_eq!(config.tokens.len(), 23);
    for (i, token) in config.tokens.values().enumerate() {
        assert_eq!(token.name, format!("t{i:02}"));
        assert_eq!(token.token.expose(), format!("value-{i:02}"));
    }

    // A reference to a secret that does not exist stops the start, by name.
    let text = config_text(
        2,
        "\n[tokens.late]\ntoken = \"secret:inlet/absent\"\ntopics = [\"telemetry\"]\n",
    );
    let env = |name: &str| (name == "INLET_CONFIG").then(|| text.clone());
    let error = load_config(&client, &env).await.unwrap_err().to_string();
    assert!(
        error.contains("INLET_CONFIG") && error.contains("inlet/absent"),
        "{error}"
    );

    // `env:` references still come from the environment alongside.
    let text = config_text(
        1,
        "\n[tokens.local]\ntoken = \"env:LOCAL_TOKEN\"\ntopics = [\"telemetry\"]\n",
    );
    let env = |name: &str| match name {
        "INLET_CONFIG" => Some(text.clone()),
        "LOCAL_TOKEN" => Some("from-env".to_owned()),
        _ => None,
    };
    let config = load_config(&client, &env).await.unwrap();
    assert_eq!(config.tokens["local"].token.expose(), "from-env");
    assert_eq!(config.tokens["t00"].token.expose(), "value-00");
}

/// A receiver and a Writer API over a configuration whose secrets live in
/// Secrets Manager, loaded at start and again as a Lambda function does.
async fn rotating(
    client: aws_sdk_secretsmanager::Client,
    text: String,
    ttl: Duration,
    dir: &std::path::Path,
) -> (axum::Router, axum::Router) {
    let env = move |name: &str| (name == "INLET_CONFIG").then(|| text.clone());
    let load = FromSecrets::new(client, env);
    let config = load.load().await.unwrap();
    let log = inlet_embedded::EmbeddedLog::open(dir, ["hooks"]).unwrap();
    let publisher = Publisher::new(Arc::new(log));
    let handle = ConfigHandle::new(Arc::new(config)).reloading(Arc::new(load), ttl);
    let receiver =
        webhook_receiver::router(WebhookReceiver::new(handle.clone(), publisher.clone()));
    let writer = write_proxy::router(WriteProxy::new(handle, publisher));
    (receiver, writer)
}

const ROTATING: &str = r#"
[topics.hooks]
stream = "inlet-hooks"

[sources.segment]
scheme = "segment"
secrets = ["secret:inlet/segment"]
topic = "hooks"

[tokens.ops]
token = "secret:inlet/writer"
topics = ["hooks"]
"#;

async fn webhook(router: &axum::Router, secret: &str) -> u16 {
    let body = r#"{"type":"track","messageId":"m"}"#;
    let signature = Scheme::Segment.sign(&SignWith::new(&Secret::new(secret), body.as_bytes()));
    let request = Request::post("/webhooks/segment")
        .header("content-type", "application/json")
        .header(signature[0].0.as_str(), signature[0].1.as_str())
        .body(Body::from(body))
        .unwrap();
    router
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn write(router: &axum::Router, token: &str) -> u16 {
    let request = Request::post("/topics/hooks/streams/s1/events/data")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(r#"[{"id":"e","timestamp":1,"value":"v"}]"#))
        .unwrap();
    router
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A client of `moto` with `inlet/segment` and `inlet/writer` created.
async fn secrets(
    moto: &inlet_e2e::Moto,
    segment: &str,
    writer: &str,
) -> aws_sdk_secretsmanager::Client {
    let client = inlet_e2e::secrets_client(&moto.endpoint);
    for (name, value) in [("inlet/segment", segment), ("inlet/writer", writer)] {
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    client
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rotated_signing_secret_applies_to_the_first_request_signed_with_it() {
    let moto = start_moto();
    let client = secrets(&moto, "old-secret", "old-token").await;
    let dir = tempfile::tempdir().unwrap();
    // A time to live of an hour: only a mismatch loads the secrets again.
    let (receiver, _) = rotating(
        client.clone(),
        ROTATING.into(),
        Duration::from_secs(3600),
        dir.path(),
    )
    .await;
    assert_eq!(webhook(&receiver, "old-secret").await, 200);
    rotate(&client, "inlet/segment", "new-secret").await;
    // Signed with the new secret: no cached secret matches, the secrets are
    // loaded again once, and the same request verifies.
    assert_eq!(webhook(&receiver, "new-secret").await, 200);
    assert_eq!(
        webhook(&receiver, "old-secret").await,
        401,
        "the old secret is gone"
    );
    // A flood of bad signatures costs at most one load per 30 s: a second
    // rotation is not seen through a mismatch within that pause.
    rotate(&client, "inlet/segment", "third-secret").await;
    assert_eq!(webhook(&receiver, "third-secret").await, 401);
}

#[tokio::test]
async fn secrets_older_than_their_ttl_are_loaded_again_so_a_rotated_writer_token_applies() {
    let moto = start_moto();
    let client = secrets(&moto, "a-secret", "old-token").await;
    let dir = tempfile::tempdir().unwrap();
    let (_, writer) = rotating(client.clone(), ROTATING.into(), Duration::ZERO, dir.path()).await;
    assert_eq!(write(&writer, "old-token").await, 200);
    rotate(&client, "inlet/writer", "new-token").await;
    assert_eq!(write(&writer, "new-token").await, 200);
    assert_eq!(write(&writer, "old-token").await, 401);
}
