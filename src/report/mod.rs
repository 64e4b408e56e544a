//! The outcome of a run and its renderings: human (miette), JSON, SARIF, GitHub
//! workflow commands and job summary, JUnit XML and GitLab Code Quality.

mod diagnostic;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod paths;
pub mod sarif;

use std::time::Duration;

pub use diagnostic::{Diagnostic, ObjectRef, Related, Severity};

use crate::source::{FileId, Location, SourceFile};

/// Counts for the summary line and the JSON `summary` object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read (Helm templates and binary files not included).
    pub files: usize,
    /// YAML documents parsed or attempted.
    pub documents: usize,
    /// Kubernetes objects found.
    pub objects: usize,
    /// Files skipped: Helm templates and binary files.
    pub skipped: usize,
    /// Diagnostics of severity error.
    pub errors: usize,
    /// Diagnostics of severity warning.
    pub warnings: usize,
    /// Diagnostics of severity info.
    pub infos: usize,
}

/// A file meshvet did not analyse, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file as shown to users.
    pub file: String,
    /// Why ("Helm template", "binary file").
    pub reason: &'static str,
}

/// Wall time and counts of each phase, for `--timings`.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Walking the paths.
    pub discover: Duration,
    /// Reading, splitting and parsing files, including the per-object pass
    /// (they run fused, file by file, so the tree can be dropped early).
    pub read_parse: Duration,
    /// Of `read_parse`, the time spent in per-object rules and fact extraction
    /// (summed over threads).
    pub per_object: Duration,
    /// Building the index.
    pub index: Duration,
    /// Cross-object rules.
    pub graph_rules: Duration,
    /// The graph rules that took longest, with their time.
    pub slowest_graph_rules: Vec<(&'static str, Duration)>,
    /// Rendering the report (filled in by the caller that renders).
    pub render: Duration,
    /// Bytes of YAML read.
    pub bytes: u64,
}

impl Timings {
    /// Renders the timings as lines for stderr.
    pub fn render(&self, summary: &Summary) -> String {
        let mb = self.bytes as f64 / 1e6;
        let rate = |d: Duration| {
            let s = d.as_secs_f64();
            if s > 0.0 { mb / s } else { 0.0 }
        };
        let total = self.discover + self.read_parse + self.index + self.graph_rules + self.render;
        let mut out = format!(
            "timings:\n  discover      {:>9.3} s  {} files ({} skipped)\n  read+parse    {:>9.3} s  {} documents, {:.2} MB, {:.1} MB/s\n    per-object  {:>9.3} s  {} objects (CPU time across threads)\n  index         {:>9.3} s\n  graph rules   {:>9.3} s\n  render        {:>9.3} s\n  total         {:>9.3} s  {:.1} MB/s\n",
            self.discover.as_secs_f64(),
            summary.files + summary.skipped,
            summary.skipped,
            self.read_parse.as_secs_f64(),
            summary.documents,
            mb,
            rate(self.read_parse),
            self.per_object.as_secs_f64(),
            summary.objects,
            self.index.as_secs_f64(),
            self.graph_rules.as_secs_f64(),
            self.render.as_secs_f64(),
            total.as_secs_f64(),
            rate(total),
        );
        if !self.slowest_graph_rules.is_empty() {
            out.push_str("  slowest graph rules:\n");
        }
        for (name, took) in &self.slowest_graph_rules {
            out.push_str(&format!("    {name:<28}{:>9.3} s\n", took.as_secs_f64()));
        }
        out
    }
}

/// Order of diagnostics: file, line, column, rule, message.
type SortKey = (String, u32, u32, &'static str, String);

/// Everything a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files of the run, indexed by [`FileId`].
    pub files: Vec<SourceFile>,
    /// Findings, sorted by (file, line, column, rule).
    pub diagnostics: Vec<Diagnostic>,
    /// Counts.
    pub summary: Summary,
    /// Files not analysed.
    pub skipped: Vec<Skipped>,
    /// Phase timings.
    pub timings: Timings,
}

impl Report {
    /// The file behind an id.
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// Display path and 1-based (line, column, end line, end column) of a location.
    pub fn resolve(&self, loc: &Location) -> (String, u32, u32, u32, u32) {
        match self.file(loc.file) {
            Some(f) => {
                let (s, e) = f.range(loc.span);
                (f.display.clone(), s.line, s.column, e.line, e.column)
            }
            None => (String::new(), 1, 1, 1, 1),
        }
    }

    /// The highest severity present, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }

    /// Sorts diagnostics by (file path, line, column, rule, message) and recounts.
    pub fn finish(&mut self) {
        let mut keyed: Vec<(SortKey, Diagnostic)> = std::mem::take(&mut self.diagnostics)
            .into_iter()
            .map(|d| {
                let (file, line, col, _, _) = self.resolve(&d.location);
                ((file, line, col, d.rule, d.message.clone()), d)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        self.diagnostics = keyed.into_iter().map(|(_, d)| d).collect();
        self.summary.errors = self.count(Severity::Error);
        self.summary.warnings = self.count(Severity::Warning);
        self.summary.infos = self.count(Severity::Info);
    }

    /// Keeps only the diagnostics whose primary file is one of `files`, and
    /// recounts. Both sides are compared as absolute paths (relative ones are
    /// taken from `cwd`), with symlinks resolved when the file exists, so
    /// `./a.yaml`, `a.yaml` and `/repo/a.yaml` name the same file.
    pub fn retain_files(&mut self, files: &[std::path::PathBuf], cwd: &std::path::Path) {
        let wanted: std::collections::HashSet<std::path::PathBuf> = files
            .iter()
            .map(|p| paths::canonical(&cwd.join(p)))
            .collect();
        let keep: Vec<bool> = self
            .files
            .iter()
            .map(|f| wanted.contains(&paths::canonical(&cwd.join(&f.path))))
            .collect();
        self.diagnostics.retain(|d| {
            keep.get(d.location.file.0 as usize)
                .copied()
                .unwrap_or(false)
        });
        self.summary.errors = self.count(Severity::Error);
        self.summary.warnings = self.count(Severity::Warning);
        self.summary.infos = self.count(Severity::Info);
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}
