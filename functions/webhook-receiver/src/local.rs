//! The receiver in `inlet serve`: its routes and its banner, with a
//! ready-to-paste, correctly signed `curl` for every source.

use std::time::SystemTime;

use inlet_shared::config::{Config, Field, Source};
use inlet_shared::service::{BannerSection, LocalContext, LocalService};
use inlet_shared::signature::SignWith;
use inlet_shared::time::unix_nanos;

use crate::{WebhookReceiver, routes, warnings};

/// The receiver as the local runner mounts it.
pub fn local(ctx: &LocalContext) -> LocalService {
    let mut receiver = WebhookReceiver::new(ctx.config.clone(), ctx.publisher.clone())
        .with_arrivals(ctx.arrivals.clone());
    let mut kept = axum::Router::new();
    if let Some(rejections) = &ctx.rejections {
        receiver = receiver.with_rejections(rejections.clone());
        kept = crate::replay::routes(receiver.clone(), rejections.clone());
    }
    LocalService {
        routes: routes(receiver).merge(kept),
        tasks: Vec::new(),
        banner: banner(&ctx.config.current(), &ctx.base_url),
        warnings: warnings(&ctx.config.current()),
    }
}

fn banner(config: &Config, base: &str) -> Vec<BannerSection> {
    if config.sources.is_empty() {
        return Vec::new();
    }
    let endpoints = config
        .sources
        .values()
        .map(|source| {
            let stream = config
                .topics
                .get(&source.topic)
                .map_or("", |t| t.stream.as_str());
            format!(
                "POST {base}/webhooks/{:<12} scheme {}, topic {} (stream {stream})",
                source.name,
                source.scheme.name(),
                source.topic
            )
        })
        .collect();
    let mut sections = vec![BannerSection::new("Webhook endpoints:", endpoints)];
    for source in config.sources.values() {
        sections.push(BannerSection::new(
            format!("Send a signed test webhook to {}:", source.name),
            vec![curl(base, source)],
        ));
    }
    sections
}

/// A small JSON body that carries an event id where `source` looks for it.
pub fn sample_body(source: &Source) -> String {
    let mut body = serde_json::json!({
        "type": "track",
        "event": "Inlet Tried",
        "userId": "newcomer",
        "properties": { "hello": "world" }
    });
    if let Field::Pointer(pointer) = &source.event_id {
        inlet_shared::field::set_pointer(&mut body, pointer, "track");
    }
    body.to_string()
}

/// A ready-to-paste `curl` that sends a correctly signed sample webhook.
pub fn curl(base_url: &str, source: &Source) -> String {
    let mut body = sample_body(source);
    let mut command = format!(
        "curl -sS -X POST {base_url}/webhooks/{} -H 'content-type: application/json'",
        source.name
    );
    if let Some(secret) = source.secrets.iter().find(|s| source.scheme.can_sign(s)) {
        let path = format!("/webhooks/{}", source.name);
        let now = SystemTime::now();
        let id = format!("msg_{}", unix_nanos(now));
        let with = SignWith {
            secret,
            body: body.as_bytes(),
            now,
            path_and_query: &path,
            id: &id,
        };
        for (name, value) in source.scheme.sign(&with) {
            command.push_str(&format!(" -H '{name}: {value}'"));
        }
        if let Some(signed) = source.scheme.signed_body(&with) {
            body = String::from_utf8_lossy(&signed).into_owned();
        }
    }
    command.push_str(&format!(" -d '{body}'"));
    command
}

#[cfg(test)]
mod tests {
    use inlet_shared::signature::Scheme;
    use inlet_test_kit as kit;

    use super::*;

    const CONFIG: &str = r#"
[topics.webhooks]
stream = "inlet-webhooks"
[sources.segment]
scheme = "segment"
secrets = ["env:S"]
topic = "webhooks"
"#;

    #[test]
    fn curl_carries_a_valid_signature_of_its_body() {
        let config = kit::config(CONFIG, &[("S", "abc")]);
        let source = &config.sources["segment"];
        let command = curl("http://127.0.0.1:8787", source);
        let body = sample_body(source);
        let (_, sig) = &Scheme::Segment.sign(&SignWith {
            secret: &source.secrets[0],
            body: body.as_bytes(),
            now: std::time::SystemTime::now(),
            path_and_query: "/",
            id: "",
        })[0];
        assert!(
            command.contains(&format!("-H 'x-signature: {sig}'")),
            "{command}"
        );
        assert!(command.contains(&format!("-d '{body}'")));
        assert!(command.contains("http://127.0.0.1:8787/webhooks/segment"));
    }

    #[test]
    fn sample_body_puts_the_event_id_where_the_source_reads_it() {
        let config = kit::config(CONFIG, &[("S", "abc")]);
        let mut source = config.sources["segment"].clone();
        source.event_id = Field::Pointer("/meta/kind".into());
        let body: serde_json::Value = serde_json::from_str(&sample_body(&source)).unwrap();
        assert_eq!(body.pointer("/meta/kind").unwrap(), "track");
    }

    #[test]
    fn banner_lists_each_source_with_a_signed_curl() {
        let config = kit::config(CONFIG, &[("S", "abc")]);
        let sections = banner(&config, "http://h:1");
        assert_eq!(sections[0].heading, "Webhook endpoints:");
        assert!(sections[0].lines[0].starts_with("POST http://h:1/webhooks/segment"));
        assert!(sections[0].lines[0].contains("(stream inlet-webhooks)"));
        assert_eq!(
            sections[1].heading,
            "Send a signed test webhook to segment:"
        );
        assert!(sections[1].lines[0].contains("x-signature"));
    }
}
