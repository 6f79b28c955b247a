//! The webhook endpoint of the destination tests: `tests/destinations/
//! receiver.mjs` (Node), which checks every request's signature with the
//! Standard Webhooks reference library and answers as each record scripts
//! it; what it was sent, as JSON lines.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const TESTS: &str = env!("CARGO_MANIFEST_DIR");

/// The signing key the tests give destinations and the receiver.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The Node receiver and what it was sent.
pub struct Receiver {
    child: Child,
    /// Where to send: `http://127.0.0.1:<port>/hook`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// Starts a receiver checking signatures with `secret`.
    pub fn start(secret: &str) -> Receiver {
        let mut child = Command::new("node")
            .arg(format!("{TESTS}/destinations/receiver.mjs"))
            .arg(secret)
            .current_dir(TESTS)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs (tests/run.sh installs standardwebhooks with npm ci)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("listening ").unwrap().to_owned();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sink = requests.clone();
        std::thread::spawn(move || {
            for line in lines {
                let Ok(line) = line else { break };
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Receiver {
            child,
            url: format!("http://127.0.0.1:{port}/hook"),
            requests,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The `n` of each record answered 2xx, in the order answered.
    pub fn delivered(&self) -> Vec<u64> {
        self.requests()
            .iter()
            .filter(|r| {
                r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
            })
            .flat_map(|r| match &r["data"] {
                Value::Array(items) => items.iter().map(|d| d["n"].as_u64().unwrap()).collect(),
                one => vec![one["n"].as_u64().unwrap()],
            })
            .collect()
    }

    /// Waits (up to 60 s) until `done`.
    pub fn wait_for(&self, what: &str, done: impl Fn(&Receiver) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: got {:#?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
