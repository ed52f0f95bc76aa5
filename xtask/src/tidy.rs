//! `cargo xtask tidy`: the architecture invariants of ARCHITECTURE.md as a
//! check (also run as an ordinary test, `workspace_is_tidy`). It fails when:
//!
//! 1. a crate depends against the layer order ([`LAYERS`]; read from
//!    `cargo metadata`, normal dependencies only);
//! 2. a service crate's source names `reqwest`, `tokio::time::sleep` or
//!    `thread::sleep` (they send through cx-http and wait through its
//!    poller and clock);
//! 3. a type holding a `SecretString`, or a field that names a secret
//!    (`secret` as a word of its name, or a name ending in `token`: `token`,
//!    `access_token`, `id_token`; a count, TTL or path such as `max_tokens`,
//!    `token_ttl` or `token_path` is not a secret), derives `Debug` (secrets
//!    get a redacting `Debug` written by hand);
//! 4. a package has more than one integration-test binary (one `tests/it`
//!    binary links once, not once per file);
//! 5. a library's root does not `#![deny(missing_docs)]`.
//!
//! Each rule is a pure function over text or metadata, tested against a
//! planted violation below.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Layer of each workspace library; a crate may depend (normally) only on
/// crates of a lower layer. Service crates share a layer, so they never
/// depend on each other; cx-sim depends on no client crate above the runtime.
pub const LAYERS: &[(&str, u8)] = &[
    ("cx-http", 0),
    ("cx-auth", 1),
    ("cx-audit", 1),
    ("cx-sim", 1),
    ("cx-workflow", 2),
    ("cx-agent", 2),
    ("cx-history", 2),
    ("cx-dataaction", 2),
    ("cx-redis", 2),
    ("cxone", 3),
];

/// Workspace packages that are tools or test support, not layers (never a
/// normal dependency of a layer).
pub const TOOLS: &[&str] = &["xtask", "cx-e2e", "cx-benches", "cx-testkit"];

/// The service crates of rule 2.
pub const SERVICES: &[&str] = &["cx-workflow", "cx-agent", "cx-history", "cx-dataaction"];

/// One package as `cargo metadata` describes it.
#[derive(Debug, Clone, Default)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Names of its normal (not dev, not build) dependencies.
    pub deps: Vec<String>,
    /// Number of integration-test targets.
    pub test_targets: usize,
    /// Root source file of its library target, if it has one.
    pub lib_root: Option<PathBuf>,
    /// Directory of its manifest.
    pub dir: PathBuf,
}

/// Run every rule over the workspace at `root`.
///
/// # Errors
/// Every violation, one per line, or why metadata could not be read.
pub fn check(root: &Path) -> Result<(), String> {
    let packages = metadata(root)?;
    let mut found = layer_violations(&packages);
    found.extend(test_binary_violations(&packages));
    for p in &packages {
        if let Some(lib) = p
            .lib_root
            .as_ref()
            .filter(|_| !TOOLS.contains(&p.name.as_str()))
        {
            let text =
                std::fs::read_to_string(lib).map_err(|e| format!("{}: {e}", lib.display()))?;
            found.extend(missing_docs_violation(&p.name, &text));
        }
        for file in rust_files(&p.dir.join("src")) {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            if SERVICES.contains(&p.name.as_str()) {
                found.extend(forbidden_names(&shown, &text));
            }
            found.extend(debug_over_secrets(&shown, &text));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("tidy found {}:\n{}", found.len(), found.join("\n")))
    }
}

/// Rule 1: normal dependencies against [`LAYERS`], and packages not placed.
pub fn layer_violations(packages: &[Package]) -> Vec<String> {
    let layer = |n: &str| LAYERS.iter().find(|(l, _)| *l == n).map(|(_, k)| *k);
    let ours: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();
    for p in packages {
        if TOOLS.contains(&p.name.as_str()) {
            continue;
        }
        let Some(own) = layer(&p.name) else {
            out.push(format!(
                "{}: not placed in a layer (xtask/src/tidy.rs LAYERS)",
                p.name
            ));
            continue;
        };
        for d in p.deps.iter().filter(|d| ours.contains(&d.as_str())) {
            match layer(d) {
                Some(theirs) if theirs < own => {}
                _ => out.push(format!(
                    "{} (layer {own}) depends on {d}, which is not below it",
                    p.name
                )),
            }
        }
    }
    out
}

