//! Typed views of the Kubernetes objects Istio routes to: Services, workloads,
//! autoscalers, and the mesh configuration ConfigMap.

use std::sync::Arc;

use super::node::Node;
use super::{Labels, ObjectMeta, SStr, Spanned, labels, spanned_int, spanned_str, str_list};
use crate::load::{SpanMapper, parse_file};
use crate::source::{FileId, SourceFile, Span};

/// A Service's facts.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// `spec.type`.
    pub service_type: Option<SStr>,
    /// `spec.selector`; `None` when absent (a Service with manual endpoints).
    pub selector: Option<Labels>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.externalName`.
    pub external_name: Option<SStr>,
    /// The `networking.istio.io/exportTo` annotation, split at commas.
    pub export_to: Vec<String>,
}

/// One Service port.
#[derive(Debug, Clone, Default)]
pub struct ServicePort {
    /// JSON pointer of the port item.
    pub path: String,
    /// The port item.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `port`.
    pub port: Option<Spanned<i64>>,
    /// `targetPort` as written (a number or a container port name).
    pub target_port: Option<SStr>,
    /// `protocol`.
    pub protocol: Option<SStr>,
    /// `appProtocol`.
    pub app_protocol: Option<SStr>,
}

/// Reads a Service spec.
pub fn service(spec: Node<'_>, meta: &ObjectMeta) -> Service {
    let base = meta.path("/spec/ports");
    Service {
        service_type: spanned_str(spec.get("type")),
        selector: spec.get("selector").map(|s| labels(Some(s))),
        ports: spec
            .get("ports")
            .into_iter()
            .flat_map(|p| p.items())
            .enumerate()
            .map(|(i, p)| ServicePort {
                path: format!("{base}/{i}"),
                span: p.span(),
                name: spanned_str(p.get("name")),
                port: spanned_int(p.get("port")),
                target_port: spanned_str(p.get("targetPort")),
                protocol: spanned_str(p.get("protocol")),
                app_protocol: spanned_str(p.get("appProtocol")),
            })
            .collect(),
        external_name: spanned_str(spec.get("externalName")),
        export_to: meta
            .annotations
            .map
            .get("networking.istio.io/exportTo")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A workload: something that runs pods with a pod template's labels.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// Labels of the pods it runs (the pod template's, or a Pod's own).
    pub pod_labels: Labels,
    /// Declared replica count; `None` when it is not fixed by the manifest
    /// (DaemonSets run one pod per node, Jobs by parallelism).
    pub replicas: Option<Spanned<i64>>,
    /// True when `replicas` was not written and the Kubernetes default of 1 applies.
    pub replicas_defaulted: bool,
    /// Container port names and numbers, for named `targetPort` resolution.
    pub container_ports: Vec<(Option<String>, i64)>,
    /// For an Argo Rollout whose canary traffic routing names a DestinationRule
    /// (`spec.strategy.canary.trafficRouting.istio.destinationRule`): the rule's
    /// name and the canary and stable subset names the Rollouts controller manages.
    pub rollout_destination_rule: Option<RolloutDestinationRule>,
    /// True when the pod template asks for Istio's gateway injection template
    /// (annotation `inject.istio.io/templates` naming `gateway`): the pods are a
    /// gateway proxy.
    pub gateway_injection: bool,
    /// What the pod template says about sidecar injection: the
    /// `sidecar.istio.io/inject` label, else the annotation of that name
    /// (`true` injects, any other value does not); `None` when neither is set
    /// and the namespace decides.
    pub sidecar_inject: Option<bool>,
    /// True when the pod template already has a container named `istio-proxy`.
    pub istio_proxy_container: bool,
}

/// The DestinationRule subsets an Argo Rollout manages at run time (it rewrites
/// their labels with `rollouts-pod-template-hash`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutDestinationRule {
    /// `destinationRule.name`, in the Rollout's namespace.
    pub name: String,
    /// `destinationRule.canarySubsetName`.
    pub canary_subset: Option<String>,
    /// `destinationRule.stableSubsetName`.
    pub stable_subset: Option<String>,
}

/// Reads a workload of a kind meshvet models, or `None` for other kinds.
pub fn workload(node: Node<'_>, group: &str, kind: &str) -> Option<Workload> {
    let spec = node.get("spec");
    let (template, scaled) = match (group, kind) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("argoproj.io", "Rollout")
        | ("apps.openshift.io", "DeploymentConfig") => (spec.and_then(|s| s.get("template")), true),
        ("apps" | "extensions", "DaemonSet") | ("batch", "Job") => {
            (spec.and_then(|s| s.get("template")), false)
        }
        ("batch", "CronJob") => (
            spec.and_then(|s| s.get("jobTemplate"))
                .and_then(|j| j.get("spec"))
                .and_then(|s| s.get("template")),
            false,
        ),
        ("", "Pod") => (Some(node), false),
        _ => return None,
    };
    let pod_labels = labels(
        template
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels")),
    );
    let declared = spanned_int(spec.and_then(|s| s.get("replicas")));
    let (replicas, replicas_defaulted) = match (kind, declared) {
        ("Pod", _) => (
            Some(Spanned {
                value: 1,
                span: Span::default(),
            }),
            false,
        ),
        (_, Some(r)) if scaled => (Some(r), false),
        (_, None) if scaled => (
            Some(Spanned {
                value: 1,
                span: Span::default(),
            }),
            true,
        ),
        _ => (None, false),
    };
    let pod_spec = template.and_then(|t| t.get("spec"));
    let container_ports = pod_spec
        .and_then(|p| p.get("containers"))
        .into_iter()
        .flat_map(|c| c.items())
        .flat_map(|c| c.get("ports").into_iter().flat_map(|p| p.items()))
        .filter_map(|p| {
            let number = p.get("containerPort")?.int()?;
            Some((
                p.get("name").and_then(|n| n.str()).map(str::to_owned),
                number,
            ))
        })
        .collect();
    let rollout_destination_rule = (group == "argoproj.io" && kind == "Rollout")
        .then(|| {
            let dr = spec
                .and_then(|s| s.get("strategy"))
                .and_then(|s| s.get("canary"))
                .and_then(|c| c.get("trafficRouting"))
                .and_then(|t| t.get("istio"))
                .and_then(|i| i.get("destinationRule"))?;
            let text = |key: &str| dr.get(key).and_then(|n| n.str()).map(str::to_owned);
            Some(RolloutDestinationRule {
                name: text("name")?,
                canary_subset: text("canarySubsetName"),
                stable_subset: text("stableSubsetName"),
            })
        })
        .flatten();
    let gateway_injection = template
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("inject.istio.io/templates"))
        .and_then(|v| v.str())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "gateway"));
    let template_meta = template.and_then(|t| t.get("metadata"));
    let inject_value = |key: &str| {
        template_meta
            .and_then(|m| m.get(key))
            .and_then(|l| l.get("sidecar.istio.io/inject"))
            .and_then(|v| v.scalar_text())
            .map(|v| v == "true")
    };
    let sidecar_inject = inject_value("labels").or_else(|| inject_value("annotations"));
    let istio_proxy_container = pod_spec
        .and_then(|p| p.get("containers"))
        .into_iter()
        .flat_map(|c| c.items())
        .any(|c| c.get("name").and_then(|n| n.str()) == Some("istio-proxy"));
    Some(Workload {
        sidecar_inject,
        istio_proxy_container,
        pod_labels,
        replicas,
        replicas_defaulted,
        container_ports,
        rollout_destination_rule,
        gateway_injection,
    })
}

/// A HorizontalPodAutoscaler's facts.
#[derive(Debug, Clone, Default)]
pub struct Autoscaler {
    /// `spec.scaleTargetRef.kind`.
    pub target_kind: Option<SStr>,
    /// `spec.scaleTargetRef.name`.
    pub target_name: Option<SStr>,
    /// `spec.minReplicas` (Kubernetes defaults it to 1).
    pub min_replicas: Option<Spanned<i64>>,
    /// `spec.maxReplicas`.
    pub max_replicas: Option<Spanned<i64>>,
}

/// Reads a HorizontalPodAutoscaler spec.
pub fn autoscaler(spec: Node<'_>) -> Autoscaler {
    let target = spec.get("scaleTargetRef");
    Autoscaler {
        target_kind: spanned_str(target.and_then(|t| t.get("kind"))),
        target_name: spanned_str(target.and_then(|t| t.get("name"))),
        min_replicas: spanned_int(spec.get("minReplicas")),
        max_replicas: spanned_int(spec.get("maxReplicas")),
    }
}

/// Mesh-wide settings from the `istio` ConfigMap (key `mesh`).
#[derive(Debug, Clone, Default)]
pub struct MeshConfig {
    /// Where the `mesh` value is written (settings inside it point here).
    pub span: Span,
    /// `rootNamespace`.
    pub root_namespace: Option<String>,
    /// `outboundTrafficPolicy.mode`.
    pub outbound_mode: Option<String>,
    /// `defaultVirtualServiceExportTo`.
    pub default_virtual_service_export_to: Vec<String>,
    /// `defaultDestinationRuleExportTo`.
    pub default_destination_rule_export_to: Vec<String>,
    /// `defaultServiceExportTo`.
    pub default_service_export_to: Vec<String>,
    /// `ingressControllerMode`.
    pub ingress_controller_mode: Option<String>,
    /// True when `defaultTrafficPolicy.outlierDetection` is set (Istio 1.31+):
    /// every cluster then has outlier detection unless a DestinationRule
    /// replaces the block.
    pub default_outlier_detection: bool,
    /// `defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE` is `"true"`: sidecars
    /// answer DNS queries themselves, so they can hand out addresses Istio
    /// allocated to ServiceEntries.
    pub dns_capture: bool,
    /// `defaultConfig.proxyMetadata.ISTIO_META_DNS_AUTO_ALLOCATE` or
    /// `PILOT_ENABLE_IP_AUTOALLOCATE` is `"true"`.
    pub dns_auto_allocate: bool,
}

/// Reads the mesh config when `node` is the ConfigMap istiod reads it from
/// (named `istio` or `istio-<revision>`, with a `mesh` key).
pub fn mesh_config(node: Node<'_>, meta: &ObjectMeta) -> Option<MeshConfig> {
    let name = meta.name();
    if name != "istio" && !name.starts_with("istio-") {
        return None;
    }
    let mesh = node.get("data")?.get("mesh")?;
    let text: Arc<str> = mesh.str()?.into();
    // The value is itself YAML; parse it on its own. Positions inside it are not
    // tracked: settings read from it point at the `mesh` value as a whole.
    let inner = SourceFile::new(FileId(u32::MAX), "mesh".into(), "mesh".into(), text);
    let docs = parse_file(&inner);
    let doc = docs.first()?;
    let root = Node::root(
        doc.root.as_ref()?,
        SpanMapper::new(&inner, doc.segment.first_line),
    );
    let strs = |key: &str| -> Vec<String> {
        str_list(root.get(key))
            .into_iter()
            .map(|s| s.value)
            .collect()
    };
    Some(MeshConfig {
        span: mesh.span(),
        root_namespace: root
            .get("rootNamespace")
            .and_then(|n| n.str())
            .map(str::to_owned),
        outbound_mode: root
            .get("outboundTrafficPolicy")
            .and_then(|o| o.get("mode"))
            .and_then(|n| n.str())
            .map(str::to_owned),
        default_virtual_service_export_to: strs("defaultVirtualServiceExportTo"),
        default_destination_rule_export_to: strs("defaultDestinationRuleExportTo"),
        default_service_export_to: strs("defaultServiceExportTo"),
        ingress_controller_mode: root
            .get("ingressControllerMode")
            .and_then(|n| n.str())
            .map(str::to_owned),
        default_outlier_detection: root
            .get("defaultTrafficPolicy")
            .and_then(|p| p.get("outlierDetection"))
            .is_some(),
        dns_capture: proxy_metadata_true(root, "ISTIO_META_DNS_CAPTURE"),
        dns_auto_allocate: proxy_metadata_true(root, "ISTIO_META_DNS_AUTO_ALLOCATE")
            || proxy_metadata_true(root, "PILOT_ENABLE_IP_AUTOALLOCATE"),
    })
}

/// True when `defaultConfig.proxyMetadata.<key>` is `"true"` (any case).
fn proxy_metadata_true(root: Node<'_>, key: &str) -> bool {
    root.get("defaultConfig")
        .and_then(|d| d.get("proxyMetadata"))
        .and_then(|m| m.get(key))
        .and_then(|v| v.scalar_text())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A Kubernetes Gateway API `Gateway` (gateway.networking.k8s.io): the facts a
/// VirtualService bound to it depends on. Istio turns each into an Istio Gateway
/// whose servers are the listeners.
#[derive(Debug, Clone, Default)]
pub struct KubernetesGateway {
    /// `spec.listeners`.
    pub listeners: Vec<Listener>,
}

/// One Gateway API listener.
#[derive(Debug, Clone, Default)]
pub struct Listener {
    /// JSON pointer of the listener.
    pub path: String,
    /// The listener item.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `hostname`; absent means every host.
    pub hostname: Option<SStr>,
    /// `allowedRoutes.namespaces.from`: `Same` (the default), `All` or `Selector`.
    pub allowed_from: Option<SStr>,
}

/// Reads a Gateway API `Gateway`'s spec.
pub fn kubernetes_gateway(spec: Node<'_>, meta: &ObjectMeta) -> KubernetesGateway {
    let base = meta.path("/spec");
    KubernetesGateway {
        listeners: spec
            .get("listeners")
            .into_iter()
            .flat_map(|l| l.items())
            .enumerate()
            .map(|(i, l)| Listener {
                path: format!("{base}/listeners/{i}"),
                span: l.span(),
                name: spanned_str(l.get("name")),
                hostname: spanned_str(l.get("hostname")),
                allowed_from: spanned_str(
                    l.get("allowedRoutes")
                        .and_then(|a| a.get("namespaces"))
                        .and_then(|n| n.get("from")),
                ),
            })
            .collect(),
    }
}
