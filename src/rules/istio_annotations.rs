//! Istio's resource annotations: which kinds each applies to, which are
//! deprecated, and which values Istio's injector validates; and a walker over
//! the annotation blocks of the objects the annotation rules look at.
//!
//! Facts from istio/api `annotation/annotations.yaml` (and `label/labels.yaml`
//! for the label list), checked against the generated
//! `annotation/annotations.gen.go` at commit
//! 1404d08e70e2d956556f3632f0076976de31f18e and the current annotation
//! reference; value checks from istio/istio `pkg/kube/inject/validate.go`
//! (`AnnotationValidation`). The table is written here, not generated.

use crate::model::node::Node;
use crate::model::pointer_segment;
use crate::rules::ObjectContext;

/// What an annotation's value must be, where Istio's injector checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Not validated.
    Any,
    /// `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False`.
    Bool,
    /// A decimal unsigned 32-bit integer.
    UInt32,
    /// A decimal port number 0..65535 (surrounding spaces allowed).
    Port,
    /// A comma-separated list of ports (empty allowed).
    PortList,
    /// `*` or a comma-separated list of ports.
    PortListOrStar,
    /// A comma-separated list of CIDR prefixes, no spaces (empty allowed).
    CidrList,
    /// `*` or a comma-separated list of CIDR prefixes.
    CidrListOrStar,
    /// `REDIRECT`, `TPROXY` or `NONE`.
    InterceptionMode,
}

/// One annotation Istio knows.
#[derive(Debug)]
pub struct Annotation {
    /// The key.
    pub name: &'static str,
    /// Kinds it applies to (`Any` for every kind).
    pub resources: &'static [&'static str],
    /// `Some(replacement)` when deprecated (the replacement may be empty).
    pub deprecated: Option<&'static str>,
    /// The value Istio's injector accepts.
    pub value: ValueType,
}

const fn a(name: &'static str, resources: &'static [&'static str]) -> Annotation {
    Annotation {
        name,
        resources,
        deprecated: None,
        value: ValueType::Any,
    }
}

const fn v(name: &'static str, value: ValueType) -> Annotation {
    Annotation {
        name,
        resources: POD,
        deprecated: None,
        value,
    }
}

const fn d(
    name: &'static str,
    resources: &'static [&'static str],
    replacement: &'static str,
) -> Annotation {
    Annotation {
        name,
        resources,
        deprecated: Some(replacement),
        value: ValueType::Any,
    }
}

const ANY: &[&str] = &["Any"];
const POD: &[&str] = &["Pod"];
const SERVICE: &[&str] = &["Service"];
const WORKLOAD_ENTRY: &[&str] = &["WorkloadEntry"];
const SERVICE_ENTRY: &[&str] = &["ServiceEntry"];

