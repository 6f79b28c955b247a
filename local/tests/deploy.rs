//! Deploying your own configuration, as far as it can be proven without an
//! AWS account: `inlet deploy-params` derives the template's parameters from
//! an example `inlet.toml` (several sources, topics, a token and a poller)
//! and stages it as the configuration layer; `template.yaml` wires exactly
//! what the functions read (cfn-lint, in the test command, checks its
//! ForEach expansion); and each function's cold start, given the layer and
//! the environment the template sets, reads its secrets from a real Secrets
//! Manager API on loopback (moto) and gets a usable configuration pointed at
//! the stack's streams and tables.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use inlet_embedded::EmbeddedLog;
use inlet_shared::config::Config;
use inlet_shared::publish::Publisher;
use inlet_shared::secrets::load_config;

const INLET: &str = env!("CARGO_BIN_EXE_inlet");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/deploy.toml");
const TEMPLATE: &str = include_str!("../../template.yaml");

fn deploy_params(config: &Path, out: &Path) -> std::process::Output {
    Command::new(INLET)
        .args(["deploy-params", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .env_remove("INLET_CONFIG_FILE")
        .output()
        .unwrap()
}

/// The value of `Key=` in a parameter-overrides line.
fn parameter<'a>(overrides: &'a str, key: &str) -> &'a str {
    overrides
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {overrides}"))
}

#[test]
fn an_example_configuration_deploys_and_every_function_would_start_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".inlet-deploy");
    let staged = deploy_params(Path::new(EXAMPLE), &out);
    let printed = String::from_utf8_lossy(&staged.stdout);
    assert!(staged.status.success(), "{staged:?}");
    for secret in [
        "inlet/segment",
        "inlet/github",
        "inlet/stripe",
        "inlet/writer-token",
    ] {
        assert!(
            printed.contains(&format!("create-secret --name {secret} ")),
            "{printed}"
        );
    }
    // The layer holds the file as written.
    assert_eq!(
        std::fs::read_to_string(out.join("config/inlet.toml")).unwrap(),
        std::fs::read_to_string(EXAMPLE).unwrap()
    );
    let overrides = std::fs::read_to_string(out.join("parameter-overrides")).unwrap();
    assert_eq!(parameter(&overrides, "Topics"), "orders,webhooks");
    assert_eq!(parameter(&overrides, "ExistingStreamArns"), "none");
    assert_eq!(parameter(&overrides, "ExistingStreams"), "none");
    assert_eq!(parameter(&overrides, "PollSchedule"), "ENABLED");

    // The template takes those parameters and sets what the functions read.
    for wiring in [
        "ContentUri: .inlet-deploy/config",
        "INLET_CONFIG_FILE: /opt/inlet.toml",
        "INLET_STREAM_PREFIX: !Sub \"${AWS::StackName}.\"",
        "INLET_TOPICS: !Join [\",\", !Ref Topics]",
        "INLET_DEDUPE_TABLE: !Ref DedupeTable",
        "INLET_CHECKPOINT_TABLE: !Ref CheckpointTable",
        "Name: !Sub \"${AWS::StackName}.${Topic}\"",
        "  Topics:\n",
        "  ExistingStreamArns:\n",
        "  ExistingStreams:\n",
        "  PollSchedule:\n",
    ] {
        assert!(TEMPLATE.contains(wiring), "template.yaml lacks {wiring:?}");
    }

    // Each function's cold start, with the environment the template sets.
    let moto = inlet_e2e::start_moto();
    let secrets = inlet_e2e::secrets_client(&moto.endpoint);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let layer = out.join("config/inlet.toml").to_str().unwrap().to_owned();
    let topics = parameter(&overrides, "Topics").to_owned();
    let env = |name: &str| match name {
        "INLET_CONFIG_FILE" => Some(layer.clone()),
        "INLET_STREAM_PREFIX" => Some("mystack.".to_owned()),
        "INLET_TOPICS" => Some(topics.clone()),
        "INLET_DEDUPE_TABLE" => Some("mystack-DedupeTable-1".to_owned()),
        "INLET_CHECKPOINT_TABLE" => Some("mystack-CheckpointTable-1".to_owned()),
        _ => None,
    };
    let config = runtime.block_on(async {
        // Before its secrets exist, a cold start fails naming one.
        let missing = load_config(&secrets, &env).await.unwrap_err().to_string();
        assert!(missing.contains("inlet/"), "{missing}");
        for name in [
            "inlet/segment",
            "inlet/github",
            "inlet/stripe",
            "inlet/writer-token",
        ] {
            secrets
                .create_secret()
                .name(name)
                .secret_string(format!("{name}-value"))
                .send()
                .await
                .unwrap();
        }
        load_config(&secrets, &env).await.unwrap()
    });
    config.check_usable().unwrap();
    assert_eq!(config.topics["webhooks"].stream, "mystack.webhooks");
    assert_eq!(config.topics["orders"].stream, "mystack.orders");
    assert_eq!(
        config.dedupe_table.as_deref(),
        Some("mystack-DedupeTable-1")
    );
    assert_eq!(
        config.tokens["dashboard"].token.expose(),
        "inlet/writer-token-value"
    );
    let config = Arc::new(config);
    assert!(webhook_receiver::warnings(&config).is_empty());
    assert!(write_proxy::warnings(&config).is_empty());
    let log = EmbeddedLog::open(dir.path(), ["webhooks", "orders"]).unwrap();
    let publisher = Publisher::new(Arc::new(log));
    let _receiver = webhook_receiver::WebhookReceiver::new(config.clone(), publisher.clone());
    let _writer = write_proxy::WriteProxy::new(config.clone(), publisher);
    assert_eq!(config.pollers.len(), 1);
    assert!(
        config.checkpoint_table.is_some(),
        "the poller needs its table"
    );

    // A deployment that did not create a topic's stream is refused by name.
    let stale = |name: &str| match name {
        "INLET_TOPICS" => Some("webhooks".to_owned()),
        other => env(other),
    };
    let error = runtime
        .block_on(load_config(&secrets, &stale))
        .unwrap_err()
        .to_string();
    assert!(error.contains("topics.orders"), "{error}");
}

