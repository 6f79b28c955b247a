//! `secret:` references in AWS, through the real AWS SDK against a real
//! Secrets Manager API on loopback (moto's server mode, installed into
//! `.venv` by `tests/run.sh`): every referenced secret is fetched at cold
//! start in `BatchGetSecretValue` calls of at most 20, and a missing one is
//! an error naming it.

use inlet_e2e::start_moto;
use inlet_shared::secrets::load_config;

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