/// Istio's annotations, sorted by name.
pub const ANNOTATIONS: &[Annotation] = &[
    d("alpha.istio.io/canonical-serviceaccounts", SERVICE, ""),
    d("alpha.istio.io/identity", POD, ""),
    d("alpha.istio.io/kubernetes-serviceaccounts", SERVICE, ""),
    a("ambient.istio.io/bypass-inbound-capture", POD),
    a("ambient.istio.io/dns-capture", POD),
    a("ambient.istio.io/redirection", POD),
    a("galley.istio.io/analyze-suppress", ANY),
    a("gateway.istio.io/controller-version", ANY),
    a("inject.istio.io/templates", POD),
    a("install.operator.istio.io/chart-owner", ANY),
    a("install.operator.istio.io/owner-generation", ANY),
    a("install.operator.istio.io/version", ANY),
    a("istio.io/autoRegistrationGroup", WORKLOAD_ENTRY),
    a("istio.io/connectedAt", WORKLOAD_ENTRY),
    a("istio.io/disconnectedAt", WORKLOAD_ENTRY),
    a("istio.io/dry-run", &["AuthorizationPolicy"]),
    a("istio.io/reroute-virtual-interfaces", POD),
    a("istio.io/workloadController", WORKLOAD_ENTRY),
    a("kubernetes.io/ingress.class", &["Ingress"]),
    a("networking.alpha.istio.io/endpointsVersion", SERVICE_ENTRY),
    a("networking.alpha.istio.io/notReadyEndpoints", SERVICE_ENTRY),
    a("networking.alpha.istio.io/serviceVersion", SERVICE_ENTRY),
    a("networking.istio.io/exportTo", SERVICE),
    a("networking.istio.io/traffic-distribution", SERVICE),
    v("prometheus.istio.io/merge-metrics", ValueType::Bool),
    a("proxy.istio.io/config", POD),
    a("proxy.istio.io/overrides", POD),
    a("readiness.status.sidecar.istio.io/applicationPorts", POD),
    v(
        "readiness.status.sidecar.istio.io/failureThreshold",
        ValueType::UInt32,
    ),
    v(
        "readiness.status.sidecar.istio.io/initialDelaySeconds",
        ValueType::UInt32,
    ),
    v(
        "readiness.status.sidecar.istio.io/periodSeconds",
        ValueType::UInt32,
    ),
    a("security.istio.io/autoMTLS", POD),
    a("sidecar.istio.io/agentLogLevel", POD),
    a("sidecar.istio.io/bootstrapOverride", POD),
    a("sidecar.istio.io/componentLogLevel", POD),
    d("sidecar.istio.io/controlPlaneAuthPolicy", POD, ""),
    d(
        "sidecar.istio.io/discoveryAddress",
        POD,
        "`discoveryAddress` in `proxy.istio.io/config`",
    ),
    a("sidecar.istio.io/enableCoreDump", POD),
    a("sidecar.istio.io/extraStatTags", POD),
    d(
        "sidecar.istio.io/inject",
        POD,
        "the `sidecar.istio.io/inject` label",
    ),
    v(
        "sidecar.istio.io/interceptionMode",
        ValueType::InterceptionMode,
    ),
    a("sidecar.istio.io/logLevel", POD),
    a("sidecar.istio.io/nativeSidecar", POD),
    a("sidecar.istio.io/proxyCPU", POD),
    a("sidecar.istio.io/proxyCPULimit", POD),
    a("sidecar.istio.io/proxyImage", POD),
    a("sidecar.istio.io/proxyImageType", POD),
    a("sidecar.istio.io/proxyMemory", POD),
    a("sidecar.istio.io/proxyMemoryLimit", POD),
    a("sidecar.istio.io/rewriteAppHTTPProbers", POD),
    a("sidecar.istio.io/statsCompression", POD),
    a("sidecar.istio.io/statsHistogramBuckets", POD),
    d(
        "sidecar.istio.io/statsInclusionPrefixes",
        POD,
        "`proxyStatsMatcher` in `proxy.istio.io/config`",
    ),
    d(
        "sidecar.istio.io/statsInclusionRegexps",
        POD,
        "`proxyStatsMatcher` in `proxy.istio.io/config`",
    ),
    d(
        "sidecar.istio.io/statsInclusionSuffixes",
        POD,
        "`proxyStatsMatcher` in `proxy.istio.io/config`",
    ),
    a("sidecar.istio.io/status", POD),
    a("sidecar.istio.io/userVolume", POD),
    a("sidecar.istio.io/userVolumeMount", POD),
    v("status.sidecar.istio.io/port", ValueType::Port),
    a("topology.istio.io/controlPlaneClusters", ANY),
    a("traffic.istio.io/nodeSelector", SERVICE),
    v(
        "traffic.sidecar.istio.io/excludeInboundPorts",
        ValueType::PortList,
    ),
    a("traffic.sidecar.istio.io/excludeInterfaces", POD),
    v(
        "traffic.sidecar.istio.io/excludeOutboundIPRanges",
        ValueType::CidrList,
    ),
    v(
        "traffic.sidecar.istio.io/excludeOutboundPorts",
        ValueType::PortList,
    ),
    v(
        "traffic.sidecar.istio.io/includeInboundPorts",
        ValueType::PortListOrStar,
    ),
    v(
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
        ValueType::CidrListOrStar,
    ),
    a("traffic.sidecar.istio.io/includeOutboundPorts", POD),
    d(
        "traffic.sidecar.istio.io/kubevirtInterfaces",
        POD,
        "the `istio.io/reroute-virtual-interfaces` annotation",
    ),
];

/// Istio's labels (istio/api `label/labels.yaml`): written as annotations
/// they do nothing.
pub const LABELS: &[&str] = &[
    "gateway.istio.io/managed",
    "istio-injection",
    "istio.io/dataplane-mode",
    "istio.io/gateway-name",
    "istio.io/ingress-use-waypoint",
    "istio.io/rev",
    "istio.io/tag",
    "istio.io/use-waypoint",
    "istio.io/use-waypoint-namespace",
    "istio.io/waypoint-for",
    "networking.istio.io/gatewayPort",
    "security.istio.io/tlsMode",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
    "sidecar.istio.io/inject",
    "topology.istio.io/cluster",
    "topology.istio.io/network",
    "topology.istio.io/subzone",
];

/// Istio's injection and data-plane labels, with the kinds whose labels
/// Istio reads them from (a pod template counts as a Pod): the injection
/// webhooks select namespaces by `istio-injection` and pods by
/// `sidecar.istio.io/inject`.
pub const LABEL_PLACES: &[(&str, &[&str])] = &[
    ("istio-injection", &["Namespace"]),
    ("istio.io/dataplane-mode", &["Namespace", "Pod"]),
    ("sidecar.istio.io/inject", &["Pod"]),
];

