use std::collections::BTreeSet;

use crate::declare_rule;
use crate::host;
use crate::index::Index;
use crate::model::{DestinationRef, Object, Spec, VirtualService};
use crate::report::{Diagnostic, Severity};
use crate::rules::host_refs::{
    HostStatus, Hosts, exposed_ports, host_refs, is_mesh_bound, only_through, port_list,
    route_matches, shown,
};
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a route, mirror or mirrors destination that names no `port` while
    /// its service exposes several ports, when requests reach the route on a
    /// port the service does not have.
    ///
    /// Without `port`, Istio names the destination cluster after the port the
    /// request arrived on (the listener port): for sidecars, the ports of the
    /// VirtualService's hosts; for a gateway, the ports of its servers for those
    /// hosts; and when every match of the route names a `port`, only those. A
    /// service with a single port is the exception: its port is used. When every
    /// arrival port is also a port of the destination service, traffic flows
    /// and nothing is reported (the common case of a VirtualService routing its
    /// own host to subsets). When one is not, the finding is an error naming the
    /// port. When the arrival ports cannot be known from the analysed files (a
    /// delegate VirtualService, a gateway or host service defined elsewhere, a
    /// wildcard host), it is a warning.
    ///
    /// istioctl (IST0112) reports every port-less destination of a multi-port
    /// service, including the ones that work; meshvet reports only those that
    /// can fail.
    ///
    /// ## Why is this bad?
    /// A request that arrives on port 80 at a gateway and is routed to a service
    /// exposing 8080 and 9090 goes to the cluster `outbound|80||<host>`, which
    /// does not exist: `503` with response flag `NC`. With a single service port
    /// Istio uses that port, so only multi-port services are affected.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: products, namespace: catalog}
    /// spec:
    ///   ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: public, namespace: catalog}
    /// spec:
    ///   hosts: [shop.example.com]
    ///   gateways: [istio-ingress/public]    # a server on port 80
    ///   http:
    ///   - route:
    ///     - destination: {host: products}
    /// ```
    /// Use instead: `destination: {host: products, port: {number: 8080}}`.
    pub MissingDestinationPort {
        name: "missing-destination-port",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0112"],
    }
}

impl Rule for MissingDestinationPort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let hosts = Hosts::new(index);
        for r in host_refs(index, false) {
            let Some(dest) = r.destination else { continue };
            if dest.destination.port.is_some() {
                continue;
            }
            let Spec::VirtualService(vs) = &r.object.spec else {
                continue;
            };
            let meta = &r.object.meta;
            let providers = match hosts.classify(&r.host.value, meta, &r.view) {
                HostStatus::Found(p) | HostStatus::Hidden { providers: p, .. } => p,
                _ => continue,
            };
            let ports = exposed_ports(index, &providers);
            if ports.len() < 2 {
                continue;
            }
            let written = r.host.value.as_str();
            let what = shown(written, &index.resolve_host(written, &meta.namespace));
            let noun = r.place.noun();
            let d = match listener_ports(index, r.object, vs, &dest) {
                Ok((arrival, source)) => {
                    let missing: BTreeSet<i64> = arrival.difference(&ports).copied().collect();
                    if missing.is_empty() {
                        continue;
                    }
                    let on = if missing.len() == 1 { "port" } else { "ports" };
                    Diagnostic::new(
                        &Self::META,
                        meta.file,
                        r.host.span,
                        format!(
                            "{noun} {what} names no port: requests arriving {source} on {on} {} are sent to the same port of the service, which exposes only {}",
                            port_list(&missing, "and"),
                            port_list(&ports, "and")
                        ),
                    )
                    .help(format!(
                        "Add `port: {{number: …}}` with one of {} to the destination: when a service has several ports and the destination names none, Envoy uses the port the request arrived on.",
                        port_list(&ports, "or")
                    ))
                }
                Err(reason) => Diagnostic::new(
                    &Self::META,
                    meta.file,
                    r.host.span,
                    format!("{noun} {what} names no port, and the service exposes {}", port_list(&ports, "and")),
                )
                .help(format!(
                    "Add `port: {{number: …}}` with one of {}: when a service has several ports and the destination names none, Envoy uses the port the request arrived on, and {reason}.",
                    port_list(&ports, "or")
                ))
                .severity(Severity::Warning),
            };
            let mut d = d
                .label("no `port`")
                .object(meta)
                .path(dest.destination.path.clone());
            for id in &providers {
                let object = index.object(*id);
                if let Spec::Service(svc) = &object.spec
                    && let Some(first) = svc.ports.first()
                {
                    d = d.related(
                        object.meta.file,
                        first.span,
                        format!(
                            "ports of Service `{}/{}`",
                            object.meta.namespace,
                            object.meta.name()
                        ),
                    );
                }
            }
            out.push(d);
        }
    }
}

