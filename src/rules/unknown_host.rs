use crate::declare_rule;
use crate::index::Index;
use crate::model::{Object, Spec};
use crate::report::{Diagnostic, Severity};
use crate::rules::host_refs::{HostRef, HostStatus, Hosts, host_refs, object_name, shown};
use crate::rules::{Rule, RuleMeta};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags a route, mirror or mirrors destination host, or a DestinationRule
    /// host, that no Service or ServiceEntry visible to its clients provides.
    ///
    /// A host is looked up as Istio does: a short name in the namespace of the
    /// object, dotted names literally, wildcard and exact ServiceEntry hosts, IP
    /// addresses against ServiceEntry `addresses`. Visibility follows `exportTo`
    /// (the `networking.istio.io/exportTo` annotation on Services): a
    /// destination must be visible to every namespace the VirtualService's routes
    /// are used from (the namespaces it is exported to, and the namespace of each
    /// gateway it is bound to); a DestinationRule host to its own namespace (every
    /// namespace, for the root namespace). A route entry without any destination
    /// host is `missing-required-field`'s finding, not this rule's.
    ///
    /// Severity follows what the analysed files can know. It is an error when
    /// the host's namespace is known (written in the object, in the host's full
    /// name, or given with `--namespace`) and the files hold other Services of
    /// that namespace but not this one; when the service exists but is not
    /// exported to the clients; or when the host uses another cluster domain than
    /// the configured one. Otherwise (a namespace with no Service in these files,
    /// an object that names no namespace, an external name) it is a warning,
    /// since the service may be defined in another repository. A Service that
    /// names no namespace can be applied to any, so a host with its name is never
    /// reported. Hosts listed under `external-hosts` in `.meshvet.yaml`, wildcard
    /// DestinationRule hosts, multi-cluster service names
    /// (`*.svc.clusterset.local`), the Kubernetes API (`kubernetes.default`) and
    /// the Istio control plane and gateways in the root namespace are never
    /// reported. A short host that names a Service of another namespace is
    /// `short-host-wrong-namespace`, and `name.namespace` of an existing Service
    /// is `partially-qualified-host`, not this rule.
    ///
    /// Differences from upstream: istioctl (IST0101, IST0174) looks services up
    /// from the namespaces in the VirtualService's own `exportTo`, including
    /// gateway-only ones, and misses gateway namespaces; Kiali (KIA1101, KIA0202)
    /// accepts `name.namespace` hosts, suffix-matches ServiceEntry hosts
    /// (`wikipedia.org` covering `en.wikipedia.org`), accepts a DestinationRule
    /// host when a workload with that `app` label exists, and ignores mirrors.
    /// meshvet follows Istio's runtime in each case.
    ///
    /// Hosts Istio rejects for their syntax (`*`, `reviews:9080`,
    /// `http://reviews`) are `invalid-host`'s findings and are not reported here.
    ///
    /// ## Why is this bad?
    /// Envoy only has clusters for hosts in the service registry its proxy sees.
    /// A route to any other host gets `503` with response flag `NC` (no cluster)
    /// for every request; a mirror to it silently mirrors nothing. A
    /// DestinationRule for an unknown host applies its traffic policy and
    /// subsets to nothing.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviewz}    # namespace shop has Services reviews, cart
    /// ```
    /// Use instead: the name of an existing Service (`reviews`), or declare the
    /// external host with a ServiceEntry.
    pub UnknownHost {
        name: "unknown-host",
        severity: Error,
        kinds: [VirtualService, DestinationRule],
        upstream: ["IST0101", "IST0174", "KIA0202", "KIA1101"],
    }
}

impl Rule for UnknownHost {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let hosts = Hosts::new(index);
        for r in host_refs(index, false) {
            let status = hosts.classify(&r.host.value, &r.object.meta, &r.view);
            let severity = hosts.unknown_severity(&status);
            let d = match &status {
                HostStatus::Unknown {
                    resolved,
                    target_ns,
                    other_domain,
                } => unknown(
                    &hosts,
                    &r,
                    resolved,
                    target_ns.as_deref(),
                    other_domain.as_ref(),
                    severity,
                ),
                HostStatus::Hidden { providers, client } => hidden(
                    index,
                    &r,
                    providers,
                    &client.namespace,
                    client.gateway.as_deref(),
                ),
                _ => continue,
            };
            out.push(d.severity(severity));
        }
    }
}

