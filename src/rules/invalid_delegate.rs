use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags VirtualService delegation that Istio rejects: a delegate
    /// VirtualService (one without `hosts`) that sets `gateways`, `tcp` or
    /// `tls` routes, or delegates again; and a root route that sets
    /// `delegate` together with `route` or `redirect`.
    ///
    /// A VirtualService without `hosts` is a delegate: it is never applied on
    /// its own, only merged into the HTTP route of a root VirtualService that
    /// names it in `delegate`. It takes its hosts and gateways from the root,
    /// and only HTTP routes can be delegated. Istio allows one level of
    /// delegation, so a delegate's routes cannot use `delegate` themselves. A
    /// root route hands the whole decision to the delegate, so it cannot also
    /// route or redirect.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService, so none of its changes
    /// apply. Where no webhook runs, the fields are ignored: the delegate's
    /// `gateways`, `tcp` and `tls` do nothing, a nested delegate is dropped, and
    /// the author's routing silently never happens.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews-delegate, namespace: shop}
    /// spec:
    ///   gateways: [shop/public]
    ///   http:
    ///   - match:
    ///     - uri: {prefix: /reviews/v2}
    ///     delegate: {name: reviews-v2, namespace: shop}
    /// ```
    /// Use instead: drop `gateways` (the root's apply) and route directly in
    /// the delegate, or move the nested delegation into the root
    /// VirtualService.
    pub InvalidDelegate {
        name: "invalid-delegate",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidDelegate {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let is_delegate = spec.get("hosts").is_none_or(|h| h.items().next().is_none());
        let report = |span, path: String, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidDelegate::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(path)
        };
        if is_delegate {
            for (field, why) in [
                (
                    "gateways",
                    "a delegate takes its gateways from the root VirtualService",
                ),
                ("tcp", "only HTTP routes can be delegated"),
                ("tls", "only HTTP routes can be delegated"),
            ] {
                if let Some((key, value)) = spec.entry(field)
                    && value.items().next().is_some()
                {
                    out.push(report(
                        key.span(),
                        meta.path(&format!("/spec/{field}")),
                        format!(
                            "delegate VirtualService `{}` (it has no `hosts`) sets `{field}`: {why}, and Istio rejects it",
                            meta.name()
                        ),
                        "not allowed in a delegate",
                        &format!(
                            "Remove `{field}` from the delegate, or give the VirtualService `hosts` if it is meant to apply on its own."
                        ),
                    ));
                }
            }
        }
        for (i, route) in spec
            .get("http")
            .into_iter()
            .flat_map(|h| h.items())
            .enumerate()
        {
            let Some((dkey, dval)) = route.entry("delegate").filter(|(_, v)| !v.is_null()) else {
                continue;
            };
            let base = format!("/spec/http/{i}");
            if is_delegate {
                out.push(report(
                    dkey.span(),
                    meta.path(&format!("{base}/delegate")),
                    format!(
                        "delegate VirtualService `{}` (it has no `hosts`) delegates again: Istio allows one level of delegation and rejects it",
                        meta.name()
                    ),
                    "nested delegation",
                    "Route directly in this delegate, or move the delegation to the root VirtualService.",
                ));
                continue;
            }
            let target = dval
                .get("name")
                .and_then(|n| n.str())
                .unwrap_or("the delegate");
            for field in ["route", "redirect"] {
                if let Some((key, value)) = route.entry(field)
                    && !value.is_null()
                    && (field != "route" || value.items().next().is_some())
                {
                    out.push(
                        report(
                            key.span(),
                            meta.path(&format!("{base}/{field}")),
                            format!(
                                "this route sets both `delegate` and `{field}`: a delegating route hands routing to `{target}`, and Istio rejects the VirtualService"
                            ),
                            "not allowed with `delegate`",
                            &format!("Remove `{field}` and route in the delegate, or remove `delegate`."),
                        )
                        .related(meta.file, dkey.span(), "`delegate` is set here"),
                    );
                }
            }
        }
    }
}
