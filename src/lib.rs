//! meshvet: an offline static analyzer for Istio traffic configuration kept in Git.
//!
//! [`check`] runs the whole pipeline: discover files, read and parse each one
//! (in parallel) while running per-document and per-object rules on its tree,
//! drop the tree and keep compact facts, build the cross-namespace [`index`],
//! run graph rules over it, and return a sorted [`report::Report`]. Nothing
//! here prints; rendering is up to the caller.

pub mod config;
pub mod discover;
pub mod docs;
pub mod duration;
pub mod host;
pub mod index;
pub mod kustomize;
pub mod load;
pub mod model;
pub mod report;
pub mod retry;
pub mod rules;
pub mod schema;
pub mod settings;
pub mod source;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::discover::{Candidate, DiscoverError};
use crate::index::Index;
use crate::load::{Decoded, SpanMapper, decode, parse_file};
use crate::model::node::Node;
use crate::model::{DocumentContent, ModelOptions, Object, read_document};
use crate::report::{Diagnostic, Report, Skipped, Summary, Timings};
use crate::rules::{DocumentContext, ObjectContext, Rule};
use crate::settings::Settings;
use crate::source::{FileId, SourceFile, Span, display_path};

/// Where the rule pages live; a rule's page is `DOCS_BASE` + name + `.md`.
pub const DOCS_BASE: &str = "https://github.com/meshvet/meshvet/blob/main/rules/";

/// What to analyse.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Files and directories.
    pub paths: Vec<PathBuf>,
    /// One YAML stream read from standard input: (name to report, bytes).
    pub stdin: Option<(String, Vec<u8>)>,
}

/// How to analyse.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Interpretation settings.
    pub settings: Settings,
    /// Run only these rules (all when `None`).
    pub select: Option<Vec<String>>,
    /// Never run these rules.
    pub ignore: Vec<String>,
    /// Succeed when no manifest is found.
    pub allow_empty: bool,
    /// Directory file names are shown relative to.
    pub cwd: Option<PathBuf>,
    /// Per-rule severity overrides.
    pub severity: Vec<(String, report::Severity)>,
    /// True when the user named the default namespace (`--namespace` or the
    /// config file); otherwise it may be inferred (see [`infer_namespace`]).
    pub namespace_given: bool,
}

/// Why a run could not do its job (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A named path is missing.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--select`/`--ignore` named a rule that does not exist.
    #[error("unknown rule `{name}`{}", .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownRule {
        /// The name given.
        name: String,
        /// The closest real rule name.
        suggestion: Option<&'static str>,
    },
    /// Nothing to analyse.
    #[error("no Kubernetes manifests found in {0} (use --allow-empty to accept this)")]
    NoManifests(String),
}

/// The rules a run uses, after `--select` and `--ignore`.
pub fn active_rules(opts: &Options) -> Result<Vec<&'static dyn Rule>, Error> {
    let check_name = |name: &String| -> Result<(), Error> {
        if rules::find(name).is_some() {
            Ok(())
        } else {
            Err(Error::UnknownRule {
                name: name.clone(),
                suggestion: rules::suggest(name),
            })
        }
    };
    let overridden = opts.severity.iter().map(|(n, _)| n);
    for name in opts
        .select
        .iter()
        .flatten()
        .chain(&opts.ignore)
        .chain(overridden)
    {
        check_name(name)?;
    }
    Ok(rules::all()
        .iter()
        .copied()
        .filter(|r| {
            let name = r.meta().name;
            opts.select
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == name))
                && !opts.ignore.iter().any(|n| n == name)
        })
        .collect())
}

/// What one file contributed.
#[derive(Default)]
struct FileOutcome {
    objects: Vec<Object>,
    diagnostics: Vec<Diagnostic>,
    documents: usize,
    skipped: Option<&'static str>,
    kustomizations: Vec<(PathBuf, model::Kustomization)>,
    per_object: Duration,
    bytes: u64,
}

