use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::declare_rule;
use crate::host;
use crate::index::{Index, ObjId, Relation};
use crate::model::{
    DestinationRef, DestinationUse, LabelMap, Labels, Object, Spec, Subset, VirtualService,
};
use crate::report::{Diagnostic, Severity};
use crate::rules::{Rule, RuleMeta};
use crate::source::{FileId, Span};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags a DestinationRule subset that selects no running pod: no workload
    /// behind the Service has pods whose labels satisfy both the Service selector
    /// and the subset labels, or every such workload runs zero replicas (its
    /// autoscaler's `minReplicas` counts when one targets it).
    ///
    /// It is an error when a VirtualService route sends traffic to the subset: a
    /// destination whose host resolves to the DestinationRule's host, from a client
    /// namespace for which Istio picks this DestinationRule's subset, with a
    /// weight above zero (or as the route's only destination). It is a warning
    /// when nothing routes to it, or only a mirror does, and when a workload
    /// behind the Service lacks one of the subset's label keys altogether: the
    /// label may be added outside the files (`kubectl label`, kustomize, Helm).
    ///
    /// The rule stays silent where the analysed files cannot tell: a
    /// DestinationRule host that is not a Kubernetes Service with a selector in the
    /// analysed files (ServiceEntries, wildcards, Services kept elsewhere); a
    /// Service whose namespace has no workloads in the analysed files, or whose
    /// selector matches none of them (its Deployments live elsewhere); subsets
    /// that an Argo Rollout manages
    /// (`spec.strategy.canary.trafficRouting.istio.destinationRule`), whose labels
    /// the Rollouts controller rewrites. Labels that Kubernetes or Istio add to pods
    /// at run time (`pod-template-hash`, `statefulset.kubernetes.io/pod-name`,
    /// `rollouts-pod-template-hash`, node topology such as
    /// `topology.kubernetes.io/zone`, …) cannot be checked and are ignored, with
    /// one exception that needs no workloads at all: a subset that requires a
    /// node topology label (`topology.kubernetes.io/region`, `…/zone`,
    /// `topology.istio.io/subzone`, `kubernetes.io/hostname`) to be the empty
    /// string matches no pod, because Istio copies those labels from the pod's
    /// Node only when the Node has a value for them.
    ///
    /// A host that only ServiceEntries with inline `endpoints` provide (no
    /// Kubernetes Service, no `workloadSelector`) is checked against those
    /// endpoints' `labels`: the files list every endpoint such a host has.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0173) matches pods in
    /// every namespace and ignores the Service selector; meshvet matches the
    /// workloads in the Service's namespace that its selector picks, as the
    /// endpoints Istio builds come from there. Kiali (KIA0203) also reports
    /// subsets when the Service's namespace has no workloads in the analysed
    /// files; meshvet stays silent there, since they are usually deployed from
    /// elsewhere.
    ///
    /// ## Why is this bad?
    /// Istio builds the subset's cluster from the Service's endpoints whose pod
    /// labels include the subset labels. With none, the cluster is empty and
    /// every request routed to the subset fails with `503` (response flag `UH`,
    /// no healthy upstream), however the weights are set.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: reviews-v1, namespace: shop}
    /// spec:
    ///   replicas: 2
    ///   selector: {matchLabels: {app: reviews, version: v1}}
    ///   template:
    ///     metadata: {labels: {app: reviews, version: v1}}
    /// ---
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   selector: {app: reviews}
    ///   ports: [{name: http, port: 9080}]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - {name: v1, labels: {version: v1}}
    ///   - {name: v2, labels: {version: "2"}}
    /// ```
    /// Use instead: labels that the subset's pods carry (`version: v2`), and deploy
    /// the subset's pods before routing traffic to it.
    pub SubsetWithoutWorkloads {
        name: "subset-without-workloads",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0173", "KIA0203"],
    }
}

