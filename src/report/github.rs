//! The GitHub Actions rendering: one workflow command per diagnostic
//! (`::error file=…,line=…::message`), and the Markdown job summary written to
//! `$GITHUB_STEP_SUMMARY`.
//!
//! GitHub shows at most 10 annotations of each level per step, so the job
//! summary lists every finding (up to a size cap well under GitHub's 1 MiB per
//! step summary).

use std::collections::BTreeMap;

use super::paths::RepoPaths;
use super::{Diagnostic, Report, Severity};

/// The summary is cut before it reaches this many bytes (GitHub's cap is 1 MiB).
pub const SUMMARY_LIMIT: usize = 512 * 1024;

/// Options for the GitHub renderings.
#[derive(Debug, Clone)]
pub struct GithubOptions {
    /// Repository root and working directory (annotation paths are relative to the root).
    pub paths: RepoPaths,
    /// Base URL of the rule pages.
    pub docs_base: String,
    /// Base of file links in the summary, e.g.
    /// `https://github.com/OWNER/REPO/blob/SHA/`; plain `file:line` text when `None`.
    pub blob_base: Option<String>,
    /// Byte cap of the summary.
    pub summary_limit: usize,
}

impl GithubOptions {
    /// The blob URL base from `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and `GITHUB_SHA`.
    pub fn blob_base_from_env() -> Option<String> {
        let server = std::env::var("GITHUB_SERVER_URL").ok()?;
        let repo = std::env::var("GITHUB_REPOSITORY").ok()?;
        let sha = std::env::var("GITHUB_SHA").ok()?;
        if server.is_empty() || repo.is_empty() || sha.is_empty() {
            return None;
        }
        Some(format!(
            "{}/{repo}/blob/{sha}/",
            server.trim_end_matches('/')
        ))
    }
}

/// Escapes the data of a workflow command (after `::`), as `@actions/core` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command, as `@actions/core` does.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// One workflow command per diagnostic, each on its own line.
pub fn render(report: &Report, opts: &GithubOptions) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        let (file, line, col, end_line, end_col) = place(report, opts, d);
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push('\n');
            message.push_str(help);
        }
        message.push_str(&format!("\n{}{}.md", opts.docs_base, d.rule));
        out.push_str(&format!(
            "::{} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            command(d.severity),
            escape_property(&file),
            escape_property(&format!("meshvet({})", d.rule)),
            escape_data(&message),
        ));
    }
    out
}

/// File relative to the repository root and the 1-based inclusive range.
fn place(report: &Report, opts: &GithubOptions, d: &Diagnostic) -> (String, u32, u32, u32, u32) {
    let (_, line, col, end_line, end_col) = report.resolve(&d.location);
    let file = report
        .file(d.location.file)
        .map(|f| opts.paths.shown(f))
        .unwrap_or_default();
    (file, line, col, end_line, end_col)
}

/// Makes text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// The Markdown job summary: counts by severity and by rule, then every finding.
pub fn summary(report: &Report, opts: &GithubOptions) -> String {
    let s = &report.summary;
    let mut out = String::from("## meshvet\n\n");
    if report.diagnostics.is_empty() {
        out.push_str(&format!("{}.\n", super::human::summary_line(report)));
        return out;
    }
    out.push_str(&format!("{}.\n\n", super::human::summary_line(report)));
    out.push_str("| Severity | Findings |\n| --- | ---: |\n");
    for (name, n) in [
        ("error", s.errors),
        ("warning", s.warnings),
        ("info", s.infos),
    ] {
        if n > 0 {
            out.push_str(&format!("| {name} | {n} |\n"));
        }
    }
    let mut by_rule: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for d in &report.diagnostics {
        let e = by_rule.entry(d.rule).or_insert((d.severity, 0));
        e.0 = e.0.max(d.severity);
        e.1 += 1;
    }
    out.push_str("\n| Rule | Severity | Findings |\n| --- | --- | ---: |\n");
    for (rule, (sev, n)) in &by_rule {
        out.push_str(&format!(
            "| [`{rule}`]({}{rule}.md) | {sev} | {n} |\n",
            opts.docs_base
        ));
    }
    out.push_str(
        "\n### Findings\n\n| Severity | Location | Rule | Message |\n| --- | --- | --- | --- |\n",
    );
    let total = report.diagnostics.len();
    for (i, d) in report.diagnostics.iter().enumerate() {
        let (file, line, col, _, _) = place(report, opts, d);
        let shown = format!("{file}:{line}:{col}");
        let location = match &opts.blob_base {
            Some(base) => format!(
                "[{}]({base}{}#L{line})",
                cell(&shown),
                super::paths::encode_uri_path(&file)
            ),
            None => format!("`{}`", cell(&shown)),
        };
        let mut message = cell(&d.message);
        if let Some(help) = &d.help {
            message.push_str("<br>");
            message.push_str(&cell(help));
        }
        let row = format!(
            "| {} | {location} | [`{}`]({}{}.md) | {message} |\n",
            d.severity, d.rule, opts.docs_base, d.rule
        );
        // Leave room for the truncation note.
        if out.len() + row.len() + 200 > opts.summary_limit {
            out.push_str(&format!(
                "\n_Showing {i} of {total} findings: the summary is limited in size. Run meshvet locally or read the other report formats for the rest._\n"
            ));
            return out;
        }
        out.push_str(&row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_toolkit() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d"), "a\\|b c&lt;d");
    }
}
