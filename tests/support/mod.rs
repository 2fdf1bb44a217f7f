//! Shared helpers for integration tests that need a live fake AWS: a [`MotoServer`] (the moto
//! emulator from `target/moto-venv`, see tests/moto/requirements.txt) started on a free loopback
//! port, seeded by tests/moto/seed_account.py, and stopped (its whole process group) on drop.
//!
//! moto is a hard requirement, not an optional extra: when it is missing the tests fail and say
//! how to install it (`tests/install-deps.sh`).

// Each integration test crate that includes this module uses a different part of it.
#![allow(dead_code)]

/// The synthetic estate server's helpers.
pub mod estate;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The account moto reports for every caller.
pub const MOTO_ACCOUNT: &str = "123456789012";

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const SEED_TIMEOUT: Duration = Duration::from_secs(180);
const INSTALL_HINT: &str =
    "install it with `tests/install-deps.sh` (a venv at target/moto-venv from \
tests/moto/requirements.txt), or point CLOUDSCAN_MOTO_SERVER at a moto_server executable";

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `moto_server` on 127.0.0.1, in its own process group. Dropping it stops the group.
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    python: PathBuf,
    log: PathBuf,
    // Holds the server's log and HOME; removed after the server is stopped.
    dir: tempfile::TempDir,
}

/// What `seed()` created: moto's random ids mapped to the deterministic names the seed gave them.
pub struct Seeded {
    pub account: String,
    /// id (`i-…`, `vol-…`, `lt-…`, `ami-…`, KMS key id) → name (`prod-public-general-1`, …)
    pub names: BTreeMap<String, String>,
    /// The seed script's summary (stdout).
    pub summary: String,
}

impl Seeded {
    /// The deterministic name of a moto-generated id, or the id itself when the seed did not
    /// create it (cluster names, account-level resources).
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map(String::as_str).unwrap_or(id)
    }
}

fn executables() -> (PathBuf, PathBuf) {
    let server = match std::env::var_os("CLOUDSCAN_MOTO_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let default = repo_root().join("target/moto-venv/bin/moto_server");
            // `cargo test --workspace` works on a fresh machine (CI installs up front); what is
            // still missing is reported below.
            if let Err(e) = cloudscan_collect::testkit::install_if_missing(
                &repo_root(),
                std::slice::from_ref(&default),
            ) {
                eprintln!("{e}");
            }
            default
        }
    };
    if !server.is_file() {
        panic!(
            "moto is not installed: {} does not exist. The moto end-to-end tests need it; {INSTALL_HINT}.",
            server.display()
        );
    }
    // The seed script needs the boto3 that sits next to moto: the same venv's python.
    let python = server
        .parent()
        .map(|bin| bin.join("python"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no `python` next to {} (the seed script needs the venv's boto3); {INSTALL_HINT}.",
                server.display()
            )
        });
    (server, python)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free 127.0.0.1 port")
}

/// Last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("<{e}>"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One `GET path` over HTTP/1.0; the status code, if the server answered.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut head = [0u8; 32];
    let mut len = 0;
    while len < 12 {
        match s.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => len += k,
        }
    }
    let text = std::str::from_utf8(&head[..len]).ok()?;
    text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

/// Sends `signal` to the process group `pgid` (via kill(1): the tests use std only).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` up to `timeout`; `None` when it is still running.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(50)),
            _ => return None,
        }
    }
}

