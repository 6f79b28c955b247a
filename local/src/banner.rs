//! What `inlet serve` prints at start-up.

use crate::demo::{self, Demo};
use crate::options::{ServeArgs, SinkKind};
use inlet_shared::Config;
use inlet_shared::service::BannerSection;
use std::fmt;
use std::path::Path;

/// What `inlet serve` prints at start-up: where it serves, each function's
/// sections, and how to try it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// The first line.
    pub title: String,
    /// The sections, in order.
    pub sections: Vec<BannerSection>,
}

impl Banner {
    pub(crate) fn new(args: &ServeArgs, base: &str, demo: Option<&Demo>) -> Self {
        let store = match args.sink {
            SinkKind::Embedded => format!(
                "embedded log in {}, records kept {}",
                args.data_dir.display(),
                args.retention
            ),
            SinkKind::Kinesis => "Kinesis".to_owned(),
        };
        let mut sections = Vec::new();
        if let Some(demo) = demo {
            let secret = if demo.generated_secret {
                format!(
                    "Segment secret (generated; set {} to keep one): {}",
                    demo::DEMO_SECRET_ENV,
                    demo.secret
                )
            } else {
                format!("Segment secret: taken from {}", demo::DEMO_SECRET_ENV)
            };
            let token = if demo.generated_token {
                format!(
                    "Writer token (generated; set {} to keep one): {}",
                    demo::DEMO_TOKEN_ENV,
                    demo.token
                )
            } else {
                format!("Writer token: taken from {}", demo::DEMO_TOKEN_ENV)
            };
            sections.push(BannerSection::new(
                "No --config given: running the demo set-up.",
                vec![secret, token],
            ));
        }
        sections.push(BannerSection::new(
            "Console (every way in, records arriving live), in a browser:",
            vec![format!("{base}/")],
        ));
        Banner {
            title: format!("Inlet is serving on {base} ({store})"),
            sections,
        }
    }

    /// The closing sections: the demo's Writer API `curl`, and `inlet tail`.
    pub(crate) fn finish(
        &mut self,
        args: &ServeArgs,
        base: &str,
        config: &Config,
        demo: Option<&Demo>,
    ) {
        let demo_topic = config
            .topics
            .keys()
            .find(|t| *t == "telemetry")
            .or_else(|| config.topics.keys().next());
        if let (Some(demo), Some(topic)) = (demo, demo_topic) {
            self.sections.push(BannerSection::new(
                format!("Write an event to the {topic} topic:"),
                vec![demo::writer_curl(base, topic, &demo.token)],
            ));
        }
        if args.sink == SinkKind::Embedded {
            let data_dir = if args.data_dir.as_path() == Path::new(".inlet") {
                String::new()
            } else {
                format!(" --data-dir {}", args.data_dir.display())
            };
            let lines = config
                .topics
                .keys()
                .map(|topic| format!("cargo run -p inlet -- tail {topic}{data_dir}"))
                .collect();
            self.sections
                .push(BannerSection::new("Watch the records arrive:", lines));
        }
    }
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        for section in &self.sections {
            writeln!(f)?;
            write!(f, "{section}")?;
        }
        writeln!(f)?;
        writeln!(f, "Ready. Ctrl-C stops the server.")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::options::ServeArgs;
    use inlet_shared::service::BannerSection;

    fn args(extra: &[&str]) -> ServeArgs {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Cli::parse_from([&["inlet"], extra].concat()).serve
    }

    #[test]
    fn the_demo_banner_shows_where_to_send_and_how_to_watch() {
        let demo = demo::demo(&|name| match name {
            demo::DEMO_SECRET_ENV => Some("s3cret".to_owned()),
            _ => None,
        })
        .unwrap();
        let args = args(&[]);
        let base = "http://127.0.0.1:8787";
        let mut banner = Banner::new(&args, base, Some(&demo));
        banner.sections.push(BannerSection::new(
            "Webhook endpoints:",
            vec!["POST x".to_owned()],
        ));
        banner.finish(&args, base, &demo.config, Some(&demo));
        let text = banner.to_string();
        assert!(text.starts_with(
            "Inlet is serving on http://127.0.0.1:8787 (embedded log in .inlet, records kept 7days)\n\n"
        ));
        assert!(text.contains("\nNo --config given: running the demo set-up.\n  Segment secret: taken from INLET_DEMO_SECRET\n"));
        assert!(
            !text.contains("s3cret"),
            "a secret from the environment is not printed"
        );
        assert!(text.contains(&format!(
            "Writer token (generated; set INLET_DEMO_TOKEN to keep one): {}",
            demo.token
        )));
        assert!(text.contains("\nWebhook endpoints:\n  POST x\n"));
        assert!(text.contains("\nWrite an event to the telemetry topic:\n  curl "));
        assert!(text.contains("\nWatch the records arrive:\n  cargo run -p inlet -- tail telemetry\n  cargo run -p inlet -- tail webhooks\n"));
        assert!(text.ends_with("\n\nReady. Ctrl-C stops the server.\n"));
    }

    #[test]
    fn a_configured_banner_with_kinesis_has_no_demo_and_no_tail() {
        let config = Config::parse("[topics.a]\nstream = \"s\"", &|_| None).unwrap();
        let args = args(&["--sink", "kinesis"]);
        let mut banner = Banner::new(&args, "http://h:1", None);
        banner.finish(&args, "http://h:1", &config, None);
        assert_eq!(
            banner.to_string(),
            "Inlet is serving on http://h:1 (Kinesis)\n\nConsole (every way in, records arriving live), in a browser:\n  http://h:1/\n\nReady. Ctrl-C stops the server.\n"
        );
    }
}
