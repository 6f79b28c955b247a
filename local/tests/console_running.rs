//! The console shows the system running, in Chromium: charts of records per
//! second that move under load, destination state, a webhook refused for its
//! signature with its reason, and Replay after the secret is fixed and
//! reloaded from the page (published once); `inlet reload` reloads too.

mod common;

use std::process::Command;

use common::{in_chromium, serve_with, tail};
use inlet_e2e::receiver::{Receiver, SECRET};

const OLD: &str = "whsec_b2xkLXNlY3JldC1vZi10aGUtYmlsbGluZy1zb3VyY2U=";
const NEW: &str = "whsec_bmV3LXNlY3JldC1vZi10aGUtYmlsbGluZy1zb3VyY2U=";

#[test]
fn the_console_charts_load_shows_a_rejection_and_replays_it_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[topics.orders]

[sources.shop]
scheme = "none"
topic = "orders"
event_id = "n"

[sources.billing]
scheme = "standard-webhooks"
secrets = ["env:BILLING_OLD"]
topic = "orders"

[destinations.hook]
topic = "orders"
kind = "http"
url = "{}"
secrets = ["env:HOOK_SECRET"]

[tokens.ops]
token = "env:OPS_TOKEN"
topics = ["orders"]
read = ["*"]

[tokens.devices]
token = "env:DEVICE_TOKEN"
topics = ["orders"]

[tokens.dashboard]
token = "env:DASHBOARD_TOKEN"
topics = ["orders"]
read = ["orders"]
"#,
            receiver.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[
            ("BILLING_OLD", OLD),
            ("BILLING_NEW", NEW),
            ("HOOK_SECRET", SECRET),
            ("OPS_TOKEN", "ops-token"),
            ("DEVICE_TOKEN", "device-token"),
            ("DASHBOARD_TOKEN", "dashboard-token"),
        ],
    );
    in_chromium(
        "running.mjs",
        &[&server.base_url, "ops-token", config.to_str().unwrap(), NEW],
        "running ok",
    );
    let billing: Vec<_> = tail(&data, "orders")
        .into_iter()
        .filter(|r| {
            r["data"]["value"]
                .as_str()
                .is_some_and(|v| v.contains("inv_1"))
        })
        .collect();
    assert_eq!(billing.len(), 1, "the replayed webhook, once");

    // A write-only token sees no rejected webhook and replays none; one
    // that may read the topic sees them, but publishing unverified and
    // reloading are an operator's (a token that may read every topic).
    let client = reqwest::blocking::Client::new();
    let api = |token: &str, method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}/console/api/{path}", server.base_url))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    let listed = |token: &str| -> Vec<serde_json::Value> {
        api(token, reqwest::Method::GET, "rejected").json().unwrap()
    };
    assert!(listed("device-token").is_empty());
    let kept = listed("dashboard-token");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let id = kept[0]["id"].as_str().unwrap();
    let replay = format!("rejected/billing/{id}/replay");
    assert_eq!(
        api("device-token", reqwest::Method::POST, &replay).status(),
        404
    );
    let trusted = format!("{replay}?trust=true");
    assert_eq!(
        api("dashboard-token", reqwest::Method::POST, &trusted).status(),
        403
    );
    let again = api("dashboard-token", reqwest::Method::POST, &replay);
    assert_eq!(
        again.json::<serde_json::Value>().unwrap()["duplicate"],
        true
    );
    assert_eq!(
        api("dashboard-token", reqwest::Method::POST, "reload").status(),
        403
    );

    let reload = |token: &str| {
        Command::new(common::INLET)
            .args(["reload", "--url", &server.base_url, "--token", token])
            .output()
            .unwrap()
    };
    let reloaded = reload("ops-token");
    assert!(reloaded.status.success(), "{reloaded:?}");
    assert!(
        String::from_utf8_lossy(&reloaded.stdout).starts_with("Reloaded"),
        "{reloaded:?}"
    );
    for refused in ["not-a-token", "device-token"] {
        assert!(!reload(refused).status.success(), "{refused}");
    }
    std::fs::write(&config, "[topics").unwrap();
    let broken = reload("ops-token");
    assert!(!broken.status.success());
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("the running configuration stays"),
        "{broken:?}"
    );
}
