//! `inlet deploy-params --config inlet.toml`: readies a configuration for
//! `sam deploy`. CloudFormation cannot read the file, so what the template
//! needs from it is derived here, never typed twice: the file is checked and
//! staged as the configuration layer every function reads (`/opt/inlet.toml`,
//! no network call at cold start), and the parameters are written for
//! `sam deploy --parameter-overrides`.

use std::path::{Path, PathBuf};

use clap::Args;
use inlet_shared::Config;
use inlet_shared::config::{ConfigError, resource_id, secret_names};

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
    /// The AWS partition of the existing streams' ARNs (`aws-cn`,
    /// `aws-us-gov` for those regions).
    #[arg(long, default_value = "aws")]
    pub partition: String,
    /// The template's SecretPrefix: every `secret:NAME` must start with it
    /// (the functions may read no other secret).
    #[arg(long, default_value = "inlet/")]
    pub secret_prefix: String,
}

/// What every secret reference resolves to when only the configuration's
/// shape matters: a value every scheme accepts (Standard Webhooks needs
/// `whsec_<base64>`).
pub(crate) const STAND_IN: &str = "whsec_c3RhbmQtaW4tc2VjcmV0";

/// The parameters of template.yaml derived from a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// Ids of the topics whose stream the stack creates.
    pub topics: Vec<String>,
    /// Streams the configuration names (topics.<name>.stream), which the
    /// functions may write to.
    pub existing_streams: Vec<String>,
    /// Destinations of created topics, `<name>:<topic id>`.
    pub destinations: Vec<String>,
    /// Destinations of topics naming a stream, `<name>:<stream>`.
    pub existing_stream_destinations: Vec<String>,
    /// Whether the poll schedule runs.
    pub poll: bool,
    /// The partition of the existing streams' ARNs.
    pub partition: String,
    /// The template's SecretPrefix.
    pub secret_prefix: String,
}

/// The template's default SecretPrefix.
const DEFAULT_SECRET_PREFIX: &str = "inlet/";

/// The longest Kinesis stream name.
const MAX_STREAM_NAME: usize = 128;

impl Parameters {
    /// Derives them from a parsed configuration.
    pub fn of(config: &Config) -> Result<Parameters, ConfigError> {
        // The template names each stream and its resources by the topic's
        // letters and digits: two topics must not share them.
        let mut ids = std::collections::BTreeMap::new();
        for topic in &config.created_streams {
            let id = resource_id(topic);
            if id.is_empty() {
                return Err(ConfigError::new(
                    format!("topics.{topic}"),
                    "needs a letter or digit: the stack names the topic's stream and resources by them",
                ));
            }
            if let Some(other) = ids.insert(id, topic) {
                return Err(ConfigError::new(
                    format!("topics.{topic}"),
                    format!(
                        "differs from topics.{other} only in '-', '_' or '.': rename one (the stack's resources are named by letters and digits)"
                    ),
                ));
            }
        }
        if ids.is_empty() {
            return Err(ConfigError::new(
                "topics",
                "name at least one topic without a stream: the stack creates a stream for each",
            ));
        }
        let topics: Vec<String> = ids.into_keys().collect();
        let mut existing_streams = Vec::new();
        for topic in config.topics.values() {
            if config.created_streams.contains(&topic.name) {
                continue;
            }
            let name = &topic.stream;
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if name.is_empty() || name.len() > MAX_STREAM_NAME || !valid {
                return Err(ConfigError::new(
                    format!("topics.{}.stream", topic.name),
                    format!(
                        "{name:?} is not a Kinesis stream name (1 to {MAX_STREAM_NAME} letters, digits, '_', '.', '-')"
                    ),
                ));
            }
            existing_streams.push(name.clone());
        }
        let (mut destinations, mut existing_stream_destinations) = (Vec::new(), Vec::new());
        // Each destination's function is named by the letters and digits of
        // its entry: two must not share them.
        let mut functions = std::collections::BTreeMap::new();
        for destination in config.destinations.values() {
            let topic = &config.topics[&destination.topic];
            let (entry, list) = if config.created_streams.contains(&topic.name) {
                (
                    format!("{}:{}", destination.name, resource_id(&topic.name)),
                    &mut destinations,
                )
            } else {
                (
                    format!("{}:{}", destination.name, topic.stream),
                    &mut existing_stream_destinations,
                )
            };
            if let Some(other) = functions.insert(resource_id(&entry), &destination.name) {
                return Err(ConfigError::new(
                    format!("destinations.{}", destination.name),
                    format!(
                        "its function would share a name with destinations.{other}'s (they differ only in '-', '_' or '.'): rename one"
                    ),
                ));
            }
            list.push(entry);
        }
        Ok(Parameters {
            topics,
            destinations,
            existing_stream_destinations,
            existing_streams,
            poll: !config.pollers.is_empty(),
            partition: "aws".to_owned(),
            secret_prefix: DEFAULT_SECRET_PREFIX.to_owned(),
        })
    }

