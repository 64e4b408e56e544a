use crate::declare_rule;
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a file meshvet cannot read as text: an I/O error, or bytes that are
    /// not UTF-8 (UTF-16 with a byte-order mark is accepted).
    ///
    /// Binary files (holding NUL bytes) are skipped and counted instead. The rest
    /// of the run goes on: an unreadable file never hides findings in others.
    ///
    /// ## Why is this bad?
    /// Kubernetes reads manifests as UTF-8. A file saved in Latin-1 or another
    /// legacy encoding is rejected by `kubectl apply`, or has its non-ASCII values
    /// (annotations, header values) mangled on the way in.
    ///
    /// ## Example
    /// ```yaml
    /// # saved as ISO-8859-1: the byte 0xE9 for "é" is not UTF-8
    /// metadata:
    ///   annotations:
    ///     owner: "équipe paiements"
    /// ```
    /// Use instead: save the file as UTF-8.
    pub UnreadableFile {
        name: "unreadable-file",
        severity: Error,
        kinds: [],
        upstream: [],
    }
}

impl Rule for UnreadableFile {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
