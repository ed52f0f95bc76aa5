//! `cx login`, profiles and the config file, as a user runs them against
//! `cx sim serve` in another process; and the embedded simulator saying so.

// Tests unwrap: a panic with the value is the failure report.

use std::path::{Path, PathBuf};

use crate::support::{Line, Served, WF, cx, journal, json, run, wf};
use serde_json::Value;

const KEY_ID: &str = "CLIKEY0001=";
const KEY_SECRET: &str = "cli-key-secret+/==";
const CLIENT_SECRET: &str = cx_sim::DEFAULT_CLIENT_SECRET;

/// `cx sim serve` with the test's access key.
fn serve(dir: &Path) -> Served {
    crate::support::serve_access_key(dir, KEY_ID, KEY_SECRET)
}

/// Writes `text` as `dir/name` with `mode` and returns its path.
fn write_config(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// An access-key profile on `url`; `extra` adds lines.
fn profile(name: &str, url: &str, extra: &str) -> String {
    format!(
        r#"
[profiles.{name}]
kind = "access-key"
auth_url = "{url}"
client_id = "{}"
client_secret = {{ env = "CX_TEST_CLIENT_SECRET" }}
access_key_id = "{KEY_ID}"
{extra}
"#,
        cx_sim::DEFAULT_CLIENT_ID
    )
}

fn assert_no_secret(text: &str) {
    for secret in [KEY_SECRET, CLIENT_SECRET] {
        assert!(!text.contains(secret), "secret {secret:?} shown: {text}");
    }
}

#[test]
fn login_with_a_profile_whose_secret_comes_from_an_env_var() {
    let dir = tempfile::tempdir().unwrap();
    let sim = serve(dir.path());
    let config = write_config(
        dir.path(),
        "config.toml",
        &format!(
            "default_profile = \"lab\"\n{}",
            profile(
                "lab",
                &sim.url,
                "access_key_secret = { env = \"CX_TEST_KEY_SECRET\" }"
            )
        ),
        0o644,
    );
    let (code, out, err) = run(cx(dir.path())
        .env("CX_CONFIG", &config)
        .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .env("CX_TEST_KEY_SECRET", KEY_SECRET)
        .args(["login", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    assert_no_secret(&out);
    assert_no_secret(&err);
    let doc = json(&out);
    assert_eq!(
        doc["tenantId"],
        cx_sim::tenant_id(cx_sim::DEFAULT_TENANT).as_str()
    );
    assert_eq!(doc["area"], cx_sim::SIM_AREA);
    assert_eq!(doc["apiUrl"], sim.url.as_str());
    assert_eq!(doc["tokenLifetimeSecs"], 3600);
    assert_eq!(doc["profile"], "lab");
    assert_eq!(doc["tenant"]["kind"], "access-key");
    assert!(!err.contains("embedded simulator"), "{err}");
    // The real login ran against the served simulator.
    let grants: Vec<Value> = journal(&sim.url)
        .into_iter()
        .filter(|e| e["path"] == "/auth/token")
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["grantType"], "password");
    assert_eq!(grants[0]["status"], 200);

    // Human output: the same facts, no token.
    let (code, out, err) = run(cx(dir.path())
        .env("CX_CONFIG", &config)
        .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .env("CX_TEST_KEY_SECRET", KEY_SECRET)
        .arg("login"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("API host        {}", sim.url)),
        "{out}"
    );
    assert!(out.contains("token lifetime  3600 s"), "{out}");
    assert!(!out.contains("(simulated)"), "{out}");
}

#[test]
fn login_with_a_secret_from_a_command_and_a_failing_command_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sim = serve(dir.path());
    let command =
        format!("access_key_secret = {{ command = \"printf '%s\\\\n' '{KEY_SECRET}'\" }}");
    let config = write_config(
        dir.path(),
        "config.toml",
        &format!(
            "default_profile = \"lab\"\n{}{}",
            profile("lab", &sim.url, &command),
            profile(
                "broken",
                &sim.url,
                "access_key_secret = { command = \"echo nope >&2; exit 3\" }"
            )
        ),
        0o644,
    );
    let login = |line: &str| {
        run(cx(dir.path())
            .arg("--config")
            .arg(&config)
            .line(line)
            .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET))
    };
    let (code, out, err) = login("login --output json");
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["apiUrl"], sim.url.as_str());

    let (code, out, err) = login("--profile broken login");
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("profile \"broken\": access_key_secret"),
        "{err}"
    );
    assert!(err.contains("failed (exit status: 3)"), "{err}");
    assert!(err.contains(&format!("{}:", config.display())), "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");
}

