//! `cargo xtask msrv`: derive the minimum supported Rust version and check
//! that `[workspace.package] rust-version` states it.
//!
//! The minimum is the largest of:
//! - every resolved package's own `rust-version` (from `cargo metadata`,
//!   dev-dependencies included, so the tests build on it too);
//! - the language features the workspace uses: [`LANGUAGE_FLOOR`].
//!
//! Clippy's `incompatible_msrv` lint (on by default) then flags any std API
//! newer than the stated version.

/// The newest language feature the workspace's own code relies on:
/// `let` chains in `if`/`while` (stable in Rust 1.88, edition 2024).
pub const LANGUAGE_FLOOR: (&str, &str) = ("1.88", "let chains (edition 2024)");

/// A version `1.87` / `1.85.0` as comparable numbers (`1.88` = `1.88.0`).
fn parse(v: &str) -> [u32; 3] {
    let mut out = [0; 3];
    for (slot, part) in out.iter_mut().zip(v.split('.')) {
        *slot = part.parse().unwrap_or(0);
    }
    out
}

/// Derive the minimum and compare it with the stated one.
///
/// # Errors
/// When `cargo metadata` fails, or the stated version is lower than the
/// derived one (the message names the package that needs more).
pub fn check(root: &std::path::Path) -> Result<(), String> {
    let meta = crate::tidy::cargo_metadata(root, &["--locked"])?;
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
        .unwrap_or_default();
    let mut needed = (LANGUAGE_FLOOR.0.to_owned(), LANGUAGE_FLOOR.1.to_owned());
    let mut stated = None;
    for p in meta["packages"].as_array().into_iter().flatten() {
        let Some(rv) = p["rust_version"].as_str() else {
            continue;
        };
        let id = p["id"].as_str().unwrap_or_default();
        if members.contains(&id) {
            stated = Some(rv.to_owned());
        } else if parse(rv) > parse(&needed.0) {
            let name = p["name"].as_str().unwrap_or_default();
            let version = p["version"].as_str().unwrap_or_default();
            needed = (rv.to_owned(), format!("{name} {version}"));
        }
    }
    let stated = stated.ok_or("no workspace member states a rust-version")?;
    eprintln!(
        "xtask: msrv: derived {} (from {}), stated {stated}",
        needed.0, needed.1
    );
    if parse(&stated) < parse(&needed.0) {
        return Err(format!(
            "rust-version {stated} is lower than {} required by {}",
            needed.0, needed.1
        ));
    }
    Ok(())
}
