use crate::declare_rule;
use crate::host;
use crate::index::Index;
use crate::report::Diagnostic;
use crate::rules::host_refs::{HostStatus, Hosts, Place, host_refs};
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a dotted host that reads as `name.namespace`, `name.namespace.svc`
    /// or `name.namespace.svc.cluster` of an existing Service, but is not its
    /// full name: in a VirtualService's `hosts`, a route or mirror destination,
    /// or a DestinationRule's `host`.
    ///
    /// Only names without a dot are expanded; Istio takes every dotted host
    /// literally. The rule fires when no ServiceEntry declares the dotted name
    /// and a Service (or an Istio control-plane service) has the full name it
    /// abbreviates. VirtualService `hosts` are checked only for VirtualServices
    /// that program sidecars (`mesh` or no `gateways`).
    ///
    /// Kiali (KIA1101, KIA0202) accepts `name.namespace` and `name.namespace.svc`
    /// as service names; Istio does not, and meshvet follows Istio. Findings on
    /// the other forms (`name.namespace.svc.cluster`) carry Kiali's codes too,
    /// since Kiali reports those hosts as not found.
    ///
    /// ## Why is this bad?
    /// Kubernetes DNS resolves `reviews.prod` for the application, but Istio's
    /// registry only knows `reviews.prod.svc.cluster.local`. A destination with
    /// the short form goes to a cluster Envoy does not have (`503`, response flag
    /// `NC`); a VirtualService or DestinationRule written for it never applies to
    /// the Service.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews.prod
    ///   trafficPolicy:
    ///     loadBalancer: {simple: LEAST_REQUEST}
    /// ```
    /// Use instead: `host: reviews.prod.svc.cluster.local`.
    pub PartiallyQualifiedHost {
        name: "partially-qualified-host",
        severity: Error,
        kinds: [VirtualService, DestinationRule],
        upstream: ["IST0101", "IST0174", "KIA0202", "KIA1101"],
    }
}

impl Rule for PartiallyQualifiedHost {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let hosts = Hosts::new(index);
        for r in host_refs(index, true) {
            let written = r.host.value.as_str();
            if host::is_short(written) || !written.contains('.') {
                continue;
            }
            let meta = &r.object.meta;
            let HostStatus::Partial { fqdn, services } = hosts.classify(written, meta, &r.view)
            else {
                continue;
            };
            let message = format!(
                "{} `{written}` is not the service `{fqdn}`: Istio takes a dotted host literally, and nothing is named `{written}`",
                r.place.noun()
            );
            let mut d = Diagnostic::new(&Self::META, meta.file, r.host.span, message)
                .label("not a full service name")
                .help(format!(
                    "Write the full name `{fqdn}`: Istio expands only names without a dot."
                ))
                .object(meta)
                .path(r.path.clone());
            // Kiali accepts `name.namespace` and `name.namespace.svc` as service
            // names, so only the other partial forms are its "host not found".
            let kiali_accepts = written.split('.').count() == 2 || written.ends_with(".svc");
            d.upstream = match (&r.place, kiali_accepts) {
                (Place::DestinationRuleHost, false) => &["IST0101", "IST0174", "KIA0202"],
                (Place::Destination(_), false) => &["IST0101", "IST0174", "KIA1101"],
                _ => &["IST0101", "IST0174"],
            };
            for id in &services {
                let svc = &index.object(*id).meta;
                let what = if svc.namespace_field.is_some() {
                    format!("the Service `{fqdn}`")
                } else {
                    format!("Service `{}`, which names no namespace", svc.name())
                };
                d = d.related(svc.file, svc.anchor(), what);
            }
            out.push(d);
        }
    }
}
