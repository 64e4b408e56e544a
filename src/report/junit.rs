//! The JUnit XML rendering, for GitLab's test report and Jenkins.
//!
//! One `<testsuite>` per analysed file (named by its path relative to the
//! repository root). A file without findings holds one passing `<testcase>`; a
//! file with findings holds one failing `<testcase>` per diagnostic, named by rule
//! and object, whose `<failure>` carries the message, the position, the help and
//! the rule's page. Skipped files (Helm templates, binary files) are `<skipped/>`.

use std::collections::BTreeMap;

use super::paths::RepoPaths;
use super::{Diagnostic, Report};

/// Options for the JUnit rendering.
#[derive(Debug, Clone)]
pub struct JunitOptions {
    /// Repository root and working directory (file names are relative to the root).
    pub paths: RepoPaths,
    /// Base URL of the rule pages.
    pub docs_base: String,
}

/// Escapes text for XML content and attribute values; drops characters XML 1.0
/// cannot carry.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes element content: only `&`, `<` and `>` need it.
fn escape_text(s: &str) -> String {
    escape(s)
        .replace("&#10;", "\n")
        .replace("&#13;", "\r")
        .replace("&#9;", "\t")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
}

struct Suite<'a> {
    diagnostics: Vec<&'a Diagnostic>,
    skipped: Option<&'static str>,
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report, opts: &JunitOptions) -> String {
    let mut suites: BTreeMap<String, Suite<'_>> = BTreeMap::new();
    let skipped: std::collections::HashMap<&str, &'static str> = report
        .skipped
        .iter()
        .map(|s| (s.file.as_str(), s.reason))
        .collect();
    let mut names = Vec::with_capacity(report.files.len());
    for f in &report.files {
        let name = opts.paths.shown(f);
        suites.entry(name.clone()).or_insert(Suite {
            diagnostics: Vec::new(),
            skipped: skipped.get(f.display.as_str()).copied(),
        });
        names.push(name);
    }
    for d in &report.diagnostics {
        if let Some(name) = names.get(d.location.file.0 as usize)
            && let Some(suite) = suites.get_mut(name)
        {
            suite.diagnostics.push(d);
        }
    }
    let tests: usize = suites.values().map(|s| s.diagnostics.len().max(1)).sum();
    let failures = report.diagnostics.len();
    let skipped_n = suites.values().filter(|s| s.skipped.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"meshvet\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped_n}\">\n"
    ));
    for (name, suite) in &suites {
        let n = suite.diagnostics.len();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{n}\" errors=\"0\" skipped=\"{}\">\n",
            escape(name),
            n.max(1),
            usize::from(suite.skipped.is_some()),
        ));
        if let Some(reason) = suite.skipped {
            out.push_str(&format!(
                "    <testcase name=\"meshvet\" classname=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape(name),
                escape(&format!("not analysed: {reason}"))
            ));
        } else if n == 0 {
            out.push_str(&format!(
                "    <testcase name=\"meshvet\" classname=\"{}\"/>\n",
                escape(name)
            ));
        }
        for d in &suite.diagnostics {
            let (_, line, col, _, _) = report.resolve(&d.location);
            let what = d.object.as_ref().map_or_else(String::new, |o| {
                if o.namespace.is_empty() {
                    format!(" {}/{}", o.kind, o.name)
                } else {
                    format!(" {}/{}/{}", o.kind, o.namespace, o.name)
                }
            });
            let mut body = format!(
                "{name}:{line}:{col}: {}: {} [{}]",
                d.severity, d.message, d.rule
            );
            if let Some(help) = &d.help {
                body.push_str(&format!("\nhelp: {help}"));
            }
            for r in &d.related {
                let (file, rl, rc, _, _) = report.resolve(&r.location);
                body.push_str(&format!("\nnote: {file}:{rl}:{rc}: {}", r.message));
            }
            body.push_str(&format!("\nsee: {}{}.md", opts.docs_base, d.rule));
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&format!("{}{what} (line {line})", d.rule)),
                escape(name),
                escape(&d.message),
                d.severity,
                escape_text(&body),
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot;&#10;"
        );
    }
}
