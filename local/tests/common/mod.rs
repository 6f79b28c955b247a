//! What the binary's end-to-end tests share: `inlet serve` started and
//! stopped, `inlet tail`, and pages run in headless Chromium.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const INLET: &str = env!("CARGO_BIN_EXE_inlet");

/// The test command's Node.js project (`tests/`).
pub const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests");

/// Where the browser tests save their screenshots.
pub const SCREENSHOTS: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots");

/// Runs `tests/browser/<script>` with `args` in Node.js (it drives Debian's
/// Chromium with playwright-core, saving screenshots in [`SCREENSHOTS`])
/// and checks it succeeded and printed `expected`; returns what it printed.
pub fn in_chromium(script: &str, args: &[&str], expected: &str) -> String {
    std::fs::create_dir_all(SCREENSHOTS).unwrap();
    let output = Command::new("node")
        .arg(format!("{TESTS}/browser/{script}"))
        .args(args)
        .current_dir(TESTS)
        .env("SCREENSHOT_DIR", SCREENSHOTS)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && printed.contains(expected),
        "in Chromium (tests/run.sh installs Debian's chromium and playwright-core): {printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub curl: String,
    pub banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(data_dir: &Path) -> Server {
    serve_with(
        &["--data-dir", data_dir.to_str().unwrap()],
        &[("INLET_DEMO_SECRET", "test-demo-secret")],
    )
}

pub fn serve_with(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(INLET);
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied());
    started(command)
}

/// Starts `command` (an `inlet serve`) and waits for its banner.
pub fn started(mut command: Command) -> Server {
    let mut child = command
        .env_remove("INLET_CONFIG_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut base_url, mut curl, mut banner) = (None, None, Vec::new());
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("inlet serve printed its banner");
        if let Some(rest) = line.strip_prefix("Inlet is serving on ") {
            base_url = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if curl.is_none() && line.trim_start().starts_with("curl ") {
            curl = Some(line.trim().to_owned());
        }
        if line.starts_with("Ready.") {
            break;
        }
        banner.push(line);
    }
    Server {
        child,
        base_url: base_url.unwrap(),
        curl: curl.unwrap_or_default(),
        banner,
    }
}

pub fn tail(data_dir: &Path, topic: &str) -> Vec<serde_json::Value> {
    tail_with(data_dir, topic, &[])
}

/// `inlet tail --no-follow` of `topic` with `extra` arguments.
pub fn tail_with(data_dir: &Path, topic: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new(INLET)
        .args(["tail", topic, "--no-follow"])
        .args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
