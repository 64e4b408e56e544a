use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a Sidecar in the mesh's root namespace (`istio-system` unless
    /// configured otherwise with `root-namespace` in `.meshvet.yaml`) whose `workloadSelector`
    /// has labels.
    ///
    /// Only a Sidecar *without* a selector in the root namespace is the
    /// mesh-wide default that every namespace without a Sidecar of its own
    /// uses. One with a selector is an ordinary workload-specific Sidecar: it
    /// applies to the pods of the root namespace that carry those labels, and
    /// to nothing anywhere else. A selector with no labels is
    /// `invalid-workload-selector`'s finding.
    ///
    /// ## Why is this bad?
    /// The author almost always meant a mesh-wide default (egress limited to
    /// `./*` and `istio-system/*`, say) for the workloads named by the labels,
    /// wherever they run. Those workloads keep the full default configuration,
    /// and nothing reports that the Sidecar is unused.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: istio-system}
    /// spec:
    ///   workloadSelector:
    ///     labels: {app: reviews}
    ///   egress:
    ///   - hosts: ["./*", "istio-system/*"]
    /// ```
    /// Use instead: remove `workloadSelector` for a mesh-wide default, or put
    /// the Sidecar in the namespace of the `reviews` workloads.
    pub RootSidecarWithSelector {
        name: "root-sidecar-with-selector",
        severity: Warning,
        kinds: [Sidecar],
        upstream: ["KIA1006"],
    }
}

impl Rule for RootSidecarWithSelector {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let root = ctx.settings.root_namespace.as_str();
        if meta.namespace != root {
            return;
        }
        let Some((key, selector)) = ctx
            .tree
            .get("spec")
            .and_then(|s| s.entry("workloadSelector"))
        else {
            return;
        };
        let Some(labels) = selector
            .get("labels")
            .filter(|l| l.shape() == Shape::Mapping)
        else {
            return;
        };
        let pairs: Vec<String> = labels
            .entries()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k.scalar_text().unwrap_or(""),
                    v.scalar_text().unwrap_or("")
                )
            })
            .collect();
        if pairs.is_empty() {
            return;
        }
        let shown = pairs.join(",");
        out.push(
            Diagnostic::new(
                &RootSidecarWithSelector::META,
                meta.file,
                key.span(),
                format!(
                    "`workloadSelector` on a Sidecar in the root namespace `{root}`: this Sidecar is not the mesh-wide default, it applies only to pods of `{root}` labelled `{shown}`"
                ),
            )
            .label("selector in the root namespace")
            .help(format!(
                "For a mesh-wide default, remove `workloadSelector`; to configure the workloads labelled `{shown}`, put the Sidecar in their namespace."
            ))
            .object(meta)
            .path(meta.path("/spec/workloadSelector")),
        );
    }
}
