use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a VirtualService with no routes: `http`, `tcp` and `tls` are all
    /// absent or empty.
    ///
    /// Istio's validation requires at least one of them ("http, tcp or tls
    /// must be provided in virtual service"). This also applies to delegate
    /// VirtualServices (those without `hosts`).
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService, so the change that emptied
    /// it never applies and the previous routes stay in place. Often the routes
    /// were commented out or lost in a bad merge, and the author believes the
    /// VirtualService is now gone or changed.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   # http routes were commented out while debugging
    /// ```
    /// Use instead: give the VirtualService at least one `http`, `tcp` or `tls`
    /// route, or delete it.
    pub EmptyVirtualService {
        name: "empty-virtual-service",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for EmptyVirtualService {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some((spec_key, spec)) = ctx.tree.entry("spec") else {
            return;
        };
        let has_routes = ["http", "tcp", "tls"]
            .iter()
            .any(|k| spec.get(k).is_some_and(|v| v.items().next().is_some()));
        if has_routes {
            return;
        }
        let meta = &ctx.object.meta;
        let present: Vec<&str> = ["http", "tcp", "tls"]
            .into_iter()
            .filter(|k| spec.get(k).is_some())
            .collect();
        let detail = if present.is_empty() {
            "it has no `http`, `tcp` or `tls` routes".to_owned()
        } else {
            format!(
                "its {} {} empty and it has no other routes",
                crate::text::backtick_list(&present, "and"),
                if present.len() == 1 {
                    "list is"
                } else {
                    "lists are"
                }
            )
        };
        out.push(
            Diagnostic::new(
                &EmptyVirtualService::META,
                meta.file,
                spec_key.span(),
                format!(
                    "VirtualService `{}` routes nothing: {detail}, and Istio rejects it",
                    meta.name()
                ),
            )
            .label("no routes")
            .help("Add at least one `http`, `tcp` or `tls` route, or delete the VirtualService.")
            .object(meta)
            .path(meta.path("/spec")),
        );
    }
}