/// Analyses the inputs.
pub fn check(inputs: &Inputs, opts: &Options) -> Result<Report, Error> {
    let rules = active_rules(opts)?;
    let mut timings = Timings::default();

    let started = Instant::now();
    let candidates = if inputs.paths.is_empty() {
        Vec::new()
    } else {
        discover::discover(&inputs.paths)?
    };
    timings.discover = started.elapsed();

    let started = Instant::now();
    let cwd = opts.cwd.clone().or_else(|| std::env::current_dir().ok());
    let mut files: Vec<SourceFile> = Vec::with_capacity(candidates.len() + 1);
    let mut raw: Vec<(Candidate, Result<Vec<u8>, String>)> = Vec::new();
    if let Some((name, bytes)) = &inputs.stdin {
        raw.push((
            Candidate {
                path: PathBuf::from(name),
                helm_template: false,
            },
            Ok(bytes.clone()),
        ));
    }
    let mut outcomes: Vec<(SourceFile, FileOutcome)> = Vec::new();
    // Kustomizations first: they say which files are patches rather than objects.
    let (kustomizations, others): (Vec<Candidate>, Vec<Candidate>) = candidates
        .into_iter()
        .partition(|c| is_kustomization_name(&c.path));
    let read_one = |c: Candidate| {
        let bytes = std::fs::read(&c.path).map_err(|e| e.to_string());
        (c, bytes)
    };
    let first: Vec<_> = raw
        .into_iter()
        .chain(kustomizations.into_iter().map(read_one))
        .collect();
    let no_layout = kustomize::Layout::default();
    let analyse = |(c, bytes): (Candidate, Result<Vec<u8>, String>), layout: &kustomize::Layout| {
        let display = display_path(&c.path, cwd.as_deref());
        analyse_file(c, display, bytes, layout, &rules, opts)
    };
    outcomes.extend(
        first
            .into_par_iter()
            .map(|r| analyse(r, &no_layout))
            .collect::<Vec<_>>(),
    );
    let kustomizations: Vec<(PathBuf, model::Kustomization)> = outcomes
        .iter_mut()
        .flat_map(|(_, o)| std::mem::take(&mut o.kustomizations))
        .collect();
    let layout = kustomize::layout(&kustomizations);
    outcomes.extend(
        others
            .into_par_iter()
            .map(|c| analyse(read_one(c), &layout))
            .collect::<Vec<_>>(),
    );
    // Stable order whatever the scheduling: by path, stdin first.
    outcomes.sort_by(|a, b| a.0.path.cmp(&b.0.path));

    let mut summary = Summary::default();
    let mut objects = Vec::with_capacity(outcomes.iter().map(|(_, o)| o.objects.len()).sum());
    let mut diagnostics = Vec::new();
    let mut skipped = Vec::new();
    for (i, (mut file, outcome)) in outcomes.into_iter().enumerate() {
        let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
        let old = file.id;
        file.id = id;
        timings.per_object += outcome.per_object;
        timings.bytes += outcome.bytes;
        match outcome.skipped {
            Some(reason) => {
                summary.skipped += 1;
                skipped.push(Skipped {
                    file: file.display.clone(),
                    reason,
                });
            }
            None => summary.files += 1,
        }
        summary.documents += outcome.documents;
        summary.objects += outcome.objects.len();
        objects.extend(outcome.objects.into_iter().map(|mut o| {
            o.meta.file = id;
            o
        }));
        diagnostics.extend(outcome.diagnostics.into_iter().map(|mut d| {
            retarget(&mut d, old, id);
            d
        }));
        files.push(file);
    }
    timings.read_parse = started.elapsed();

    if summary.objects == 0 && diagnostics.is_empty() && !opts.allow_empty {
        let shown: Vec<String> = inputs
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .chain(inputs.stdin.iter().map(|(n, _)| n.clone()))
            .collect();
        return Err(Error::NoManifests(shown.join(", ")));
    }

    if !opts.namespace_given {
        infer_namespace(
            &mut objects,
            &mut diagnostics,
            &opts.settings.default_namespace,
            &opts.settings.root_namespace,
        );
    }

    let started = Instant::now();
    let index = Index::build(objects, &opts.settings);
    timings.index = started.elapsed();

    let started = Instant::now();
    let graph: Vec<(Vec<Diagnostic>, Duration)> = rules
        .par_iter()
        .map(|rule| {
            let started = Instant::now();
            let mut out = Vec::new();
            rule.check_graph(&index, &mut out);
            (out, started.elapsed())
        })
        .collect();
    let mut slowest: Vec<(&'static str, Duration)> = Vec::new();
    for (rule, (found, took)) in rules.iter().zip(graph) {
        diagnostics.extend(found);
        slowest.push((rule.meta().name, took));
    }
    slowest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    slowest.truncate(5);
    timings.slowest_graph_rules = slowest;
    timings.graph_rules = started.elapsed();
    for d in &mut diagnostics {
        if let Some((_, s)) = opts.severity.iter().find(|(n, _)| n == d.rule) {
            d.severity = *s;
        }
    }

    let mut report = Report {
        files,
        diagnostics,
        summary,
        skipped,
        timings,
    };
    report.finish();
    Ok(report)
}

/// Puts namespace-less objects into the one namespace every other object names.
///
/// Tutorials and single-app repos often write `namespace:` on a few objects and
/// apply the rest with `kubectl -n <that namespace>`. When the objects that name a
/// namespace (in `metadata.namespace` or through a kustomization) all name the same
/// one, the namespace-less objects are taken to live there too; with two or more
/// namespaces in play, or none, they stay in the default namespace. Objects in
/// the mesh root namespace (`root`) do not count: mesh-wide settings such as a
/// PeerAuthentication in `istio-system` say nothing about where apps live.
pub fn infer_namespace(
    objects: &mut [Object],
    diagnostics: &mut [Diagnostic],
    default: &str,
    root: &str,
) {
    use crate::model::NamespaceSource;
    let mut named = objects
        .iter()
        .filter(|o| {
            matches!(
                o.meta.namespace_source,
                NamespaceSource::Field | NamespaceSource::Kustomize
            ) && o.meta.namespace != root
        })
        .map(|o| o.meta.namespace.as_str());
    let Some(first) = named.next() else { return };
    if first == default || named.any(|ns| ns != first) {
        return;
    }
    let target = first.to_owned();
    let mut moved = std::collections::HashSet::new();
    for o in objects
        .iter_mut()
        .filter(|o| o.meta.namespace_source == NamespaceSource::Default)
    {
        o.meta.namespace.clone_from(&target);
        moved.insert((
            o.meta.file,
            o.meta.kind.value.clone(),
            o.meta.name().to_owned(),
        ));
    }
    for d in diagnostics.iter_mut() {
        if let Some(obj) = d.object.as_mut()
            && obj.namespace == default
            && moved.contains(&(d.location.file, obj.kind.clone(), obj.name.clone()))
        {
            obj.namespace.clone_from(&target);
        }
    }
}

/// Points a file's diagnostics at its final id (files get ids after sorting).
fn retarget(d: &mut Diagnostic, old: FileId, new: FileId) {
    if d.location.file == old {
        d.location.file = new;
    }
    for r in &mut d.related {
        if r.location.file == old {
            r.location.file = new;
        }
    }
}

/// True for the file names kustomize reads.
fn is_kustomization_name(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

/// Reads, parses and runs per-document and per-object rules on one file.
fn analyse_file(
    candidate: Candidate,
    display: String,
    bytes: Result<Vec<u8>, String>,
    layout: &kustomize::Layout,
    rules: &[&'static dyn Rule],
    opts: &Options,
) -> (SourceFile, FileOutcome) {
    let id = FileId(0);
    let path = candidate.path.clone();
    let empty = |display: String| SourceFile::new(id, path.clone(), display, Arc::from(""));
    let mut outcome = FileOutcome::default();
    let unreadable = |file: SourceFile, message: String| {
        let mut o = FileOutcome::default();
        if rules
            .iter()
            .any(|r| r.meta().name == rules::UnreadableFile::META.name)
        {
            o.diagnostics.push(
                Diagnostic::new(&rules::UnreadableFile::META, file.id, Span::default(), message)
                    .help("meshvet reads YAML as UTF-8 (or UTF-16 with a byte-order mark); save the file in that encoding."),
            );
        }
        (file, o)
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return unreadable(empty(display), format!("cannot read file: {e}")),
    };
    outcome.bytes = bytes.len() as u64;
    if candidate.helm_template {
        outcome.skipped = Some("Helm template");
        return (empty(display), outcome);
    }
    let text = match decode(bytes) {
        Decoded::Text(t) => t,
        Decoded::Binary => {
            outcome.skipped = Some("binary file");
            return (empty(display), outcome);
        }
        Decoded::NotUtf8 { offset } => {
            return unreadable(
                empty(display),
                format!("file is not valid UTF-8 (first bad byte at offset {offset})"),
            );
        }
    };
    let file = SourceFile::new(id, path.clone(), display, Arc::from(text));
    let normalized = kustomize::normalize(&path);
    let is_patch = layout.patches.contains(&normalized);
    let docs = parse_file(&file);
    if file.text.contains("{{") && (helm_markers(&file.text) || looks_like_template(&file, &docs)) {
        drop(docs);
        outcome.skipped = Some("Helm template");
        return (file, outcome);
    }
    let model_opts = ModelOptions {
        default_namespace: opts.settings.default_namespace.clone(),
        forced_namespace: layout.namespaces.get(&normalized).cloned(),
        kustomize_roots: layout.roots.get(&normalized).cloned().unwrap_or_default(),
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for doc in &docs {
        outcome.documents += 1;
        let started = Instant::now();
        let mut objects = Vec::new();
        if let Some(root) = doc.root.as_ref() {
            let node = Node::root(root, SpanMapper::new(&file, doc.segment.first_line));
            match read_document(node, id, &model_opts) {
                DocumentContent::Objects(o) => objects = o,
                DocumentContent::Kustomization(k) => {
                    outcome.kustomizations.push((dir.clone(), k));
                }
                DocumentContent::NotKubernetes => {}
            }
        }
        let ctx = DocumentContext {
            file: &file,
            parsed: doc,
            objects: &objects,
            settings: &opts.settings,
        };
        for rule in rules {
            rule.check_document(&ctx, &mut outcome.diagnostics);
        }
        if !is_patch {
            if let Some(root) = doc.root.as_ref() {
                let node = Node::root(root, SpanMapper::new(&file, doc.segment.first_line));
                for object in &objects {
                    let tree = object_tree(node, &object.meta.pointer);
                    let ctx = ObjectContext {
                        file: &file,
                        object,
                        tree,
                        settings: &opts.settings,
                        schema: std::cell::OnceCell::new(),
                    };
                    for rule in rules
                        .iter()
                        .filter(|r| r.meta().applies_to(object.meta.kind.as_str()))
                    {
                        rule.check_object(&ctx, &mut outcome.diagnostics);
                    }
                }
            }
            outcome.objects.extend(objects);
        }
        outcome.per_object += started.elapsed();
    }
    // The trees borrow the file text; they end here, and only facts live on.
    drop(docs);
    (file, outcome)
}

/// The subtree of a document an object's pointer names (`/items/3` in a List).
fn object_tree<'t>(root: Node<'t>, pointer: &str) -> Node<'t> {
    let mut node = root;
    for seg in pointer.split('/').skip(1) {
        let next = match seg.parse::<usize>() {
            Ok(i) => node.items().nth(i),
            Err(_) => node.get(seg),
        };
        match next {
            Some(n) => node = n,
            None => return node,
        }
    }
    node
}

/// True when the text uses Helm's template objects or functions (`.Values`,
/// `.Release`, `include`, `toYaml`, ...): a chart template kept outside `templates/`.
fn helm_markers(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        ".Values.",
        ".Release.",
        ".Chart.",
        ".Capabilities.",
        "include \"",
        "toYaml",
        "{{- if",
        "{{ if ",
        "{{- range",
        "{{ range ",
        "{{- end",
        "{{ end",
    ];
    // Comments are not template code: look only at what precedes a comment.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split(" #").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    code.split("{{").skip(1).any(|after| {
        let action = after.split("}}").next().unwrap_or("");
        let action = format!("{{{{{action}");
        MARKERS.iter().any(|m| action.contains(m))
    })
}

