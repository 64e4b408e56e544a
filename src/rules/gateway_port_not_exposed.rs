use std::collections::BTreeSet;

use crate::declare_rule;
use crate::index::{Index, ObjId, Relation};
use crate::model::{Gateway, Object, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a Gateway server whose port number no Kubernetes Service in front
    /// of the gateway pods exposes, neither as its `port` nor as its
    /// `targetPort`.
    ///
    /// The gateway pods are the workloads of the analysed files whose pod labels
    /// match the Gateway's `selector`, in any namespace; the Services in front of
    /// them are the Services of their namespace whose `selector` matches them.
    /// When some of those pods are applied together with the Gateway (same
    /// file, or both name their namespace), only they count, and a Service
    /// counts only when applied together with the pods it selects: sample
    /// folders hold alternative gateway deployments with the same labels.
    /// istiod reads a server port as a Service `port` and listens on its
    /// `targetPort` (a name is looked up in the pods' container ports), or, when
    /// no Service has that port, listens on the number itself: the server is
    /// reachable when its number is one of those Services' TCP `port` or
    /// `targetPort` values. UDP and SCTP ports do not count.
    ///
    /// The rule is silent when the analysed files do not hold the gateway pods
    /// (gateway installations often live in another repository, and a selector
    /// that matches nothing is `gateway-selector-no-workload`'s), when no Service
    /// of theirs is in the files, for Gateways with an empty selector, and when a
    /// named `targetPort` cannot be resolved from the pod templates.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0162) ignores Service
    /// ports that do not spell out `protocol: TCP`, although Kubernetes defaults
    /// the protocol to TCP; meshvet counts them. It reads a named `targetPort` as
    /// no target port; meshvet resolves it from the container ports. It also
    /// reports every server when no Service selects the gateway pods; meshvet
    /// stays silent then, since the Service is usually managed elsewhere. Pods
    /// reached without a Service (`hostNetwork`, `hostPort`) are not modelled.
    ///
    /// ## Why is this bad?
    /// The gateway proxy opens a listener for the server, but no Service
    /// forwards traffic to that port of the pods: clients reaching the gateway
    /// through its Service (a load balancer, a node port) cannot connect, and
    /// every host and route of the server is unreachable.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: istio-ingressgateway, namespace: istio-ingress}
    /// spec:
    ///   type: LoadBalancer
    ///   selector: {istio: ingressgateway}
    ///   ports:
    ///   - {name: http2, port: 80, targetPort: 8080}
    ///   - {name: https, port: 443, targetPort: 8443}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: admin, namespace: istio-ingress}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 9443, name: https-admin, protocol: HTTPS}
    ///     hosts: ["*/admin.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: admin-cert}
    /// ```
    /// Use instead: add `{name: https-admin, port: 9443, targetPort: 9443}` to the
    /// Service's ports, or serve the host on port `443`.
    pub GatewayPortNotExposed {
        name: "gateway-port-not-exposed",
        severity: Warning,
        kinds: [Gateway],
        upstream: ["IST0162"],
    }
}

impl Rule for GatewayPortNotExposed {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        for object in index.objects() {
            let Spec::Gateway(g) = &object.spec else {
                continue;
            };
            if g.selector.map.is_empty() || g.servers.is_empty() {
                continue;
            }
            let mut workloads = index.workloads_matching_anywhere(&g.selector);
            // Prefer the gateway pods applied together with the Gateway (same
            // file, or both naming their namespace): sample folders often hold
            // alternative gateway deployments with the same labels.
            let together: Vec<ObjId> = workloads
                .iter()
                .copied()
                .filter(|w| index.object(*w).meta.applied_with(&object.meta))
                .collect();
            if !together.is_empty() {
                workloads = together;
            }
            if workloads.is_empty() {
                continue;
            }
            let Some(exposure) = exposure(index, &workloads) else {
                continue;
            };
            check_gateway(index, object, g, &exposure, out);
        }
    }
}

/// What the Services in front of a set of gateway pods expose.
struct Exposure {
    /// The Services, in analysis order.
    services: Vec<ObjId>,
    /// Their TCP `port` numbers, for the message.
    ports: BTreeSet<i64>,
    /// Every number a server may use: TCP `port` and resolved `targetPort` values.
    reachable: BTreeSet<i64>,
}