/// Pod labels that Kubernetes, Argo Rollouts or Istio set at run time: a
/// manifest cannot say whether a subset selecting on them matches.
const RUNTIME_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "rollouts-pod-template-hash",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "controller-uid",
    "kubernetes.io/hostname",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.istio.io/subzone",
    "topology.istio.io/network",
    "topology.istio.io/cluster",
    "security.istio.io/tlsMode",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
];

/// How a VirtualService destination uses a subset.
struct Use {
    file: FileId,
    span: Span,
    vs: String,
    route: String,
    /// Share of the route's requests, in percent; `None` for a mirror or a zero weight.
    share: Option<f64>,
    /// True for a `mirror` or `mirrors` destination.
    mirror: bool,
}

impl Rule for SubsetWithoutWorkloads {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut namespaces_with_workloads = HashSet::new();
        let mut managed: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
        for object in index.objects() {
            if let Spec::Workload(w) = &object.spec {
                namespaces_with_workloads.insert(object.meta.namespace.as_str());
                if let Some(r) = &w.rollout_destination_rule {
                    let entry = managed
                        .entry((object.meta.namespace.clone(), r.name.clone()))
                        .or_default();
                    entry.extend(r.canary_subset.iter().cloned());
                    entry.extend(r.stable_subset.iter().cloned());
                }
            }
        }
        let uses = subset_uses(index);
        empty_topology_labels(index, &uses, out);
        service_entry_endpoints(index, &uses, out);
        if namespaces_with_workloads.is_empty() {
            return;
        }
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::DestinationRule(dr) = &object.spec else {
                continue;
            };
            let Some(h) = &dr.host else {
                continue;
            };
            let resolved = index.resolve_host(&h.value, &object.meta.namespace);
            if host::is_wildcard(&resolved) {
                continue;
            }
            let Some((_, svc_ns)) =
                host::service_parts(&resolved, &index.settings().cluster_domain)
            else {
                continue;
            };
            if !namespaces_with_workloads.contains(svc_ns) {
                continue;
            }
            let Some(all) = index.endpoints(&resolved, None) else {
                continue;
            };
            if all.workloads.is_empty() {
                continue;
            }
            let key = (object.meta.namespace.clone(), object.meta.name().to_owned());
            for subset in &dr.subsets {
                let Some(name) = &subset.name else {
                    continue;
                };
                if managed.get(&key).is_some_and(|m| m.contains(&name.value))
                    || empty_topology_key(subset).is_some()
                {
                    continue;
                }
                let used = uses
                    .get(&(id, name.value.clone()))
                    .map_or(&[][..], Vec::as_slice);
                if let Some(d) =
                    check_subset(index, object, &resolved, subset, &all.workloads, used)
                {
                    out.push(d);
                }
            }
        }
    }
}

/// Node topology labels Istio copies onto each pod from its Node, and only when
/// the Node's value is not empty.
const NODE_TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
    "kubernetes.io/hostname",
];

/// Subsets that require a node topology label to be empty: Istio adds those
/// labels to a pod only with a non-empty value, so no pod ever matches, whatever
/// the analysed files contain (unless a workload sets the empty label itself).
fn empty_topology_labels(
    index: &Index,
    uses: &HashMap<(ObjId, String), Vec<Use>>,
    out: &mut Vec<Diagnostic>,
) {
    for (id, object) in index.objects().iter().enumerate() {
        let Spec::DestinationRule(dr) = &object.spec else {
            continue;
        };
        for subset in &dr.subsets {
            let Some(name) = &subset.name else {
                continue;
            };
            let Some(key) = empty_topology_key(subset) else {
                continue;
            };
            let mut own = LabelMap::default();
            own.insert((*key).to_owned(), String::new());
            let own = Labels {
                map: own,
                span: subset.labels.span,
            };
            if !index.workloads_matching_anywhere(&own).is_empty() {
                continue;
            }
            let used = uses
                .get(&(id, name.value.clone()))
                .map_or(&[][..], Vec::as_slice);
            let mut message = format!(
                "subset `{}` requires node label `{key}` to be empty, which no pod ever has: Istio copies `{key}` from the pod's Node only when it has a value",
                name.value
            );
            let severity = routed_severity(&mut message, used);
            let d = Diagnostic::new(
                &SubsetWithoutWorkloads::META,
                object.meta.file,
                subset.labels.span,
                message,
            )
            .severity(severity)
            .label("matches no pod")
            .help(format!(
                "Give `{key}` the value of the nodes this subset is for (for example `{}`), or drop it from the subset's labels.",
                example_value(key)
            ));
            out.push(
                relate_uses(d, used)
                    .object(&object.meta)
                    .path(format!("{}/labels", subset.path)),
            );
        }
    }
}