/// True when `text` has `{{` outside comments.
fn has_template_braces(text: &str) -> bool {
    text.lines().any(|line| {
        let trimmed = line.trim_start();
        let code = line.split(" #").next().unwrap_or("");
        !trimmed.starts_with('#') && code.contains("{{")
    })
}

/// True when a file containing `{{` is a Go template rather than YAML that merely
/// holds template text in its strings: some document fails to parse, or the
/// template braces were read as a mapping used as a key (`{{ .Values.x }}`).
fn looks_like_template(file: &SourceFile, docs: &[load::ParsedDocument<'_>]) -> bool {
    fn complex_key(node: Node<'_>, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        node.entries().any(|(k, v)| {
            matches!(
                k.shape(),
                model::node::Shape::Mapping | model::node::Shape::Sequence
            ) || complex_key(v, depth + 1)
        }) || node.items().any(|i| complex_key(i, depth + 1))
    }
    docs.iter().any(|d| match &d.root {
        // A broken document counts only when it holds template braces itself,
        // outside comments: `{{` in a comment elsewhere proves nothing.
        None => {
            d.error.is_some()
                && has_template_braces(file.text.get(d.segment.start..d.segment.end).unwrap_or(""))
        }
        Some(root) => complex_key(
            Node::root(root, SpanMapper::new(file, d.segment.first_line)),
            0,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::helm_markers;

    #[test]
    fn helm_markers_are_found_only_inside_actions() {
        assert!(helm_markers("name: \"{{ .Values.name }}\""));
        assert!(helm_markers("{{- if .Values.x }}\nkind: A\n{{- end }}"));
        assert!(!helm_markers("summary: \"{{ $labels.instance }} is down\""));
        assert!(!helm_markers("text: .Values. outside any action {{ x }}"));
    }
}
