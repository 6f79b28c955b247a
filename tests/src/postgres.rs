//! A real PostgreSQL server on loopback for a test, from Debian's packages:
//! a fresh cluster in a temporary directory (`initdb`, then `pg_ctl`, run as
//! the `postgres` user when the tests run as root, since `initdb` refuses
//! root), stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server.
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    fsync: bool,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a PostgreSQL program as the user that may run it.
fn program(name: &str) -> Command {
    let path = ["/usr/local/bin", "/usr/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.exists())
        .or_else(|| {
            let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
            versions
                .filter_map(Result::ok)
                .map(|v| v.path().join("bin").join(name))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| panic!("{name} not found: tests/run.sh installs Debian's postgresql"));
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Creates a cluster and starts it on a free loopback port, with
    /// `fsync` off (tests: the server is never crashed with the machine).
    pub fn start() -> Postgres {
        Self::start_with(false)
    }

    /// The same with `fsync` on, as a production server runs (benchmarks).
    pub fn start_durable() -> Postgres {
        Self::start_with(true)
    }

    /// A server taking TLS (`ssl=on`) with a certificate for `localhost`
    /// issued by a CA of its own, whose PEM is at [`Postgres::ca_file`].
    pub fn start_tls() -> Postgres {
        let mut server = Self::start_with(false);
        server.stop();
        let dir = &server.dir;
        let openssl = |args: &[&str]| {
            let mut command = Command::new("openssl");
            command.args(args).current_dir(dir);
            run(command, "openssl");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=inlet test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres")
                        .arg(dir.join("server.key"))
                        .arg(dir.join("server.crt"));
                    c
                },
                "chown",
            );
        }
        run(
            {
                let mut c = Command::new("chmod");
                c.arg("600").arg(dir.join("server.key"));
                c
            },
            "chmod",
        );
        let conf = dir.join("data/postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.push_str(&format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ));
        std::fs::write(&conf, text).unwrap();
        server.resume();
        server.url = format!(
            "postgres://postgres@localhost:{}/postgres?sslmode=require",
            server.port
        );
        server
    }

    /// The CA's PEM of a [`Postgres::start_tls`] server.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn start_with(fsync: bool) -> Postgres {
        // Made atomically with a fresh name: tests start servers at once.
        let dir = tempfile::Builder::new()
            .prefix("inlet-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&dir);
                    c
                },
                "chown",
            );
        }
        let mut initdb = program("initdb");
        initdb.args(["-D"]).arg(dir.join("data")).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(initdb, "initdb");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            port,
            fsync,
        };
        server.resume();
        server
    }

    /// Starts the server again (after [`Postgres::stop`]).
    pub fn resume(&self) {
        let mut pg_ctl = program("pg_ctl");
        pg_ctl
            .args(["-w", "-D"])
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={}",
                self.port,
                self.dir.display(),
                if self.fsync { "on" } else { "off" }
            ))
            .arg("start");
        run(pg_ctl, "pg_ctl start");
    }

    /// Stops the server at once (`immediate`: as a crash would).
    pub fn stop(&self) {
        let mut pg_ctl = program("pg_ctl");
        pg_ctl
            .args(["-w", "-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        run(pg_ctl, "pg_ctl stop");
    }

    /// Runs SQL with `psql`, returning its unaligned output.
    pub fn query(&self, sql: &str) -> String {
        let output = Command::new("psql")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(&self.url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut pg_ctl = program("pg_ctl");
        pg_ctl
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = pg_ctl.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
