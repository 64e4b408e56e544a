//! The SARIF 2.1.0 rendering, for GitHub code scanning and SARIF viewers.
//!
//! One run. `tool.driver.rules` holds every rule (not only those that ran or
//! fired), so `ruleIndex` is stable. Each result has one primary location whose
//! `artifactLocation.uri` is relative to the repository root with `uriBaseId`
//! `%SRCROOT%` (resolved by `run.originalUriBaseIds`), a 1-based region with an
//! exclusive `endColumn` counted in Unicode code points (`run.columnKind`),
//! `relatedLocations` linked from the message, a logical location naming the
//! object, and a `partialFingerprints` entry (`meshvet/v1`) computed from the
//! rule, the object's identity and the JSON pointer, so it survives unrelated
//! edits. GitHub's `primaryLocationLineHash` is left to `upload-sarif`.
//!
//! The structs are written by hand against the SARIF 2.1.0 schema: only the
//! properties meshvet fills are modelled.

use serde::Serialize;

use super::paths::{RepoPaths, fingerprints};
use super::{Diagnostic, Report, Severity};
use crate::rules::{self, RuleMeta};
use crate::source::{Location as SrcLocation, SourceFile};

/// `$schema` of the log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// GitHub code scanning keeps at most this many results per run.
pub const GITHUB_MAX_RESULTS: usize = 25_000;
/// GitHub truncates longer descriptions.
const MAX_DESCRIPTION: usize = 1024;
/// The key of meshvet's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "meshvet/v1";
const SRCROOT: &str = "%SRCROOT%";

/// Options for the SARIF rendering.
#[derive(Debug, Clone)]
pub struct SarifOptions {
    /// Repository root and working directory.
    pub paths: RepoPaths,
    /// Base URL of the rule pages (`helpUri` is this + rule + `.md`).
    pub docs_base: String,
    /// Most results written (GitHub's limit by default).
    pub max_results: usize,
}

/// A rendered SARIF log and what the user should be told on stderr.
#[derive(Debug, Clone)]
pub struct SarifOutput {
    /// The log, pretty-printed, with a trailing newline.
    pub text: String,
    /// Notes for stderr (truncation).
    pub notes: Vec<String>,
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: Vec<Invocation>,
    original_uri_base_ids: OriginalUriBaseIds,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct OriginalUriBaseIds {
    #[serde(rename = "%SRCROOT%")]
    srcroot: ArtifactLocationAbs,
}

#[derive(Serialize)]
struct ArtifactLocationAbs {
    uri: String,
    description: Message,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "problem.severity")]
    problem_severity: &'static str,
    upstream: &'static [&'static str],
    kinds: &'static [&'static str],
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "ResultProperties::is_empty")]
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "meshvet/v1")]
    meshvet: String,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    upstream: &'static [&'static str],
}

impl ResultProperties<'_> {
    fn is_empty(&self) -> bool {
        self.path.is_none() && self.upstream.is_empty()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

/// The SARIF `level` of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Renders the report as a SARIF 2.1.0 log.
pub fn render(report: &Report, opts: &SarifOptions) -> SarifOutput {
    let all = rules::all();
    let fingerprints = fingerprints(report, &opts.paths);
    let mut notes = Vec::new();
    let mut chosen: Vec<usize> = (0..report.diagnostics.len()).collect();
    if chosen.len() > opts.max_results {
        // Keep the most severe; a stable sort keeps the report order within a severity.
        chosen.sort_by_key(|&i| std::cmp::Reverse(report.diagnostics[i].severity));
        chosen.truncate(opts.max_results);
        chosen.sort_unstable();
        notes.push(format!(
            "SARIF output holds the {} most severe of {} findings (GitHub code scanning accepts at most {} results per run); the other formats hold all of them",
            opts.max_results,
            report.diagnostics.len(),
            opts.max_results
        ));
    }
    let results = chosen
        .iter()
        .map(|&i| {
            let d = &report.diagnostics[i];
            result(report, opts, d, &fingerprints[i], all)
        })
        .collect();
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "meshvet",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: all.iter().map(|r| descriptor(r.meta(), opts)).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notes
                    .iter()
                    .map(|n| Notification {
                        level: "warning",
                        message: Message { text: n.clone() },
                    })
                    .collect(),
            }],
            original_uri_base_ids: OriginalUriBaseIds {
                srcroot: ArtifactLocationAbs {
                    uri: opts.paths.root_uri(),
                    description: Message {
                        text: "The root of the repository analysed".to_owned(),
                    },
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    let mut text =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    SarifOutput { text, notes }
}

fn descriptor(meta: &RuleMeta, opts: &SarifOptions) -> ReportingDescriptor {
    let docs = meta.documentation();
    let why = section(&docs, "## Why is this bad?");
    let full = if why.is_empty() {
        meta.summary()
    } else {
        format!("{} {}", meta.summary(), why)
    };
    let mut tags = vec!["istio".to_owned(), "service-mesh".to_owned()];
    tags.extend(meta.upstream.iter().map(|c| (*c).to_owned()));
    tags.truncate(20);
    ReportingDescriptor {
        id: meta.name,
        name: meta.type_name,
        short_description: Message {
            text: clip(&meta.summary()),
        },
        full_description: Message { text: clip(&full) },
        help: MultiformatMessage {
            text: docs,
            markdown: crate::docs::page(meta),
        },
        help_uri: format!("{}{}.md", opts.docs_base, meta.name),
        default_configuration: Configuration {
            level: level(meta.severity),
        },
        properties: RuleProperties {
            tags,
            precision: "high",
            problem_severity: match meta.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
            upstream: meta.upstream,
            kinds: meta.kinds,
        },
    }
}

/// The text of a `## ` section of a rule's documentation, on one line, without
/// code blocks.
fn section(docs: &str, heading: &str) -> String {
    let Some(start) = docs.find(heading) else {
        return String::new();
    };
    let body = &docs[start + heading.len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    let mut out = Vec::new();
    let mut in_code = false;
    for line in body[..end].lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            out.extend(line.split_whitespace());
        }
    }
    out.join(" ")
}