/// Keys Istio sets itself, never reported (istioctl's always-ignored list).
const IGNORED: &[&str] = &[
    "sidecar.istio.io/status",
    "gateway.istio.io/controller-version",
    "istio.io/rev",
];

/// The annotation named `key`.
pub fn lookup(key: &str) -> Option<&'static Annotation> {
    ANNOTATIONS
        .binary_search_by(|a| a.name.cmp(key))
        .ok()
        .and_then(|i| ANNOTATIONS.get(i))
}

/// True for keys the annotation rules look at: a prefix ending in `istio.io`
/// (or `kubernetes.io/ingress.class`), minus the keys Istio sets itself.
pub fn is_istio_key(key: &str) -> bool {
    if IGNORED.contains(&key) {
        return false;
    }
    key == "kubernetes.io/ingress.class"
        || key
            .split_once('/')
            .is_some_and(|(prefix, _)| prefix.ends_with("istio.io"))
}

/// One annotation as written on an object.
pub struct Site<'t> {
    /// The key scalar.
    pub key_node: Node<'t>,
    /// The key.
    pub key: &'t str,
    /// The value node.
    pub value: Node<'t>,
    /// The kind the annotation is read for: `Pod` for a pod template.
    pub kind: &'t str,
    /// True when the metadata is a workload's own, which has a pod template.
    pub has_template: bool,
    /// True when the metadata is a workload's pod template's.
    pub in_template: bool,
    /// JSON pointer of the annotation.
    pub path: String,
    /// The labels next to the annotations.
    pub labels: Option<Node<'t>>,
}

/// The pointer (below the object) and node of a workload's pod template.
fn pod_template<'t>(ctx: &ObjectContext<'t>) -> Option<(&'static str, Node<'t>)> {
    let spec = ctx.tree.get("spec")?;
    match ctx.object.meta.kind.as_str() {
        "CronJob" => Some((
            "/spec/jobTemplate/spec/template",
            spec.get("jobTemplate")?.get("spec")?.get("template")?,
        )),
        "Pod" | "Namespace" | "Service" => None,
        _ => Some(("/spec/template", spec.get("template")?)),
    }
}

/// The Istio annotations written on the object (its own metadata, and its pod
/// template's for workloads), skipping kube-system's namespace.
pub fn sites<'t>(ctx: &ObjectContext<'t>) -> Vec<Site<'t>> {
    entries(ctx, "annotations", is_istio_key)
}

/// The labels of [`LABEL_PLACES`] written on the object, like [`sites`].
pub fn label_sites<'t>(ctx: &ObjectContext<'t>) -> Vec<Site<'t>> {
    entries(ctx, "labels", |k| LABEL_PLACES.iter().any(|(l, _)| *l == k))
}

fn entries<'t>(ctx: &ObjectContext<'t>, block: &str, wanted: fn(&str) -> bool) -> Vec<Site<'t>> {
    let meta = &ctx.object.meta;
    let kind = meta.kind.as_str();
    let group = meta.group.as_str();
    let known = match kind {
        "Namespace" | "Service" | "Pod" => group.is_empty(),
        "Job" | "CronJob" => group == "batch",
        "Rollout" => group == "argoproj.io",
        _ => group == "apps" || group == "extensions",
    };
    if !known {
        return Vec::new();
    }
    if kind == "Namespace"
        && meta
            .name
            .as_ref()
            .is_some_and(|n| n.as_str() == "kube-system")
    {
        return Vec::new();
    }
    let template = pod_template(ctx);
    let mut out = Vec::new();
    let mut collect = |metadata: Option<Node<'t>>, prefix: &str, kind: &'t str, has_template| {
        let in_template = !prefix.is_empty();
        let Some(metadata) = metadata else {
            return;
        };
        let Some(annotations) = metadata.get(block) else {
            return;
        };
        let labels = metadata.get("labels");
        for (k, value) in annotations.entries() {
            let Some(key) = k.str() else {
                continue;
            };
            if !wanted(key) {
                continue;
            }
            out.push(Site {
                key_node: k,
                key,
                value,
                kind,
                has_template,
                in_template,
                path: meta.path(&format!(
                    "{prefix}/metadata/{block}/{}",
                    pointer_segment(key)
                )),
                labels,
            });
        }
    };
    collect(ctx.tree.get("metadata"), "", kind, template.is_some());
    if let Some((prefix, t)) = template {
        collect(t.get("metadata"), prefix, "Pod", false);
    }
    out
}

impl Site<'_> {
    /// What the metadata belongs to, for messages: `a Deployment`, `a pod template`.
    pub fn what(&self) -> String {
        if self.in_template {
            "a pod template".to_owned()
        } else {
            format!("a {}", self.kind)
        }
    }
}

