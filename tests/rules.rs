//! The fixture harness and the meta-tests that keep rules consistent.
//!
//! For every rule, `testdata/<rule>/valid*` (a file or a folder) must produce no
//! finding of that rule and `invalid*` must produce at least one; the rendered
//! report of each invalid fixture is snapshot-tested, so spans, messages, labels
//! and help are all pinned at once.

use std::path::{Path, PathBuf};

use meshvet::report::human::{self, HumanOptions};
use meshvet::rules::{self, RuleMeta};
use meshvet::{Inputs, Options};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(rule: &str, prefix: &str) -> Vec<PathBuf> {
    let dir = root().join("testdata").join(rule);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with(prefix)
                            && (p.is_dir() || n.ends_with(".yaml") || n.ends_with(".yml"))
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn run(rule: &str, path: &Path) -> meshvet::report::Report {
    let mut opts = Options {
        select: Some(vec![rule.to_owned()]),
        allow_empty: true,
        cwd: Some(root()),
        ..Options::default()
    };
    // A fixture folder may carry a `.meshvet.yaml` for the settings a rule
    // depends on (`istio-version`, `external-hosts`, ...).
    let config_path = path.join(".meshvet.yaml");
    if config_path.is_file() {
        let config = meshvet::config::load(&config_path)
            .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
        let settings = &mut opts.settings;
        if let Some(ns) = config.namespace {
            settings.default_namespace = ns;
            opts.namespace_given = true;
        }
        if let Some(d) = config.cluster_domain {
            settings.cluster_domain = d;
        }
        if let Some(r) = config.root_namespace {
            settings.root_namespace = r;
        }
        settings.istio_version = config.istio_version;
        settings.external_hosts = config.external_hosts;
        if let Some(n) = config.retry_storm_min_attempts {
            settings.retry_storm_min_attempts = n;
        }
    }
    let inputs = Inputs {
        paths: vec![path.to_path_buf()],
        stdin: None,
    };
    meshvet::check(&inputs, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn valid_fixtures_produce_nothing() {
    for rule in rules::all() {
        let name = rule.meta().name;
        for path in fixtures(name, "valid") {
            let report = run(name, &path);
            let found: Vec<_> = report
                .diagnostics
                .iter()
                .filter(|d| d.rule == name)
                .collect();
            assert!(
                found.is_empty(),
                "{name}: {} should be clean but got:\n{}",
                path.display(),
                human::render(&report, &HumanOptions::default())
            );
        }
    }
}

#[test]
fn invalid_fixtures_fire_and_match_snapshots() {
    for rule in rules::all() {
        let name = rule.meta().name;
        for path in fixtures(name, "invalid") {
            let report = run(name, &path);
            assert!(
                report.diagnostics.iter().any(|d| d.rule == name),
                "{name}: {} should fire",
                path.display()
            );
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("invalid")
                .to_owned();
            let rendered = human::render(&report, &HumanOptions::default());
            insta::with_settings!({
                snapshot_path => root().join("testdata").join(name).join("snapshots"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(stem, rendered);
            });
        }
    }
}

#[test]
fn every_rule_has_valid_and_invalid_fixtures() {
    for rule in rules::all() {
        let name = rule.meta().name;
        assert!(
            !fixtures(name, "valid").is_empty(),
            "{name}: add testdata/{name}/valid.yaml"
        );
        assert!(
            !fixtures(name, "invalid").is_empty(),
            "{name}: add testdata/{name}/invalid.yaml"
        );
    }
}

fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn names_are_consistent() {
    let mut names: Vec<&str> = rules::all().iter().map(|r| r.meta().name).collect();
    let sorted = {
        let mut s = names.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(names, sorted, "rules::all() must list rules in name order");
    names.dedup();
    assert_eq!(names.len(), rules::all().len(), "rule names must be unique");
    for rule in rules::all() {
        let m: &RuleMeta = rule.meta();
        assert!(
            m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}: names are kebab-case",
            m.name
        );
        let file = Path::new(m.source_file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        assert_eq!(
            file,
            m.name.replace('-', "_"),
            "{}: file must be {}.rs",
            m.name,
            m.name.replace('-', "_")
        );
        assert_eq!(
            m.type_name,
            camel(m.name),
            "{}: type must be {}",
            m.name,
            camel(m.name)
        );
    }
}

#[test]
fn docs_have_the_required_sections() {
    for rule in rules::all() {
        let m = rule.meta();
        let doc = m.documentation();
        assert!(
            !m.summary().is_empty(),
            "{}: doc comment needs a summary",
            m.name
        );
        assert!(
            !m.summary().starts_with('#'),
            "{}: the doc comment starts with a summary sentence",
            m.name
        );
        assert!(
            doc.contains("\n## Why is this bad?\n"),
            "{}: needs `## Why is this bad?`",
            m.name
        );
        assert!(
            doc.contains("\n## Example\n"),
            "{}: needs `## Example`",
            m.name
        );
        let example = doc.split("\n## Example\n").nth(1).unwrap_or("");
        assert!(
            example.contains("```yaml"),
            "{}: the example needs a yaml block",
            m.name
        );
    }
}

#[test]
fn rule_pages_are_current() {
    let dir = root().join("rules");
    let update = std::env::var_os("MESHVET_UPDATE_DOCS").is_some();
    let mut expected = vec![(
        "README.md".to_owned(),
        meshvet::docs::index_page(rules::all()),
    )];
    for rule in rules::all() {
        expected.push((
            format!("{}.md", rule.meta().name),
            meshvet::docs::page(rule.meta()),
        ));
    }
    for (file, text) in expected {
        let path = dir.join(&file);
        if update {
            std::fs::create_dir_all(&dir).expect("create rules/");
            std::fs::write(&path, &text).expect("write rule page");
            continue;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == text,
            "rules/{file} is stale: run `meshvet rules --write-docs rules` (or MESHVET_UPDATE_DOCS=1 cargo test)"
        );
    }
}

#[test]
fn readme_rule_table_is_current() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let table = meshvet::docs::readme_table(rules::all());
    let expected = meshvet::docs::splice_readme_table(&readme, &table)
        .expect("README has the rules:start/rules:end markers");
    if std::env::var_os("MESHVET_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write README");
        return;
    }
    assert!(
        readme == expected,
        "the README rule table is stale: run MESHVET_UPDATE_DOCS=1 cargo test --test rules"
    );
}
