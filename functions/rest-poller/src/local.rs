//! The poller in `inlet serve`: a task per target, and each target's last
//! run for the console.

use serde::Serialize;

use inlet_shared::service::{BannerSection, LocalContext, LocalService, Task, VisibleTopics};

use crate::{PollReport, RestPoller, poll_once};

/// The poller as the local runner (`inlet serve`) mounts it: one task per
/// target, polling at once and then every `every`, until shutdown (a poll
/// in progress finishes first).
pub fn local(ctx: &LocalContext) -> LocalService {
    // The targets are those of the configuration at start-up.
    let config = ctx.config.current();
    let poller = RestPoller::new(
        config.clone(),
        ctx.publisher.clone(),
        ctx.checkpoints.clone(),
    );
    let runs = LastRuns::default();
    let topics: std::sync::Arc<std::collections::BTreeMap<String, String>> = std::sync::Arc::new(
        config
            .pollers
            .values()
            .map(|p| (p.name.clone(), p.topic.clone()))
            .collect(),
    );
    let tasks = config
        .pollers
        .values()
        .map(|target| {
            let (poller, target, shutdown) = (poller.clone(), target.clone(), ctx.shutdown.clone());
            let runs = runs.clone();
            Box::pin(async move {
                let mut ticks = tokio::time::interval(target.every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    let report = poll_once(&target, &poller).await;
                    let at = inlet_shared::time::unix_millis(std::time::SystemTime::now());
                    runs.0.lock().expect("not poisoned").insert(
                        target.name.clone(),
                        LastRun {
                            at_millis: at,
                            report,
                        },
                    );
                }
            }) as Task
        })
        .collect();
    let lines: Vec<String> = config
        .pollers
        .values()
        .map(|target| {
            format!(
                "{:<12} {} every {} -> topic {}",
                target.name,
                target.shown_url(),
                humantime::format_duration(target.every),
                target.topic
            )
        })
        .collect();
    let banner = if lines.is_empty() {
        Vec::new()
    } else {
        vec![BannerSection::new("Polling:", lines)]
    };
    LocalService {
        routes: axum::Router::new().route(
            LAST_RUNS_PATH,
            axum::routing::get(move |visible: Option<axum::Extension<VisibleTopics>>| {
                let (runs, topics) = (runs.clone(), topics.clone());
                async move {
                    let runs = runs.0.lock().expect("not poisoned").clone();
                    // Only what the caller's token may see; nothing
                    // outside the console's guard.
                    let shown = runs
                        .into_iter()
                        .filter(|(name, _)| {
                            let topic = topics.get(name).map(String::as_str);
                            visible
                                .as_ref()
                                .zip(topic)
                                .is_some_and(|(v, topic)| v.allows(topic))
                        })
                        .collect::<std::collections::BTreeMap<_, _>>();
                    axum::Json(shown)
                }
            }),
        ),
        tasks,
        banner,
        warnings: Vec::new(),
    }
}

/// Where `inlet serve` answers each poll target's last run (the console
/// page shows them): `{"<target>": {"atMillis", "report"}}`.
pub const LAST_RUNS_PATH: &str = "/console/api/pollers";

/// A target's last run in `inlet serve`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct LastRun {
    /// When it ended (Unix milliseconds).
    at_millis: u64,
    /// What it did.
    report: PollReport,
}

#[derive(Clone, Default)]
struct LastRuns(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, LastRun>>>);
