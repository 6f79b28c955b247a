//! The senders' own signers (`tests/signers/signer.mjs`: npm `svix`,
//! `standardwebhooks` and the providers' packages, Node's crypto for key
//! pairs; `tests/signers/signer.py`: the providers' PyPI libraries), each
//! run in one process per test binary, so a signature a test sends is never
//! made by the code under test.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// A signer process, answering one JSON line per request line.
struct Process {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Process {
    fn start(program: &str, script: &str) -> Mutex<Process> {
        let mut child = Command::new(program)
            .arg(format!("{TESTS}/signers/{script}"))
            .current_dir(TESTS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} runs (tests/run.sh installs the signing libraries): {e}")
            });
        Mutex::new(Process {
            stdin: child.stdin.take().expect("piped"),
            stdout: BufReader::new(child.stdout.take().expect("piped")),
            _child: child,
        })
    }

    fn ask(process: &Mutex<Process>, request: &Value) -> Value {
        let mut process = process.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(process.stdin, "{request}").expect("the signer reads");
        let mut line = String::new();
        process
            .stdout
            .read_line(&mut line)
            .expect("the signer answers");
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the signer answered {line:?}: {e}"));
        if let Some(error) = answer.get("error") {
            panic!("the signer failed on {request}: {error}");
        }
        answer
    }
}

/// The `tests/` directory, where `npm ci` put the signing libraries.
const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Asks the Node signer (`tests/signers/signer.mjs`): `request` names the
/// library (`with`) and what to sign; the answer carries the headers to send
/// (and a public key, for a key pair made there). Panics on a signer error.
pub fn node(request: &Value) -> Value {
    static NODE: OnceLock<Mutex<Process>> = OnceLock::new();
    Process::ask(
        NODE.get_or_init(|| Process::start("node", "signer.mjs")),
        request,
    )
}

/// Asks the Python signer (`tests/signers/signer.py`, PyPI `stripe`,
/// `slack_sdk`, `twilio`, `hubspot-api-client`, `svix`, `standardwebhooks`
/// in the repository's `.venv`), as [`node`] does.
pub fn python(request: &Value) -> Value {
    static PYTHON: OnceLock<Mutex<Process>> = OnceLock::new();
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    Process::ask(
        PYTHON.get_or_init(|| Process::start(program, "signer.py")),
        request,
    )
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
