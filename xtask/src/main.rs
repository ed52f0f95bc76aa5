//! Workspace automation, run as `cargo xtask <task>`.
//!
//! - `ci`: what CI runs — `cargo fmt --check`, `cargo clippy --workspace
//!   --all-targets -D warnings`, then the test suite (`cargo nextest run` when
//!   installed, else `cargo test`), then doc tests.
//! - `codegen`: regenerate `docs/cli.md` and the man pages in `docs/man/` from
//!   the CLI (`--check` fails when stale).
//! - `release`: check that the workspace is ready to tag (clean tree, versions agree).
//!
//! - `tidy`: the architecture invariants as a check (see [`tidy`]).
//! - `msrv`: derive the minimum supported Rust version and check the
//!   workspace states it (see [`msrv`]).
//!
//! Few dependencies by design: std, and serde_json to read `cargo metadata`.

mod msrv;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("codegen") => codegen(args.iter().any(|a| a == "--check")),
        Some("release") => release(),
        Some("msrv") => msrv::check(&root()),
        Some("tidy") => tidy::check(&root()),
        _ => {
            eprintln!("usage: cargo xtask <ci | codegen [--check] | msrv | release | tidy>");
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
    tidy::check(&root())?;
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
    forget_unpacked_workspace_crates()?;
    run(
        "cargo",
        &[
            "package",
            "--workspace",
            "--exclude=xtask",
            "--exclude=cx-benches",
            "--exclude=cx-e2e",
            "--exclude=cx-testkit",
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

/// `cargo package --workspace` verifies each crate against the others
/// through a temporary local registry under `target/package`, and unpacks
/// those crates into `$CARGO_HOME/registry/src/-<hash of that path>/`. Cargo
/// never unpacks a version it finds there again, so on a machine that keeps
/// `CARGO_HOME` between runs at the same checkout path, a crate would be
/// verified against the previous run's sources of its workspace
/// dependencies (CI failed this way: cx-auth against a cx-http without
/// `with_setters!`). Remove those unpacked copies first (only in registries
/// without a host, the local ones, whose directory name starts with `-`,
/// and only the workspace's own `name-version` entries).
///
/// Cargo also treats a registry crate of one version as unchanging, so the
/// verify builds' artifacts of a workspace crate in `target/debug` would be
/// reused with new sources; their fingerprints (`<name>-<16 hex digits>`) go
/// too, which costs one rebuild of the workspace crates, never of the
/// third-party ones.
fn forget_unpacked_workspace_crates() -> Result<(), String> {
    let packages = tidy::metadata(&root())?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let registries = cargo_home.map(|h| entries(&h.join("registry").join("src")));
    for registry in registries.unwrap_or_default() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for p in &packages {
            remove_dir(&registry.path().join(format!("{}-{}", p.name, p.version)))?;
        }
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    for fingerprint in entries(&target.join("debug").join(".fingerprint")) {
        let name = fingerprint.file_name().to_string_lossy().into_owned();
        let ours = packages.iter().any(|p| {
            name.strip_prefix(&p.name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if ours {
            remove_dir(&fingerprint.path())?;
        }
    }
    Ok(())
}

/// The entries of `dir`; none when it cannot be read (it may not exist yet).
fn entries(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default()
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove stale {}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Generated files, each with its generator:
/// - `docs/cli.md`: the `cx` command reference, printed by `cx reference`
///   from the CLI's own clap definitions;
/// - `docs/man/*.1`: the man pages (`cx.1` and one per subcommand), written
///   by `cx reference --man DIR` (clap_mangen) from the same definitions.
///
/// With `check`, fail when a file differs from what would be generated, or a
/// page is generated that is not checked in or the other way round (a test
/// in `crates/cxone/tests/cli.rs` checks the same).
fn codegen(check: bool) -> Result<(), String> {
    let docs = root().join("docs");
    let mut stale = Vec::new();

    let markdown = cx(&["reference"])?;
    sync(&docs.join("cli.md"), &markdown, check, &mut stale)?;

    let scratch = std::env::temp_dir().join(format!("cx-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let scratch_arg = scratch.to_string_lossy().into_owned();
    let generated = cx(&["reference", "--man", &scratch_arg]).and_then(|_| read_pages(&scratch));
    let _ = std::fs::remove_dir_all(&scratch);
    let generated = generated?;
    let man = docs.join("man");
    let checked_in = if man.is_dir() {
        read_pages(&man)?
    } else {
        Vec::new()
    };
    for (name, bytes) in &generated {
        sync(&man.join(name), bytes, check, &mut stale)?;
    }
    for (name, _) in &checked_in {
        if !generated.iter().any(|(g, _)| g == name) {
            let path = man.join(name);
            if check {
                stale.push(format!("{} (no such command any more)", rel(&path)));
            } else {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                eprintln!("xtask: codegen: removed {}", rel(&path));
            }
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "stale generated files: {}; run `cargo xtask codegen`",
            stale.join(", ")
        ));
    }
    eprintln!("xtask: codegen: docs/cli.md and docs/man/ are up to date");
    Ok(())
}

/// Run `cx <args>` through cargo: its stdout.
fn cx(args: &[&str]) -> Result<Vec<u8>, String> {
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
        ])
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cx {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// The `*.1` files of `dir` with their bytes, sorted by name.
fn read_pages(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut pages = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = name.filter(|n| n.ends_with(".1")) {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            pages.push((name, bytes));
        }
    }
    pages.sort();
    Ok(pages)
}

/// `path` relative to the workspace root, for messages.
fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Write `bytes` to `path` when they differ; with `check`, record `path` as
/// stale instead.
fn sync(path: &Path, bytes: &[u8], check: bool, stale: &mut Vec<String>) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|current| current == bytes) {
        return Ok(());
    }
    if check {
        stale.push(rel(path));
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("xtask: codegen: wrote {}", rel(path));
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