/// Why `value` fails Istio's check for `ty`, or `None` when it passes.
pub fn value_problem(ty: ValueType, value: &str) -> Option<String> {
    let port = |p: &str| p.trim().parse::<u16>().is_ok() && !p.trim().starts_with('+');
    let port_list = |s: &str| {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        s.split(',')
            .find(|p| !port(p))
            .map(|p| format!("`{p}` is not a port number (0-65535)"))
    };
    let cidr_list = |s: &str| {
        if s.is_empty() {
            return None;
        }
        s.split(',').find(|c| !is_cidr(c)).map(|c| {
            if c != c.trim() && is_cidr(c.trim()) {
                format!(
                    "`{}` has a space next to it, and Istio does not trim list entries",
                    c.trim()
                )
            } else {
                format!("`{c}` is not a CIDR prefix such as `10.0.0.0/8`")
            }
        })
    };
    match ty {
        ValueType::Any => None,
        ValueType::Bool => (!matches!(
            value,
            "1" | "t"
                | "T"
                | "TRUE"
                | "true"
                | "True"
                | "0"
                | "f"
                | "F"
                | "FALSE"
                | "false"
                | "False"
        ))
        .then(|| "it is not a boolean (`true` or `false`)".to_owned()),
        ValueType::UInt32 => (value.is_empty()
            || !value.bytes().all(|b| b.is_ascii_digit())
            || value.parse::<u32>().is_err())
        .then(|| "it is not a non-negative integer".to_owned()),
        ValueType::Port => (!port(value)).then(|| "it is not a port number (0-65535)".to_owned()),
        ValueType::PortList => port_list(value),
        ValueType::PortListOrStar => (value != "*").then(|| port_list(value)).flatten(),
        ValueType::CidrList => cidr_list(value),
        ValueType::CidrListOrStar => (value != "*").then(|| cidr_list(value)).flatten(),
        ValueType::InterceptionMode => (!matches!(value, "REDIRECT" | "TPROXY" | "NONE"))
            .then(|| "it is not `REDIRECT`, `TPROXY` or `NONE`".to_owned()),
    }
}

/// How to write a value of `ty`, as a help sentence.
pub fn value_help(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Any => "Check the value against Istio's annotation reference.",
        ValueType::Bool => "Write `\"true\"` or `\"false\"`.",
        ValueType::UInt32 => "Write a whole number of seconds or attempts, such as `\"10\"`.",
        ValueType::Port => "Write one port number, such as `\"15020\"`.",
        ValueType::PortList => {
            "List port numbers separated by commas, such as `\"5432,6379\"`; names are not accepted."
        }
        ValueType::PortListOrStar => {
            "Write `*` or list port numbers separated by commas, such as `\"8080,9090\"`; names are not accepted."
        }
        ValueType::CidrList => {
            "List CIDR prefixes separated by commas without spaces, such as `\"10.0.0.0/8,172.16.0.0/12\"`; write one address as `/32`."
        }
        ValueType::CidrListOrStar => {
            "Write `*` or list CIDR prefixes separated by commas without spaces, such as `\"10.0.0.0/8,172.16.0.0/12\"`; write one address as `/32`."
        }
        ValueType::InterceptionMode => "Write `REDIRECT`, `TPROXY` or `NONE`, in capitals.",
    }
}

/// `netip.ParsePrefix`: an IPv4 or IPv6 address, `/`, a decimal length in range.
fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    if len.is_empty()
        || !len.bytes().all(|b| b.is_ascii_digit())
        || (len.len() > 1 && len.starts_with('0'))
    {
        return false;
    }
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in ANNOTATIONS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        assert!(lookup("sidecar.istio.io/inject").is_some());
        assert!(lookup("sidecar.istio.io/injectt").is_none());
    }

    #[test]
    fn values() {
        use ValueType::*;
        assert!(value_problem(UInt32, "10").is_none());
        assert!(value_problem(UInt32, "bar").is_some());
        assert!(value_problem(UInt32, "-1").is_some());
        assert!(value_problem(Bool, "yes").is_some());
        assert!(value_problem(PortListOrStar, "*").is_none());
        assert!(value_problem(PortList, "15020, 8080").is_none());
        assert!(value_problem(PortList, "").is_none());
        assert!(value_problem(PortList, "http").is_some());
        assert!(value_problem(PortList, "70000").is_some());
        assert!(value_problem(CidrListOrStar, "*").is_none());
        assert!(value_problem(CidrList, "10.0.0.0/8,172.16.0.0/12").is_none());
        assert!(value_problem(CidrList, "10.0.0.0/8, 172.16.0.0/12").is_some());
        assert!(value_problem(CidrList, "10.0.0.1").is_some());
        assert!(value_problem(CidrList, "fd00::/8").is_none());
        assert!(value_problem(InterceptionMode, "redirect").is_some());
    }
}
