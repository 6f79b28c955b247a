//! `inlet deploy-params --config inlet.toml`: readies a configuration for
//! `sam deploy`. CloudFormation cannot read the file, so what the template
//! needs from it is derived here, never typed twice: the file is checked and
//! staged as the configuration layer every function reads (`/opt/inlet.toml`,
//! no network call at cold start), and the parameters are written for
//! `sam deploy --parameter-overrides`.

use std::path::{Path, PathBuf};

use clap::Args;
use inlet_shared::Config;
use inlet_shared::config::{ConfigError, secret_names};

use crate::CliError;

/// Arguments of `inlet deploy-params`.
#[derive(Debug, Args)]
pub struct DeployParamsArgs {
    /// The configuration to deploy (its secrets are not read).
    #[arg(long, env = "INLET_CONFIG_FILE")]
    pub config: PathBuf,
    /// Where to stage it: `config/inlet.toml` (the layer template.yaml
    /// packages) and `parameter-overrides`.
    #[arg(long, default_value = ".inlet-deploy")]
    pub out: PathBuf,
}

/// What every secret reference resolves to when only the configuration's
/// shape matters: a value every scheme accepts (Standard Webhooks needs
/// `whsec_<base64>`).
pub(crate) const STAND_IN: &str = "whsec_c3RhbmQtaW4tc2VjcmV0";

/// The parameters of template.yaml derived from a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// Topics whose stream the stack creates.
    pub topics: Vec<String>,
    /// Streams the configuration names (topics.<name>.stream), which the
    /// functions may write to.
    pub existing_streams: Vec<String>,
    /// Whether the poll schedule runs.
    pub poll: bool,
}

impl Parameters {
    /// Derives them from a parsed configuration.
    pub fn of(config: &Config) -> Result<Parameters, ConfigError> {
        let topics: Vec<String> = config.created_streams.iter().cloned().collect();
        if topics.is_empty() {
            return Err(ConfigError::new(
                "topics",
                "name at least one topic without a stream: the stack creates a stream for each",
            ));
        }
        // The template names each stream resource by the topic's letters and
        // digits (`&{Topic}Stream`): two topics must not share them.
        let mut resources = std::collections::BTreeMap::new();
        for topic in &topics {
            let id: String = topic.chars().filter(char::is_ascii_alphanumeric).collect();
            if let Some(other) = resources.insert(id, topic) {
                return Err(ConfigError::new(
                    format!("topics.{topic}"),
                    format!(
                        "differs from topics.{other} only in '-', '_' or '.': rename one (the stack's resources are named by letters and digits)"
                    ),
                ));
            }
        }
        Ok(Parameters {
            topics,
            existing_streams: config
                .topics
                .values()
                .filter(|t| !config.created_streams.contains(&t.name))
                .map(|t| t.stream.clone())
                .collect(),
            poll: !config.pollers.is_empty(),
        })
    }

    /// `Key=Value` pairs for `sam deploy --parameter-overrides`.
    pub fn overrides(&self) -> String {
        let existing = if self.existing_streams.is_empty() {
            "none".to_owned()
        } else {
            // By name in any region and account of the standard partition.
            self.existing_streams
                .iter()
                .map(|name| format!("arn:aws:kinesis:*:*:stream/{name}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "Topics={} ExistingStreamArns={existing} PollSchedule={}",
            self.topics.join(","),
            if self.poll { "ENABLED" } else { "DISABLED" }
        )
    }
}

/// The keys whose value is an `env:` reference: in AWS the functions have
/// no such variables.
fn env_references(text: &str) -> Vec<String> {
    fn walk(at: &str, value: &toml::Value, found: &mut Vec<String>) {
        match value {
            toml::Value::String(s) if s.starts_with("env:") => found.push(at.to_owned()),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{at}[{i}]"), item, found);
                }
            }
            toml::Value::Table(table) => {
                for (key, item) in table {
                    let at = if at.is_empty() {
                        key.clone()
                    } else {
                        format!("{at}.{key}")
                    };
                    walk(&at, item, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        walk("", &toml::Value::Table(table), &mut found);
    }
    found
}

pub(crate) fn run(args: DeployParamsArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.config.display())))?;
    let place = args.config.display().to_string();
    // Secrets are only named here; a stand-in satisfies every reference.
    let config =
        Config::parse(&text, &|_| Some(STAND_IN.to_owned())).map_err(|e| e.within(&place))?;
    let env = env_references(&text);
    if !env.is_empty() {
        return Err(ConfigError::new(
            format!("{place}: {}", env.join(", ")),
            "env:NAME references have no value in AWS (the functions get no such variables): use secret:NAME (a Secrets Manager secret, read locally from INLET_SECRET_<NAME>)",
        )
        .into());
    }
    let parameters = Parameters::of(&config).map_err(|e| e.within(&place))?;
    stage(&args.out, &text, &parameters)?;
    let secrets = secret_names(&text);
    println!("Staged {} for sam deploy:", args.config.display());
    println!(
        "  layer             {}",
        args.out.join("config/inlet.toml").display()
    );
    println!(
        "  parameters        {}",
        args.out.join("parameter-overrides").display()
    );
    println!("    {}", parameters.overrides());
    if !secrets.is_empty() {
        println!(
            "\nSecrets the functions read at cold start (create each once, under the template's SecretPrefix, default inlet/):"
        );
        for name in &secrets {
            println!("  aws secretsmanager create-secret --name {name} --secret-string \"$VALUE\"");
        }
    }
    println!(
        "\nThen:\n  sam build && sam deploy --guided --parameter-overrides $(cat {})",
        args.out.join("parameter-overrides").display()
    );
    Ok(())
}

fn stage(out: &Path, text: &str, parameters: &Parameters) -> std::io::Result<()> {
    std::fs::create_dir_all(out.join("config"))?;
    std::fs::write(out.join("config/inlet.toml"), text)?;
    std::fs::write(
        out.join("parameter-overrides"),
        parameters.overrides() + "\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_that_differ_only_in_punctuation_are_refused() {
        let config =
            Config::parse("[topics.order-events]\n[topics.order_events]\n", &|_| None).unwrap();
        let error = Parameters::of(&config).unwrap_err().to_string();
        assert!(
            error.contains("topics.order_events") && error.contains("topics.order-events"),
            "{error}"
        );
    }

    #[test]
    fn finds_every_env_reference_by_key() {
        let text = r#"
[sources.a]
secrets = ["secret:x", "env:A"]
[pollers.p]
bearer = "env:B"
headers = { "X-Key" = "env:C" }
"#;
        assert_eq!(
            env_references(text),
            [
                "pollers.p.bearer",
                "pollers.p.headers.X-Key",
                "sources.a.secrets[1]"
            ]
        );
    }
}