/// Rule 4: packages with more than one integration-test binary.
pub fn test_binary_violations(packages: &[Package]) -> Vec<String> {
    packages
        .iter()
        .filter(|p| p.test_targets > 1)
        .map(|p| {
            format!(
                "{}: {} integration-test binaries (make them modules of one tests/it/main.rs)",
                p.name, p.test_targets
            )
        })
        .collect()
}

/// Rule 2: names a service crate's source must not use.
pub fn forbidden_names(file: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for name in ["reqwest", "tokio::time::sleep", "thread::sleep"] {
            if code.contains(name) {
                out.push(format!("{file}:{}: a service crate names `{name}`", i + 1));
            }
        }
    }
    out
}

/// Rule 3: a `#[derive(.., Debug, ..)]` struct holding a `SecretString`
/// or a field named `*secret*` / `*token*`.
pub fn debug_over_secrets(file: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut derives_debug = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[derive(") && t.contains("Debug") {
            derives_debug = true;
            continue;
        }
        if t.starts_with("#[") || t.starts_with("///") || t.is_empty() {
            continue;
        }
        if derives_debug && let Some(name) = struct_name(t) {
            let body = item_body(&lines[i..]);
            if let Some(why) = secret_in(&body) {
                out.push(format!(
                    "{file}:{}: `{name}` derives Debug over {why}; write a redacting Debug",
                    i + 1
                ));
            }
        }
        derives_debug = false;
    }
    out
}

fn struct_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("pub ")
        .or_else(|| line.strip_prefix("pub(crate) "))
        .unwrap_or(line)
        .strip_prefix("struct ")?;
    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
}

/// The text of the item starting at `lines[0]`, up to its closing `}` or `;`.
fn item_body(lines: &[&str]) -> String {
    let mut depth = 0i32;
    let mut body = String::new();
    for line in lines {
        body.push_str(line);
        body.push('\n');
        depth += line.matches(['{', '(']).count() as i32;
        depth -= line.matches(['}', ')']).count() as i32;
        if depth <= 0 && (line.contains('}') || line.trim_end().ends_with(';')) {
            break;
        }
    }
    body
}

fn secret_in(body: &str) -> Option<String> {
    if body.contains("SecretString") || body.contains("SecretBox") {
        return Some("a SecretString".to_owned());
    }
    body.lines().skip(1).find_map(|l| {
        let l = l
            .trim_start()
            .trim_start_matches("pub ")
            .trim_start_matches("pub(crate) ");
        let (field, _) = l.split_once(':')?;
        let field = field.trim();
        let is_ident = !field.is_empty() && field.chars().all(|c| c.is_alphanumeric() || c == '_');
        let lower = field.to_ascii_lowercase();
        let words: Vec<&str> = lower.split('_').collect();
        let secret = words.contains(&"secret") || words.last() == Some(&"token");
        (is_ident && secret).then(|| format!("the field `{field}`"))
    })
}