/// Cuts text to GitHub's 1024-character limit, at a word boundary, with an ellipsis.
fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX_DESCRIPTION / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{cut}…")
}

/// Escapes text for a SARIF message that may contain embedded links (§3.11.6).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn result<'a>(
    report: &'a Report,
    opts: &SarifOptions,
    d: &'a Diagnostic,
    fingerprint: &str,
    all: &[&'static dyn rules::Rule],
) -> SarifResult<'a> {
    // The first sentence is GitHub's alert title: the message; the fix follows.
    let mut text = escape(&d.message);
    if let Some(help) = &d.help {
        text.push_str(". ");
        text.push_str(&escape(help));
    }
    let related: Vec<Location> = d
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut loc = location(report, opts, &r.location);
            loc.id = Some(i + 1);
            loc.message = Some(Message {
                text: escape(&r.message),
            });
            loc
        })
        .collect();
    if !related.is_empty() {
        let links: Vec<String> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| format!("[{}]({})", escape(&r.message), i + 1))
            .collect();
        if !text.ends_with('.') {
            text.push('.');
        }
        text.push_str(" See: ");
        text.push_str(&links.join("; "));
        text.push('.');
    }
    let mut primary = location(report, opts, &d.location);
    if let Some(o) = &d.object {
        let fqn = if o.namespace.is_empty() {
            format!("{}/{}", o.kind, o.name)
        } else {
            format!("{}/{}/{}", o.kind, o.namespace, o.name)
        };
        primary.logical_locations.push(LogicalLocation {
            name: o.name.clone(),
            fully_qualified_name: fqn,
            kind: "resource",
        });
    }
    SarifResult {
        rule_id: d.rule,
        rule_index: all.iter().position(|r| r.meta().name == d.rule),
        level: level(d.severity),
        message: Message { text },
        locations: vec![primary],
        related_locations: related,
        partial_fingerprints: Fingerprints {
            meshvet: fingerprint.to_owned(),
        },
        properties: ResultProperties {
            path: d.path.as_deref(),
            upstream: d.upstream,
        },
    }
}

fn location(report: &Report, opts: &SarifOptions, loc: &SrcLocation) -> Location {
    let (artifact, region) = match report.file(loc.file) {
        Some(f) => (artifact(opts, f), region(f, loc)),
        None => (
            ArtifactLocation {
                uri: String::new(),
                uri_base_id: Some(SRCROOT),
            },
            Region {
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            },
        ),
    };
    Location {
        id: None,
        physical_location: PhysicalLocation {
            artifact_location: artifact,
            region,
        },
        logical_locations: Vec::new(),
        message: None,
    }
}

fn artifact(opts: &SarifOptions, f: &SourceFile) -> ArtifactLocation {
    match opts.paths.relative(f) {
        Some(rel) => ArtifactLocation {
            uri: super::paths::encode_uri_path(&rel),
            uri_base_id: Some(SRCROOT),
        },
        None => ArtifactLocation {
            uri: super::paths::file_uri(
                &super::paths::canonical(&opts.paths.cwd.join(&f.path)),
                false,
            ),
            uri_base_id: None,
        },
    }
}

/// 1-based region; `endColumn` is the column after the last character.
fn region(f: &SourceFile, loc: &SrcLocation) -> Region {
    let (s, e) = f.range(loc.span);
    let end_column = if loc.span.is_empty() {
        e.column
    } else {
        e.column + 1
    };
    Region {
        start_line: s.line,
        start_column: s.column,
        end_line: e.line,
        end_column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_clipped_at_a_word() {
        let long = "word ".repeat(400);
        let c = clip(&long);
        assert!(c.chars().count() <= MAX_DESCRIPTION);
        assert!(c.ends_with("word…"));
    }

    #[test]
    fn brackets_are_escaped() {
        assert_eq!(escape(r"a[0-9]\d"), r"a\[0-9\]\\d");
    }

    #[test]
    fn sections_skip_code() {
        let docs =
            "Sum.\n\n## Why is this bad?\nBecause\nit is.\n```yaml\nx: 1\n```\n## Example\nno";
        assert_eq!(section(docs, "## Why is this bad?"), "Because it is.");
    }
}