    /// The same parameters for the stack's `partition` and `SecretPrefix`:
    /// every secret in `secrets` must be under it.
    pub fn with_stack(
        mut self,
        partition: &str,
        secret_prefix: &str,
        secrets: &[String],
    ) -> Result<Parameters, ConfigError> {
        if !["aws", "aws-cn", "aws-us-gov"].contains(&partition) {
            return Err(ConfigError::new(
                "--partition",
                format!("{partition:?} is not aws, aws-cn or aws-us-gov"),
            ));
        }
        if !secret_prefix.ends_with('/') {
            return Err(ConfigError::new(
                "--secret-prefix",
                format!("{secret_prefix:?} must end with '/', as the template's SecretPrefix does"),
            ));
        }
        let outside: Vec<&str> = secrets
            .iter()
            .filter(|name| !name.starts_with(secret_prefix))
            .map(String::as_str)
            .collect();
        if !outside.is_empty() {
            return Err(ConfigError::new(
                "secret:",
                format!(
                    "{} not under the SecretPrefix {secret_prefix:?}: the functions may read no other secret; rename them, or deploy with --secret-prefix and SecretPrefix set alike",
                    outside.join(", ")
                ),
            ));
        }
        self.partition = partition.to_owned();
        self.secret_prefix = secret_prefix.to_owned();
        Ok(self)
    }

    /// `Key=Value` pairs for `sam deploy --parameter-overrides`.
    pub fn overrides(&self) -> String {
        let existing = if self.existing_streams.is_empty() {
            "none".to_owned()
        } else {
            // By name in any region and account of the partition.
            self.existing_streams
                .iter()
                .map(|name| format!("arn:{}:kinesis:*:*:stream/{name}", self.partition))
                .collect::<Vec<_>>()
                .join(",")
        };
        // The names too: the Reader hub's fan-out maps each of them (in the
        // stack's own account and region).
        let names = if self.existing_streams.is_empty() {
            "none".to_owned()
        } else {
            self.existing_streams.join(",")
        };
        let list = |items: &[String]| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(",")
            }
        };
        let mut overrides = format!(
            "Topics={} ExistingStreamArns={existing} ExistingStreams={names} PollSchedule={}",
            self.topics.join(","),
            if self.poll { "ENABLED" } else { "DISABLED" }
        );
        if !self.destinations.is_empty() || !self.existing_stream_destinations.is_empty() {
            overrides.push_str(&format!(
                " Destinations={} ExistingStreamDestinations={}",
                list(&self.destinations),
                list(&self.existing_stream_destinations)
            ));
        }
        if self.secret_prefix != DEFAULT_SECRET_PREFIX {
            overrides.push_str(&format!(" SecretPrefix={}", self.secret_prefix));
        }
        overrides
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
    let secrets = secret_names(&text);
    let parameters = Parameters::of(&config)
        .and_then(|p| p.with_stack(&args.partition, &args.secret_prefix, &secrets))
        .map_err(|e| e.within(&place))?;
    let files = layer_files(&config)?;
    stage(&args.out, &text, &parameters)?;
    let dir = args.config.parent().unwrap_or(Path::new("."));
    for file in &files {
        let to = args.out.join("config").join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(dir.join(file), &to).map_err(|e| {
            CliError::Usage(format!("cannot stage {}: {e}", dir.join(file).display()))
        })?;
    }
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
            "\nSecrets the functions read at cold start (create each once; all are under the SecretPrefix {}):",
            parameters.secret_prefix
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

