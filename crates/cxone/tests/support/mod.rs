//! Helpers shared by the CLI test binaries: `cx` with a clean environment,
//! and running it to completion.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

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
