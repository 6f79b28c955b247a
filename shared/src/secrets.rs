//! `secret:NAME` references in AWS: every secret the configuration names is
//! fetched from Secrets Manager once, at cold start, in `BatchGetSecretValue`
//! calls (20 names each, the API's limit), and offered to the configuration
//! under the environment variable of the local rule
//! ([`crate::config::secret_variable`]), so one configuration resolves the
//! same way in both places. Values are never logged.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;

use crate::config::{Config, ConfigError, Deployment, secret_names, secret_variable};

/// The configuration the Lambda way ([`Config::text_from_env`]), with its
/// `secret:` references fetched from Secrets Manager through `client` (no
/// call when there are none), its `env:` references read from `env`, and
/// pointed at the resources of the deployment `env` describes.
pub async fn load_config(
    client: &Client,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Config, ConfigError> {
    let (text, origin) = Config::text_from_env(env)?;
    let names = secret_names(&text);
    let fetched = if names.is_empty() {
        HashMap::new()
    } else {
        fetch(client, &names).await.map_err(|e| e.within(&origin))?
    };
    let lookup = |name: &str| fetched.get(name).cloned().or_else(|| env(name));
    let mut config = Config::parse(&text, &lookup).map_err(|e| e.within(&origin))?;
    if let Some(dir) = Config::origin_dir(&origin) {
        config.relative_to(dir);
    }
    if let Some(deployment) = Deployment::from_env(env) {
        config.deploy(&deployment)?;
    }
    Ok(config)
}

/// The most secret ids one `BatchGetSecretValue` call takes.
const PER_CALL: usize = 20;

/// Fetches `names` and returns each value under its environment variable
/// name; a secret that is missing, not allowed or not text is an error
/// naming it.
pub async fn fetch(
    client: &Client,
    names: &[String],
) -> Result<HashMap<String, String>, ConfigError> {
    let mut values = HashMap::new();
    for chunk in names.chunks(PER_CALL) {
        let answer = client
            .batch_get_secret_value()
            .set_secret_id_list(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                ConfigError::new(
                    "",
                    format!(
                        "cannot read secrets {} from Secrets Manager: {}",
                        chunk.join(", "),
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    ),
                )
            })?;
        if let Some(error) = answer.errors().first() {
            return Err(ConfigError::new(
                "",
                format!(
                    "cannot read secret {:?} from Secrets Manager: {} {}",
                    error.secret_id().unwrap_or("?"),
                    error.error_code().unwrap_or(""),
                    error.message().unwrap_or("")
                ),
            ));
        }
        for secret in answer.secret_values() {
            // A secret is asked for by name; the answer names it the same way.
            let name = secret.name().unwrap_or_default();
            let requested = chunk
                .iter()
                .find(|n| *n == name || secret.arn() == Some(n.as_str()))
                .cloned()
                .unwrap_or_else(|| name.to_owned());
            let Some(text) = secret.secret_string() else {
                return Err(ConfigError::new(
                    "",
                    format!(
                        "secret {requested:?} has no text value (binary secrets are not supported)"
                    ),
                ));
            };
            values.insert(secret_variable(&requested), text.to_owned());
        }
        if let Some(missing) = chunk
            .iter()
            .find(|n| !values.contains_key(&secret_variable(n)))
        {
            return Err(ConfigError::new(
                "",
                format!("secret {missing:?} was not returned by Secrets Manager"),
            ));
        }
    }
    Ok(values)
}
