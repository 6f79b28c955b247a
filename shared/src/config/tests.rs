//! Parsing and validation of the whole file, section by section.

use std::time::Duration;

use super::*;
use crate::signature::Secret;

const DESIGN_EXAMPLE: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
stream_id = "segment"
event_id = "/type"

[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["*"]

[pollers.beer]
url = "https://api.example.com/beers/random"
every = "30s"
items = ""
key = "/id"
event_id = "beer"
value = "/style"
topic = "webhooks"
stream_id = "beer"
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "SEGMENT_SECRET" => Some("s3cret".into()),
        "DASHBOARD_TOKEN" => Some("tok".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parse_err(text: &str) -> String {
    match Config::parse(text, &env) {
        Err(err) => err.to_string(),
        Ok(config) => panic!("expected a config error, got {config:?}"),
    }
}

#[test]
fn parses_the_design_example() {
    let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
    assert_eq!(config.topics["webhooks"].stream, "inlet-webhooks");
    let segment = &config.sources["segment"];
    assert_eq!(segment.scheme, Scheme::Segment);
    assert_eq!(segment.secrets, vec![Secret::new("s3cret")]);
    assert_eq!(segment.event_id, Field::Pointer("/type".into()));
    assert_eq!(segment.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert_eq!(config.tokens["dashboard"].topics, TopicAccess::All);
    let beer = &config.pollers["beer"];
    assert_eq!(beer.every, Duration::from_secs(30));
    assert_eq!(beer.event_id, Field::Constant("beer".into()));
}

#[test]
fn defaults_stream_id_to_the_source_name_and_event_id_to_type() {
    let config = Config::parse(
        r#"
[topics.t]
stream = "s"
[sources.shop]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
"#,
        &env,
    )
    .unwrap();
    assert_eq!(config.sources["shop"].stream_id, "shop");
    assert_eq!(
        config.sources["shop"].event_id,
        Field::Pointer("/type".into())
    );
}

#[test]
fn errors_name_the_bad_key_or_variable() {
    let base = "[topics.t]\nstream = \"s\"\n[sources.a]\ntopic = \"t\"\n";
    let cases = [
        (
            format!("{base}scheme = \"segment\"\nsecrets = [\"env:MISSING\"]"),
            "MISSING is not set",
        ),
        (
            format!("{base}scheme = \"segment\"\nsecrets = [\"env:EMPTY\"]"),
            "EMPTY is empty",
        ),
        (
            format!("{base}scheme = \"segment\"\nsecrets = [\"literal\"]"),
            "sources.a.secrets[0]",
        ),
        (
            format!("{base}scheme = \"segment\""),
            "needs at least one secret",
        ),
        (format!("{base}scheme = \"rot13\""), "sources.a.scheme"),
        (
            format!("{base}scheme = \"none\"\nsecrets = [\"env:SEGMENT_SECRET\"]"),
            "remove the secrets",
        ),
        (
            format!("{base}scheme = \"none\"\nbogus = 1"),
            "unknown field `bogus`",
        ),
        (
            format!("{base}scheme = \"none\"\nmax_body_bytes = 0"),
            "max_body_bytes",
        ),
        (
            "[sources.a]\nscheme = \"none\"\ntopic = \"nope\"".to_owned(),
            "no topic \"nope\"",
        ),
        (
            "[topics.t]\nstream = \" \"".to_owned(),
            "leave it out to have the deployment create the stream",
        ),
        (
            "[tokens.x]\ntoken = \"env:DASHBOARD_TOKEN\"\ntopics = [\"nope\"]".to_owned(),
            "tokens.x.topic",
        ),
    ];
    for (text, expected) in cases {
        let message = parse_err(&text);
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn writer_settings_default_and_validate() {
    let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
    assert_eq!(config.writer, WriterSettings::default());
    let config = Config::parse(
        "[writer]\ncors_origins = [\"https://app.example.com\"]\npublic_url = \"https://w.example.com/\"",
        &env,
    )
    .unwrap();
    assert_eq!(
        config.writer.cors,
        CorsOrigins::List(vec!["https://app.example.com".into()])
    );
    assert_eq!(
        config.writer.public_url.as_deref(),
        Some("https://w.example.com")
    );
    let any = Config::parse("[writer]\ncors_origins = [\"*\"]", &env).unwrap();
    assert_eq!(any.writer.cors, CorsOrigins::Any);
    for (text, expected) in [
        (
            "[writer]\ncors_origins = [\"*\", \"https://a.b\"]",
            "list nothing else",
        ),
        (
            "[writer]\ncors_origins = [\"app.example.com\"]",
            "is not an origin",
        ),
        (
            "[writer]\ncors_origins = [\"https://app.example.com/page\"]",
            "it has a path",
        ),
        (
            "[writer]\ncors_origins = [\"https://app.example.com/\"]",
            "it has a path",
        ),
        ("[writer]\nmax_body_bytes = 0", "max_body_bytes"),
        ("[writer]\npublic_url = \"ftp://x\"", "public_url"),
    ] {
        let message = parse_err(text);
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn each_scheme_has_its_providers_defaults() {
    let text = r#"
[topics.t]
stream = "s"
[sources.gh]
scheme = "github"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
[sources.stripe]
scheme = "stripe"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
tolerance = "2m"
dedupe_window = "1h"
[sources.shop]
scheme = "shopify"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
delivery_id = "none"
event_id = "header:X-Custom"
[sources.acme]
scheme = "hmac"
secrets = ["env:SEGMENT_SECRET"]
topic = "t"
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "sig="
timestamp_header = "X-Acme-Time"
dedupe_window = "0"
"#;
    let config = Config::parse(text, &env).unwrap();
    let gh = &config.sources["gh"];
    assert_eq!(gh.event_id, Field::Header("x-github-event".into()));
    assert_eq!(
        gh.delivery_id,
        Some(Field::Header("x-github-delivery".into()))
    );
    assert_eq!(gh.tolerance, DEFAULT_TOLERANCE);
    assert_eq!(gh.dedupe_window, DEFAULT_DEDUPE_WINDOW);
    let stripe = &config.sources["stripe"];
    assert_eq!(stripe.event_id, Field::Pointer("/type".into()));
    assert_eq!(stripe.delivery_id, Some(Field::Pointer("/id".into())));
    assert_eq!(stripe.tolerance, Duration::from_secs(120));
    assert_eq!(stripe.dedupe_window, Duration::from_secs(3600));
    let shop = &config.sources["shop"];
    assert_eq!(shop.delivery_id, None);
    assert_eq!(shop.event_id, Field::Header("x-custom".into()));
    match &config.sources["acme"].scheme {
        Scheme::Hmac(spec) => {
            let expected = crate::signature::Blocks {
                header: Some("x-acme-signature"),
                algorithm: Some("sha512"),
                encoding: Some("base64"),
                prefix: Some("sig="),
                timestamp_header: Some("x-acme-time"),
                signed_content: Some("{timestamp}.{body}"),
                ..crate::signature::Blocks::NONE
            };
            assert_eq!(spec, &expected.spec(None).unwrap());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(config.sources["acme"].dedupe_window, Duration::ZERO);
}

#[test]
fn scheme_specific_keys_are_checked() {
    let base = "[topics.t]\nstream = \"s\"\n[sources.a]\ntopic = \"t\"\nsecrets = [\"env:SEGMENT_SECRET\"]\n";
    let cases = [
        (
            "scheme = \"github\"\nheader = \"x\"",
            "applies to scheme \"hmac\" only",
        ),
        (
            "scheme = \"github\"\npublic_url = \"https://x\"",
            "does not sign the URL",
        ),
        ("scheme = \"twilio\"", "public_url"),
        ("scheme = \"hmac\"", "needs the signature header"),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nalgorithm = \"md5\"",
            "sha1, sha256 or sha512",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nencoding = \"rot13\"",
            "hex or base64",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{timestamp}\"",
            "must contain {body}",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{timestamp}{body}\"",
            "set timestamp_header",
        ),
        ("scheme = \"standard-webhooks\"", "whsec_"),
        (
            "scheme = \"hmac\"\nheader = \"x\"\ntimestamp = \"field:t\"",
            "set signature_field",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{body}{nonce}\"",
            "unknown {nonce}",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nalgorithm = \"ed25519\"",
            "a public key's form is needed",
        ),
        (
            "scheme = \"hmac\"\nheader = \"x\"\nsigned_content = \"{url}{body}\"",
            "set public_url",
        ),
        ("scheme = \"square\"", "public_url"),
        ("scheme = \"github\"\ntolerance = \"soon\"", "tolerance"),
        (
            "scheme = \"github\"\ndelivery_id = \"fixed\"",
            "delivery_id",
        ),
    ];
    for (extra, expected) in cases {
        let message = parse_err(&format!("{base}{extra}"));
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn gitlab_secrets_choose_its_mode_and_a_mix_is_refused() {
    let source = |secrets: &str| {
        format!(
            "[topics.t]\nstream = \"s\"\n[sources.g]\nscheme = \"gitlab\"\ntopic = \"t\"\nsecrets = [{secrets}]\n"
        )
    };
    let env = |name: &str| match name {
        "SIGNING" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
        _ => Some("plain-secret-token".to_owned()),
    };
    let token = Config::parse(&source("\"env:TOKEN\""), &env).unwrap();
    assert!(matches!(token.sources["g"].scheme, Scheme::Token(_)));
    let signing = Config::parse(&source("\"env:SIGNING\""), &env).unwrap();
    assert_eq!(
        signing.sources["g"].scheme,
        Scheme::StandardWebhooks(crate::signature::Sender::Gitlab)
    );
    assert_eq!(signing.sources["g"].scheme.name(), "gitlab");
    let mixed = Config::parse(&source("\"env:SIGNING\", \"env:TOKEN\""), &env).unwrap_err();
    assert!(
        mixed.to_string().contains("mixes GitLab signing tokens"),
        "{mixed}"
    );
}

#[test]
fn fields_resolve_from_body_headers_or_constants() {
    let json = serde_json::json!({"type": "track", "n": 5, "o": {}});
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("x-github-event", "push".parse().unwrap());
    assert_eq!(
        Field::parse("/type").resolve(&json, &headers).as_deref(),
        Some("track")
    );
    assert_eq!(
        Field::parse("/n").resolve(&json, &headers).as_deref(),
        Some("5")
    );
    assert_eq!(Field::parse("/o").resolve(&json, &headers), None);
    assert_eq!(Field::parse("/missing").resolve(&json, &headers), None);
    assert_eq!(
        Field::parse("header:X-GitHub-Event")
            .resolve(&json, &headers)
            .as_deref(),
        Some("push")
    );
    assert_eq!(
        Field::parse("header:x-other").resolve(&json, &headers),
        None
    );
    assert_eq!(
        Field::parse("fixed").resolve(&json, &headers).as_deref(),
        Some("fixed")
    );
}

#[test]
fn unsigned_sources_are_listed() {
    let config = Config::parse(
        "[topics.t]\nstream = \"s\"\n[sources.open]\nscheme = \"none\"\ntopic = \"t\"",
        &env,
    )
    .unwrap();
    let names: Vec<_> = config.unsigned_sources().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["open"]);
}

#[test]
fn from_env_reads_inline_config_or_says_what_to_set() {
    let inline = |name: &str| match name {
        CONFIG_ENV => Some(DESIGN_EXAMPLE.to_owned()),
        other => env(other),
    };
    assert!(Config::from_env(&inline).is_ok());
    let message = match Config::from_env(&|_| None) {
        Err(err) => err.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(message.contains(CONFIG_ENV));
}

#[test]
fn secrets_do_not_leak_through_debug() {
    let config = Config::parse(DESIGN_EXAMPLE, &env).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret") && !debug.contains("tok\""));
}

#[test]
fn messages_name_the_real_key_and_show_a_valid_duration() {
    let message = parse_err(
        "[topics.t]\nstream = \"s\"\n[tokens.ci]\ntoken = \"env:DASHBOARD_TOKEN\"\ntopics = [\"nope\"]",
    );
    assert!(message.starts_with("tokens.ci.topics:"), "{message}");
    let message = parse_err(
        "[topics.t]\nstream = \"s\"\n[sources.a]\nscheme = \"github\"\nsecrets = [\"env:SEGMENT_SECRET\"]\ntopic = \"t\"\ntolerance = \"soon\"",
    );
    assert!(message.contains("sources.a.tolerance"), "{message}");
    assert!(message.contains("\"30s\""), "{message}");
    let message = parse_err(
        "[topics.t]\nstream = \"s\"\n[pollers.p]\nurl = \"https://x\"\nevery = \"often\"\ntopic = \"t\"",
    );
    assert!(
        message.contains("pollers.p.every") && message.contains("\"5m\""),
        "{message}"
    );
}

#[test]
fn a_configuration_with_nothing_to_do_is_refused_by_name() {
    let empty = Config::parse("", &env).unwrap();
    assert!(
        empty
            .check_usable()
            .unwrap_err()
            .to_string()
            .contains("[topics.<name>]")
    );
    let topics_only = Config::parse("[topics.t]\nstream = \"s\"", &env).unwrap();
    let message = topics_only.check_usable().unwrap_err().to_string();
    assert!(message.contains("[sources.<name>]") && message.contains("[tokens.<name>]"));
    assert!(
        Config::parse(DESIGN_EXAMPLE, &env)
            .unwrap()
            .check_usable()
            .is_ok()
    );
}

#[test]
fn configured_stream_ids_follow_the_partition_key_rules() {
    let base = "[topics.t]\nstream = \"s\"\n[sources.a]\nscheme = \"none\"\ntopic = \"t\"\n";
    assert!(
        parse_err(&format!("{base}stream_id = \"\""))
            .contains("sources.a.stream_id: stream id must be 1 to 256 characters")
    );
    assert!(parse_err(&format!("{base}stream_id = \"a\\tb\"")).contains("control characters"));
}

#[test]
fn secret_references_resolve_from_their_environment_variable_locally() {
    assert_eq!(secret_variable("inlet/github"), "INLET_SECRET_INLET_GITHUB");
    assert_eq!(
        secret_variable("prod.stripe-key"),
        "INLET_SECRET_PROD_STRIPE_KEY"
    );
    let text = r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.github]
scheme = "github"
secrets = ["secret:inlet/github", "env:SEGMENT_SECRET"]
topic = "webhooks"

[tokens.ci]
token = "secret:inlet/ci-token"
topics = ["webhooks"]

[pollers.beers]
url = "https://example.com/beers"
topic = "webhooks"
every = "1m"
bearer = "secret:inlet/github"
"#;
    assert_eq!(secret_names(text), ["inlet/github", "inlet/ci-token"]);
    let env = |name: &str| match name {
        "INLET_SECRET_INLET_GITHUB" => Some("gh".to_owned()),
        "INLET_SECRET_INLET_CI_TOKEN" => Some("ci".to_owned()),
        other => env(other),
    };
    let config = Config::parse(text, &env).unwrap();
    assert_eq!(config.sources["github"].secrets.len(), 2);
    let missing = Config::parse(text, &|name: &str| {
        (name != "INLET_SECRET_INLET_CI_TOKEN")
            .then(|| env(name))
            .flatten()
    })
    .unwrap_err()
    .to_string();
    let colliding = text.replace("secret:inlet/ci-token", "secret:inlet-github");
    let error = Config::parse(&colliding, &env).unwrap_err().to_string();
    assert!(
        error.contains("\"inlet/github\" and \"inlet-github\"")
            && error.contains("INLET_SECRET_INLET_GITHUB"),
        "{error}"
    );
    assert!(
        missing.contains("tokens.ci.token")
            && missing.contains("secret \"inlet/ci-token\" not found")
            && missing.contains("INLET_SECRET_INLET_CI_TOKEN"),
        "{missing}"
    );
}

#[test]
fn names_that_are_not_a_single_path_segment_are_refused() {
    for name in [".", ".."] {
        let message = parse_err(&format!("[topics.\"{name}\"]\nstream = \"s\""));
        assert!(
            message.contains("single path segment") && message.contains(&format!("{name:?}")),
            "{message}"
        );
        let message = parse_err(&format!(
            "[topics.t]\n[sources.\"{name}\"]\nscheme = \"none\"\ntopic = \"t\""
        ));
        assert!(message.contains("single path segment"), "{message}");
    }
    Config::parse("[topics.\"a.b\"]\n[topics.\"...\"]", &env).unwrap();
}

#[test]
fn the_configuration_examples_of_the_readmes_parse() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for readme in ["README.md", "shared/src/config/README.md"] {
        let text = std::fs::read_to_string(format!("{root}/{readme}")).unwrap();
        let blocks: Vec<&str> = text
            .split("```toml\n")
            .skip(1)
            .filter_map(|rest| rest.split("\n```").next())
            .collect();
        assert!(
            !blocks.is_empty() || readme != "README.md",
            "{readme} shows the file"
        );
        for block in blocks {
            // Every `env:` reference reads a value; `secret:` ones locally
            // read INLET_SECRET_<NAME>.
            let any = |name: &str| {
                Some(if name.contains("WHSEC") {
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
                } else {
                    format!("value-of-{name}")
                })
            };
            if let Err(e) = Config::parse(block, &any) {
                panic!("{readme}: {e}\n{block}");
            }
        }
    }
}