#[test]
fn precedence_is_flags_then_env_then_profile_then_default_profile() {
    let dir = tempfile::tempdir().unwrap();
    let sim = serve(dir.path());
    let mut text = String::from("default_profile = \"a\"\n");
    for name in ["a", "b", "c"] {
        text.push_str(&profile(
            name,
            &sim.url,
            &format!(
                "access_key_secret = {{ env = \"CX_TEST_KEY_SECRET\" }}\napi_url = \"https://profile-{name}.invalid\""
            ),
        ));
    }
    let config = write_config(dir.path(), "config.toml", &text, 0o644);
    let missing = dir.path().join("no-such-config.toml");
    let cfg = config.to_str().unwrap();
    // (environment, flags, the API URL that wins)
    type Row<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let table: &[Row] = &[
        (&[("CX_CONFIG", cfg)], &[], "https://profile-a.invalid"),
        (
            &[("CX_CONFIG", cfg), ("CX_PROFILE", "b")],
            &[],
            "https://profile-b.invalid",
        ),
        (
            &[("CX_CONFIG", cfg), ("CX_PROFILE", "b")],
            &["--profile", "c"],
            "https://profile-c.invalid",
        ),
        (
            &[
                ("CX_CONFIG", cfg),
                ("CX_PROFILE", "b"),
                ("CXONE_API_URL", "https://env.invalid"),
            ],
            &[],
            "https://env.invalid",
        ),
        (
            &[
                ("CX_CONFIG", cfg),
                ("CX_PROFILE", "b"),
                ("CXONE_API_URL", "https://env.invalid"),
            ],
            &["--api-url", "https://flag.invalid"],
            "https://flag.invalid",
        ),
        // A variable set but empty is unset: the profile's value applies.
        (
            &[("CX_CONFIG", cfg), ("CXONE_API_URL", "")],
            &[],
            "https://profile-a.invalid",
        ),
        // --config beats CX_CONFIG.
        (
            &[("CX_CONFIG", missing.to_str().unwrap())],
            &["--config", cfg],
            "https://profile-a.invalid",
        ),
    ];
    for (env, flags, want) in table {
        let mut cmd = cx(dir.path());
        cmd.env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("CX_TEST_KEY_SECRET", KEY_SECRET);
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let (code, out, err) = run(cmd.args(*flags).args(["login", "--output", "json"]));
        assert_eq!(code, 0, "{env:?} {flags:?}: {err}");
        assert_eq!(json(&out)["apiUrl"], *want, "{env:?} {flags:?}");
    }

    // A flag fills in what the profile lacks: the key secret.
    let (code, _, err) = run(cx(dir.path())
        .env("CX_CONFIG", cfg)
        .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .args(["--access-key-secret", KEY_SECRET, "login"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_broken_config_file_is_an_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "syntax.toml",
            "default_profile = \"a\"\n[profiles.a]\nkind = \n",
            3,
        ),
        (
            "unknown-key.toml",
            "default_profile = \"a\"\n[profiles.a]\nkind = \"access-key\"\nclient_ide = \"x\"\n",
            4,
        ),
        ("bad-kind.toml", "[profiles.a]\nkind = \"password\"\n", 2),
    ];
    for (name, text, line) in cases {
        let path = write_config(dir.path(), name, text, 0o644);
        let (code, out, err) =
            run(cx(dir.path()).args(["--config", path.to_str().unwrap(), "workflow", "run", WF]));
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            err.contains(&format!("config file {}:{line}:", path.display())),
            "{name}: {err}"
        );
        assert!(!err.contains("embedded simulator"), "{name}: {err}");
    }
}

#[test]
fn plain_secrets_need_a_private_file_and_then_warn() {
    let dir = tempfile::tempdir().unwrap();
    let sim = serve(dir.path());
    let text = format!(
        "default_profile = \"lab\"\n{}",
        profile(
            "lab",
            &sim.url,
            &format!("access_key_secret = \"{KEY_SECRET}\"")
        )
    );
    let path = write_config(dir.path(), "config.toml", &text, 0o644);
    let (code, _, err) = run(cx(dir.path())
        .env("CX_CONFIG", &path)
        .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .arg("login"));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{}:9: profile \"lab\": access_key_secret",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("chmod 600"), "{err}");
    assert_no_secret(&err);

    let path = write_config(dir.path(), "config.toml", &text, 0o600);
    let (code, out, err) = run(cx(dir.path())
        .env("CX_CONFIG", &path)
        .env("CX_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .arg("login"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("plain text"), "{err}");
    assert_no_secret(&format!("{out}{err}"));
}

#[test]
fn profile_list_and_show_name_where_secrets_come_from_never_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "default_profile = \"b\"\n{}{}",
        profile(
            "a",
            "http://127.0.0.1:9",
            "access_key_secret = { command = \"pass show cx\" }"
        ),
        profile(
            "b",
            "http://127.0.0.1:9",
            &format!("access_key_secret = \"{KEY_SECRET}\"")
        ),
    );
    let path = write_config(dir.path(), "config.toml", &text, 0o600);
    let with_config = |line: &str| run(cx(dir.path()).env("CX_CONFIG", &path).line(line));
    let (code, out, err) = with_config("profile list --output json");
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["defaultProfile"], "b");
    let names: Vec<&str> = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_no_secret(&out);

    let (code, out, _) = with_config("profile show a");
    assert_eq!(code, 0);
    assert!(out.contains("command \"pass show cx\""), "{out}");
    assert!(
        out.contains("environment variable CX_TEST_CLIENT_SECRET"),
        "{out}"
    );
    let (code, out, _) = with_config("profile show --output json");
    assert_eq!(code, 0);
    let doc = json(&out);
    assert_eq!(doc["name"], "b", "the default profile");
    assert_eq!(doc["accessKeySecret"], "plain text in the config file");
    assert_no_secret(&out);

    let (code, _, err) = with_config("profile show zzz");
    assert_eq!(code, 1);
    assert!(err.contains("profile \"zzz\""), "{err}");
    assert!(err.contains("profiles: a, b"), "{err}");
}

