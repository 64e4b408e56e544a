use crate::declare_rule;
use crate::index::Index;
use crate::model::Spec;
use crate::report::Diagnostic;
use crate::rules::host_refs::{HostStatus, Hosts, exposed_ports, host_refs, port_list, shown};
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a route, mirror or mirrors destination whose `port.number` is not a
    /// port of the Service (`spec.ports[].port`) or ServiceEntry
    /// (`spec.ports[].number`) the host resolves to.
    ///
    /// The port is compared with the Service's `port`, not its `targetPort`:
    /// a destination names the service port clients call. When the number is a
    /// `targetPort`, the help says which `port` it belongs to. Services and
    /// ServiceEntries that list no ports are not checked.
    ///
    /// ## Why is this bad?
    /// Istio builds one cluster per service port, named
    /// `outbound|<port>|<subset>|<host>`. A destination port the service does not
    /// expose points at a cluster that does not exist: every request on that
    /// route gets `503` with response flag `NC`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: products, namespace: catalog}
    /// spec:
    ///   ports: [{name: http, port: 80, targetPort: 8080}]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: products, namespace: catalog}
    /// spec:
    ///   hosts: [products]
    ///   http:
    ///   - route:
    ///     - destination: {host: products, port: {number: 8080}}
    /// ```
    /// Use instead: the Service port, `port: {number: 80}`.
    pub UnknownDestinationPort {
        name: "unknown-destination-port",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0101"],
    }
}

impl Rule for UnknownDestinationPort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let hosts = Hosts::new(index);
        for r in host_refs(index, false) {
            let Some(dest) = r.destination else { continue };
            let Some(port) = &dest.destination.port else {
                continue;
            };
            let meta = &r.object.meta;
            let providers = match hosts.classify(&r.host.value, meta, &r.view) {
                HostStatus::Found(p) | HostStatus::Hidden { providers: p, .. } => p,
                _ => continue,
            };
            let ports = exposed_ports(index, &providers);
            if ports.is_empty() || ports.contains(&port.value) {
                continue;
            }
            let written = r.host.value.as_str();
            let resolved = index.resolve_host(written, &meta.namespace);
            let message = format!(
                "{} port `{}` is not a port of {}, which exposes {}",
                r.place.noun(),
                port.value,
                shown(written, &resolved),
                port_list(&ports, "and")
            );
            let target = providers
                .iter()
                .find_map(|id| match &index.object(*id).spec {
                    Spec::Service(svc) => svc.ports.iter().find_map(|p| {
                        let service_port = p.port.as_ref()?.value;
                        (p.target_port.as_ref()?.value == port.value.to_string())
                            .then_some(service_port)
                    }),
                    _ => None,
                });
            let help = match target {
                Some(service_port) => format!(
                    "`{}` is the target port of Service port `{service_port}`; a destination names the Service port: use `{service_port}`.",
                    port.value
                ),
                None if ports.len() == 1 => {
                    format!(
                        "Use {}, the port the service exposes.",
                        port_list(&ports, "or")
                    )
                }
                None => format!(
                    "Use one of the ports the service exposes: {}.",
                    port_list(&ports, "or")
                ),
            };
            let mut d = Diagnostic::new(&Self::META, meta.file, port.span, message)
                .label("not a service port")
                .help(help)
                .object(meta)
                .path(format!("{}/port/number", dest.destination.path));
            for id in &providers {
                let object = index.object(*id);
                let span = match &object.spec {
                    Spec::Service(svc) => svc.ports.first().map(|p| p.span),
                    Spec::ServiceEntry(se) => se
                        .ports
                        .iter()
                        .find_map(|p| p.number.as_ref().map(|n| n.span)),
                    _ => None,
                };
                d = d.related(
                    object.meta.file,
                    span.unwrap_or(object.meta.anchor()),
                    format!(
                        "ports of {} `{}/{}`",
                        object.meta.kind.value,
                        object.meta.namespace,
                        object.meta.name()
                    ),
                );
            }
            out.push(d);
        }
    }
}
