//! The terminal rendering: one miette report per diagnostic (source excerpt with
//! carets, labels, help, rule name and documentation link), then a summary line.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Report, Severity};
use crate::source::Span;
use crate::text::plural;

/// Options for the human rendering.
#[derive(Debug, Clone)]
pub struct HumanOptions {
    /// Use colours (only on a terminal, and never with `NO_COLOR`).
    pub color: bool,
    /// Wrap width.
    pub width: usize,
    /// Base URL of the rule pages; the rule name and `.md` are appended.
    pub docs_base: String,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            width: 100,
            docs_base: crate::DOCS_BASE.to_owned(),
        }
    }
}

/// Renders the whole report for a person.
pub fn render(report: &Report, opts: &HumanOptions) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(opts.width)
        .with_context_lines(1);
    let mut out = String::new();
    for d in &report.diagnostics {
        // An excerpt prints whole lines, and miette cannot place carets past column
        // 65 535: findings on very long lines (minified YAML) get the one-line form.
        let too_long = std::iter::once(&d.location)
            .chain(d.related.iter().map(|r| &r.location))
            .any(|loc| on_long_line(report, loc));
        let rendered = Rendered::new(report, d, opts);
        if too_long || handler.render_report(&mut out, &rendered).is_err() {
            // A rendering failure must not lose the finding: fall back to one line.
            let (file, line, col, _, _) = report.resolve(&d.location);
            out.push_str(&format!(
                "{file}:{line}:{col}: {}: {} [{}]\n",
                d.severity, d.message, d.rule
            ));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// Longest line an excerpt is shown for.
const MAX_EXCERPT_LINE: usize = 2_000;

/// True when a location's first or last line is too long to show as an excerpt.
fn on_long_line(report: &Report, loc: &crate::source::Location) -> bool {
    let Some(file) = report.file(loc.file) else {
        return false;
    };
    let (start, end) = file.range(loc.span);
    [start.line, end.line]
        .iter()
        .any(|l| file.line_text(*l as usize).len() > MAX_EXCERPT_LINE)
}

/// The closing line: `3 errors, 1 warning in 12 files (40 objects)`.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let mut parts = Vec::new();
    if s.errors > 0 {
        parts.push(plural(s.errors, "error"));
    }
    if s.warnings > 0 {
        parts.push(plural(s.warnings, "warning"));
    }
    if s.infos > 0 {
        parts.push(plural(s.infos, "info"));
    }
    let found = if parts.is_empty() {
        "no problems".to_owned()
    } else {
        parts.join(", ")
    };
    let mut line = format!(
        "{found} in {} ({})",
        plural(s.files, "file"),
        plural(s.objects, "object")
    );
    if s.skipped > 0 {
        line.push_str(&format!("; {} skipped", plural(s.skipped, "file")));
    }
    line
}

/// A diagnostic dressed for miette: its source, labels and related reports.
struct Rendered {
    message: String,
    code: String,
    url: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered>,
}

impl Rendered {
    fn new(report: &Report, d: &Diagnostic, opts: &HumanOptions) -> Rendered {
        let file = report.file(d.location.file);
        let first = std::iter::once(d.location.span.start)
            .chain(
                d.related
                    .iter()
                    .filter(|r| r.location.file == d.location.file)
                    .map(|r| r.location.span.start),
            )
            .min()
            .unwrap_or(0);
        let source = file.map(|f| Excerpt::new(f, first as usize));
        let label = d.label.clone().unwrap_or_else(|| short_label(d));
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(label),
            to_miette(d.location.span),
        )];
        let mut related = Vec::new();
        for r in &d.related {
            if r.location.file == d.location.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(r.message.clone()),
                    to_miette(r.location.span),
                ));
            } else {
                let other = report.file(r.location.file);
                related.push(Rendered {
                    message: r.message.clone(),
                    code: String::new(),
                    url: String::new(),
                    severity: miette::Severity::Advice,
                    help: None,
                    source: other.map(|f| Excerpt::new(f, r.location.span.start as usize)),
                    labels: vec![LabeledSpan::new_primary_with_span(
                        None,
                        to_miette(r.location.span),
                    )],
                    related: Vec::new(),
                });
            }
        }
        Rendered {
            message: d.message.clone(),
            code: d.rule.to_owned(),
            url: format!("{}{}.md", opts.docs_base, d.rule),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            help: d.help.clone(),
            source,
            labels,
            related,
        }
    }
}

/// A file's text as miette reads it, from a few lines before the first label
/// on. miette finds a span's line by scanning from the start of the text it is
/// given; handing it the whole file would make rendering quadratic in a file
/// with many findings.
struct Excerpt {
    name: String,
    text: Arc<str>,
    /// Byte offset where the excerpt starts (a line start).
    start: usize,
    /// 0-based line number of `start`.
    first_line: usize,
}

impl Excerpt {
    fn new(file: &crate::source::SourceFile, first_offset: usize) -> Excerpt {
        let line = file.position(first_offset.min(file.text.len())).line as usize;
        // Context lines before the first label, and one to spare.
        let window_line = line.saturating_sub(2).max(1);
        let start = file.lines.line_start(window_line).min(file.text.len());
        let start = if file.text.is_char_boundary(start) {
            start
        } else {
            0
        };
        let first_line = if start == 0 { 0 } else { window_line - 1 };
        Excerpt {
            name: file.display.clone(),
            text: file.text.clone(),
            start,
            first_line,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text.get(self.start..).unwrap_or("");
        let local = SourceSpan::from((span.offset().saturating_sub(self.start), span.len()));
        let contents = text.read_span(&local, context_lines_before, context_lines_after)?;
        let global =
            SourceSpan::from((contents.span().offset() + self.start, contents.span().len()));
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                contents.data(),
                global,
                contents.line() + self.first_line,
                contents.column(),
                // miette counts the lines it scanned from the start of the text,
                // and merges excerpts by that count: add the lines skipped so
                // that output matches reading the whole file.
                contents.line_count() + self.first_line,
            )
            .with_language("yaml"),
        ))
    }
}

/// The text under the primary caret when the rule gave none: the severity word.
fn short_label(d: &Diagnostic) -> String {
    d.severity.as_str().to_owned()
}

fn to_miette(span: Span) -> SourceSpan {
    SourceSpan::from((span.start as usize, span.len()))
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.url.is_empty()).then(|| Box::new(&self.url) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
