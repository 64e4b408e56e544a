//! The GitLab Code Quality rendering (a subset of the Code Climate format): a JSON
//! array with one issue per diagnostic.
//!
//! Severity: `error` → `critical`, `warning` → `minor`, `info` → `info`.
//! `fingerprint` is the same identity as SARIF's `partialFingerprints`: rule,
//! object and JSON pointer, so an issue keeps its identity across unrelated edits
//! and GitLab can tell new findings from old ones in merge requests.

use serde::Serialize;

use super::paths::{RepoPaths, fingerprints};
use super::{Report, Severity};

/// Options for the Code Quality rendering.
#[derive(Debug, Clone)]
pub struct GitlabOptions {
    /// Repository root and working directory (paths are relative to the root).
    pub paths: RepoPaths,
}

#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: &'static str,
    fingerprint: &'a str,
    severity: &'static str,
    location: IssueLocation,
}

#[derive(Serialize)]
struct IssueLocation {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
    end: u32,
}

/// The Code Quality severity of a meshvet severity.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

/// Renders the report as a Code Quality report.
pub fn render(report: &Report, opts: &GitlabOptions) -> String {
    let prints = fingerprints(report, &opts.paths);
    let issues: Vec<Issue<'_>> = report
        .diagnostics
        .iter()
        .zip(&prints)
        .map(|(d, fp)| {
            let (_, line, _, end_line, _) = report.resolve(&d.location);
            let path = report
                .file(d.location.file)
                .map(|f| opts.paths.shown(f))
                .unwrap_or_default();
            let mut description = d.message.clone();
            if let Some(help) = &d.help {
                description.push_str(". ");
                description.push_str(help);
            }
            Issue {
                description,
                check_name: d.rule,
                fingerprint: fp,
                severity: severity(d.severity),
                location: IssueLocation {
                    path,
                    lines: Lines {
                        begin: line,
                        end: end_line,
                    },
                },
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_owned());
    out.push('\n');
    out
}
