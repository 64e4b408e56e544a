//! The diagnostic model every rule produces and every renderer consumes.

use std::fmt;

use serde::Serialize;

use crate::model::ObjectMeta;
use crate::source::{FileId, Location, Span};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not break traffic by itself.
    Info,
    /// Probably not what the author meant, or fragile.
    Warning,
    /// Traffic will be misrouted, dropped or rejected.
    Error,
}

impl Severity {
    /// The lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The reference for an object's metadata.
    pub fn of(meta: &ObjectMeta) -> ObjectRef {
        ObjectRef {
            kind: meta.kind.value.clone(),
            namespace: meta.namespace.clone(),
            name: meta.name().to_owned(),
        }
    }
}

/// A secondary location with its own message ("subsets are declared here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What is there.
    pub message: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's name (`undeclared-subset`).
    pub rule: &'static str,
    /// Severity after configuration.
    pub severity: Severity,
    /// What is wrong: lower-case, no trailing period, values in backticks.
    pub message: String,
    /// The offending value.
    pub location: Location,
    /// Short text under the primary caret; defaults to the message.
    pub label: Option<String>,
    /// The object the finding is in, when there is one.
    pub object: Option<ObjectRef>,
    /// JSON pointer to the offending value within its document.
    pub path: Option<String>,
    /// Corresponding istioctl (IST…) and Kiali (KIA…) codes.
    pub upstream: &'static [&'static str],
    /// How to fix it, as a full sentence.
    pub help: Option<String>,
    /// Related locations.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic of `rule` at `span` in `file`, with the rule's default severity.
    pub fn new(
        rule: &crate::rules::RuleMeta,
        file: FileId,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            rule: rule.name,
            severity: rule.severity,
            message: message.into(),
            location: Location { file, span },
            label: None,
            object: None,
            path: None,
            upstream: rule.upstream,
            help: None,
            related: Vec::new(),
        }
    }

    /// Sets the object the finding is about.
    pub fn object(mut self, meta: &ObjectMeta) -> Diagnostic {
        self.object = Some(ObjectRef::of(meta));
        self
    }

    /// Sets the JSON pointer of the offending value.
    pub fn path(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = Some(path.into());
        self
    }

    /// Sets the fix hint.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Overrides the rule's upstream codes for this finding, when its codes
    /// depend on which case of the rule it is.
    pub fn upstream(mut self, codes: &'static [&'static str]) -> Diagnostic {
        self.upstream = codes;
        self
    }

    /// Sets the text under the primary caret.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    /// Adds a related location.
    pub fn related(mut self, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            location: Location { file, span },
            message: message.into(),
        });
        self
    }
}
