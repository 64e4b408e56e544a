use crate::declare_rule;
use crate::host;
use crate::report::Diagnostic;
use crate::rules::spec_walk::visit;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a `tls` route's `sniHosts` entry that none of the VirtualService's
    /// `hosts` covers.
    ///
    /// Istio's validation requires every SNI host of a `tls` match to be one of
    /// the VirtualService's hosts or covered by one of its wildcards
    /// (`api.example.com` is covered by `*.example.com` and by `*`). Hosts are
    /// compared as written, as Istio does: `reviews` and
    /// `reviews.shop.svc.cluster.local` are different strings.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService ("domain name ... does
    /// not match any virtual service host"), so none of its changes apply.
    /// Where no webhook runs, the TLS route is bound only to the listeners of
    /// the VirtualService's hosts, so a connection for that SNI name never
    /// reaches it.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: api, namespace: edge}
    /// spec:
    ///   hosts: [api.example.com]
    ///   gateways: [edge/tls-passthrough]
    ///   tls:
    ///   - match:
    ///     - sniHosts: [www.example.com]
    ///     route:
    ///     - destination: {host: api.edge.svc.cluster.local}
    /// ```
    /// Use instead: add `www.example.com` to `hosts`, or match the SNI name the
    /// VirtualService is for (`sniHosts: [api.example.com]`).
    pub SniHostNotInHosts {
        name: "sni-host-not-in-hosts",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for SniHostNotInHosts {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let Some((hosts_key, hosts_node)) = spec.entry("hosts") else {
            return;
        };
        let hosts: Vec<&str> = hosts_node.items().filter_map(|h| h.str()).collect();
        if hosts.is_empty() {
            // A delegate VirtualService; `invalid-delegate` reports `tls` there.
            return;
        }
        let base = meta.path("/spec");
        visit(spec, &base, "tls[].match[].sniHosts[]", &mut |f| {
            let Some(sni) = f.value.str() else {
                return;
            };
            if hosts.iter().any(|h| host::matches(h, sni)) {
                return;
            }
            let listed = if hosts.len() == 1 {
                format!("its only host is `{}`", hosts[0])
            } else {
                format!(
                    "its hosts are {}",
                    crate::text::backtick_list(&hosts, "and")
                )
            };
            out.push(
                Diagnostic::new(
                    &SniHostNotInHosts::META,
                    meta.file,
                    f.value.span(),
                    format!(
                        "SNI host `{sni}` is not covered by the VirtualService's hosts ({listed}): Istio rejects the VirtualService"
                    ),
                )
                .label("not among `hosts`")
                .related(meta.file, hosts_key.span(), "the VirtualService's hosts")
                .help(format!(
                    "Add `{sni}` (or a wildcard covering it) to `hosts`, or match only SNI names the VirtualService is for."
                ))
                .object(meta)
                .path(f.pointer),
            );
        });
    }
}
