//! Every report format on the example repo (snapshots), several formats in one
//! run, `--report-only`, `--docs-url`, the GitHub job summary and SARIF's
//! structural guarantees.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshvet"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_SERVER_URL")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_SHA");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run meshvet")
}

fn meshvet(args: &[&str]) -> Output {
    run(args, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch folder unique to one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshvet-fmt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    dir
}

/// The project root as a `file://` URI, as SARIF writes it.
fn root_uri() -> String {
    let root = std::fs::canonicalize(root()).unwrap_or_else(|_| root());
    let mut uri = format!("file://{}", root.to_string_lossy().replace('\\', "/"));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn normalise(text: &str) -> String {
    text.replace(&root_uri(), "file:///[root]/")
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => root().join("testdata/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name, normalise(text));
    });
}

fn example(format: &str) -> Output {
    let out = meshvet(&["check", "testdata/example-repo", "--format", format]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    out
}

/// The SARIF log with `tool.driver.rules` and `ruleIndex` redacted: both change
/// whenever a rule is added, and are checked by
/// `sarif_is_structurally_what_github_needs` instead.
fn redact_rules(text: &str) -> String {
    let start = text.find("\"rules\": [").expect("rules");
    let indent = text[..start].rsplit('\n').next().unwrap_or("").len();
    let close = format!("\n{}]", " ".repeat(indent));
    let end = start + text[start..].find(&close).expect("end of rules") + close.len();
    let mut out = format!(
        "{}\"rules\": \"[every rule]\"{}",
        &text[..start],
        &text[end..]
    );
    out = out
        .lines()
        .map(|l| match l.find("\"ruleIndex\": ") {
            Some(i) => format!("{}\"ruleIndex\": \"[index]\",", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

#[test]
fn sarif_report_snapshot() {
    let text = stdout(&example("sarif"));
    snapshot("example-repo-sarif", &redact_rules(&text));
    // One rule descriptor in full (keys sorted).
    let log: serde_json::Value = serde_json::from_str(&text).expect("json");
    let rule = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == "yaml-syntax")
        .expect("yaml-syntax described");
    snapshot(
        "sarif-rule-yaml-syntax",
        &serde_json::to_string_pretty(rule).unwrap_or_default(),
    );
}

#[test]
fn github_report_snapshot() {
    snapshot("example-repo-github", &stdout(&example("github")));
}

#[test]
fn junit_report_snapshot() {
    snapshot("example-repo-junit", &stdout(&example("junit")));
}

#[test]
fn gitlab_report_snapshot() {
    snapshot("example-repo-gitlab", &stdout(&example("gitlab")));
}

#[test]
fn human_report_snapshot() {
    snapshot("example-repo-human", &stdout(&example("human")));
}

#[test]
fn github_job_summary_snapshot() {
    let dir = scratch("summary");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").expect("write");
    let out = run(
        &["check", "testdata/example-repo", "--format", "github"],
        &[
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap_or("")),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/gitops"),
            ("GITHUB_SHA", "0123456789abcdef"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&summary).expect("summary written");
    assert!(
        text.starts_with("earlier step\n"),
        "appends, not overwrites"
    );
    snapshot("example-repo-github-summary", &text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sarif_is_structurally_what_github_needs() {
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&example("sarif"))).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("file://") && u.ends_with('/'))
    );
    // Every rule is described, in the registry's order.
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&meshvet(&["rules", "--format", "json"]))).expect("json");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), listed.as_array().map_or(0, Vec::len));
    for (r, l) in rules.iter().zip(listed.as_array().into_iter().flatten()) {
        assert_eq!(r["id"], l["name"]);
        for key in ["shortDescription", "fullDescription"] {
            let text = r[key]["text"].as_str().unwrap_or("");
            assert!(
                !text.is_empty() && text.chars().count() <= 1024,
                "{key} of {}",
                r["id"]
            );
        }
        assert!(
            r["help"]["markdown"]
                .as_str()
                .is_some_and(|m| m.contains("## Why is this bad?"))
        );
        assert!(
            r["helpUri"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("{}.md", l["name"].as_str().unwrap_or(""))))
        );
    }
    for res in run["results"].as_array().expect("results") {
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap_or("");
        assert!(uri.starts_with("testdata/example-repo/"), "{uri}");
        assert!(
            root().join(uri).is_file(),
            "{uri} relative to the repository root"
        );
        assert!(res["partialFingerprints"]["meshvet/v1"].is_string());
    }
}

