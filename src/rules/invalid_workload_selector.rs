use crate::declare_rule;
use crate::report::{Diagnostic, Severity};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a `workloadSelector` label with an empty key or a `*` in its key
    /// or value, in a ServiceEntry, Sidecar or DestinationRule; and, as a
    /// warning, a `workloadSelector` with no labels at all.
    ///
    /// Selectors match labels exactly: Istio has no wildcard in selectors, and
    /// its validation rejects both ("wildcard is not supported in selector",
    /// "empty key is not supported in selector"). A ServiceEntry and a
    /// Sidecar write the labels under `workloadSelector.labels`, a
    /// DestinationRule under `workloadSelector.matchLabels`.
    ///
    /// A `workloadSelector` without labels (`workloadSelector: {}`, or
    /// `labels: {}`) selects every workload of the namespace: Istio accepts it
    /// with the warning "workload selector specified without labels" (for a
    /// Sidecar: "will be applied to all services in namespace"). The object
    /// then behaves as if it had no selector, which is rarely what a selector
    /// was written for: a Sidecar becomes the namespace's default (or, in the
    /// root namespace, the mesh's), a DestinationRule applies to every
    /// client of the namespace.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the object, so none of its changes apply. The
    /// author usually wanted "any version" (`version: "*"`); the way to say
    /// that is to leave the label out of the selector.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: ratings, namespace: shop}
    /// spec:
    ///   workloadSelector:
    ///     labels: {app: ratings, version: "*"}
    ///   egress:
    ///   - hosts: ["./*"]
    /// ```
    /// Use instead: `labels: {app: ratings}`, which selects every version.
    pub InvalidWorkloadSelector {
        name: "invalid-workload-selector",
        severity: Error,
        kinds: [ServiceEntry, Sidecar, DestinationRule],
        upstream: ["IST0106", "IST0133"],
    }
}

impl Rule for InvalidWorkloadSelector {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let kind = meta.kind.as_str();
        let field = if kind == "DestinationRule" {
            "matchLabels"
        } else {
            "labels"
        };
        let Some((key, selector)) = ctx
            .tree
            .get("spec")
            .and_then(|s| s.entry("workloadSelector"))
            .filter(|(_, w)| !w.is_null())
        else {
            return;
        };
        let labels = selector.get(field);
        if labels.is_none_or(|l| l.entries().next().is_none()) {
            let (whole, what) = match kind {
                "Sidecar" => (
                    "the Sidecar applies to all of them, as one without a selector would",
                    "Sidecar",
                ),
                "DestinationRule" => (
                    "its policy applies to requests from all of them",
                    "DestinationRule",
                ),
                _ => ("all of them become endpoints of its hosts", "ServiceEntry"),
            };
            out.push(
                Diagnostic::new(
                    &InvalidWorkloadSelector::META,
                    meta.file,
                    key.span(),
                    format!("`workloadSelector` has no labels, so it selects every workload of the namespace: {whole}"),
                )
                .severity(Severity::Warning)
                .label("selector without labels")
                .help(format!(
                    "List the labels of the workloads this {what} is for under `workloadSelector.{field}`, or remove `workloadSelector` if it is meant for the whole namespace."
                ))
                .object(meta)
                .path(meta.path("/spec/workloadSelector")),
            );
            return;
        }
        let Some(labels) = labels else {
            return;
        };
        for (k, v) in labels.entries() {
            let key = k.str().unwrap_or("");
            let value = v.str().unwrap_or("");
            let path = meta.path(&format!("/spec/workloadSelector/{field}/{key}"));
            let (span, message, label, help) = if key.is_empty() {
                (
                    k.span(),
                    "`workloadSelector` has a label with an empty key: Istio rejects it".to_owned(),
                    "empty key",
                    "Remove the entry or give it a label key.".to_owned(),
                )
            } else if key.contains('*') {
                (
                    k.span(),
                    format!(
                        "`workloadSelector` label key `{key}` has a `*`: selectors match labels exactly, and Istio rejects wildcards"
                    ),
                    "wildcard in a selector",
                    "Name the label key exactly.".to_owned(),
                )
            } else if value.contains('*') {
                (
                    v.span(),
                    format!(
                        "`workloadSelector` label `{key}: {value}` has a `*`: selectors match labels exactly, and Istio rejects wildcards"
                    ),
                    "wildcard in a selector",
                    format!("To select any value of `{key}`, leave `{key}` out of the selector."),
                )
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(&InvalidWorkloadSelector::META, meta.file, span, message)
                    .label(label)
                    .help(help)
                    .object(meta)
                    .path(path),
            );
        }
    }
}
