//! The project configuration file, `.meshvet.yaml`.
//!
//! ```yaml
//! namespace: default            # namespace of objects that name none
//! cluster-domain: cluster.local
//! root-namespace: istio-system
//! fail-on: error                # error | warning | info | never
//! select: [undeclared-subset]   # run only these rules
//! ignore: [duplicate-object]    # never run these
//! severity:                     # per-rule severity: error | warning | info | off
//!   duplicate-object: error
//! istio-version: "1.22"         # the Istio release the config targets
//! external-hosts:               # hosts that exist outside these files
//!   - "*.googleapis.com"
//! retry-storm-min-attempts: 2
//! docs-url: https://example.org/meshvet/rules/   # base URL of the rule pages
//! ```
//! Command-line options win over the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::load::{SpanMapper, parse_file};
use crate::model::node::{Node, Shape};
use crate::report::Severity;
use crate::source::{FileId, SourceFile};

/// The configuration file name looked up from the first analysed path upwards.
pub const CONFIG_FILE: &str = ".meshvet.yaml";

/// When the run fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Fail on any finding at or above this severity.
    Severity(Severity),
    /// Never fail because of findings.
    Never,
}

impl FailOn {
    /// Parses `error`, `warning`, `info` or `never`.
    pub fn parse(s: &str) -> Option<FailOn> {
        Some(match s {
            "error" => FailOn::Severity(Severity::Error),
            "warning" => FailOn::Severity(Severity::Warning),
            "info" => FailOn::Severity(Severity::Info),
            "never" => FailOn::Never,
            _ => return None,
        })
    }
}

/// A rule's configured severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleLevel {
    /// Report at this severity.
    Level(Severity),
    /// Do not run the rule.
    Off,
}

/// Settings read from the configuration file; absent keys are `None`/empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file the settings came from.
    pub path: Option<PathBuf>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `cluster-domain`.
    pub cluster_domain: Option<String>,
    /// `root-namespace`.
    pub root_namespace: Option<String>,
    /// `fail-on`.
    pub fail_on: Option<FailOn>,
    /// `select`.
    pub select: Option<Vec<String>>,
    /// `ignore`.
    pub ignore: Vec<String>,
    /// `severity`.
    pub severity: Vec<(String, RuleLevel)>,
    /// `istio-version`.
    pub istio_version: Option<(u32, u32)>,
    /// `external-hosts`.
    pub external_hosts: Vec<String>,
    /// `retry-storm-min-attempts`.
    pub retry_storm_min_attempts: Option<i64>,
    /// `docs-url`: base URL of the rule pages.
    pub docs_url: Option<String>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line of the problem.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

const KEYS: &[&str] = &[
    "namespace",
    "cluster-domain",
    "root-namespace",
    "fail-on",
    "select",
    "ignore",
    "severity",
    "istio-version",
    "external-hosts",
    "retry-storm-min-attempts",
    "docs-url",
];

