use crate::declare_rule;
use crate::index::Index;
use crate::report::{Diagnostic, Severity};
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags an object (same API group, kind, namespace and name) defined more
    /// than once in the analysed files.
    ///
    /// Objects in kustomize patch files are not objects of their own and are not
    /// counted, and copies that only different top-level kustomizations include
    /// (one folder per cluster or environment, each applied to its own cluster)
    /// never meet and are not reported. A copy identical to the first definition (comments and blank lines
    /// aside) is reported at info severity: harmless until one copy is edited.
    ///
    /// ## Why is this bad?
    /// Only one of the definitions can exist in the cluster: whichever is applied
    /// last silently replaces the other. Which one wins depends on file order in
    /// the sync tool, so routing can change without any edit to the routing file.
    /// Copies also drift: a fix made in one is missing from the other.
    ///
    /// ## Example
    /// ```yaml
    /// # apps/shop/reviews/istio.yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// ---
    /// # apps/shop/legacy/routes.yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// ```
    /// Use instead: keep one definition, or give the objects different names.
    pub DuplicateObject {
        name: "duplicate-object",
        severity: Warning,
        kinds: [],
        upstream: [],
    }
}

impl Rule for DuplicateObject {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        for (key, ids) in index.by_identity() {
            if key.name.is_empty() || ids.len() < 2 {
                continue;
            }
            let shown = if key.namespace.is_empty() {
                format!("`{}`", key.name)
            } else {
                format!("`{}/{}`", key.namespace, key.name)
            };
            for (n, id) in ids.iter().enumerate().skip(1) {
                let meta = &index.object(*id).meta;
                // Compare with the first earlier copy that can be applied together
                // with this one; copies built by different top-level kustomizations
                // (one folder per cluster) never meet.
                let Some(first) = ids[..n]
                    .iter()
                    .map(|e| &index.object(*e).meta)
                    .find(|e| e.applied_together(meta))
                else {
                    continue;
                };
                let identical = meta.content_hash == first.content_hash;
                let mut d = Diagnostic::new(
                    &Self::META,
                    meta.file,
                    meta.anchor(),
                    format!("{} {shown} is defined {} times", key.kind, ids.len()),
                )
                .label("defined again here")
                .object(meta)
                .path(meta.path("/metadata/name"))
                .related(first.file, first.anchor(), "first defined here");
                if identical {
                    d.message.push_str(" (this copy is identical to the first)");
                    d = d
                        .severity(Severity::Info)
                        .help("Keep one definition: identical copies are harmless until one of them is edited and the other is not.");
                } else {
                    d = d.help("Keep one definition: the copies differ, and whichever is applied last silently replaces the other.");
                }
                out.push(d);
            }
        }
    }
}
