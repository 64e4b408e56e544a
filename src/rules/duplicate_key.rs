use crate::declare_rule;
use crate::report::{Diagnostic, ObjectRef};
use crate::rules::{DocumentContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a mapping key given twice in the same mapping.
    ///
    /// ## Why is this bad?
    /// YAML requires keys to be unique, but Kubernetes' decoder does not reject the
    /// duplicate: it keeps only the last value and drops the first without a word.
    /// A second `host:` or `subsets:` added during a merge silently replaces the
    /// first, and the reviewer sees both.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     loadBalancer:
    ///       simple: ROUND_ROBIN
    ///       simple: LEAST_REQUEST
    /// ```
    /// Use instead: keep one `simple:`.
    pub DuplicateKey {
        name: "duplicate-key",
        severity: Error,
        kinds: [],
        upstream: [],
    }
}

impl Rule for DuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_document(&self, doc: &DocumentContext<'_>, out: &mut Vec<Diagnostic>) {
        for dup in &doc.parsed.duplicate_keys {
            // Attribute the finding to the object whose document span holds the key.
            let object = doc.objects.iter().find(|o| {
                o.meta.span.start <= dup.second.start && dup.second.end <= o.meta.span.end
            });
            let mut d = Diagnostic::new(
                &Self::META,
                doc.file.id,
                dup.second,
                format!("key `{}` is given twice in the same mapping", dup.key),
            )
            .label("given again here")
            .related(
                doc.file.id,
                dup.first,
                "first given here; Kubernetes keeps only the last one",
            )
            .help(format!(
                "Remove one of the two `{}` entries: the value written first is silently dropped.",
                dup.key
            ));
            if let Some(o) = object {
                d.object = Some(ObjectRef::of(&o.meta));
            }
            out.push(d);
        }
    }
}