/// Runs `cmd` to completion with a deadline, capturing its output. On timeout the command's
/// process group is killed and the test fails (a hung scan must not hang the suite).
pub fn output_with_timeout(cmd: &mut Command, timeout: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("stdout piped");
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = match wait_timeout(&mut child, timeout) {
        Some(status) => status,
        None => {
            signal_group(child.id(), "-KILL");
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "{what} did not finish within {timeout:?}; killed. stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers. Panics (with the server's log) if
    /// moto is missing or does not come up within 60 s.
    pub fn start() -> MotoServer {
        let (server, python) = executables();
        // One start at a time in this process: a port picked by `free_port` is only known to be
        // free until a server binds it, and two tests must not end up sharing one server.
        static STARTING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let mut last_error = String::new();
        // The free port is only free until someone else takes it: retry on a lost race.
        for _ in 0..3 {
            match Self::try_start(&server, &python) {
                Ok(moto) => return moto,
                Err(e) => last_error = e,
            }
        }
        panic!("{last_error}");
    }

    fn try_start(server: &Path, python: &Path) -> Result<MotoServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("cloudscan-moto-")
            .tempdir()
            .expect("tempdir for moto");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let log_file = std::fs::File::create(&log).expect("create moto log");
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup moto log"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start moto ({}): {e}; {INSTALL_HINT}",
                    server.display()
                )
            })?;
        let mut moto = MotoServer {
            child: Some(child),
            port,
            python: python.to_path_buf(),
            log,
            dir,
        };
        let start = Instant::now();
        loop {
            if http_status(port, "/moto-api/") == Some(200) {
                return Ok(moto);
            }
            let exited = moto
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let log_tail = tail(&moto.log, 30);
                moto.child = None;
                return Err(format!(
                    "moto_server ({}) exited with {status} before answering on 127.0.0.1:{port}; its log:\n{log_tail}",
                    server.display()
                ));
            }
            if start.elapsed() > READY_TIMEOUT {
                moto.stop();
                return Err(format!(
                    "moto_server ({}) did not answer GET /moto-api/ on 127.0.0.1:{port} within {READY_TIMEOUT:?}; its log:\n{}",
                    server.display(),
                    tail(&moto.log, 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's log file (stdout and stderr).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Runs tests/moto/seed_account.py against this server. Panics with the script's output if
    /// it fails.
    pub fn seed(&self) -> Seeded {
        let manifest = self.dir.path().join("seed-manifest.json");
        let script = repo_root().join("tests/moto/seed_account.py");
        let mut cmd = Command::new(&self.python);
        cmd.arg(&script)
            .arg("--endpoint")
            .arg(self.endpoint())
            .arg("--manifest")
            .arg(&manifest)
            // Only what boto3 needs: no ambient profiles, credentials, proxies or endpoints.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_PROXY", "127.0.0.1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let out = output_with_timeout(&mut cmd, SEED_TIMEOUT, "the moto seed script");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            panic!(
                "seeding moto failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}\n--- moto log (tail)\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                tail(&self.log, 30)
            );
        }
        let text = std::fs::read_to_string(&manifest).expect("seed manifest written");
        let v: serde_json::Value = serde_json::from_str(&text).expect("seed manifest is JSON");
        Seeded {
            account: v["account"].as_str().unwrap_or(MOTO_ACCOUNT).to_string(),
            names: v["names"]
                .as_object()
                .expect("manifest.names")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            summary: stdout,
        }
    }

    /// Stops the server (its whole process group) and waits for it. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // moto_server is a single process leading its own group (process_group(0) at spawn).
        // Signal the group only while the leader is unreaped, so the group id cannot have been
        // reused by an unrelated process.
        let pgid = child.id();
        signal_group(pgid, "-TERM");
        if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
            signal_group(pgid, "-KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `cloudscan CLOUD --replay DIR --format json` (plus `extra`) in a clean environment (no
/// cloud credentials or overrides from the caller's shell, a throw-away HOME) and returns the
/// exit code and the JSON report. Panics, with cloudscan's stderr, when no report was written.
pub fn replay_report(cloud: &str, dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args([cloud, "--replay"])
        .arg(dir)
        .args(["--format", "json", "--no-progress", "-o"])
        .arg(&out)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .output()
        .expect("run cloudscan");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&text).expect("json report"),
    )
}

/// The cloudscan binary with only the given environment, plus PATH, a throw-away HOME, AWS
/// config files that do not exist, no kubeconfig and the instance metadata lookup off, so nothing
/// of the machine's own configuration or credentials reaches the scan.
pub fn isolated_command(args: &[&str], env: &[(&str, String)], home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs [`isolated_command`] under `timeout`; returns the exit code and stderr.
pub fn cloudscan_isolated(
    args: &[&str],
    env: &[(&str, String)],
    home: &Path,
    timeout: Duration,
) -> (i32, String) {
    let out = output_with_timeout(&mut isolated_command(args, env, home), timeout, "cloudscan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
