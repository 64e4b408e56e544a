//! Tests of the GitHub Action: `scripts/action.sh` (which `action.yml` runs) with fake
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH` and `GITHUB_WORKSPACE`, against
//! a stub `meshvet` that records its arguments and against the real binary; plus checks
//! that `action.yml` and the workflows never splice inputs into scripts, pin every
//! action by commit, and agree with `scripts/action.sh` on release archive names.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder with the files a runner provides.
struct Runner {
    dir: PathBuf,
}

impl Runner {
    fn new(name: &str) -> Runner {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "action-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        for sub in ["workspace", "temp", "toolcache", "bin"] {
            fs::create_dir_all(dir.join(sub)).expect("create runner folders");
        }
        for file in ["output", "summary", "path"] {
            fs::write(dir.join(file), "").expect("create runner files");
        }
        Runner { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// `bash scripts/action.sh <cmd>` with only the runner's variables and `env`.
    fn action(&self, cmd: &str, workspace: &Path, env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new("bash");
        c.arg(root().join("scripts/action.sh"))
            .arg(cmd)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.path("temp"))
            .env("NO_COLOR", "1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"))
            .env("GITHUB_PATH", self.path("path"))
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_ACTION_PATH", root())
            .env("RUNNER_TEMP", self.path("temp"))
            .env("RUNNER_TOOL_CACHE", self.path("toolcache"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .current_dir(self.path("temp"));
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run bash scripts/action.sh")
    }

    fn outputs(&self) -> Vec<(String, String)> {
        read(&self.path("output"))
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn output(&self, name: &str) -> Option<String> {
        self.outputs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A stub `meshvet` first on PATH: records its arguments one per line in `args`,
    /// writes a small file for each `--output FILE`, and exits with `STUB_EXIT`.
    fn stub(&self) {
        let script = format!(
            r#"#!/bin/sh
printf '%s\n' "$@" > '{args}'
pwd > '{cwd}'
prev=
for a in "$@"; do
  if [ "$prev" = --output ] && [ "$a" != - ]; then echo '{{"version": "2.1.0"}}' > "$a"; fi
  prev=$a
done
echo "stub report"
exit "${{STUB_EXIT:-0}}"
"#,
            args = self.path("args").display(),
            cwd = self.path("cwd").display()
        );
        let bin = self.path("bin/meshvet");
        fs::write(&bin, script).expect("write stub");
        chmod_x(&bin);
    }

    fn stub_args(&self) -> Vec<String> {
        read(&self.path("args"))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut p = fs::metadata(path).expect("stat").permissions();
    p.set_mode(0o755);
    fs::set_permissions(path, p).expect("chmod");
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------- run, with a stub

#[test]
fn run_passes_every_input_as_its_own_argument_in_the_workspace() {
    let r = Runner::new("inputs");
    r.stub();
    let ws = r.path("workspace");
    let out = r.action(
        "run",
        &ws,
        &[
            ("INPUT_PATHS", "apps  base\nclusters/prod\n"),
            ("INPUT_FAIL_ON", "warning"),
            ("INPUT_CONFIG", "ci/meshvet.yaml"),
            ("INPUT_SARIF", "reports/meshvet.sarif"),
            ("INPUT_ANNOTATIONS", "true"),
            ("INPUT_ARGS", "--select undeclared-subset --namespace shop"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        r.stub_args(),
        [
            "check",
            "apps",
            "base",
            "clusters/prod",
            "--fail-on",
            "warning",
            "--config",
            "ci/meshvet.yaml",
            "--format",
            "sarif",
            "--output",
            "reports/meshvet.sarif",
            "--format",
            "github",
            "--output",
            "-",
            "--select",
            "undeclared-subset",
            "--namespace",
            "shop",
        ]
    );
    assert_eq!(read(&r.path("cwd")).trim(), ws.display().to_string());
    let sarif = ws.join("reports/meshvet.sarif");
    assert!(sarif.is_file());
    assert_eq!(
        r.outputs(),
        [
            ("exit-code".to_owned(), "0".to_owned()),
            ("sarif-file".to_owned(), sarif.display().to_string()),
        ]
    );
    assert!(text(&out.stdout).contains("stub report"));
}

#[test]
fn run_defaults_to_the_workspace_with_annotations_and_no_sarif() {
    let r = Runner::new("defaults");
    r.stub();
    let out = r.action("run", &r.path("workspace"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        r.stub_args(),
        ["check", ".", "--format", "github", "--output", "-"]
    );
    assert_eq!(r.output("sarif-file"), None);
    assert_eq!(r.output("exit-code").as_deref(), Some("0"));
}

#[test]
fn run_without_annotations_prints_the_human_report() {
    let r = Runner::new("human");
    r.stub();
    let out = r.action(
        "run",
        &r.path("workspace"),
        &[("INPUT_ANNOTATIONS", "false"), ("INPUT_SARIF", "false")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        r.stub_args(),
        ["check", ".", "--format", "human", "--output", "-"]
    );
}

#[test]
fn run_sarif_true_writes_into_the_runner_temp_folder() {
    let r = Runner::new("sarif-true");
    r.stub();
    let out = r.action("run", &r.path("workspace"), &[("INPUT_SARIF", "true")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = r.path("temp/meshvet.sarif");
    assert!(expected.is_file());
    assert_eq!(r.output("sarif-file"), Some(expected.display().to_string()));
}

#[test]
fn run_takes_inputs_literally_no_globs_no_substitution() {
    let r = Runner::new("literal");
    r.stub();
    let ws = r.path("workspace");
    fs::write(ws.join("a.yaml"), "").expect("write");
    let out = r.action(
        "run",
        &ws,
        &[
            ("INPUT_PATHS", "*.yaml"),
            ("INPUT_ARGS", "$(touch pwned) `touch pwned2` ;touch pwned3"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let args = r.stub_args();
    assert_eq!(args[1], "*.yaml");
    assert!(args.contains(&"$(touch".to_owned()), "{args:?}");
    assert!(args.contains(&";touch".to_owned()), "{args:?}");
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!ws.join(f).exists() && !r.path("temp").join(f).exists());
    }
}

#[test]
fn run_passes_meshvet_exit_status_through() {
    for code in ["1", "2"] {
        let r = Runner::new("exit");
        r.stub();
        let out = r.action(
            "run",
            &r.path("workspace"),
            &[("STUB_EXIT", code), ("INPUT_SARIF", "true")],
        );
        assert_eq!(out.status.code(), Some(code.parse().unwrap_or(-1)));
        assert_eq!(r.output("exit-code").as_deref(), Some(code));
        // The stub wrote the SARIF file, so it is exposed even when the step fails.
        assert!(r.output("sarif-file").is_some());
    }
}

#[test]
fn run_rejects_bad_inputs_before_running_meshvet() {
    let cases: &[(&str, &str, &str)] = &[
        ("INPUT_FAIL_ON", "warnings", "fail-on must be"),
        ("INPUT_ANNOTATIONS", "yes", "annotations must be"),
    ];
    for (name, value, message) in cases {
        let r = Runner::new("bad-input");
        r.stub();
        let out = r.action("run", &r.path("workspace"), &[(name, value)]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(err.contains("::error") && err.contains(message), "{err}");
        assert!(!r.path("args").exists(), "meshvet must not run");
    }
}

#[test]
fn run_refuses_an_output_value_with_a_line_break() {
    let r = Runner::new("newline");
    r.stub();
    let out = r.action(
        "run",
        &r.path("workspace"),
        &[("INPUT_SARIF", "a.sarif\nexit-code=0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("without line breaks"));
    assert!(!r.path("args").exists(), "meshvet must not run");
    assert_eq!(read(&r.path("output")), "");
}

// ----------------------------------------------------------- run, the real meshvet

/// The real binary, when it has the multi-format interface the action relies on
/// (`--format F --output FILE` pairs, `--format github|sarif`, `--report-only`).
fn real_meshvet(r: &Runner) -> Option<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_meshvet"));
    let help = Command::new(&bin)
        .args(["check", "--help"])
        .output()
        .expect("meshvet check --help");
    if !text(&help.stdout).contains("--report-only") {
        eprintln!("SKIPPED: this meshvet has no multi-format output yet");
        return None;
    }
    let _ = r;
    Some(bin)
}

fn deliberate_mistakes() -> usize {
    fn walk(dir: &Path, n: &mut usize) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, n);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                *n += read(&p).matches("# deliberate:").count();
            }
        }
    }
    let mut n = 0;
    walk(&root().join("testdata/example-repo"), &mut n);
    n
}

#[test]
fn real_run_annotates_summarises_and_writes_sarif() {
    let r = Runner::new("real");
    let Some(bin) = real_meshvet(&r) else { return };
    let bin = bin.display().to_string();
    let out = r.action(
        "run",
        &root(),
        &[
            ("MESHVET_BIN", &bin),
            ("INPUT_PATHS", "testdata/example-repo"),
            ("INPUT_SARIF", "true"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(r.output("exit-code").as_deref(), Some("1"));

    // One workflow command per finding.
    let stdout = text(&out.stdout);
    let commands: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), deliberate_mistakes(), "{stdout}");
    assert!(
        commands.iter().any(|l| l.starts_with("::error file=")
            && l.contains("apps/shop/reviews/istio.yaml,line=41,")
            && l.contains("undeclared-subset")),
        "{stdout}"
    );

    // The job summary holds every finding.
    let summary = read(&r.path("summary"));
    for rule in [
        "undeclared-subset",
        "duplicate-key",
        "duplicate-object",
        "yaml-syntax",
    ] {
        assert!(
            summary.contains(rule),
            "{rule} missing from summary:\n{summary}"
        );
    }

    // The SARIF file is where the output says, with one result per finding.
    let sarif_path = r.output("sarif-file").expect("sarif-file output");
    assert_eq!(
        sarif_path,
        r.path("temp/meshvet.sarif").display().to_string()
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&read(Path::new(&sarif_path))).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), deliberate_mistakes());
}

#[test]
fn real_run_fail_on_never_passes_and_without_annotations_prints_human() {
    let r = Runner::new("real-never");
    let Some(bin) = real_meshvet(&r) else { return };
    let bin = bin.display().to_string();
    let out = r.action(
        "run",
        &root(),
        &[
            ("MESHVET_BIN", &bin),
            ("INPUT_PATHS", "testdata/example-repo"),
            ("INPUT_FAIL_ON", "never"),
            ("INPUT_ANNOTATIONS", "false"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(r.output("exit-code").as_deref(), Some("0"));
    assert_eq!(r.output("sarif-file"), None);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("undeclared-subset"), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("::error")),
        "{stdout}"
    );
    assert_eq!(
        read(&r.path("summary")),
        "",
        "no summary without annotations"
    );
}

#[test]
fn real_run_missing_path_exits_2() {
    let r = Runner::new("real-missing");
    let Some(bin) = real_meshvet(&r) else { return };
    let bin = bin.display().to_string();
    let out = r.action(
        "run",
        &root(),
        &[("MESHVET_BIN", &bin), ("INPUT_PATHS", "no/such/folder")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(r.output("exit-code").as_deref(), Some("2"));
}

// ------------------------------------------------------------------ plan, install

/// The release targets release.yml builds, read from its matrix.
fn release_targets() -> BTreeSet<String> {
    read(&root().join(".github/workflows/release.yml"))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- target: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_runner_platform_maps_to_a_target_release_yml_builds() {
    let platforms = [
        ("Linux", "X64", "x86_64-unknown-linux-musl"),
        ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macOS", "X64", "x86_64-apple-darwin"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("Windows", "X64", "x86_64-pc-windows-msvc"),
        ("Windows", "ARM64", "x86_64-pc-windows-msvc"),
    ];
    let built = release_targets();
    let mut used = BTreeSet::new();
    for (os, arch, target) in platforms {
        let r = Runner::new("plan");
        let out = r.action(
            "plan",
            &r.path("workspace"),
            &[
                ("INPUT_VERSION", "v1.2.3"),
                ("RUNNER_OS", os),
                ("RUNNER_ARCH", arch),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(r.output("mode").as_deref(), Some("release"));
        let dir = r.output("install-dir").unwrap_or_default();
        assert!(dir.ends_with(&format!("/meshvet/1.2.3/{target}")), "{dir}");
        assert!(
            built.contains(target),
            "release.yml does not build {target}"
        );
        used.insert(target.to_owned());
    }
    assert_eq!(used, built, "release.yml builds a target no runner uses");

    let r = Runner::new("plan-arm");
    let out = r.action(
        "plan",
        &r.path("workspace"),
        &[("INPUT_VERSION", "1.2.3"), ("RUNNER_ARCH", "ARM")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no meshvet release binary for Linux/ARM"));
}

#[test]
fn release_yml_names_archives_and_checksums_as_the_action_downloads_them() {
    let release = read(&root().join(".github/workflows/release.yml"));
    for needle in [
        r#"name="meshvet-${TAG#v}-$TARGET""#,
        r#""dist/$name.tar.gz" "$name""#,
        r#""$name.zip" "$name""#,
        "sha256sum meshvet-* > SHA256SUMS",
        "tags: [\"v",
    ] {
        assert!(release.contains(needle), "release.yml lacks {needle}");
    }
    let script = read(&root().join("scripts/action.sh"));
    for needle in [
        r#"archive="meshvet-$version-$target.zip""#,
        r#"archive="meshvet-$version-$target.tar.gz""#,
        r#"base="$base/v$version""#,
        r#""$base/SHA256SUMS""#,
    ] {
        assert!(script.contains(needle), "action.sh lacks {needle}");
    }
}

#[test]
fn plan_rejects_a_version_that_is_not_a_version() {
    for bad in ["latest", "1.2", "1.2.3; rm -rf /", "../1.2.3"] {
        let r = Runner::new("bad-version");
        let out = r.action("plan", &r.path("workspace"), &[("INPUT_VERSION", bad)]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("version must look like 1.2.3"));
    }
}

#[test]
fn plan_without_version_builds_from_source_with_a_content_cache_key() {
    let r = Runner::new("plan-source");
    let out = r.action("plan", &r.path("workspace"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(r.output("mode").as_deref(), Some("source"));
    let key = r.output("cache-key").expect("cache-key");
    let hash = key
        .strip_prefix("meshvet-source-Linux-X64-")
        .expect("key names the platform");
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    let dir = r.output("install-dir").expect("install-dir");
    assert!(dir.ends_with(&format!("/meshvet/source/{hash}")), "{dir}");

    // The same source gives the same key.
    let again = Runner::new("plan-source");
    again.action("plan", &again.path("workspace"), &[]);
    assert_eq!(again.output("cache-key"), Some(key));
}

#[test]
fn install_from_source_reuses_a_cached_build() {
    let r = Runner::new("source-cached");
    let dir = r.path("toolcache/meshvet/source/cached");
    fs::create_dir_all(dir.join("bin")).expect("mkdir");
    let bin = dir.join("bin/meshvet");
    fs::write(&bin, "#!/bin/sh\necho 'meshvet 9.9.9'\n").expect("write");
    chmod_x(&bin);
    // A cargo that fails: a cache hit must not build.
    let cargo = r.path("bin/cargo");
    fs::write(&cargo, "#!/bin/sh\necho cargo must not run >&2\nexit 99\n").expect("write");
    chmod_x(&cargo);
    let dir_s = dir.display().to_string();
    let out = r.action(
        "install",
        &r.path("workspace"),
        &[("MESHVET_INSTALL_DIR", &dir_s)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("meshvet 9.9.9"));
    assert_eq!(r.output("bin"), Some(bin.display().to_string()));
    assert_eq!(read(&r.path("path")), format!("{}/bin\n", dir_s));
}

#[test]
fn install_from_source_without_cargo_explains() {
    let r = Runner::new("no-cargo");
    let dir = r.path("toolcache/meshvet/source/x").display().to_string();
    // PATH holds only what the script needs, and no cargo.
    let tools = r.path("tools");
    fs::create_dir_all(&tools).expect("mkdir");
    for tool in ["dirname", "mktemp", "uname", "find", "sort", "cut", "rm"] {
        if let Some(p) = which(tool) {
            let _ = std::os::unix::fs::symlink(p, tools.join(tool));
        }
    }
    let out = Command::new(which("bash").expect("bash"))
        .arg(root().join("scripts/action.sh"))
        .arg("install")
        .env_clear()
        .env("PATH", &tools)
        .env("MESHVET_INSTALL_DIR", &dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cargo is not installed"),
        "{}",
        text(&out.stderr)
    );
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .ok()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// A fake release: `v1.2.3/meshvet-1.2.3-x86_64-unknown-linux-musl.tar.gz` and
/// `v1.2.3/SHA256SUMS`, served from a file:// URL.
fn fake_release(r: &Runner, sums: impl FnOnce(&str) -> String) -> String {
    let name = "meshvet-1.2.3-x86_64-unknown-linux-musl";
    let stage = r.path("stage").join(name);
    fs::create_dir_all(&stage).expect("mkdir");
    let bin = stage.join("meshvet");
    fs::write(&bin, "#!/bin/sh\necho 'meshvet 1.2.3'\n").expect("write");
    chmod_x(&bin);
    fs::write(stage.join("README.md"), "meshvet\n").expect("write");
    let release = r.path("release/v1.2.3");
    fs::create_dir_all(&release).expect("mkdir");
    let archive = release.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-C")
        .arg(r.path("stage"))
        .arg("-czf")
        .arg(&archive)
        .arg(name)
        .status()
        .expect("tar");
    assert!(status.success());
    let line = format!("{}  {name}.tar.gz\n", sha256(&archive));
    fs::write(
        release.join("SHA256SUMS"),
        format!(
            "{}  meshvet-1.2.3-aarch64-apple-darwin.tar.gz\n{}",
            "0".repeat(64),
            sums(&line)
        ),
    )
    .expect("write");
    format!("file://{}", r.path("release").display())
}

#[test]
fn install_release_verifies_the_checksum_and_puts_meshvet_on_path() {
    let r = Runner::new("release");
    let url = fake_release(&r, |line| line.to_owned());
    let out = r.action(
        "install",
        &r.path("workspace"),
        &[
            ("INPUT_VERSION", "v1.2.3"),
            ("MESHVET_RELEASE_BASE_URL", &url),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("verified SHA-256 of meshvet-1.2.3-x86_64-unknown-linux-musl.tar.gz"));
    assert!(err.contains("meshvet 1.2.3"), "{err}");
    let dir = r.path("toolcache/meshvet/1.2.3/x86_64-unknown-linux-musl");
    assert_eq!(
        r.output("bin"),
        Some(dir.join("bin/meshvet").display().to_string())
    );
    assert_eq!(read(&r.path("path")), format!("{}/bin\n", dir.display()));
}

#[test]
fn install_release_refuses_a_wrong_or_missing_checksum() {
    type Sums = fn(&str) -> String;
    let cases: [(&str, Sums, &str); 2] = [
        (
            "tampered",
            |line| format!("{}{}", "f".repeat(64), &line[64..]),
            "checksum mismatch",
        ),
        (
            "unlisted",
            |_| String::new(),
            "lists no meshvet-1.2.3-x86_64",
        ),
    ];
    for (name, sums, message) in cases {
        let r = Runner::new(name);
        let url = fake_release(&r, sums);
        let out = r.action(
            "install",
            &r.path("workspace"),
            &[
                ("INPUT_VERSION", "1.2.3"),
                ("MESHVET_RELEASE_BASE_URL", &url),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(
            text(&out.stderr).contains(message),
            "{name}: {}",
            text(&out.stderr)
        );
        assert!(
            !r.path("toolcache/meshvet/1.2.3/x86_64-unknown-linux-musl/bin/meshvet")
                .exists()
        );
        assert_eq!(r.output("bin"), None);
        assert_eq!(read(&r.path("path")), "");
    }
}

#[test]
fn install_release_reports_a_missing_release() {
    let r = Runner::new("no-release");
    let url = format!("file://{}", r.path("nothing").display());
    let out = r.action(
        "install",
        &r.path("workspace"),
        &[
            ("INPUT_VERSION", "1.2.3"),
            ("MESHVET_RELEASE_BASE_URL", &url),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot download"));
}

// ------------------------------------------------------------ action and workflows

fn yaml_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("action.yml")];
    for entry in fs::read_dir(root().join(".github/workflows")).expect("workflows") {
        files.push(entry.expect("entry").path());
    }
    files.sort();
    files
}

/// The lines of each `run:` script, with the file and line number.
fn run_scripts(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut block_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(b) = block_indent {
            if line.trim().is_empty() || indent > b {
                lines.push((i + 1, line.to_owned()));
                continue;
            }
            block_indent = None;
        }
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = t.strip_prefix("run:") {
            lines.push((i + 1, rest.to_owned()));
            if rest.trim() == "|" || rest.trim() == ">" {
                block_indent = Some(indent);
            }
        }
    }
    lines
}

#[test]
fn no_expression_is_spliced_into_a_run_script() {
    for file in yaml_files() {
        let scripts = run_scripts(&read(&file));
        assert!(!scripts.is_empty(), "{} has no run: script", file.display());
        for (n, line) in scripts {
            assert!(
                !line.contains("${{"),
                "{}:{n}: pass values through env:, not ${{{{ }}}} in run: {line}",
                file.display()
            );
        }
    }
}

#[test]
fn every_action_is_pinned_by_full_commit_sha() {
    for file in yaml_files() {
        for (n, line) in read(&file).lines().enumerate() {
            let t = line.trim_start().trim_start_matches("- ");
            let Some(rest) = t.strip_prefix("uses:") else {
                continue;
            };
            let target = rest.split('#').next().unwrap_or("").trim();
            if target.starts_with("./") {
                continue;
            }
            let sha = target.rsplit_once('@').map_or("", |(_, s)| s);
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}:{}: `{target}` is not pinned to a commit SHA",
                file.display(),
                n + 1
            );
        }
    }
}

#[test]
fn action_inputs_reach_the_script_as_environment_variables() {
    let action = read(&root().join("action.yml"));
    for (input, var) in [
        ("paths", "INPUT_PATHS"),
        ("version", "INPUT_VERSION"),
        ("fail-on", "INPUT_FAIL_ON"),
        ("config", "INPUT_CONFIG"),
        ("sarif", "INPUT_SARIF"),
        ("annotations", "INPUT_ANNOTATIONS"),
        ("args", "INPUT_ARGS"),
    ] {
        assert!(action.contains(&format!("\n  {input}:\n")), "input {input}");
        assert!(
            action.contains(&format!("{var}: ${{{{ inputs.{input} }}}}")),
            "{var} from inputs.{input}"
        );
        assert!(
            read(&root().join("scripts/action.sh")).contains(var),
            "{var}"
        );
    }
    assert!(action.contains("\n  sarif-file:\n"));
    assert!(action.contains("value: ${{ steps.run.outputs.sarif-file }}"));
}