/// Finds `.meshvet.yaml` in `start` (or its folder, for a file) or any parent.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let dir = if start.is_dir() {
        start.as_path()
    } else {
        start.parent()?
    };
    dir.ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: shown.clone(),
        line: 1,
        message: format!("cannot read: {e}"),
    })?;
    let mut config = parse(&shown, &text)?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// Parses configuration text; `name` is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<Config, ConfigError> {
    let file = SourceFile::new(FileId(0), name.into(), name.into(), Arc::from(text));
    let err = |node: Option<Node<'_>>, message: String| ConfigError {
        file: name.to_owned(),
        line: node.map_or(1, |n| file.position(n.span().start as usize).line),
        message,
    };
    let docs = parse_file(&file);
    let mut config = Config::default();
    let Some(doc) = docs.first() else {
        return Ok(config);
    };
    if let Some(e) = &doc.error {
        return Err(ConfigError {
            file: name.to_owned(),
            line: file.position(e.span.start as usize).line,
            message: e.message.clone(),
        });
    }
    let Some(root) = doc.root.as_ref() else {
        return Ok(config);
    };
    let root = Node::root(root, SpanMapper::new(&file, doc.segment.first_line));
    if root.shape() != Shape::Mapping {
        return Err(err(
            Some(root),
            "the configuration must be a mapping".to_owned(),
        ));
    }
    let string = |n: Node<'_>, key: &str| -> Result<String, ConfigError> {
        n.str()
            .map(str::to_owned)
            .ok_or_else(|| err(Some(n), format!("`{key}` must be a string")))
    };
    let list = |n: Node<'_>, key: &str| -> Result<Vec<String>, ConfigError> {
        if n.shape() != Shape::Sequence {
            return Err(err(
                Some(n),
                format!("`{key}` must be a list of rule names"),
            ));
        }
        n.items().map(|i| string(i, key)).collect()
    };
    for (k, v) in root.entries() {
        let key = k.str().unwrap_or("");
        match key {
            "namespace" => config.namespace = Some(string(v, key)?),
            "cluster-domain" => config.cluster_domain = Some(string(v, key)?),
            "root-namespace" => config.root_namespace = Some(string(v, key)?),
            "fail-on" => {
                let s = string(v, key)?;
                config.fail_on = Some(FailOn::parse(&s).ok_or_else(|| {
                    err(
                        Some(v),
                        format!("`fail-on` must be error, warning, info or never, not `{s}`"),
                    )
                })?);
            }
            "select" => config.select = Some(list(v, key)?),
            "ignore" => config.ignore = list(v, key)?,
            "severity" => {
                for (rule, level) in v.entries() {
                    let rule_name = string(rule, key)?;
                    let level_text = string(level, key)?;
                    let parsed = match level_text.as_str() {
                        "off" => RuleLevel::Off,
                        other => match FailOn::parse(other) {
                            Some(FailOn::Severity(s)) => RuleLevel::Level(s),
                            _ => {
                                return Err(err(
                                    Some(level),
                                    format!(
                                        "severity of `{rule_name}` must be error, warning, info or off, not `{level_text}`"
                                    ),
                                ));
                            }
                        },
                    };
                    config.severity.push((rule_name, parsed));
                }
            }
            "istio-version" => {
                let text = string(v, key)?;
                config.istio_version =
                    Some(crate::settings::parse_version(&text).ok_or_else(|| {
                        err(
                            Some(v),
                            format!("`istio-version` must look like `1.22`, not `{text}`"),
                        )
                    })?);
            }
            "external-hosts" => config.external_hosts = list(v, key)?,
            "retry-storm-min-attempts" => {
                config.retry_storm_min_attempts =
                    Some(v.int().filter(|n| *n >= 1).ok_or_else(|| {
                        err(
                            Some(v),
                            "`retry-storm-min-attempts` must be a whole number of at least 1"
                                .to_owned(),
                        )
                    })?);
            }
            "docs-url" => config.docs_url = Some(string(v, key)?),
            other => {
                let hint = crate::text::closest(other, KEYS.iter().copied())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(err(Some(k), format!("unknown setting `{other}`{hint}")));
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting() {
        let c = parse(
            "c.yaml",
            "namespace: prod\ncluster-domain: example.org\nfail-on: warning\nselect: [a]\nignore: [b]\nseverity: {c: off, d: info}\n",
        )
        .expect("valid");
        assert_eq!(c.namespace.as_deref(), Some("prod"));
        assert_eq!(c.cluster_domain.as_deref(), Some("example.org"));
        assert_eq!(c.fail_on, Some(FailOn::Severity(Severity::Warning)));
        assert_eq!(c.select, Some(vec!["a".to_owned()]));
        assert_eq!(
            c.severity,
            vec![
                ("c".to_owned(), RuleLevel::Off),
                ("d".to_owned(), RuleLevel::Level(Severity::Info))
            ]
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        let e = parse("c.yaml", "namespace: a\nfail_on: error\n").expect_err("unknown key");
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("did you mean `fail-on`"),
            "{}",
            e.message
        );
    }
}