#[test]
fn a_wrong_access_key_secret_is_named_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let sim = serve(dir.path());
    let wrong = "wrong-cli-key-secret-42";
    let (code, out, err) = run(cx(dir.path())
        .env("CXONE_AUTH_URL", &sim.url)
        .env("CXONE_CLIENT_ID", cx_sim::DEFAULT_CLIENT_ID)
        .env("CXONE_CLIENT_SECRET", CLIENT_SECRET)
        .env("CXONE_ACCESS_KEY_ID", KEY_ID)
        .env("CXONE_ACCESS_KEY_SECRET", wrong)
        .arg("login"));
    assert_eq!(code, 1, "{out}");
    assert!(err.contains(&format!("access key {KEY_ID:?}")), "{err}");
    assert!(err.contains("secret does not match"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    assert_no_secret(&err);
}

#[test]
fn partly_configured_or_unloadable_tenants_are_errors_never_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(cx(dir.path())
        .env("CXONE_ACCESS_KEY_ID", KEY_ID)
        .args(["workflow", "run", WF]));
    assert_eq!(code, 1);
    assert!(err.contains("missing the OAuth client id"), "{err}");
    assert!(err.contains("--client-id, CXONE_CLIENT_ID"), "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");

    // A config file with no default profile and nothing chosen.
    let path = write_config(
        dir.path(),
        "config.toml",
        &profile("a", "http://127.0.0.1:9", ""),
        0o644,
    );
    let (code, _, err) = run(cx(dir.path())
        .env("CX_CONFIG", &path)
        .args(["workflow", "run", WF]));
    assert_eq!(code, 1);
    assert!(err.contains("has no default_profile"), "{err}");

    // A profile whose secret variable is unset.
    let (code, _, err) =
        run(cx(dir.path())
            .env("CX_CONFIG", &path)
            .args(["--profile", "a", "workflow", "run", WF]));
    assert_eq!(code, 1);
    assert!(
        err.contains("comes from environment variable CX_TEST_CLIENT_SECRET, which is not set"),
        "{err}"
    );
    assert!(!err.contains("embedded simulator"), "{err}");

    // The config file in the platform directory counts as configured.
    let platform = dir.path().join("home").join(".config").join("cx");
    std::fs::create_dir_all(&platform).unwrap();
    std::fs::copy(&path, platform.join("config.toml")).unwrap();
    let (code, _, err) = run(cx(dir.path()).args(["workflow", "run", WF]));
    assert_eq!(code, 1);
    assert!(err.contains("has no default_profile"), "{err}");
}

#[test]
fn the_no_config_embedded_run_says_simulated_in_both_output_modes_and_in_its_audit() {
    let dir = tempfile::tempdir().unwrap();
    let args = wf("workflow run {WF} --input customerId=CUST-1 --input priorityScore=5");
    let (code, out, err) = run(cx(dir.path()).line(&args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("COMPLETED"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("(simulated) these results come from the embedded CXone simulator, not a real tenant"),
        "{out}"
    );

    let (code, out, err) = run(cx(dir.path()).line(&args).line("--output json"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["tenant"]["kind"], "embedded-simulator");

    let (code, out, _) = run(cx(dir.path()).args(["login", "--output", "json"]));
    assert_eq!(code, 0);
    let doc = json(&out);
    assert_eq!(doc["tenant"]["kind"], "embedded-simulator");
    assert_eq!(doc["login"], "embedded-simulator");

    // Every audit record written names the tenant kind.
    let mut records = 0;
    for entry in std::fs::read_dir(dir.path().join("audit")).unwrap() {
        let path = entry.unwrap().path();
        // Day files only: the directory also holds the writers' lock and head index.
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let record = json(line);
            assert_eq!(
                record["payload"]["tenantKind"], "embedded-simulator",
                "{line}"
            );
            records += 1;
        }
    }
    assert!(records >= 2, "{records} records");
    let (code, out, err) = run(cx(dir.path()).args(["audit", "verify", "audit"]));
    assert_eq!(code, 0, "{out}{err}");
}
