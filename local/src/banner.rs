//! What `inlet serve` prints at start-up.

use crate::demo::{self, Demo};
use crate::serve::{ServeArgs, SinkKind};
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
