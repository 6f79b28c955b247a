//! Webhooks refused for their signature are kept by `inlet serve` with
//! their reason, listed and shown by `inlet rejected` (credentials removed),
//! and replayed once the secret is fixed: verified again with today's
//! secrets as at the time they were received (a replay past the tolerance
//! still passes), published once (a second replay is a duplicate), and a
//! shared-token request only with `--trust`.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use inlet_shared::signature::{Scheme, Secret, SignWith};

const CONFIG: &str = r#"
[topics.hooks]

[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE_SECRET"]
topic = "hooks"
tolerance = "2s"

[sources.gitlab]
scheme = "gitlab"
secrets = ["env:GITLAB_TOKEN"]
topic = "hooks"

[tokens.ops]
token = "env:OPS"
topics = ["hooks"]
read = ["*"]
"#;

fn inlet(args: &[&str]) -> Output {
    Command::new(common::INLET).args(args).output().unwrap()
}

fn stripe(base: &str, secret: &str, body: &str) -> u16 {
    let signed = Scheme::Stripe.sign(&SignWith::new(&Secret::new(secret), body.as_bytes()));
    reqwest::blocking::Client::new()
        .post(format!("{base}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header(signed[0].0.as_str(), signed[0].1.as_str())
        .body(body.to_owned())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The answer `replay` printed after saying `word`.
fn said(out: &Output, word: &str) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let answer = text
        .strip_prefix(&format!("{word} "))
        .unwrap_or_else(|| panic!("not {word}: {out:?}"));
    serde_json::from_str(answer).unwrap()
}

#[test]
fn a_rejected_webhook_is_kept_and_replayed_once_its_secret_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inlet.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = common::serve_with(
        &["--config", path.to_str().unwrap(), "--data-dir", data],
        &[
            ("STRIPE_SECRET", "whsec_old"),
            ("STRIPE_NEW", "whsec_new"),
            ("GITLAB_TOKEN", "gitlab-token"),
            ("OPS", "ops-token"),
        ],
    );
    let base = &server.base_url;
    let body = r#"{"id":"evt_1","type":"invoice.paid"}"#;
    // Signed with the provider's new secret, which the source does not have yet.
    assert_eq!(stripe(base, "whsec_new", body), 401);
    let gitlab = reqwest::blocking::Client::new()
        .post(format!("{base}/webhooks/gitlab"))
        .header("content-type", "application/json")
        .header("x-gitlab-token", "a-wrong-token")
        .header("x-gitlab-event", "Push Hook")
        .body(r#"{"object_kind":"push"}"#)
        .send()
        .unwrap();
    assert_eq!(gitlab.status(), 401);

    let json = inlet(&["rejected", "list", "--json", "--data-dir", data]);
    assert!(json.status.success(), "{json:?}");
    let objects: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    for object in &objects {
        for key in ["id", "source", "time", "reason"] {
            assert!(object[key].is_string(), "{key} in {object}");
        }
    }
    let listed = inlet(&["rejected", "list", "--data-dir", data]);
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = |source: &str| {
        listed
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(source))
            .unwrap_or_else(|| panic!("{source} not listed:\n{listed}"))
            .to_owned()
    };
    assert!(line("stripe").contains("no_match"), "{listed}");
    assert!(line("gitlab").contains("bad_token"), "{listed}");
    let id = |source: &str| line(source).split_whitespace().next().unwrap().to_owned();
    let (stripe_id, gitlab_id) = (id("stripe"), id("gitlab"));

    let shown = inlet(&["rejected", "show", &gitlab_id, "--data-dir", data]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["credentialRemoved"], true);
    assert!(!shown.to_string().contains("a-wrong-token"), "{shown}");
    assert_eq!(shown["body"], r#"{"object_kind":"push"}"#);

    let replay = |id: &str, trust: bool| {
        let mut args = vec![
            "rejected",
            "replay",
            id,
            "--url",
            base.as_str(),
            "--token",
            "ops-token",
        ];
        if trust {
            args.push("--trust");
        }
        inlet(&args)
    };
    // Not yet fixed: still refused, with the reason.
    let refused = replay(&stripe_id, false);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no_match"),
        "{refused:?}"
    );

    // The operator fixes the secret, and reloads.
    std::fs::write(&path, CONFIG.replace("env:STRIPE_SECRET", "env:STRIPE_NEW")).unwrap();
    Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    for _ in 0..100 {
        if stripe(base, "whsec_new", r#"{"id":"evt_probe","type":"probe"}"#) == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Past the 2 s tolerance: the replay is judged as at its receipt.
    std::thread::sleep(Duration::from_secs(3));
    let replayed = replay(&stripe_id, false);
    assert!(replayed.status.success(), "{replayed:?}");
    let answer = said(&replayed, "published");
    assert_eq!(answer["id"], "evt_1");
    assert!(answer["sequenceNumber"].is_string(), "{answer}");
    let again = said(&replay(&stripe_id, false), "duplicate");
    assert_eq!(again["duplicate"], true);

    let untrusted = replay(&gitlab_id, false);
    assert!(!untrusted.status.success());
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("--trust"));
    let trusted = replay(&gitlab_id, true);
    assert!(trusted.status.success(), "{trusted:?}");
}
