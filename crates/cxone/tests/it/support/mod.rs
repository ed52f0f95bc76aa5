//! Helpers shared by the `cx` binary tests: run `cx` with no tenant in its
//! environment, start `cx ... serve` processes, speak plain HTTP.

// Not every test file uses every helper.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const WF: &str = "wf_12345678-abcd-efgh-ijkl-1234567890ab";
const TENANT_VARS: [&str; 10] = [
    "CX_API",
    "CXONE_API_URL",
    "CXONE_AUTH_URL",
    "CXONE_CLIENT_ID",
    "CXONE_CLIENT_SECRET",
    "CXONE_TOKEN_PATH",
    "CXONE_ACCESS_KEY_ID",
    "CXONE_ACCESS_KEY_SECRET",
    "CX_CONFIG",
    "CX_PROFILE",
];

/// `cx` with no tenant in its environment, no config file (its config
/// directory is under `dir`) and `--audit-dir` in `dir`.
pub fn cx(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cx"));
    for var in TENANT_VARS {
        cmd.env_remove(var);
    }
    cmd.env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("home").join(".config"))
        .env_remove("CX_AUDIT_DIR")
        .current_dir(dir)
        .arg("--audit-dir")
        .arg(dir.join("audit"));
    cmd
}

/// `line` with `{WF}` standing for [`WF`] (tables of command lines).
pub fn wf(line: &str) -> String {
    line.replace("{WF}", WF)
}

/// Arguments written the way a user types them.
pub trait Line {
    /// Appends the whitespace-separated words of `line` as arguments (no
    /// quoting: pass an argument holding white space with `arg`).
    fn line(&mut self, line: &str) -> &mut Self;
}

impl Line for Command {
    fn line(&mut self, line: &str) -> &mut Self {
        self.args(line.split_whitespace())
    }
}

/// Runs `cmd`: exit code (-1 when killed by a signal), stdout, stderr.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Wait for `children` (stderr piped): exit code and stderr of each.
pub fn finish(children: Vec<Child>) -> Vec<(i32, String)> {
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

/// `cx sim serve` in its own process; killed on drop.
pub struct Served {
    child: Child,
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cx sim serve` with one registered client.
pub fn serve(dir: &Path, id: &str, secret: &str) -> Served {
    spawn_server(cx(dir).args([
        "sim",
        "serve",
        "--port",
        "0",
        "--client-id",
        id,
        "--client-secret",
        secret,
    ]))
}

/// `cx sim serve` with one registered access key.
pub fn serve_access_key(dir: &Path, key_id: &str, key_secret: &str) -> Served {
    spawn_server(cx(dir).args([
        "sim",
        "serve",
        "--port",
        "0",
        "--access-key-id",
        key_id,
        "--access-key-secret",
        key_secret,
    ]))
}

/// `cx` logged in on `url` with the default client and access key
/// `key_id`/`key_secret` (CXone's real API).
pub fn logged_in_with_key(dir: &Path, url: &str, key_id: &str, key_secret: &str) -> Command {
    let mut cmd = cx(dir);
    cmd.args([
        "--auth-url",
        url,
        "--client-id",
        cx_sim::DEFAULT_CLIENT_ID,
        "--client-secret",
        cx_sim::DEFAULT_CLIENT_SECRET,
        "--access-key-id",
        key_id,
        "--access-key-secret",
        key_secret,
    ]);
    cmd
}

/// Start a `cx ... serve` command; its first stdout line is its URL.
pub fn spawn_server(cmd: &mut Command) -> Served {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Served {
        child,
        url: line.trim().to_owned(),
    }
}

/// `text` (a command's stdout) as JSON; panics with the text when it is not.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The simulator's request journal.
pub fn journal(url: &str) -> Vec<Value> {
    serde_json::from_value(sim_get(url, "/_sim/journal")).unwrap()
}

/// `GET {url}{path}` as JSON.
pub fn sim_get(url: &str, path: &str) -> Value {
    serde_json::from_str(&request(url, "GET", path, &[], "").1).unwrap()
}

/// A plain HTTP/1.1 request over a socket (the tests need no HTTP client):
/// `(status, body)`.
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let addr = addr.split('/').next().unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Chunked bodies (axum's JSON answers are not; keep this simple).
    (status, body.to_owned())
}

/// The simulator on a multi-threaded runtime of this process (it serves
/// while the test thread blocks).
pub struct InProcess {
    /// The simulator.
    pub sim: cx_sim::Sim,
    /// Its base URL.
    pub url: String,
    /// The runtime it serves on.
    pub runtime: tokio::runtime::Runtime,
}

impl InProcess {
    /// Starts the simulator `builder` describes.
    pub fn start(builder: cx_sim::SimBuilder) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sim = runtime.block_on(builder.start()).unwrap();
        let url = sim.base_url().to_owned();
        Self { sim, url, runtime }
    }

    /// Blocks until the journal holds an entry satisfying `pred` (60 s at
    /// most, then fails with the journal).
    pub fn wait_for(&self, pred: impl Fn(&cx_sim::JournalEntry) -> bool) {
        let limit = std::time::Duration::from_secs(60);
        self.runtime
            .block_on(self.sim.wait_for_journal(limit, |j| j.iter().any(&pred)))
            .unwrap_or_else(|j| panic!("no such request in {limit:?}: {j:?}"));
    }
}
