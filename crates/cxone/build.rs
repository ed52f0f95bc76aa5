//! Sets `CX_VERSION` for `cx --version`: the package version, followed by the
//! git commit (`0.1.0 (1a2b3c4)`) when this crate is built from a checkout
//! that tracks it. Without git, outside a repository, or inside some other
//! repository (a packaged copy vendored elsewhere), it is the package version
//! alone; the build never fails for want of git.

// Cargo reads a build script's directives from its stdout: `println!` is the
// protocol here, not text for a person (the crate's clippy.toml forbids it
// in the `cx` binary).
#![allow(clippy::disallowed_macros)]

use std::process::Command;

/// `git <args>` in this crate's directory: its trimmed stdout on success.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    // Only a repository that tracks this very manifest describes this build.
    let commit = git(&["ls-files", "--error-unmatch", "Cargo.toml"])
        .and_then(|_| git(&["rev-parse", "--short", "HEAD"]));
    match commit {
        Some(commit) => {
            // Rebuild when HEAD moves: a checkout, a commit on the branch, or
            // a `git pack-refs` that moves the branch into packed-refs.
            let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
            watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
            for name in &watched {
                if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            println!("cargo:rustc-env=CX_VERSION={version} ({commit})");
        }
        None => {
            println!("cargo:rerun-if-changed=build.rs");
            println!("cargo:rustc-env=CX_VERSION={version}");
        }
    }
}