#[test]
fn deploy_params_refuses_env_references_and_names_existing_streams() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.webhooks]

[topics.legacy]
stream = "old-stream"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
"#,
    )
    .unwrap();
    let refused = deploy_params(&config, &dir.path().join("out"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("sources.segment.secrets[0]") && stderr.contains("use secret:NAME"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists(), "nothing staged");

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("env:SEGMENT_SECRET", "secret:inlet/segment");
    std::fs::write(&config, text).unwrap();
    let staged = deploy_params(&config, &dir.path().join("out"));
    assert!(staged.status.success(), "{staged:?}");
    let overrides = std::fs::read_to_string(dir.path().join("out/parameter-overrides")).unwrap();
    assert_eq!(parameter(&overrides, "Topics"), "webhooks");
    assert_eq!(
        parameter(&overrides, "ExistingStreamArns"),
        "arn:aws:kinesis:*:*:stream/old-stream"
    );
    assert_eq!(parameter(&overrides, "ExistingStreams"), "old-stream");
    assert_eq!(parameter(&overrides, "PollSchedule"), "DISABLED");
    let _ = Config::parse(&std::fs::read_to_string(&config).unwrap(), &|_| {
        Some("x".into())
    })
    .unwrap();
}

/// The SAM CLI's own expansion of the template's `Fn::ForEach` loops (what
/// `sam build` and `sam deploy` run first), given the parameters derived
/// from the example plus a destination and an existing stream: each topic,
/// fan-out and destination becomes its resource. (`sam build` refused a
/// loop named like a parameter, which cfn-lint and `sam validate` let pass.)
#[test]
fn sam_expands_the_template_with_the_derived_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}",
            std::fs::read_to_string(EXAMPLE).unwrap(),
            r#"
[topics.clicks]
stream = "shared-clicks"

[destinations.archive]
topic = "orders"
kind = "http"
url = "https://example.com/hooks/orders"
secrets = ["secret:inlet/archive-key"]

[destinations.clicks-db]
topic = "clicks"
kind = "postgres"
url = "secret:inlet/clicks-db-url"
"#
        ),
    )
    .unwrap();
    let out = dir.path().join(".inlet-deploy");
    let staged = deploy_params(&config, &out);
    assert!(staged.status.success(), "{staged:?}");
    let overrides = std::fs::read_to_string(out.join("parameter-overrides")).unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let python = format!("{root}/.venv/bin/python");
    assert!(
        Path::new(&python).exists(),
        "{python} is missing: bash tests/run.sh installs the SAM CLI into .venv"
    );
    let expanded = Command::new(python)
        .arg(format!("{root}/tests/sam_expand.py"))
        .arg(format!("{root}/template.yaml"))
        .args(overrides.split_whitespace())
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap();
    let resources = String::from_utf8_lossy(&expanded.stdout);
    assert!(
        expanded.status.success(),
        "{}",
        String::from_utf8_lossy(&expanded.stderr)
    );
    for resource in [
        "ordersStream AWS::Kinesis::Stream",
        "webhooksStream AWS::Kinesis::Stream",
        "ordersFanout AWS::Lambda::EventSourceMapping",
        "Existingsharedclicks",
        "archiveordersDestination AWS::Serverless::Function",
        "ExistingclicksdbsharedclicksDestination AWS::Serverless::Function",
        "DestinationRetryFunction AWS::Serverless::Function",
    ] {
        assert!(
            resources.contains(resource),
            "no {resource} in\n{resources}"
        );
    }
}