/// Subsets of a host that only ServiceEntries with inline `endpoints` provide:
/// the subset's cluster holds the endpoints whose `labels` include the subset
/// labels, and the analysed files list every endpoint there is.
fn service_entry_endpoints(
    index: &Index,
    uses: &HashMap<(ObjId, String), Vec<Use>>,
    out: &mut Vec<Diagnostic>,
) {
    for (id, object) in index.objects().iter().enumerate() {
        let Spec::DestinationRule(dr) = &object.spec else {
            continue;
        };
        let Some(h) = &dr.host else {
            continue;
        };
        let ns = object.meta.namespace.as_str();
        let resolved = index.resolve_host(&h.value, ns);
        if host::is_wildcard(&resolved) || !index.services(&resolved).is_empty() {
            continue;
        }
        let entries: Vec<ObjId> = index
            .service_entries(&resolved)
            .into_iter()
            .filter(|e| index.is_visible_to(*e, ns))
            .collect();
        let inline = |e: &ObjId| match &index.object(*e).spec {
            Spec::ServiceEntry(se) => se.workload_selector.is_none() && se.endpoint_count > 0,
            _ => false,
        };
        if entries.is_empty() || !entries.iter().all(inline) {
            continue;
        }
        let endpoint_labels: Vec<&Labels> = entries
            .iter()
            .filter_map(|e| match &index.object(*e).spec {
                Spec::ServiceEntry(se) => Some(&se.endpoint_labels),
                _ => None,
            })
            .flatten()
            .collect();
        for subset in &dr.subsets {
            let Some(name) = &subset.name else {
                continue;
            };
            if subset.labels.map.is_empty()
                || empty_topology_key(subset).is_some()
                || endpoint_labels
                    .iter()
                    .any(|l| subset.labels.is_subset_of(&l.map))
            {
                continue;
            }
            let first = index.object(entries[0]);
            let used = uses
                .get(&(id, name.value.clone()))
                .map_or(&[][..], Vec::as_slice);
            let mut message = format!(
                "subset `{}` of host `{resolved}` selects none of the {} of ServiceEntry `{}/{}`: no endpoint has the labels `{}`",
                name.value,
                if endpoint_labels.len() == 1 {
                    "1 endpoint".to_owned()
                } else {
                    format!("{} endpoints", endpoint_labels.len())
                },
                first.meta.namespace,
                first.meta.name(),
                subset.labels.render()
            );
            let severity = routed_severity(&mut message, used);
            let d = Diagnostic::new(
                &SubsetWithoutWorkloads::META,
                object.meta.file,
                subset.labels.span,
                message,
            )
            .severity(severity)
            .label("matches no endpoint")
            .help(format!(
                "Give the subset labels that some endpoint of `{}/{}` carries, or add the labels to the endpoints it should select.",
                first.meta.namespace,
                first.meta.name()
            ))
            .related(first.meta.file, first.meta.anchor(), "the endpoints are listed here");
            out.push(
                relate_uses(d, used)
                    .object(&object.meta)
                    .path(format!("{}/labels", subset.path)),
            );
        }
    }
}