/// Files the configuration names (a PostgreSQL destination's `ca_file`),
/// staged into the layer beside it: they must be relative to it.
fn layer_files(config: &Config) -> Result<Vec<PathBuf>, ConfigError> {
    let mut files = Vec::new();
    for destination in config.destinations.values() {
        if let inlet_shared::config::DestinationKind::Postgres(pg) = &destination.kind
            && let Some(file) = &pg.ca_file
        {
            let inside = file.is_relative()
                && file
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                return Err(ConfigError::new(
                    format!("destinations.{}.ca_file", destination.name),
                    "must be a path under the configuration's directory, so deploy-params can put it in the layer beside it",
                ));
            }
            files.push(file.clone());
        }
    }
    Ok(files)
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
    fn a_topic_reaches_the_template_by_its_letters_and_digits_and_the_functions_find_its_stream() {
        let text = "[topics.mouse-moves]\n";
        assert!(
            parameters(text)
                .overrides()
                .starts_with("Topics=mousemoves ")
        );
        let mut config = Config::parse(text, &|_| None).unwrap();
        let env = |name: &str| match name {
            "INLET_STREAM_PREFIX" => Some("prod.".to_owned()),
            "INLET_TOPICS" => Some("mousemoves".to_owned()),
            _ => None,
        };
        config
            .deploy(&inlet_shared::config::Deployment::from_env(&env).unwrap())
            .unwrap();
        assert_eq!(config.topics["mouse-moves"].stream, "prod.mousemoves");
        let only_dashes = Config::parse("[topics.--]\n", &|_| None).unwrap();
        assert!(Parameters::of(&only_dashes).is_err());
    }

    fn parameters(text: &str) -> Parameters {
        Parameters::of(&Config::parse(text, &|_| Some(STAND_IN.to_owned())).unwrap()).unwrap()
    }

    #[test]
    fn each_destination_reaches_the_template_with_its_topics_stream() {
        let env = |_: &str| Some(STAND_IN.to_owned());
        let config = Config::parse(
            "[topics.mouse-moves]\n[topics.b]\nstream = \"their-stream\"\n[tokens.t]\ntoken = \"secret:inlet/t\"\ntopics = [\"*\"]\n\
             [destinations.hook]\ntopic = \"mouse-moves\"\nkind = \"http\"\nurl = \"https://e/\"\nsecrets = [\"secret:inlet/k\"]\n\
             [destinations.db]\ntopic = \"b\"\nkind = \"postgres\"\nurl = \"secret:inlet/db\"\n",
            &env,
        )
        .unwrap();
        let overrides = Parameters::of(&config).unwrap().overrides();
        assert!(
            overrides.ends_with(
                " Destinations=hook:mousemoves ExistingStreamDestinations=db:their-stream"
            ),
            "{overrides}"
        );
    }

    #[test]
    fn a_ca_file_goes_into_the_layer_only_from_under_the_configuration() {
        let config = |file: &str| {
            let text = format!(
                "[topics.a]\n[destinations.db]\ntopic = \"a\"\nkind = \"postgres\"\nurl = \"secret:inlet/db\"\nca_file = \"{file}\"\n"
            );
            Config::parse(&text, &|_| Some(STAND_IN.to_owned())).unwrap()
        };
        assert_eq!(
            layer_files(&config("certs/global-bundle.pem")).unwrap(),
            [PathBuf::from("certs/global-bundle.pem")]
        );
        assert!(layer_files(&config("/etc/ssl/rds.pem")).is_err());
        assert!(layer_files(&config("../rds.pem")).is_err());
    }

    #[test]
    fn existing_streams_are_arns_of_the_chosen_partition() {
        let p = parameters("[topics.a]\n[topics.b]\nstream = \"their-stream\"\n");
        assert_eq!(
            p.overrides(),
            "Topics=a ExistingStreamArns=arn:aws:kinesis:*:*:stream/their-stream ExistingStreams=their-stream PollSchedule=DISABLED"
        );
        let p = p.with_stack("aws-cn", "inlet/", &[]).unwrap();
        assert!(
            p.overrides()
                .contains("arn:aws-cn:kinesis:*:*:stream/their-stream")
        );
        assert!(p.clone().with_stack("azure", "inlet/", &[]).is_err());
    }

    #[test]
    fn secrets_outside_the_secret_prefix_are_refused_by_name() {
        let p = parameters("[topics.a]\n");
        let secrets = ["inlet/ok".to_owned(), "other/github".to_owned()];
        let error = p
            .clone()
            .with_stack("aws", "inlet/", &secrets)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("other/github") && !error.contains("inlet/ok"),
            "{error}"
        );
        let p = p.with_stack("aws", "other/", &secrets[1..]).unwrap();
        assert!(
            p.overrides().ends_with(" SecretPrefix=other/"),
            "{}",
            p.overrides()
        );
    }

    #[test]
    fn an_existing_stream_name_kinesis_refuses_is_refused() {
        let long = "s".repeat(129);
        for name in [long.as_str(), "has space", "slash/name"] {
            let text = format!("[topics.a]\n[topics.b]\nstream = \"{name}\"\n");
            let config = Config::parse(&text, &|_| None).unwrap();
            let error = Parameters::of(&config).unwrap_err().to_string();
            assert!(error.contains("topics.b.stream"), "{name}: {error}");
        }
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
