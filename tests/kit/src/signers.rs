//! The senders' own signers (`tests/signers/signer.mjs`: npm `svix`,
//! `standardwebhooks`, Node's crypto for key pairs), run in one Node process
//! per test binary, so a signature a test sends is never made by the code
//! under test.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

struct Node {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The `tests/` directory, where `npm ci` put the signing libraries.
const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Asks the Node signer: `request` names the library (`with`) and what to
/// sign; the answer carries the headers to send (and a public key, for a
/// key pair made there). Panics on a signer error.
pub fn node(request: &Value) -> Value {
    static NODE: OnceLock<Mutex<Node>> = OnceLock::new();
    let node = NODE.get_or_init(|| {
        let mut child = Command::new("node")
            .arg(format!("{TESTS}/signers/signer.mjs"))
            .current_dir(TESTS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs (tests/run.sh installs the signing libraries with npm ci)");
        Mutex::new(Node {
            stdin: child.stdin.take().expect("piped"),
            stdout: BufReader::new(child.stdout.take().expect("piped")),
            _child: child,
        })
    });
    let mut node = node.lock().unwrap_or_else(|e| e.into_inner());
    writeln!(node.stdin, "{request}").expect("the signer reads");
    let mut line = String::new();
    node.stdout
        .read_line(&mut line)
        .expect("the signer answers");
    let answer: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the signer answered {line:?}: {e}"));
    if let Some(error) = answer.get("error") {
        panic!("the signer failed on {request}: {error}");
    }
    answer
}

/// The answer's headers as pairs.
pub fn headers(answer: &Value) -> Vec<(String, String)> {
    answer["headers"]
        .as_object()
        .expect("headers")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_owned()))
        .collect()
}
