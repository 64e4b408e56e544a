use crate::declare_rule;
use crate::host;
use crate::index::Index;
use crate::report::{Diagnostic, Severity};
use crate::rules::host_refs::{HostStatus, Hosts, Place, host_refs, namespace_is_known};
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a short host (a name with no dot) that names a Service of another
    /// namespace: in a VirtualService's `hosts`, a route or mirror destination,
    /// or a DestinationRule's `host`.
    ///
    /// Istio expands a short host in the namespace of the object it is written
    /// in, not the Service's: `reviews` in a VirtualService of namespace `shop`
    /// means `reviews.shop.svc.cluster.local`. The rule fires when nothing
    /// (no Service, no ServiceEntry) has that name, while a Service called
    /// `reviews` exists in another namespace, and names those namespaces.
    /// VirtualService `hosts` are checked only for VirtualServices that program
    /// sidecars (`mesh` or no `gateways`). A Service that names no namespace may
    /// be applied to any, so it never makes a host wrong. When the object names no
    /// namespace itself, or its namespace has no Service in the analysed files,
    /// the right Service may simply live elsewhere, and the finding is a warning.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0101) and Kiali
    /// (KIA1101, KIA0202) check destinations and DestinationRule hosts only, so
    /// findings on VirtualService `hosts` carry no upstream code. Such a finding
    /// is still right: a VirtualService in `istio-system` with `hosts:
    /// [reviews]` routes `reviews.istio-system.svc.cluster.local`, not the
    /// Service `reviews` of namespace `default`, even when its destination
    /// names that Service by its full name.
    ///
    /// ## Why is this bad?
    /// The host means a service that does not exist. A destination sends every
    /// request to a cluster Envoy does not have (`503`, response flag `NC`); a
    /// VirtualService host or DestinationRule host attaches its routes or traffic
    /// policy to a name no client calls, so the Service in the other namespace
    /// gets none of them.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: storefront, namespace: shop}
    /// spec:
    ///   hosts: [storefront]
    ///   http:
    ///   - route:
    ///     - destination: {host: products}   # Service products is in namespace catalog
    /// ```
    /// Use instead: the Service's full name, `products.catalog.svc.cluster.local`.
    pub ShortHostWrongNamespace {
        name: "short-host-wrong-namespace",
        severity: Error,
        kinds: [VirtualService, DestinationRule],
        upstream: ["IST0101", "IST0174", "KIA0202", "KIA1101"],
    }
}

impl Rule for ShortHostWrongNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let hosts = Hosts::new(index);
        let domain = &index.settings().cluster_domain;
        for r in host_refs(index, true) {
            let written = r.host.value.as_str();
            if !host::is_short(written) {
                continue;
            }
            let meta = &r.object.meta;
            let ns = meta.namespace.as_str();
            let HostStatus::WrongNamespace { resolved, services } =
                hosts.classify(written, meta, &r.view)
            else {
                continue;
            };
            let mut namespaces: Vec<&str> = Vec::new();
            for id in &services {
                let n = index.object(*id).meta.namespace.as_str();
                if !namespaces.contains(&n) {
                    namespaces.push(n);
                }
            }
            let fqdns: Vec<String> = namespaces
                .iter()
                .map(|n| host::service_fqdn(written, n, domain))
                .collect();
            let where_ = if namespaces.len() == 1 {
                format!("namespace `{}`", namespaces[0])
            } else {
                format!("namespaces {}", backtick_list(&namespaces, "and"))
            };
            let known = namespace_is_known(index, meta);
            let message = if known {
                format!(
                    "{} `{written}` means `{resolved}`, but Service `{written}` is in {where_}, not in `{ns}`",
                    r.place.noun()
                )
            } else {
                format!(
                    "{} `{written}` resolves in the namespace this {} is applied to, but Service `{written}` is in {where_}",
                    r.place.noun(),
                    meta.kind.value
                )
            };
            let label = if known {
                format!("resolves in namespace `{ns}`")
            } else {
                "resolves in the namespace it is applied to".to_owned()
            };
            let help = format!(
                "A short host resolves in the namespace of the {} that contains it, not the Service's. Write the full name: {}.",
                meta.kind.value,
                backtick_list(&fqdns, "or")
            );
            let mut d = Diagnostic::new(&Self::META, meta.file, r.host.span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(r.path.clone());
            if matches!(r.place, Place::VirtualServiceHost) {
                // Neither istioctl nor Kiali checks VirtualService `hosts`.
                d.upstream = &[];
            }
            if !known || !hosts.has_services(ns) {
                d = d.severity(Severity::Warning);
            }
            for id in &services {
                let svc = &index.object(*id).meta;
                d = d.related(
                    svc.file,
                    svc.anchor(),
                    format!("Service `{written}` is in namespace `{}`", svc.namespace),
                );
            }
            out.push(d);
        }
    }
}