/// The exposure of `workloads` through the Services selecting them; `None` when no
/// Service selects them or a named `targetPort` cannot be resolved (the port
/// the pods listen on is then unknown).
fn exposure(index: &Index, workloads: &[ObjId]) -> Option<Exposure> {
    let mut services: BTreeSet<ObjId> = BTreeSet::new();
    for w in workloads {
        let wm = &index.object(*w).meta;
        services.extend(
            index
                .related_to(*w, Relation::Selects)
                .into_iter()
                .filter(|s| index.object(*s).meta.applied_with(wm)),
        );
    }
    if services.is_empty() {
        return None;
    }
    let mut ports = BTreeSet::new();
    let mut reachable = BTreeSet::new();
    for s in &services {
        let Spec::Service(svc) = &index.object(*s).spec else {
            continue;
        };
        let selected: Vec<ObjId> = index
            .related(*s, Relation::Selects)
            .into_iter()
            .filter(|w| workloads.contains(w))
            .collect();
        for p in &svc.ports {
            // Kubernetes defaults `protocol` to TCP; UDP and SCTP ports carry no
            // gateway listener's traffic.
            if p.protocol.as_ref().is_some_and(|pr| pr.value != "TCP") {
                continue;
            }
            if let Some(port) = &p.port {
                ports.insert(port.value);
                reachable.insert(port.value);
            }
            let Some(target) = &p.target_port else {
                continue;
            };
            if let Ok(n) = target.value.parse::<i64>() {
                reachable.insert(n);
                continue;
            }
            let mut resolved = false;
            for w in &selected {
                if let Spec::Workload(wl) = &index.object(*w).spec {
                    for (name, number) in &wl.container_ports {
                        if name.as_deref() == Some(target.value.as_str()) {
                            reachable.insert(*number);
                            resolved = true;
                        }
                    }
                }
            }
            if !resolved {
                return None;
            }
        }
    }
    Some(Exposure {
        services: services.into_iter().collect(),
        ports,
        reachable,
    })
}

fn check_gateway(
    index: &Index,
    object: &Object,
    g: &Gateway,
    exposure: &Exposure,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &object.meta;
    let mut service_names: Vec<String> = Vec::new();
    for s in &exposure.services {
        let m = &index.object(*s).meta;
        let name = format!("{}/{}", m.namespace, m.name());
        if !service_names.contains(&name) {
            service_names.push(name);
        }
    }
    let ports: Vec<String> = exposure.ports.iter().map(i64::to_string).collect();
    let services_text = match service_names.as_slice() {
        [one] => format!("Service `{one}`"),
        _ => format!("Services {}", backtick_list(&service_names, "and")),
    };
    let exposes = if ports.is_empty() {
        format!("{services_text} in front of the gateway pods exposes no TCP port")
    } else {
        format!(
            "{services_text} in front of the gateway pods {} only {} {}",
            if service_names.len() == 1 {
                "exposes"
            } else {
                "expose"
            },
            if ports.len() == 1 { "port" } else { "ports" },
            backtick_list(&ports, "and")
        )
    };
    for server in &g.servers {
        let Some(port) = &server.port_number else {
            continue;
        };
        // Port 0 is a Unix-socket bind, not a network port.
        if port.value <= 0 || exposure.reachable.contains(&port.value) {
            continue;
        }
        let number = port.value;
        let mut d = Diagnostic::new(
            &GatewayPortNotExposed::META,
            meta.file,
            port.span,
            format!(
                "no Service forwards traffic to port `{number}` of the gateway pods: the proxy listens on it, but {exposes}"
            ),
        )
        .label("not exposed by the gateway's Service");
        for s in &exposure.services {
            let m = &index.object(*s).meta;
            d = d.related(
                m.file,
                m.anchor(),
                format!(
                    "Service `{}/{}` selects the gateway pods",
                    m.namespace,
                    m.name()
                ),
            );
        }
        let target = service_names.first().map_or("", String::as_str);
        out.push(
            d.help(format!(
                "Add a TCP port `{number}` (or one with `targetPort: {number}`) to Service `{target}`, or move this server to a port the Service exposes."
            ))
            .object(meta)
            .path(format!("{}/port/number", server.path)),
        );
    }
}