/// The ports requests can arrive on when they take this destination's route,
/// or why they are not known.
fn listener_ports(
    index: &Index,
    object: &Object,
    vs: &VirtualService,
    dest: &DestinationRef<'_>,
) -> Result<(BTreeSet<i64>, String), String> {
    let matches = route_matches(vs, dest);
    let match_ports: Vec<Option<i64>> = matches.iter().map(|(p, _)| *p).collect();
    // When every match names gateways, the route is used only through those.
    let through = only_through(&matches);
    let used_by = |gateway: &str| through.as_ref().is_none_or(|g| g.contains(&gateway));
    if !match_ports.is_empty() && match_ports.iter().all(Option::is_some) {
        return Ok((
            match_ports.into_iter().flatten().collect(),
            "as the route's matches require".to_owned(),
        ));
    }
    if vs.is_delegate() {
        return Err("a delegate VirtualService is reached on the ports of the VirtualService that delegates to it".to_owned());
    }
    let ns = &object.meta.namespace;
    let mut out = BTreeSet::new();
    let mut sources = Vec::new();
    if is_mesh_bound(vs) && used_by("mesh") {
        sources.push(format!(
            "at sidecars (the ports of {})",
            crate::text::backtick_list(
                &vs.hosts
                    .iter()
                    .map(|h| h.value.as_str())
                    .collect::<Vec<_>>(),
                "and"
            )
        ));
        for h in &vs.hosts {
            if host::is_wildcard(&h.value) {
                return Err(format!("the ports behind host `{}` are not known", h.value));
            }
            let resolved = index.resolve_host(&h.value, ns);
            let mut providers: Vec<usize> = index.services(&resolved).to_vec();
            providers.extend(index.service_entries(&resolved));
            let ports = exposed_ports(index, &providers);
            if ports.is_empty() {
                return Err(format!(
                    "the analysed files define no ports for host `{}`, where sidecars receive these requests",
                    h.value
                ));
            }
            out.extend(ports);
        }
    }
    for g in vs
        .gateways
        .iter()
        .filter(|g| g.value != "mesh" && used_by(&g.value))
    {
        let Some(id) = index.gateway(&g.value, ns) else {
            return Err(format!(
                "gateway `{}` is not in the analysed files",
                g.value
            ));
        };
        let Spec::Gateway(gw) = &index.object(id).spec else {
            continue;
        };
        for server in &gw.servers {
            let serves = server.hosts.iter().any(|sh| {
                let sh = sh
                    .value
                    .split_once('/')
                    .map_or(sh.value.as_str(), |(_, h)| h);
                vs.hosts
                    .iter()
                    .any(|vh| host::matches(sh, &vh.value) || host::matches(&vh.value, sh))
            });
            if serves && let Some(p) = &server.port_number {
                out.insert(p.value);
                let source = format!("through gateway `{}`", g.value);
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
        }
    }
    if out.is_empty() {
        return Err("no port it is reached on is known".to_owned());
    }
    Ok((out, sources.join(" and ")))
}