/// Rule 5: a library root without `#![deny(missing_docs)]`.
pub fn missing_docs_violation(package: &str, lib_root: &str) -> Option<String> {
    (!lib_root.contains("#![deny(missing_docs)]"))
        .then(|| format!("{package}: the library root lacks #![deny(missing_docs)]"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The workspace's packages from `cargo metadata --no-deps` (no network).
pub fn metadata(root: &Path) -> Result<Vec<Package>, String> {
    let v = cargo_metadata(root, &["--no-deps"])?;
    let packages = v["packages"].as_array().cloned().unwrap_or_default();
    Ok(packages.iter().map(package).collect())
}

/// `cargo metadata --format-version 1` with `extra` arguments, as JSON.
///
/// # Errors
/// When cargo cannot run or fails (its stderr), or prints no JSON.
pub fn cargo_metadata(root: &Path, extra: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1"])
        .args(extra)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata is not JSON: {e}"))
}

fn package(p: &serde_json::Value) -> Package {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let targets = p["targets"].as_array().cloned().unwrap_or_default();
    let has_kind = |t: &serde_json::Value, k: &str| {
        t["kind"]
            .as_array()
            .is_some_and(|ks| ks.iter().any(|x| x.as_str() == Some(k)))
    };
    Package {
        name: s(&p["name"]),
        version: s(&p["version"]),
        deps: p["dependencies"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .filter(|d| d["kind"].is_null())
                    .map(|d| s(&d["name"]))
                    .collect()
            })
            .unwrap_or_default(),
        test_targets: targets.iter().filter(|t| has_kind(t, "test")).count(),
        lib_root: targets
            .iter()
            .find(|t| has_kind(t, "lib"))
            .map(|t| PathBuf::from(s(&t["src_path"]))),
        dir: Path::new(&s(&p["manifest_path"]))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[&str]) -> Package {
        Package {
            name: name.into(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            ..Package::default()
        }
    }

    #[test]
    fn workspace_is_tidy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if let Err(e) = check(&root) {
            panic!("{e}");
        }
    }

    #[test]
    fn layers_catch_upward_and_sideways_dependencies() {
        let ok = [pkg("cx-http", &[]), pkg("cx-agent", &["cx-http", "serde"])];
        assert!(layer_violations(&ok).is_empty());
        let upward = [pkg("cx-http", &["cx-agent"]), pkg("cx-agent", &[])];
        assert_eq!(layer_violations(&upward).len(), 1);
        let sideways = [pkg("cx-agent", &["cx-workflow"]), pkg("cx-workflow", &[])];
        assert_eq!(layer_violations(&sideways).len(), 1);
        let unplaced = [pkg("cx-new", &[])];
        assert!(layer_violations(&unplaced)[0].contains("not placed"));
    }

    #[test]
    fn service_crates_may_not_name_reqwest_or_sleep() {
        let planted = "use reqwest::Client;\nfn f() { std::thread::sleep(d); }\n// reqwest in a comment is fine\n";
        let found = forbidden_names("x.rs", planted);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].contains("x.rs:2"));
        assert!(forbidden_names("x.rs", "cx_http::Client::new()").is_empty());
    }

    #[test]
    fn debug_over_a_secret_is_caught() {
        let planted = "#[derive(Debug, Clone)]\npub struct Creds {\n    pub id: String,\n    pub client_secret: String,\n}\n";
        assert_eq!(debug_over_secrets("a.rs", planted).len(), 1);
        let wrapped = "#[derive(Debug)]\nstruct K(SecretString);\n";
        assert_eq!(debug_over_secrets("a.rs", wrapped).len(), 1);
        let token = "#[derive(Debug)]\nstruct T {\n    access_token: String,\n}\n";
        assert_eq!(debug_over_secrets("a.rs", token).len(), 1);
        let not_secrets = "#[derive(Debug)]\nstruct C {\n    max_tokens: u32,\n    token_ttl: Duration,\n    token_path: String,\n}\n";
        assert!(debug_over_secrets("a.rs", not_secrets).is_empty());
        let fine = "#[derive(Debug)]\nstruct P {\n    id: String,\n}\n\nstruct S {\n    secret: SecretString,\n}\n";
        assert!(debug_over_secrets("a.rs", fine).is_empty());
    }

    #[test]
    fn a_library_without_deny_missing_docs_is_caught() {
        assert!(missing_docs_violation("c", "//! docs\npub fn f() {}\n").is_some());
        assert!(missing_docs_violation("c", "#![deny(missing_docs)]\n").is_none());
    }

    #[test]
    fn more_than_one_test_binary_is_caught() {
        let mut one = pkg("cx-http", &[]);
        one.test_targets = 1;
        assert!(test_binary_violations(&[one]).is_empty());
        let mut two = pkg("cx-agent", &[]);
        two.test_targets = 2;
        assert_eq!(test_binary_violations(&[two]).len(), 1);
    }
}
