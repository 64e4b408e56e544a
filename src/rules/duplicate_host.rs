use std::net::IpAddr;

use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::spec_walk::wildcard_domain_problem;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a VirtualService host that another entry of the same `hosts`
    /// list already names or overlaps: the same host twice, or a wildcard
    /// that covers another entry (`*.example.com` and `api.example.com`, `*`
    /// and anything).
    ///
    /// This is Istio's duplicate check: hosts are compared as written (case
    /// matters, and a short name is not expanded, so `reviews` and
    /// `reviews.shop.svc.cluster.local` are not duplicates to Istio, though
    /// they name the same service). A wildcard `*.example.com` covers every
    /// name ending in `.example.com` but not `example.com` itself; `*foo.com`
    /// covers `barfoo.com`. Like Istio, the check is skipped when some host
    /// is itself invalid (`invalid-host` reports that). A bare `*` on a
    /// VirtualService that applies to sidecars is `invalid-host`'s finding.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. The list also says less than it seems: the narrower host gets
    /// exactly the same routes as the wildcard, so if it was listed to be
    /// routed differently, that never happens.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: web, namespace: shop}
    /// spec:
    ///   hosts: ["*.example.com", api.example.com]
    ///   gateways: [shop/public]
    ///   http:
    ///   - route:
    ///     - destination: {host: web}
    /// ```
    /// Use instead: `hosts: ["*.example.com"]`, and a VirtualService of its
    /// own for `api.example.com` if it needs other routes (Envoy prefers the
    /// more specific host).
    pub DuplicateHost {
        name: "duplicate-host",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for DuplicateHost {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let gateways: Vec<&str> = spec
            .get("gateways")
            .into_iter()
            .flat_map(|g| g.items())
            .filter_map(|g| g.str())
            .collect();
        let mesh = gateways.is_empty() || gateways.contains(&"mesh");
        let mut hosts = Vec::new();
        for (i, node) in spec
            .get("hosts")
            .into_iter()
            .flat_map(|h| h.items())
            .enumerate()
        {
            if node.shape() != Shape::Scalar {
                return;
            }
            let Some(h) = node.str() else {
                return;
            };
            if !host_valid(h, mesh) {
                return;
            }
            hosts.push((i, h, node));
        }
        for (j, &(i, h, node)) in hosts.iter().enumerate() {
            let Some(&(_, earlier, enode)) = hosts[..j].iter().find(|(_, e, _)| overlaps(e, h))
            else {
                continue;
            };
            let (message, help) = if earlier == h {
                (
                    format!("host `{h}` is listed twice in `hosts`: Istio rejects duplicate hosts"),
                    "Remove the second entry.".to_owned(),
                )
            } else if covers(earlier, h) {
                (
                    format!(
                        "host `{h}` is already covered by `{earlier}` in `hosts`: Istio rejects hosts that overlap"
                    ),
                    format!(
                        "Remove `{h}`: `{earlier}` already brings its requests to these routes. If `{h}` needs other routes, give it a VirtualService of its own (Envoy prefers the more specific host)."
                    ),
                )
            } else {
                (
                    format!(
                        "host `{h}` covers `{earlier}`, listed before it in `hosts`: Istio rejects hosts that overlap"
                    ),
                    format!(
                        "Remove `{earlier}`: `{h}` already brings its requests to these routes. If `{earlier}` needs other routes, give it a VirtualService of its own (Envoy prefers the more specific host)."
                    ),
                )
            };
            out.push(
                Diagnostic::new(&DuplicateHost::META, meta.file, node.span(), message)
                    .label("duplicate host")
                    .related(
                        meta.file,
                        enode.span(),
                        format!("`{earlier}` is listed here"),
                    )
                    .help(help)
                    .object(meta)
                    .path(meta.path(&format!("/spec/hosts/{i}"))),
            );
        }
    }
}

/// A host Istio's validation accepts in this VirtualService (its duplicate
/// check runs only when all are).
fn host_valid(h: &str, mesh: bool) -> bool {
    if h == "*" {
        return !mesh;
    }
    h.parse::<IpAddr>().is_ok()
        || (!mesh && h.starts_with("outbound_."))
        || wildcard_domain_problem(h).is_none()
}

/// Istio's `host.Name.Matches`: equal, or one wildcard covers the other.
fn overlaps(a: &str, b: &str) -> bool {
    covers(a, b) || covers(b, a)
}

/// True when `a` is `b`, or a wildcard whose suffix `b` ends with (two
/// wildcards: the longer suffix ends with the shorter).
fn covers(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (Some(sa), Some(sb)) => sb.ends_with(sa),
        (Some(sa), None) => b.ends_with(sa),
        (None, _) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn overlap_as_istio_reads_it() {
        for (a, b) in [
            ("foo.com", "foo.com"),
            ("*.com", "foo.com"),
            ("bar.com", "*.com"),
            ("*.foo.com", "*.com"),
            ("*", "foo.com"),
            ("*", "*.com"),
            ("*foo.com", "barfoo.com"),
        ] {
            assert!(overlaps(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("foo.com", "bar.com"),
            ("*.foo.com", "foo.com"),
            ("*.foo.com", "*.bar.com"),
            ("Foo.com", "foo.com"),
            ("reviews", "reviews.shop.svc.cluster.local"),
        ] {
            assert!(!overlaps(a, b), "{a} {b}");
        }
    }
}
