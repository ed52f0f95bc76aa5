//! A throwaway `redis-server` for tests and benches (feature `testing`):
//! Debian's `redis-server` on a free port of 127.0.0.1, persistence off,
//! killed on drop. A server that cannot start is an error, never a skip.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The line `redis-server --loglevel notice` logs once it listens.
const READY: &str = "Ready to accept connections";

/// How long a server may take to log [`READY`].
const START_LIMIT: Duration = Duration::from_secs(10);

/// A running `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Start `redis-server --port N --save '' --appendonly no` on a free
    /// port and wait (at most 10 s) until it logs that it accepts
    /// connections.
    ///
    /// # Errors
    /// `redis-server` is missing (install Debian's `redis-server`), exits
    /// before it is ready, or is not ready in time.
    pub fn start() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        Self::on_port(port)
    }

    fn on_port(port: u16) -> Result<Self, String> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--loglevel", "notice"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot run redis-server ({e}); install it: apt-get install redis-server")
            })?;
        let ready = child.stdout.take().map(watch_log);
        let mut server = Self {
            child: Some(child),
            port,
        };
        let Some(ready) = ready else {
            return Err("redis-server's stdout was not piped".to_owned());
        };
        match ready.recv_timeout(START_LIMIT) {
            Ok(Ok(())) => Ok(server),
            Ok(Err(log)) => {
                let status = server.child.as_mut().and_then(|c| c.wait().ok());
                Err(format!(
                    "redis-server on port {port} exited ({status:?}) before it was ready:\n{log}"
                ))
            }
            Err(_) => {
                server.kill();
                Err(format!(
                    "redis-server on port {port} did not log {READY:?} in {START_LIMIT:?}"
                ))
            }
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kill the server (SIGKILL) and wait for it: Redis is down until
    /// [`RedisServer::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start a fresh (empty) server on the same port.
    ///
    /// # Errors
    /// As [`RedisServer::start`].
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let fresh = Self::on_port(self.port)?;
        *self = fresh;
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the server's log on a thread: sends `Ok(())` once it logs
/// [`READY`], or `Err(log so far)` if the log ends first (the server
/// exited). Keeps draining afterwards so the pipe never fills.
fn watch_log(stdout: ChildStdout) -> mpsc::Receiver<Result<(), String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut log = String::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains(READY) {
                let _ = tx.send(Ok(()));
                break;
            }
            log.push_str(&line);
            log.push('\n');
        }
        // Ready: drain until the server exits. Not ready: its log ended.
        lines.map_while(Result::ok).for_each(drop);
        let _ = tx.send(Err(log));
    });
    rx
}
