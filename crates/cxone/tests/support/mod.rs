//! Helpers shared by the CLI test binaries: run `cx` with no tenant in its
//! environment, serve a simulator in another process, read its journal.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const TENANT_VARS: [&str; 5] = [
    "CXONE_API_URL",
    "CXONE_AUTH_URL",
    "CXONE_CLIENT_ID",
    "CXONE_CLIENT_SECRET",
    "CXONE_TOKEN_PATH",
];

/// `cx` with no tenant in its environment and `--audit-dir` in `dir`.
pub fn cx(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cx"));
    for var in TENANT_VARS {
        cmd.env_remove(var);
    }
    cmd.env_remove("CX_AUDIT_DIR")
        .current_dir(dir)
        .arg("--audit-dir")
        .arg(dir.join("audit"));
    cmd
}

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

pub fn serve(dir: &Path, id: &str, secret: &str) -> Served {
    let mut child = cx(dir)
        .args([
            "sim",
            "serve",
            "--port",
            "0",
            "--client-id",
            id,
            "--client-secret",
            secret,
        ])
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

pub fn journal(url: &str) -> Vec<Value> {
    // A plain HTTP/1.1 GET over a socket: the test needs no HTTP client.
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /_sim/journal HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}