#[test]
fn sarif_regions_are_exclusive_and_json_inclusive() {
    let json: serde_json::Value = serde_json::from_str(&stdout(&example("json"))).expect("json");
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&example("sarif"))).expect("json");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let diags = json["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(results.len(), diags.len());
    for (r, d) in results.iter().zip(diags) {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], d["line"]);
        assert_eq!(region["startColumn"], d["column"]);
        // No finding of the example repo has an empty span.
        let end = d["end_column"].as_u64().unwrap_or(0) + 1;
        assert_eq!(region["endColumn"].as_u64(), Some(end), "{}", d["rule"]);
    }
}

/// The fingerprints of the example repo's findings.
fn fingerprints_of(dir: &Path) -> Vec<(String, String)> {
    let out = run(
        &["check", dir.to_str().unwrap_or(""), "--format", "sarif"],
        &[],
    );
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    sarif["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or("").to_owned(),
                r["partialFingerprints"]["meshvet/v1"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let dir = scratch("fingerprints");
    let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: shop}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v3}\n";
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: shop}\nspec:\n  ports: [{port: 80, name: http}]\n";
    std::fs::write(dir.join("svc.yaml"), svc).expect("write");
    std::fs::write(dir.join("vs.yaml"), vs).expect("write");
    let before = fingerprints_of(&dir);
    assert!(!before.is_empty());
    // Comments and an unrelated object above move every line down.
    let moved = format!(
        "# routes for reviews\n# owned by the shop team\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: other, namespace: shop}}\ndata: {{a: b}}\n---\n{vs}"
    );
    std::fs::write(dir.join("vs.yaml"), moved).expect("write");
    assert_eq!(fingerprints_of(&dir), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn several_formats_in_one_run() {
    let dir = scratch("multi");
    let json = dir.join("a.json");
    let sarif = dir.join("b.sarif");
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--format",
        "json",
        "--output",
        json.to_str().unwrap_or(""),
        "--format",
        "sarif",
        "--output",
        sarif.to_str().unwrap_or(""),
        "--format",
        "github",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("::error file="),
        "github goes to stdout"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("json");
    assert_eq!(j["version"], 1);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("sarif written"))
            .expect("sarif");
    assert_eq!(s["version"], "2.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_one_format_may_go_to_stdout() {
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--format",
        "json",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("stdout"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let extra = meshvet(&["check", "testdata/example-repo", "-o", "a", "-o", "b"]);
    assert_eq!(extra.status.code(), Some(2));
}

#[test]
fn report_only_limits_findings_and_exit_status() {
    let reviews = "testdata/example-repo/apps/shop/reviews/istio.yaml";
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--format",
        "json",
        "--report-only",
        reviews,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let files: Vec<&str> = j["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["file"].as_str())
        .collect();
    assert_eq!(files, vec![reviews], "only the named file is reported");
    assert_eq!(j["summary"]["errors"], 1);
    // The finding needs the DestinationRule of another file: the whole repo was analysed.
    assert_eq!(j["diagnostics"][0]["rule"], "undeclared-subset");

    // Paths are compared after normalisation; a clean file gives exit 0.
    let clean = meshvet(&[
        "check",
        "testdata/example-repo",
        "--report-only",
        "./testdata/example-repo/apps/shop/../shop/reviews/deployment.yaml",
        "testdata/example-repo/namespaces.yaml",
    ]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    let abs = root().join(reviews);
    let absolute = meshvet(&[
        "check",
        "--report-only",
        abs.to_str().unwrap_or(""),
        "--format",
        "github",
        "--",
        "testdata/example-repo",
    ]);
    assert_eq!(absolute.status.code(), Some(1));
    assert_eq!(stdout(&absolute).lines().count(), 1);
}

#[test]
fn docs_url_changes_every_link() {
    let out = meshvet(&[
        "check",
        "testdata/example-repo",
        "--format",
        "sarif",
        "--docs-url",
        "https://docs.example.org/meshvet",
    ]);
    let s: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let rules = s["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(!rules.is_empty());
    for rule in rules {
        let id = rule["id"].as_str().unwrap_or("");
        assert_eq!(
            rule["helpUri"],
            format!("https://docs.example.org/meshvet/{id}.md")
        );
    }
    let human = meshvet(&[
        "check",
        "testdata/example-repo",
        "--docs-url",
        "https://docs.example.org/r/",
    ]);
    assert!(stdout(&human).contains("https://docs.example.org/r/undeclared-subset.md"));
    assert!(!stdout(&human).contains("github.com/meshvet"));
}

#[test]
fn docs_url_is_read_from_the_config_file() {
    let dir = scratch("docsurl");
    std::fs::write(
        dir.join("dr.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: r\n  host: s\n",
    )
    .expect("write");
    std::fs::write(
        dir.join(".meshvet.yaml"),
        "docs-url: https://intranet/meshvet/\n",
    )
    .expect("write");
    let out = meshvet(&["check", dir.to_str().unwrap_or(""), "--format", "github"]);
    assert!(
        stdout(&out).contains("https%3A//intranet/meshvet/duplicate-key.md")
            || stdout(&out).contains("https://intranet/meshvet/duplicate-key.md"),
        "{}",
        stdout(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn junit_is_well_formed_enough() {
    let text = stdout(&example("junit"));
    assert!(text.starts_with("<?xml"));
    assert_eq!(
        text.matches("<testsuite ").count(),
        text.matches("</testsuite>").count()
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&example("json"))).expect("json");
    let findings = json["diagnostics"].as_array().map_or(0, Vec::len);
    assert!(findings > 0);
    assert_eq!(text.matches("<failure ").count(), findings);
    assert_eq!(text.matches("<skipped ").count(), 2, "the Helm templates");
}

#[test]
fn gitlab_fingerprints_are_unique() {
    let g: serde_json::Value = serde_json::from_str(&stdout(&example("gitlab"))).expect("json");
    let mut prints: Vec<&str> = g
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["fingerprint"].as_str())
        .collect();
    let n = prints.len();
    prints.sort_unstable();
    prints.dedup();
    assert_eq!(prints.len(), n);
    assert!(n > 0);
}

#[test]
fn sarif_keeps_the_most_severe_results_under_the_cap() {
    use meshvet::report::paths::RepoPaths;
    use meshvet::report::sarif;
    let inputs = meshvet::Inputs {
        paths: vec![root().join("testdata/example-repo")],
        stdin: None,
    };
    let opts = meshvet::Options {
        cwd: Some(root()),
        ..meshvet::Options::default()
    };
    let report = meshvet::check(&inputs, &opts).expect("check");
    let out = sarif::render(
        &report,
        &sarif::SarifOptions {
            paths: RepoPaths::discover(None, &root()),
            docs_base: meshvet::DOCS_BASE.to_owned(),
            max_results: 3,
        },
    );
    assert_eq!(out.notes.len(), 1);
    assert!(
        out.notes[0].contains(&format!("3 most severe of {}", report.diagnostics.len())),
        "{}",
        out.notes[0]
    );
    let log: serde_json::Value = serde_json::from_str(&out.text).expect("json");
    let run = &log["runs"][0];
    let levels: Vec<&str> = run["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["level"].as_str())
        .collect();
    assert_eq!(levels, vec!["error"; 3]);
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][0]["level"],
        "warning"
    );
}

#[test]
fn github_summary_is_capped_with_a_note() {
    use meshvet::report::github;
    use meshvet::report::paths::RepoPaths;
    let inputs = meshvet::Inputs {
        paths: vec![root().join("testdata/example-repo")],
        stdin: None,
    };
    let opts = meshvet::Options {
        cwd: Some(root()),
        ..meshvet::Options::default()
    };
    let report = meshvet::check(&inputs, &opts).expect("check");
    let limit = 3000;
    let text = github::summary(
        &report,
        &github::GithubOptions {
            paths: RepoPaths::discover(None, &root()),
            docs_base: meshvet::DOCS_BASE.to_owned(),
            blob_base: None,
            summary_limit: limit,
        },
    );
    assert!(text.len() <= limit, "{} bytes", text.len());
    assert!(
        text.contains(&format!("of {} findings", report.diagnostics.len())),
        "{text}"
    );
}
