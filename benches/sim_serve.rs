//! Bench (issue 13): `cx sim serve` under load, next to a bare HTTP server
//! returning the same bytes, same machine, same run. Target: at least 45k
//! requests/s for an authenticated `GET /api/v2/workflows/{id}` (seed 000).
//!
//! The simulator runs as the release `cx` binary (`cx sim serve --port 0`,
//! found next to this bench's directory or at `CX_BIN`), the load comes from
//! `wrk -t2 -c64 -d<BENCH_SECS>s` with a bearer token from the simulator's
//! token endpoint. The baselines answer every request with the body and
//! `Content-Type` the simulator sent: a minimal hyper server in this
//! process (a tokio runtime with one worker per core, as `cx` has) and,
//! when `node` is on `PATH`, a Node `http` stub. Next to requests/s it
//! prints each server's CPU time per request (user + system time of its
//! process while wrk ran, from `/proc/<pid>/stat`): on a shared machine
//! req/s swings with the other load, CPU per request much less.
//!
//! ```text
//! cargo build --release -p cxone --features cli --bin cx
//! cargo bench -p cx-benches --bench sim_serve
//! ```
//! Environment: `BENCH_SECS` (per server and round, default 10),
//! `BENCH_ROUNDS` (default 1; the servers take turns each round and the
//! figures are medians), `CX_BIN`.
//! Without `wrk` or the `cx` binary it says how to get them and exits 0.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use cx_benches::{WF_ID, env_or, percentile, runtime};

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!(
            "sim_serve: wrk is not installed (Debian/Ubuntu: `apt-get install -y wrk`); skipped"
        );
        return;
    }
    let Some(cx) = cx_binary() else {
        println!(
            "sim_serve: no release `cx` binary (build it with `cargo build --release -p cxone --features cli --bin cx`, or set CX_BIN); skipped"
        );
        return;
    };
    let secs = env_or("BENCH_SECS", 10).max(1);
    let rounds = env_or("BENCH_ROUNDS", 1).max(1);

    let sim = Server::spawn(Command::new(&cx).args(["sim", "serve", "--port", "0"]));
    let path = format!("/api/v2/workflows/{WF_ID}");
    // One worker per core, as `cx` has.
    let rt = runtime();
    let (bearer, body) = rt.block_on(token_and_body(&sim.first_line, &path));
    let hyper = rt.block_on(bare_hyper(body.clone()));
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok()
        .then(|| {
            Server::spawn(
                Command::new("node")
                    .args(["-e", NODE_STUB])
                    .env("CX_BENCH_BODY", &body),
            )
        });
    // (name, base URL, pid whose CPU time the server's work shows in).
    let mut servers = vec![
        ("cx sim serve", sim.first_line.clone(), sim.child.id()),
        ("bare hyper", format!("http://{hyper}"), std::process::id()),
    ];
    if let Some(node) = &node {
        servers.push(("bare node http", node.first_line.clone(), node.child.id()));
    }
    let tick_us = clock_tick_us();

    // Interleaved: each round loads every server once, starting with a
    // different one, so a busy machine weighs on all of them alike.
    let mut figures = vec![Vec::new(); servers.len()];
    for round in 0..rounds {
        for i in 0..servers.len() {
            let at = (i + round as usize) % servers.len();
            let (_, base, pid) = &servers[at];
            let before = cpu_ticks(*pid);
            let (rps, requests) = wrk(&format!("{base}{path}"), &bearer, secs);
            let ticks = cpu_ticks(*pid).saturating_sub(before);
            figures[at].push((rps, ticks as f64 * tick_us / requests.max(1) as f64));
        }
    }

    println!(
        "sim_serve: wrk -t2 -c64 -d{secs}s x {rounds} round(s), authenticated GET {path} ({} bytes); medians",
        body.len()
    );
    println!(
        "  (server CPU per request is user + system time of its process; less sensitive to a busy machine than req/s)"
    );
    let column =
        |i: usize, f: fn(&(f64, f64)) -> f64| median(&figures[i].iter().map(f).collect::<Vec<_>>());
    let (ours, ours_cpu) = (column(0, |f| f.0), column(0, |f| f.1));
    for (i, (name, ..)) in servers.iter().enumerate() {
        let (rps, cpu) = (column(i, |f| f.0), column(i, |f| f.1));
        if i == 0 {
            println!(
                "  {name:<16} {rps:>9.0} req/s  {cpu:>6.1} us CPU/req   (target >= 45000 req/s)"
            );
        } else {
            println!(
                "  {name:<16} {rps:>9.0} req/s  {cpu:>6.1} us CPU/req   cx/this: {:.2}x req/s, {:.2}x CPU/req",
                ours / rps,
                ours_cpu / cpu
            );
        }
    }
    if node.is_none() {
        println!("  bare node http   (node not on PATH)");
    }
    drop(rt);
}