/// Error when some route sends the subset traffic (and says which), else warning.
fn routed_severity(message: &mut String, used: &[Use]) -> Severity {
    match used.iter().find(|u| u.share.is_some()) {
        Some(u) => {
            message.push_str(&format!(
                ", yet route `{}` of VirtualService `{}` sends it {} of the route's requests",
                u.route,
                u.vs,
                percent(u.share.unwrap_or(0.0))
            ));
            Severity::Error
        }
        None => Severity::Warning,
    }
}

/// Related labels on the routes that use the subset.
fn relate_uses(mut d: Diagnostic, used: &[Use]) -> Diagnostic {
    for u in used {
        d = d.related(
            u.file,
            u.span,
            format!("route `{}` of `{}` uses this subset", u.route, u.vs),
        );
    }
    d
}

/// The first node topology label the subset requires to be empty.
fn empty_topology_key(subset: &Subset) -> Option<&'static str> {
    NODE_TOPOLOGY_LABELS
        .iter()
        .copied()
        .find(|k| subset.labels.map.get(k).is_some_and(String::is_empty))
}

fn example_value(key: &str) -> &'static str {
    match key {
        "topology.kubernetes.io/region" => "us-east-1",
        "topology.kubernetes.io/zone" => "us-east-1a",
        "kubernetes.io/hostname" => "node-1",
        _ => "rack-1",
    }
}

/// Where each (DestinationRule, subset name) is used by a VirtualService route,
/// following Istio's choice of DestinationRule for each client namespace.
fn subset_uses(index: &Index) -> HashMap<(ObjId, String), Vec<Use>> {
    let mut out: HashMap<(ObjId, String), Vec<Use>> = HashMap::new();
    for object in index.objects() {
        let Spec::VirtualService(vs) = &object.spec else {
            continue;
        };
        let clients = client_namespaces(object, vs);
        for d in vs.destinations() {
            let (Some(subset), Some(h)) = (&d.destination.subset, &d.destination.host) else {
                continue;
            };
            let resolved = index.resolve_host(&h.value, &object.meta.namespace);
            let mut seen = BTreeSet::new();
            for client in &clients {
                let Some(lookup) = index.destination_rules_for(&resolved, client) else {
                    continue;
                };
                let merged = index.merged_subsets(&lookup.rules);
                let Some((dr_id, _)) = merged.get(subset.value.as_str()) else {
                    continue;
                };
                if !seen.insert(*dr_id) {
                    continue;
                }
                out.entry((*dr_id, subset.value.clone()))
                    .or_default()
                    .push(Use {
                        file: object.meta.file,
                        span: subset.span,
                        vs: format!("{}/{}", object.meta.namespace, object.meta.name()),
                        route: route_name(&d),
                        share: share(vs, &d),
                        mirror: matches!(d.usage, DestinationUse::Mirror | DestinationUse::Mirrors),
                    });
            }
        }
    }
    out
}

/// Namespaces whose proxies use the VirtualService's routes: its own for the
/// mesh, and the namespace of each Gateway it is bound to.
fn client_namespaces(object: &Object, vs: &VirtualService) -> Vec<String> {
    let ns = &object.meta.namespace;
    let mut out = Vec::new();
    if vs.gateways.is_empty() || vs.gateways.iter().any(|g| g.value == "mesh") {
        out.push(ns.clone());
    }
    for g in vs.gateways.iter().filter(|g| g.value != "mesh") {
        let gw_ns = crate::index::gateway_reference(&g.value, ns).0;
        if !out.contains(&gw_ns) {
            out.push(gw_ns);
        }
    }
    out
}

fn route_name(d: &DestinationRef<'_>) -> String {
    let kind = match d.usage {
        DestinationUse::HttpRoute | DestinationUse::Mirror | DestinationUse::Mirrors => "http",
        DestinationUse::TcpRoute => "tcp",
        DestinationUse::TlsRoute => "tls",
    };
    format!("{kind}[{}]", d.route_index)
}

