//! `inlet urls --stack NAME` against a real CloudFormation API on loopback
//! (moto's server), through the AWS SDK the binary uses: the stack's outputs
//! and each configured source's URL are printed; an unknown stack is a clear
//! error.

use std::process::Command;

const INLET: &str = env!("CARGO_BIN_EXE_inlet");

fn inlet(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(INLET)
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("INLET_CONFIG_FILE")
        .output()
        .unwrap()
}

#[test]
fn urls_prints_each_sources_webhook_url_from_the_stack_outputs() {
    let moto = inlet_e2e::start_moto();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        inlet_e2e::cloudformation_client(&moto.endpoint)
            .create_stack()
            .stack_name("inlet-test")
            .template_body(
                r#"{
  "Resources": {"Failures": {"Type": "AWS::SQS::Queue"}},
  "Outputs": {
    "WebhookBaseUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks"},
    "WriterBaseUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com"}
  }
}"#,
            )
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.github]
scheme = "github"
secrets = ["secret:inlet/github"]
topic = "webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
"#,
    )
    .unwrap();
    let output = inlet(
        &moto.endpoint,
        &[
            "urls",
            "--stack",
            "inlet-test",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for line in [
        "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/github    scheme github, topic webhooks",
        "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/segment    scheme segment, topic webhooks",
        "Writer API: https://abc123.execute-api.us-east-1.amazonaws.com",
    ] {
        assert!(printed.contains(line), "{line:?} not in:\n{printed}");
    }

    let output = inlet(&moto.endpoint, &["urls", "--stack", "no-such-stack"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-stack"), "{stderr}");
}