fn unknown(
    hosts: &Hosts<'_>,
    r: &HostRef<'_>,
    resolved: &str,
    target_ns: Option<&str>,
    other_domain: Option<&(String, Vec<usize>)>,
    severity: Severity,
) -> Diagnostic {
    let index = hosts.index;
    let meta = &r.object.meta;
    let written = r.host.value.as_str();
    let noun = r.place.noun();
    let domain = &index.settings().cluster_domain;
    let what = shown(written, resolved);
    let severe = severity == Severity::Error;
    let mut d;
    if let Some((fqdn, services)) = other_domain {
        d = Diagnostic::new(
            &UnknownHost::META,
            meta.file,
            r.host.span,
            format!("{noun} `{written}` is not under the cluster domain `{domain}`, so no service has this name"),
        )
        .help(format!(
            "Write `{fqdn}`, or set `cluster-domain` in `.meshvet.yaml` if the cluster's domain is not `{domain}`."
        ));
        for id in services {
            let svc = &index.object(*id).meta;
            d = d.related(svc.file, svc.anchor(), format!("the Service `{fqdn}`"));
        }
    } else if let (true, Some(ns)) = (severe, target_ns) {
        let name = resolved.split('.').next().unwrap_or(written);
        let names = hosts.services_in(ns);
        let hint = closest(name, names.iter().copied())
            .map(|c| format!("Did you mean `{c}`? "))
            .unwrap_or_default();
        let mut sorted: Vec<&str> = names.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let listed: Vec<&str> = sorted.iter().copied().take(5).collect();
        let more = if sorted.len() > listed.len() {
            ", …"
        } else {
            ""
        };
        d = Diagnostic::new(
            &UnknownHost::META,
            meta.file,
            r.host.span,
            format!(
                "{noun} {what} matches no Service or ServiceEntry: namespace `{ns}` has {}{more}, but no `{name}`",
                backtick_list(&listed, "and")
            ),
        )
        .help(format!(
            "{hint}Fix the host, or add the Service `{name}` to namespace `{ns}`."
        ));
    } else {
        let external = !crate::host::is_short(written)
            && !written.starts_with('*')
            && crate::host::service_parts(resolved, domain).is_none();
        let help = if external {
            format!(
                "Declare `{written}` with a ServiceEntry if it is outside the mesh; if it is defined in another repository, list it under `external-hosts` in `.meshvet.yaml`."
            )
        } else {
            format!(
                "If `{resolved}` is defined in another repository, list it under `external-hosts` in `.meshvet.yaml`; otherwise fix the host."
            )
        };
        d = Diagnostic::new(
            &UnknownHost::META,
            meta.file,
            r.host.span,
            format!("{noun} {what} matches no Service or ServiceEntry in the analysed files"),
        )
        .help(help);
    }
    d.label("no such service").object(meta).path(r.path.clone())
}

fn hidden(
    index: &Index,
    r: &HostRef<'_>,
    providers: &[usize],
    client: &str,
    gateway: Option<&str>,
) -> Diagnostic {
    let meta = &r.object.meta;
    let written = r.host.value.as_str();
    let resolved = index.resolve_host(written, &meta.namespace);
    let via = gateway
        .map(|g| format!(" (for traffic through gateway `{g}`)"))
        .unwrap_or_default();
    let mut d = Diagnostic::new(
        &UnknownHost::META,
        meta.file,
        r.host.span,
        format!(
            "{} {} is not exported to namespace `{client}`{via}, so proxies there have no cluster for it",
            r.place.noun(),
            shown(written, &resolved)
        ),
    )
    .label(format!("not exported to `{client}`"));
    let mut fixes = Vec::new();
    for id in providers {
        let object = index.object(*id);
        let (entries, how) = match &object.spec {
            Spec::Service(svc) => (
                svc.export_to.clone(),
                "the `networking.istio.io/exportTo` annotation of Service",
            ),
            Spec::ServiceEntry(se) => (
                se.export_to.iter().map(|e| e.value.clone()).collect(),
                "`exportTo` of ServiceEntry",
            ),
            _ => continue,
        };
        d = d.related(
            object.meta.file,
            object.meta.anchor(),
            format!(
                "{} {} {}",
                object.meta.kind.value,
                object_name(object),
                export_list(object, &entries)
            ),
        );
        fixes.push(format!("{how} {}", object_name(object)));
    }
    let help = match fixes.as_slice() {
        [] => format!("Export the service to namespace `{client}`."),
        [one, ..] => {
            format!("Add `{client}` to {one}, or route to a service namespace `{client}` can see.")
        }
    };
    d.help(help).object(meta).path(r.path.clone())
}

fn export_list(object: &Object, entries: &[String]) -> String {
    let mut names: Vec<&str> = entries
        .iter()
        .filter(|e| *e != "~")
        .map(|e| {
            if e == "." {
                object.meta.namespace.as_str()
            } else {
                e.as_str()
            }
        })
        .collect();
    names.dedup();
    if entries.is_empty() {
        "is not exported by the mesh default `exportTo`".to_owned()
    } else if names.is_empty() {
        "is exported to no namespace".to_owned()
    } else {
        format!("is exported only to {}", backtick_list(&names, "and"))
    }
}
