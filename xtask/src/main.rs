//! Workspace automation, run as `cargo xtask <task>`.
//!
//! - `ci`: what CI runs — `cargo fmt --check`, `cargo clippy --workspace
//!   --all-targets -D warnings`, then the test suite (`cargo nextest run` when
//!   installed, else `cargo test`), then doc tests.
//! - `codegen`: regenerate `docs/cli.md` from the CLI (`--check` fails when stale).
//! - `release`: check that the workspace is ready to tag (clean tree, versions agree).
//!
//! - `msrv`: derive the minimum supported Rust version and check the
//!   workspace states it (see [`msrv`]).
//!
//! Few dependencies by design: std, and serde_json to read `cargo metadata`.

mod msrv;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("codegen") => codegen(args.iter().any(|a| a == "--check")),
        Some("release") => release(),
        Some("msrv") => msrv::check(&root()),
        _ => {
            eprintln!("usage: cargo xtask <ci | codegen [--check] | msrv | release>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_env(program, args, &[])
}

fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed with {status}",
            args.join(" ")
        ))
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every check CI runs, cheapest first. The CLI is behind the facade's
/// `cli` feature (library users do not build it), so the workspace is
/// checked and tested with it on.
fn ci() -> Result<(), String> {
    const CLI: &str = "--features=cxone/cli";
    run("cargo", &["fmt", "--all", "--check"])?;
    msrv::check(&root())?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            CLI,
            "--",
            "-D",
            "warnings",
        ],
    )?;
    codegen(true)?;
    run_env(
        "cargo",
        &["doc", "--no-deps", "--workspace", CLI],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Every library crate packages (cargo resolves the unpublished
    // workspace crates locally); internal packages are not published.
    run(
        "cargo",
        &[
            "package",
            "--workspace",
            "--exclude=xtask",
            "--exclude=cx-benches",
            "--exclude=cx-e2e",
            "--allow-dirty",
            "--quiet",
        ],
    )?;
    if has_nextest() {
        // Doc tests first, so the run closes on nextest's summary line.
        run("cargo", &["test", "--workspace", "--doc", CLI])?;
        run(
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast", CLI],
        )
    } else {
        run("cargo", &["test", "--workspace", "--no-fail-fast", CLI])
    }
}

/// Generated files, each with its generator:
/// - `docs/cli.md`: the `cx` command reference, printed by `cx reference`
///   from the CLI's own clap definitions.
///
/// With `check`, fail when a file differs from what would be generated
/// (a test in `crates/cxone/tests/cli.rs` checks the same).
fn codegen(check: bool) -> Result<(), String> {
    let out = Command::new("cargo")
        .args([
            "run",
            "-q",
            "-p",
            "cxone",
            "--features",
            "cli",
            "--bin",
            "cx",
            "--",
            "reference",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cx reference` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = root().join("docs").join("cli.md");
    let current = std::fs::read(&path).unwrap_or_default();
    if current == out.stdout {
        eprintln!("xtask: codegen: docs/cli.md is up to date");
        return Ok(());
    }
    if check {
        return Err("docs/cli.md is stale: run `cargo xtask codegen`".into());
    }
    std::fs::create_dir_all(root().join("docs"))
        .map_err(|e| format!("cannot create docs/: {e}"))?;
    std::fs::write(&path, &out.stdout)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("xtask: codegen: wrote docs/cli.md");
    Ok(())
}

fn release() -> Result<(), String> {
    let out = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.stdout.is_empty() {
        return Err("working tree is not clean; commit first".into());
    }
    ci()?;
    eprintln!("xtask: release checks passed; tag with `git tag v<version>`");
    Ok(())
}
