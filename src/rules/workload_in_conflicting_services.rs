use std::collections::BTreeMap;

use crate::declare_rule;
use crate::index::{Index, ObjId, Relation};
use crate::model::{Object, ServicePort, Spec, Workload};
use crate::report::Diagnostic;
use crate::rules::port_protocol::{self, ProtocolClass};
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a workload whose pods one container port serves under two
    /// protocols: Services that select the workload send the same target
    /// port (`targetPort`, or `port` when no `targetPort` is given) with an
    /// HTTP protocol (`http`, `http2`, `grpc`, ...) in one port and a TCP one
    /// (`tcp`, `tls`, `https`, `mongo`, `mysql`, `redis`) in another, as
    /// derived from `appProtocol` or the port name.
    ///
    /// A sidecar builds one inbound filter chain per container port. When
    /// the Services disagree on its protocol, istiod takes the protocol of
    /// the oldest Service, logs an inbound listener conflict, and handles
    /// every connection to that port with it: HTTP requests proxied as opaque
    /// TCP lose routing, retries and L7 metrics; TCP or TLS bytes parsed as
    /// HTTP are rejected. Ports whose protocol Istio detects per connection
    /// (see `unknown-port-protocol`) do not conflict.
    ///
    /// Only workloads with sidecars count: not those whose pod template
    /// sets `sidecar.istio.io/inject` to anything but `true`, gateways and
    /// waypoints, and workloads of a namespace that the analysed files label
    /// `istio-injection: disabled` or run in ambient mode. Services that are
    /// never applied together with the workload (different kustomize
    /// overlays) are not counted.
    ///
    /// Differences from upstream: istioctl (IST0116) compares the Kubernetes
    /// `protocol` field (TCP, UDP, SCTP) of equal `port` numbers; the sidecar
    /// does not intercept UDP or SCTP, and Services with distinct cluster IPs
    /// may reuse a port number, so meshvet compares Istio's protocol per
    /// target port instead, reporting IST0116 when the `port` numbers are
    /// equal and IST0137 when they differ. istioctl also reports (IST0137)
    /// two Services that reach one target port from different `port`
    /// numbers with the same protocol; current Istio keys inbound chains by
    /// target port and serves both, so meshvet does not. istioctl counts a
    /// workload only when its namespace object enables injection; meshvet
    /// assumes a sidecar unless the files say otherwise.
    ///
    /// ## Why is this bad?
    /// One of the Services is served with the wrong protocol, and which one
    /// depends on which Service was created first.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   selector: {app: reviews}
    ///   ports: [{name: http, port: 9080}]
    /// ---
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: reviews-raw, namespace: shop}
    /// spec:
    ///   selector: {app: reviews}
    ///   ports: [{name: tcp, port: 9081, targetPort: 9080}]
    /// ```
    /// Use instead: the same protocol for a container port in every Service
    /// (`name: http-raw`), or serve the other protocol on its own container
    /// port.
    pub WorkloadInConflictingServices {
        name: "workload-in-conflicting-services",
        severity: Warning,
        kinds: [Service],
        upstream: ["IST0116", "IST0137"],
    }
}

/// One Service port reaching a target port: the Service, the port's index,
/// Istio's protocol for it, and how the sidecar handles it.
type Reach = (ObjId, usize, &'static str, ProtocolClass);

impl Rule for WorkloadInConflictingServices {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let namespaces: BTreeMap<&str, &Object> = index
            .objects()
            .iter()
            .filter(|o| matches!(o.spec, Spec::Namespace))
            .map(|o| (o.meta.name(), o))
            .collect();
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::Workload(w) = &object.spec else {
                continue;
            };
            if !has_sidecar(object, w, namespaces.get(object.meta.namespace.as_str())) {
                continue;
            }
            let services: Vec<ObjId> = index
                .related_to(id, Relation::Selects)
                .into_iter()
                .filter(|s| {
                    let m = &index.object(*s).meta;
                    m.applied_together(&object.meta)
                })
                .collect();
            let mut by_target: BTreeMap<String, Vec<Reach>> = BTreeMap::new();
            for s in services {
                let Spec::Service(svc) = &index.object(s).spec else {
                    continue;
                };
                for (i, port) in svc.ports.iter().enumerate() {
                    let Some(protocol) = port_protocol::service_port(port).protocol else {
                        continue;
                    };
                    let class = port_protocol::class(Some(protocol));
                    if !matches!(class, ProtocolClass::Http | ProtocolClass::Tcp) {
                        continue;
                    }
                    if let Some(target) = target_port(port, w) {
                        by_target
                            .entry(target)
                            .or_default()
                            .push((s, i, protocol, class));
                    }
                }
            }
            for (target, reaches) in &by_target {
                let http = reaches.iter().any(|r| r.3 == ProtocolClass::Http);
                let tcp = reaches.iter().any(|r| r.3 == ProtocolClass::Tcp);
                if http && tcp {
                    out.push(report(index, object, target, reaches));
                }
            }
        }
    }
}

