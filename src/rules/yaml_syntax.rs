use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::{DocumentContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a YAML document that does not parse.
    ///
    /// meshvet splits every file into documents at `---` lines before parsing, so
    /// a syntax error costs only the document it is in: the documents before and
    /// after it are still analysed. The position is the parser's, and the message
    /// says in plain words what the parser expected.
    ///
    /// ## Why is this bad?
    /// `kubectl apply` rejects the whole file, so none of its objects (not even the
    /// valid documents next to the broken one) reach the cluster. In a GitOps
    /// pipeline the sync fails and every later change in that folder is blocked.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   name: reviews
    ///   annotations:
    ///     description: routes: v1 and v2
    /// ```
    /// Use instead: quote values that contain `: `, and indent with spaces.
    /// ```yaml
    /// metadata:
    ///   name: reviews
    ///   annotations:
    ///     description: "routes: v1 and v2"
    /// ```
    pub YamlSyntax {
        name: "yaml-syntax",
        severity: Error,
        kinds: [],
        upstream: [],
    }
}

impl Rule for YamlSyntax {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_document(&self, doc: &DocumentContext<'_>, out: &mut Vec<Diagnostic>) {
        if let Some(err) = &doc.parsed.error {
            out.push(
                Diagnostic::new(&Self::META, doc.file.id, err.span, err.message.clone())
                    .label("here")
                    .help("Fix the syntax at this position; the other documents of the file were still analysed."),
            );
        }
    }
}
