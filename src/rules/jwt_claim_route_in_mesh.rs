use crate::declare_rule;
use crate::model::pointer_segment;
use crate::report::Diagnostic;
use crate::rules::header_syntax::is_jwt_claim_key;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an HTTP match on a JWT claim (`@request.auth.claims.<claim>` in
    /// `headers` or `withoutHeaders`) in a VirtualService that applies to
    /// sidecars: one with no `gateways`, or with `mesh` among them.
    ///
    /// Istio supports routing on JWT claims only on gateways, where the
    /// `RequestAuthentication` filter runs before the route is chosen; its
    /// webhook rejects a VirtualService that could put such a route on a
    /// sidecar. A delegate VirtualService (one without `hosts`) never lists
    /// `gateways`, so Istio's validation rejects claim routes there too, even
    /// when its root is bound to a gateway only; meshvet reports those as
    /// well. Claim keys are recognised as Istio does: the prefix in any case,
    /// followed by `.claim` or `[claim]`.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. Where no webhook runs, a sidecar never has the claims when it
    /// picks the route, so the claim route never matches and every user gets
    /// the fallback route.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews.example.com]
    ///   gateways: [shop/public, mesh]
    ///   http:
    ///   - match:
    ///     - headers:
    ///         "@request.auth.claims.groups": {exact: beta-testers}
    ///     route:
    ///     - destination: {host: reviews, subset: v2}
    ///   - route:
    ///     - destination: {host: reviews, subset: v1}
    /// ```
    /// Use instead: `gateways: [shop/public]` for the claim route, and a
    /// separate VirtualService without claim matches for the mesh.
    pub JwtClaimRouteInMesh {
        name: "jwt-claim-route-in-mesh",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for JwtClaimRouteInMesh {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let gateways = spec.get("gateways");
        let mesh_entry = gateways
            .into_iter()
            .flat_map(|g| g.items())
            .find(|g| g.str() == Some("mesh"));
        let has_gateways = gateways.is_some_and(|g| g.items().next().is_some());
        if has_gateways && mesh_entry.is_none() {
            return;
        }
        let delegate = spec.get("hosts").is_none_or(|h| h.items().next().is_none());
        let base = meta.path("/spec");
        for (i, route) in spec
            .get("http")
            .into_iter()
            .flat_map(|r| r.items())
            .enumerate()
        {
            for (j, m) in route
                .get("match")
                .into_iter()
                .flat_map(|m| m.items())
                .enumerate()
            {
                for field in ["headers", "withoutHeaders"] {
                    for (k, _) in m.get(field).into_iter().flat_map(|h| h.entries()) {
                        let Some(name) = k.scalar_text() else {
                            continue;
                        };
                        if !is_jwt_claim_key(name) {
                            continue;
                        }
                        let applies = match (mesh_entry.is_some(), delegate) {
                            (true, _) => "lists `mesh` among its gateways",
                            (false, true) => "is a delegate, which lists no gateways of its own",
                            (false, false) => "has no `gateways`, so it applies to sidecars",
                        };
                        let mut d = Diagnostic::new(
                            &JwtClaimRouteInMesh::META,
                            meta.file,
                            k.span(),
                            format!(
                                "JWT claim route `{name}` in a VirtualService that {applies}: Istio supports claim routing only on gateways and rejects it"
                            ),
                        )
                        .label("claim route outside a gateway")
                        .help(if delegate {
                            "Move the claim match into the root VirtualService bound to the gateway, or match on a header the gateway sets from the claim (`outputClaimToHeaders` in the RequestAuthentication)."
                        } else {
                            "Bind this VirtualService to the ingress gateway only (list the Gateway in `gateways`, without `mesh`), and give mesh traffic a VirtualService without claim matches."
                        })
                        .object(meta)
                        .path(format!(
                            "{base}/http/{i}/match/{j}/{field}/{}",
                            pointer_segment(name)
                        ));
                        if let Some(g) = mesh_entry {
                            d = d.related(
                                meta.file,
                                g.span(),
                                "`mesh` applies the routes to sidecars",
                            );
                        }
                        out.push(d);
                    }
                }
            }
        }
    }
}
