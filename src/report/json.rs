//! The JSON rendering, format version 1 (documented in the README).
//!
//! Field order is fixed by the structs below, and diagnostics arrive sorted, so
//! the same input always gives byte-identical output.

use serde::Serialize;

use super::{ObjectRef, Report};

/// The JSON format version; a change to the shape is a new version.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: Tool,
    summary: JsonSummary,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    documents: usize,
    objects: usize,
    skipped: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'a str,
    severity: &'a str,
    message: &'a str,
    file: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    object: Option<&'a ObjectRef>,
    path: Option<&'a str>,
    upstream: &'a [&'a str],
    help: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    file: String,
    line: u32,
    column: u32,
    message: &'a str,
}

/// Renders the report as pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let doc = JsonReport {
        version: FORMAT_VERSION,
        tool: Tool {
            name: "meshvet",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: JsonSummary {
            files: s.files,
            documents: s.documents,
            objects: s.objects,
            skipped: s.skipped,
            errors: s.errors,
            warnings: s.warnings,
            infos: s.infos,
        },
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| {
                let (file, line, column, end_line, end_column) = report.resolve(&d.location);
                JsonDiagnostic {
                    rule: d.rule,
                    severity: d.severity.as_str(),
                    message: &d.message,
                    file,
                    line,
                    column,
                    end_line,
                    end_column,
                    object: d.object.as_ref(),
                    path: d.path.as_deref(),
                    upstream: d.upstream,
                    help: d.help.as_deref(),
                    related: d
                        .related
                        .iter()
                        .map(|r| {
                            let (file, line, column, _, _) = report.resolve(&r.location);
                            JsonRelated {
                                file,
                                line,
                                column,
                                message: &r.message,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let mut out =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