/// True unless the files say the workload's pods run without a sidecar.
fn has_sidecar(object: &Object, w: &Workload, namespace: Option<&&Object>) -> bool {
    if object
        .meta
        .labels
        .map
        .contains_key("gateway.istio.io/managed")
        || w.gateway_injection
    {
        return false;
    }
    if w.istio_proxy_container {
        return true;
    }
    if let Some(inject) = w.sidecar_inject {
        return inject;
    }
    let Some(ns) = namespace else {
        return true;
    };
    let labels = &ns.meta.labels.map;
    let injection = labels.get("istio-injection").map(String::as_str);
    let revision = labels.get("istio.io/rev").is_some_and(|r| !r.is_empty());
    let ambient = labels.get("istio.io/dataplane-mode").map(String::as_str) == Some("ambient");
    match injection {
        Some("enabled") => true,
        Some(_) => false,
        None => revision || !ambient,
    }
}

/// The container port a Service port sends to: its number when the
/// `targetPort` names a container port of the workload, else the
/// `targetPort` as written, else the `port`.
fn target_port(port: &ServicePort, w: &Workload) -> Option<String> {
    match &port.target_port {
        Some(t) if t.value.parse::<i64>().is_ok() => Some(t.value.clone()),
        Some(t) => Some(
            w.container_ports
                .iter()
                .find(|(name, _)| name.as_deref() == Some(t.as_str()))
                .map_or_else(|| t.value.clone(), |(_, n)| n.to_string()),
        ),
        None => port.port.as_ref().map(|p| p.value.to_string()),
    }
}

fn report(index: &Index, object: &Object, target: &str, reaches: &[Reach]) -> Diagnostic {
    let meta = &object.meta;
    let mut parts: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    let mut d = Diagnostic::new(
        &WorkloadInConflictingServices::META,
        meta.file,
        meta.anchor(),
        String::new(),
    );
    for (s, i, protocol, _) in reaches {
        let svc_object = index.object(*s);
        let Spec::Service(svc) = &svc_object.spec else {
            continue;
        };
        let Some(port) = svc.ports.get(*i) else {
            continue;
        };
        let number = port.port.as_ref().map(|p| p.value);
        numbers.extend(number);
        let shown = number.map_or_else(|| "?".to_owned(), |n| n.to_string());
        parts.push(format!(
            "`{protocol}` by Service `{}` (port `{shown}`)",
            svc_object.meta.name()
        ));
        let span = port
            .app_protocol
            .as_ref()
            .or(port.name.as_ref())
            .map_or(port.span, |n| n.span);
        d = d.related(
            svc_object.meta.file,
            span,
            format!("`{protocol}` for target port `{target}`"),
        );
    }
    numbers.sort_unstable();
    numbers.dedup();
    d.message = format!(
        "container port `{target}` of {} `{}` is served as {}: its sidecar uses the protocol of the oldest Service for every connection to that port",
        meta.kind.as_str(),
        meta.name(),
        backtick_free_list(&parts)
    );
    d.upstream = if numbers.len() > 1 {
        &["IST0137"]
    } else {
        &["IST0116"]
    };
    d.label("pods selected by Services that disagree on a port's protocol")
        .help(format!(
            "Give target port `{target}` the same protocol in every Service that selects these pods (port name or `appProtocol`), or serve the other protocol on another container port."
        ))
        .object(meta)
        .path(meta.path("/metadata/name"))
}

/// Joins already formatted items with commas and "and".
fn backtick_free_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
