//! The console's "Send a test event" for every named scheme that signs
//! with a shared secret, through a running `inlet serve`: the server signs
//! a sample (as the provider would) and the receiver accepts it; the
//! overview says what each source's secret is; a secret that arrived in
//! Notion's handshake is printed once by `inlet handshake-secret`.

mod common;

use std::process::Command;

use common::serve_with;
use inlet_shared::signature::SCHEME_NAMES;

/// The public keys verify only; `hmac` and `none` need keys of their own.
const NOT_SIGNING: [&str; 5] = ["hmac", "none", "sendgrid", "telnyx", "discord"];
const STANDARD: [&str; 6] = [
    "standard-webhooks",
    "svix",
    "clerk",
    "resend",
    "openai",
    "replicate",
];

fn secret_for(scheme: &str) -> &'static str {
    match scheme {
        s if STANDARD.contains(&s) => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "adyen" => "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
        "postmark" => "console-user:console-password",
        _ => "console-shared-secret",
    }
}

fn signing_schemes() -> Vec<&'static str> {
    SCHEME_NAMES
        .split(", ")
        .filter(|name| !NOT_SIGNING.contains(name))
        .collect()
}

#[test]
fn a_console_test_event_is_accepted_for_every_scheme_that_signs_with_a_shared_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from(
        "[topics.hooks]\n[tokens.ops]\ntoken = \"env:OPS\"\ntopics = [\"hooks\"]\nread = [\"hooks\"]\n",
    );
    let mut env = vec![("OPS".to_owned(), "ops-token".to_owned())];
    for (i, scheme) in signing_schemes().into_iter().enumerate() {
        config.push_str(&format!(
            "[sources.{scheme}]\nscheme = \"{scheme}\"\nsecrets = [\"env:SECRET_{i}\"]\ntopic = \"hooks\"\n"
        ));
        if ["twilio", "square", "hubspot"].contains(&scheme) {
            config.push_str("public_url = \"https://hooks.example.com\"\n");
        }
        env.push((format!("SECRET_{i}"), secret_for(scheme).to_owned()));
    }
    let path = dir.path().join("inlet.toml");
    std::fs::write(&path, &config).unwrap();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let data = dir.path().join("data");
    let server = serve_with(
        &[
            "--config",
            path.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &env,
    );
    let base = &server.base_url;
    let client = reqwest::blocking::Client::new();
    let overview: serde_json::Value = client
        .get(format!("{base}/console/api/overview"))
        .bearer_auth("ops-token")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sources = overview["sources"].as_array().unwrap();
    assert_eq!(sources.len(), signing_schemes().len());
    for source in sources {
        assert_eq!(source["canSign"], true, "{source}");
        assert!(
            !source["secretForm"].as_str().unwrap().is_empty(),
            "{source}"
        );
    }
    for scheme in signing_schemes() {
        let sample: serde_json::Value = client
            .post(format!("{base}/console/api/sources/{scheme}/sample"))
            .bearer_auth("ops-token")
            .send()
            .unwrap()
            .json()
            .unwrap();
        let mut request = client.post(sample["url"].as_str().unwrap());
        for pair in sample["headers"].as_array().unwrap() {
            request = request.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        }
        let answer = request
            .body(sample["body"].as_str().unwrap().to_owned())
            .send()
            .unwrap();
        let status = answer.status();
        assert_eq!(status, 200, "{scheme}: {}", answer.text().unwrap());
    }

    // Notion's first, unsigned request: its token is printed once.
    let token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    let answer = client
        .post(format!("{base}/webhooks/notion"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"verification_token":"{token}"}}"#))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let take = || {
        Command::new(common::INLET)
            .args([
                "handshake-secret",
                "notion",
                "--url",
                base,
                "--token",
                "ops-token",
            ])
            .output()
            .unwrap()
    };
    let first = take();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), token);
    let second = take();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("shown once"));
}