/// The share of its route's requests a destination receives, in percent.
fn share(vs: &VirtualService, d: &DestinationRef<'_>) -> Option<f64> {
    let routes = match d.usage {
        DestinationUse::Mirror | DestinationUse::Mirrors => return None,
        DestinationUse::HttpRoute => vs.http.get(d.route_index).map(|r| &r.route),
        DestinationUse::TcpRoute => vs.tcp.get(d.route_index).map(|r| &r.route),
        DestinationUse::TlsRoute => vs.tls.get(d.route_index).map(|r| &r.route),
    }?;
    if routes.len() <= 1 {
        // A single destination gets everything; its weight is ignored.
        return Some(100.0);
    }
    let weight = d.weight.map_or(0, |w| w.value);
    if weight <= 0 {
        return None;
    }
    let total: i64 = routes
        .iter()
        .filter_map(|r| r.weight.as_ref().map(|w| w.value))
        .filter(|w| *w > 0)
        .fold(0i64, i64::saturating_add);
    // Precision loss is irrelevant for a percentage shown with one decimal.
    #[allow(clippy::cast_precision_loss)]
    Some(weight as f64 * 100.0 / total.max(1) as f64)
}

fn percent(p: f64) -> String {
    let rounded = (p * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0} %")
    } else {
        format!("{rounded:.1} %")
    }
}

fn check_subset(
    index: &Index,
    dr: &Object,
    resolved: &str,
    subset: &Subset,
    service_workloads: &[ObjId],
    uses: &[Use],
) -> Option<Diagnostic> {
    let name = subset.name.as_ref()?;
    let mut labels = subset.labels.clone();
    labels
        .map
        .retain(|k, _| !RUNTIME_LABELS.contains(&k.as_str()));
    let endpoints = index.endpoints(resolved, Some(&labels))?;
    let zero_scaled = !endpoints.workloads.is_empty() && endpoints.pods == Some(0);
    if !endpoints.workloads.is_empty() && !zero_scaled {
        return None;
    }
    let meta = &dr.meta;
    let services: Vec<ObjId> = index.services(resolved).to_vec();
    let service_name = services
        .first()
        .map(|id| {
            let m = &index.object(*id).meta;
            format!("{}/{}", m.namespace, m.name())
        })
        .unwrap_or_else(|| resolved.to_owned());
    let shown_host = match &dr_host(dr) {
        Some(h) if h == resolved => format!("`{resolved}`"),
        Some(h) => format!("`{h}` (`{resolved}`)"),
        None => format!("`{resolved}`"),
    };
    let (what, mut help, mut related) = if zero_scaled {
        zero_scaled_reason(index, &endpoints.workloads)
    } else {
        no_match_reason(index, &labels, &services, service_workloads, &service_name)
    };
    let mut message = format!("subset `{}` of host {shown_host} {what}", name.value);
    let mut severity = routed_severity(&mut message, uses);
    // Workloads that lack a subset label key entirely may get it outside these
    // files (`kubectl label`, kustomize `labels`, Helm values): then the subset
    // would match, so meshvet cannot be sure.
    if !zero_scaled {
        let unlabelled = unlabelled_candidates(index, &labels, service_workloads);
        if let Some((w, key)) = unlabelled.first() {
            let o = index.object(*w);
            severity = Severity::Warning;
            message.push_str(&format!(
                " (but {} `{}/{}` has no `{key}` label in these files)",
                o.meta.kind.as_str(),
                o.meta.namespace,
                o.meta.name()
            ));
            help = format!(
                "{} `{}/{}` has no `{key}` label; if one is added outside these files (`kubectl label`, kustomize, Helm) the subset may match, otherwise: {}",
                o.meta.kind.as_str(),
                o.meta.namespace,
                o.meta.name(),
                lower_first(&help)
            );
        }
    }
    for u in uses {
        let text = match u.share {
            Some(p) => format!(
                "route `{}` of `{}` sends {} here",
                u.route,
                u.vs,
                percent(p)
            ),
            None if u.mirror => format!("route `{}` of `{}` mirrors requests here", u.route, u.vs),
            None => format!("route `{}` of `{}` gives it weight 0", u.route, u.vs),
        };
        related.push((u.file, u.span, text));
    }
    if severity == Severity::Error {
        help.push_str(" Until then, requests routed to it fail with 503 (no healthy upstream).");
    }
    let (span, path, label) = if subset.labels.map.is_empty() {
        (
            name.span,
            format!("{}/name", subset.path),
            "selects no running pod",
        )
    } else if zero_scaled {
        (
            subset.labels.span,
            format!("{}/labels", subset.path),
            "selects only workloads scaled to zero",
        )
    } else {
        (
            subset.labels.span,
            format!("{}/labels", subset.path),
            "matches no workload",
        )
    };
    let mut d = Diagnostic::new(&SubsetWithoutWorkloads::META, meta.file, span, message)
        .severity(severity)
        .label(label)
        .help(help.trim().to_owned());
    for (file, span, text) in related {
        d = d.related(file, span, text);
    }
    Some(d.object(meta).path(path))
}

