//! End-to-end tests of the `meshvet` binary: exit codes, formats, stdin, errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn meshvet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshvet"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run meshvet")
}

fn meshvet_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshvet"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn meshvet");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait meshvet")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn example_repo_reports_each_deliberate_mistake_and_exits_1() {
    let out = meshvet(&["check", "testdata/example-repo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let found: Vec<(String, String, u64)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or("").to_owned(),
                d["file"].as_str().unwrap_or("").to_owned(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // Every deliberate mistake is marked `# deliberate: <rule>` on the line above it.
    let mut expected = Vec::new();
    for entry in walk(&root().join("testdata/example-repo")) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if let Some(rule) = line.trim().strip_prefix("# deliberate: ") {
                let rel = entry
                    .strip_prefix(root())
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                expected.push((rule.trim().to_owned(), rel, i as u64 + 2));
            }
        }
    }
    expected.sort();
    let mut found_sorted = found.clone();
    found_sorted.sort();
    assert_eq!(found_sorted, expected);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out
}

#[test]
fn json_report_matches_the_contract() {
    let out = meshvet(&["check", "testdata/example-repo", "--format", "json"]);
    insta::with_settings!({snapshot_path => root().join("testdata/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("example-repo-json", stdout(&out).replace(env!("CARGO_PKG_VERSION"), "[version]"));
    });
}

#[test]
fn human_report_ends_with_a_summary_line() {
    let out = meshvet(&["check", "testdata/example-repo"]);
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or("");
    assert!(last.starts_with("6 errors, 4 warnings in "), "{last}");
    assert!(last.contains("objects)"), "{last}");
    assert!(
        text.contains("undeclared-subset (https://"),
        "doc link printed"
    );
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn fail_on_controls_the_exit_status() {
    assert_eq!(
        meshvet(&["check", "testdata/example-repo", "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    let only_warning = meshvet(&[
        "check",
        "testdata/example-repo",
        "--select",
        "duplicate-object",
    ]);
    assert_eq!(only_warning.status.code(), Some(0));
    let strict = meshvet(&[
        "check",
        "testdata/example-repo",
        "--select",
        "duplicate-object",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn missing_path_exits_2_with_one_line() {
    let out = meshvet(&["check", "does/not/exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "meshvet: error: path not found: does/not/exist"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn no_manifests_is_an_error_unless_allowed() {
    let out = meshvet(&["check", "testdata/example-repo/charts"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no Kubernetes manifests found"),
        "{}",
        stderr(&out)
    );
    let allowed = meshvet(&["check", "testdata/example-repo/charts", "--allow-empty"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
}

#[test]
fn unknown_rule_names_are_rejected_with_a_suggestion() {
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--select",
        "undeclared-subsets",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `undeclared-subset`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stdin_is_read_and_named() {
    let input = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: a}\nspec:\n  host: r\n  host: s\n";
    let out = meshvet_stdin(
        &[
            "check",
            "-",
            "--stdin-filename",
            "r.yaml",
            "--format",
            "json",
        ],
        input,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let d = &report["diagnostics"][0];
    assert_eq!(d["rule"], "duplicate-key");
    assert_eq!(d["file"], "r.yaml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(6), Some(3))
    );
    assert_eq!(d["object"]["name"], "r");
}

#[test]
fn timings_go_to_stderr() {
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--timings",
        "--format",
        "json",
    ]);
    let err = stderr(&out);
    for phase in [
        "discover",
        "read+parse",
        "per-object",
        "index",
        "graph rules",
        "render",
    ] {
        assert!(err.contains(phase), "missing {phase} in {err}");
    }
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&out)).is_ok());
}

#[test]
fn output_writes_the_report_to_a_file() {
    let dir = std::env::temp_dir().join(format!("meshvet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("report.json");
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--format",
        "json",
        "--output",
        file.to_str().unwrap_or(""),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(&file).expect("report written");
    assert!(text.contains("\"version\": 1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rules_are_listed_and_explained() {
    let list = meshvet(&["rules", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_str(&stdout(&list)).expect("json");
    assert!(
        rules
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["name"] == "undeclared-subset"))
    );
    let one = meshvet(&["rule", "undeclared-subset"]);
    assert_eq!(one.status.code(), Some(0));
    assert!(stdout(&one).contains("## Why is this bad?"));
    let bad = meshvet(&["rule", "undeclared-subsett"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn config_file_settings_apply() {
    let dir = std::env::temp_dir().join(format!("meshvet-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    std::fs::write(
        dir.join("dr.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: r\n  host: s\n",
    )
    .expect("write");
    std::fs::write(
        dir.join(".meshvet.yaml"),
        "namespace: prod\nseverity:\n  duplicate-key: warning\n",
    )
    .expect("write");
    let d = dir.to_str().unwrap_or("");
    let out = meshvet(&["check", d, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warning does not fail: {}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(report["diagnostics"][0]["severity"], "warning");
    assert_eq!(report["diagnostics"][0]["object"]["namespace"], "prod");
    std::fs::write(dir.join(".meshvet.yaml"), "fail_on: error\n").expect("write");
    let bad = meshvet(&["check", d]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("did you mean `fail-on`"),
        "{}",
        stderr(&bad)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