/// User + system CPU time of process `pid` so far, in clock ticks (0 when
/// `/proc/<pid>/stat` cannot be read).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is the first, utime the 12th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Length of a clock tick in us (`getconf CLK_TCK`, else 100 Hz).
fn clock_tick_us() -> f64 {
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|hz| *hz > 0.0)
        .unwrap_or(100.0);
    1e6 / hz
}

/// The median of `v` (NaN when empty).
fn median(v: &[f64]) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 0.5)
}

/// `CX_BIN`, else `cx` in the profile directory above this bench
/// (`target/release/deps/sim_serve-…` → `target/release/cx`).
fn cx_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("CX_BIN") {
        return Some(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().ok()?;
    let cx = exe.parent()?.parent()?.join("cx");
    cx.is_file().then_some(cx)
}

/// A child server that prints its base URL as its first stdout line.
struct Server {
    child: Child,
    first_line: String,
}

impl Server {
    fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let mut first_line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out)
                .read_line(&mut first_line)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let first_line = first_line.trim().trim_end_matches('/').to_owned();
        assert!(
            first_line.starts_with("http://"),
            "{cmd:?} printed {first_line:?}"
        );
        Self { child, first_line }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `Bearer <token>` of the simulator's default client (from the token
/// endpoint at `base`) and the body the simulator answers at `path`.
async fn token_and_body(base: &str, path: &str) -> (String, String) {
    let url = format!("{base}{path}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cx_sim::DEFAULT_CLIENT_ID),
            ("client_secret", cx_sim::DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("token: {e}"));
    assert_eq!(resp.status(), 200, "token");
    let doc: serde_json::Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    let bearer = match doc["access_token"].as_str() {
        Some(token) => format!("Bearer {token}"),
        None => panic!("no access_token in {doc}"),
    };
    let resp = client
        .get(&url)
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status(), 200, "GET {url}");
    let body = resp.text().await.unwrap_or_else(|e| panic!("{e}"));
    (bearer, body)
}

/// Runs `wrk -t2 -c64` for `secs` against `url` with `Authorization:
/// <bearer>`: requests per second and requests sent. Panics when any
/// answer was not 2xx or the output has no figures.
fn wrk(url: &str, bearer: &str, secs: u64) -> (f64, u64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{secs}s"), "-H"])
        .arg(format!("Authorization: {bearer}"))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("wrk: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(!text.contains("Non-2xx"), "errors from {url}: {text}");
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok());
    // "  123456 requests in 10.00s, 78.90MB read"
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    match (rps, requests) {
        (Some(rps), Some(requests)) => (rps, requests),
        _ => panic!("no figures in wrk output: {text}"),
    }
}

/// A bare hyper HTTP/1 server on 127.0.0.1 answering every request with
/// `body` as JSON; runs until its runtime drops.
async fn bare_hyper(body: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let resp = hyper::Response::builder()
                        .header("content-type", "application/json")
                        .body(body.clone());
                    async move { resp }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A Node `http` server answering every request with `CX_BENCH_BODY` as
/// JSON; prints its base URL.
const NODE_STUB: &str = r#"
const http = require('http');
const body = Buffer.from(process.env.CX_BENCH_BODY);
const server = http.createServer((req, res) => {
  res.writeHead(200, {'content-type': 'application/json', 'content-length': body.length});
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port));
"#;