/// Workloads behind the Service that have every subset label they carry a key
/// for, but miss at least one key, with the first missing key.
fn unlabelled_candidates(
    index: &Index,
    labels: &Labels,
    service_workloads: &[ObjId],
) -> Vec<(ObjId, String)> {
    service_workloads
        .iter()
        .filter_map(|w| {
            let Spec::Workload(wl) = &index.object(*w).spec else {
                return None;
            };
            let pod = &wl.pod_labels.map;
            let conflicts = labels
                .map
                .iter()
                .any(|(k, v)| pod.get(k).is_some_and(|p| p != v));
            let missing = labels.map.keys().find(|k| !pod.contains_key(k))?;
            (!conflicts).then(|| (*w, missing.clone()))
        })
        .collect()
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn dr_host(dr: &Object) -> Option<String> {
    match &dr.spec {
        Spec::DestinationRule(r) => r.host.as_ref().map(|h| h.value.clone()),
        _ => None,
    }
}

type Related = Vec<(FileId, Span, String)>;

/// Why a subset selects workloads that are all scaled to zero.
fn zero_scaled_reason(index: &Index, workloads: &[ObjId]) -> (String, String, Related) {
    let mut related = Vec::new();
    let mut names = Vec::new();
    for w in workloads {
        let o = index.object(*w);
        names.push(format!(
            "{} `{}/{}`",
            o.meta.kind.as_str(),
            o.meta.namespace,
            o.meta.name()
        ));
        let scaler = index.related_to(*w, Relation::Scales).first().copied();
        match scaler.map(|s| (s, &index.object(s).spec)) {
            Some((s, Spec::Autoscaler(a))) => {
                let m = &index.object(s).meta;
                let span = a.min_replicas.as_ref().map_or(m.anchor(), |r| r.span);
                related.push((
                    m.file,
                    span,
                    "the autoscaler keeps it at zero pods".to_owned(),
                ));
            }
            _ => {
                if let Spec::Workload(wl) = &o.spec {
                    let span = wl
                        .replicas
                        .as_ref()
                        .filter(|_| !wl.replicas_defaulted)
                        .map_or(o.meta.anchor(), |r| r.span);
                    related.push((o.meta.file, span, "scaled to zero here".to_owned()));
                }
            }
        }
    }
    let list = match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    (
        format!(
            "has no running pods: {list} {} zero replicas",
            if names.len() == 1 { "runs" } else { "run" }
        ),
        "Scale the subset's workload up before routing to the subset, or remove the subset."
            .to_owned(),
        related,
    )
}

/// Why a subset's labels select no workload of the Service.
fn no_match_reason(
    index: &Index,
    labels: &Labels,
    services: &[ObjId],
    service_workloads: &[ObjId],
    service_name: &str,
) -> (String, String, Related) {
    let mut related: Related = Vec::new();
    // A label that contradicts the Service selector can never match.
    for id in services {
        let o = index.object(*id);
        if let Spec::Service(svc) = &o.spec
            && let Some(sel) = &svc.selector
            && let Some((k, v)) = labels
                .map
                .iter()
                .find(|(k, v)| sel.map.get(k).is_some_and(|s| s != *v))
        {
            let s = sel.map.get(k).map_or("", String::as_str);
            related.push((
                o.meta.file,
                sel.span,
                "the Service selector is here".to_owned(),
            ));
            return (
                format!(
                    "selects no pods: its label `{k}={v}` contradicts the selector `{k}={s}` of Service `{service_name}`"
                ),
                format!(
                    "Remove `{k}` from the subset labels, or point the DestinationRule at the Service whose pods have `{k}={v}`."
                ),
                related,
            );
        }
    }
    // Label values the Service's workloads have, by key.
    let mut have: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for w in service_workloads {
        if let Spec::Workload(wl) = &index.object(*w).spec {
            for (k, v) in &wl.pod_labels.map {
                have.entry(k).or_default().insert(v);
            }
        }
    }
    let culprit = labels.map.iter().find(|(k, v)| {
        !have
            .get(k.as_str())
            .is_some_and(|vals| vals.contains(v.as_str()))
    });
    let n = service_workloads.len();
    let behind = if n == 1 {
        format!("the workload behind Service `{service_name}`")
    } else {
        format!("any of the {n} workloads behind Service `{service_name}`")
    };
    match culprit {
        Some((k, v)) => {
            let (hint, values) = match have.get(k.as_str()) {
                Some(vals) => {
                    let list: Vec<&str> = vals.iter().copied().collect();
                    // `v1` and `v2` are different versions, not a typo of each other.
                    let digits = |t: &str| {
                        t.chars()
                            .filter(|c| !c.is_ascii_digit())
                            .collect::<String>()
                    };
                    let hint = closest(v, list.iter().copied().filter(|c| digits(c) != digits(v)))
                        .map(|c| format!("Did you mean `{k}: {c}`? "))
                        .unwrap_or_default();
                    (
                        hint,
                        format!(
                            "The workloads behind `{service_name}` have `{k}` {}.",
                            backtick_list(&list, "or")
                        ),
                    )
                }
                None => (
                    String::new(),
                    format!("No workload behind `{service_name}` has a `{k}` label."),
                ),
            };
            (
                format!("selects no pods: no pod of {behind} has `{k}={v}`"),
                format!(
                    "{hint}{values} Give the subset labels that its pods carry, or deploy its pods."
                ),
                related,
            )
        }
        None => {
            // The workloads that come closest: those with at least one of the labels.
            let near: Vec<ObjId> = service_workloads
                .iter()
                .copied()
                .filter(|w| match &index.object(*w).spec {
                    Spec::Workload(wl) => labels
                        .map
                        .iter()
                        .any(|(k, v)| wl.pod_labels.map.get(k) == Some(v)),
                    _ => false,
                })
                .collect();
            relate_workloads(index, &near, &mut related);
            (
                format!(
                    "selects no pods: no single workload behind Service `{service_name}` has all of `{}`",
                    labels.render()
                ),
                "Give the subset labels that one workload's pods all carry, or deploy its pods."
                    .to_owned(),
                related,
            )
        }
    }
}

/// Points at the pod labels of (at most three of) the Service's workloads.
fn relate_workloads(index: &Index, workloads: &[ObjId], related: &mut Related) {
    for w in workloads.iter().take(3) {
        let o = index.object(*w);
        if let Spec::Workload(wl) = &o.spec {
            related.push((
                o.meta.file,
                wl.pod_labels.span,
                format!(
                    "pod labels of {} `{}/{}`",
                    o.meta.kind.as_str(),
                    o.meta.namespace,
                    o.meta.name()
                ),
            ));
        }
    }
}
