use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{
    DestinationRule, Object, OutlierDetection, Spec, Subset, TrafficPolicy, cluster_field,
};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::source::{FileId, Span};

declare_rule! {
    /// Flags outlier detection that can never eject a host because
    /// `maxEjectionPercent` of the cluster's endpoint count rounds down to zero.
    ///
    /// Envoy (1.28 and later, so Istio 1.20 and later) ejects a host only while
    /// `100 × (ejected + 1) / hosts ≤ maxEjectionPercent`, so at most
    /// ⌊hosts × maxEjectionPercent / 100⌋ hosts; Istio never sets
    /// `always_eject_one_host`. The default is 10%, and `maxEjectionPercent: 0`
    /// also means 10% (Istio only passes values above zero).
    ///
    /// Every Envoy cluster is checked on its own: the host's cluster with all
    /// the Service's endpoints, and one per subset with the endpoints that match
    /// the Service selector and the subset labels. Endpoints are the replicas of
    /// the selected workloads, or the `minReplicas` of a HorizontalPodAutoscaler
    /// that scales one (the fewest pods it runs with). A subset cluster gets its
    /// outlier settings as istiod merges them: the subset's `outlierDetection`
    /// replaces the top-level block as a whole (fields are not merged, so a
    /// subset block without `maxEjectionPercent` gets 10%), and a
    /// `portLevelSettings` entry replaces the policy of its port. Nothing is
    /// reported when the endpoint count is unknown (no Service with a selector,
    /// a DaemonSet) or zero, or when `istio-version` is older than 1.20 (the
    /// first host was then always ejectable).
    ///
    /// ## Why is this bad?
    /// The author expects a failing pod to be taken out of rotation. With 4
    /// pods and the default 10%, Envoy counts the errors, decides to eject, and
    /// then refuses because one ejection would exceed 10%: the failing pod keeps
    /// getting its share of requests. Each subset is its own cluster, so a
    /// 2-pod canary next to a 20-pod stable version is where this bites.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     outlierDetection:
    ///       consecutive5xxErrors: 5
    ///   subsets:
    ///   - {name: v1, labels: {version: v1}}   # a Deployment with 4 replicas
    /// ```
    /// Use instead: `maxEjectionPercent: 25` (⌈100 / 4⌉) or more, so one of the
    /// 4 pods can be ejected.
    pub ZeroEjectionCap {
        name: "zero-ejection-cap",
        severity: Warning,
        kinds: [DestinationRule],
        upstream: [],
    }
}

/// One Envoy cluster built from a DestinationRule, with its endpoint count.
#[derive(Debug, Clone)]
pub(crate) struct ClusterPods<'a> {
    /// The subset, or `None` for the host's own cluster.
    pub subset: Option<&'a Subset>,
    /// Endpoints: pods of the selected workloads (at least 1).
    pub pods: i64,
    /// The selected workloads.
    pub workloads: Vec<ObjId>,
    /// The port, when the block is a `portLevelSettings` entry's.
    pub port: Option<i64>,
}

impl ClusterPods<'_> {
    /// "subset `v1` of `reviews`", "`reviews`", "... on port `9090`".
    pub fn describe(&self, host: &str) -> String {
        let what = match self.subset.and_then(|s| s.name.as_ref()) {
            Some(n) => format!("subset `{}` of `{host}`", n.value),
            None => format!("`{host}`"),
        };
        match self.port {
            Some(p) => format!("{what} on port `{p}`"),
            None => what,
        }
    }

    /// Like [`ClusterPods::describe`], saying "without a subset" for the host's
    /// own cluster when subsets are being compared with it.
    pub fn describe_among_subsets(&self, host: &str) -> String {
        if self.subset.is_none() {
            let what = format!("`{host}` without a subset");
            match self.port {
                Some(p) => format!("{what} on port `{p}`"),
                None => what,
            }
        } else {
            self.describe(host)
        }
    }
}

/// The outlier detection blocks of a DestinationRule that some cluster uses,
/// each with the clusters that use it and have a known, non-zero endpoint count.
/// Blocks come in document order; clusters with the fewest endpoints first.
pub(crate) fn outlier_clusters<'a>(
    index: &Index,
    object: &Object,
    dr: &'a DestinationRule,
) -> Vec<(&'a OutlierDetection, Vec<ClusterPods<'a>>)> {
    let Some(host) = &dr.host else {
        return Vec::new();
    };
    let resolved = index.resolve_host(&host.value, &object.meta.namespace);
    if crate::host::is_wildcard(&resolved) {
        return Vec::new();
    }
    let mut ports: Vec<Option<i64>> = Vec::new();
    for id in index.services(&resolved) {
        if let Spec::Service(svc) = &index.object(*id).spec {
            for p in svc.ports.iter().filter_map(|p| p.port.as_ref()) {
                if !ports.contains(&Some(p.value)) {
                    ports.push(Some(p.value));
                }
            }
        }
    }
    if ports.is_empty() {
        ports.push(None);
    }
    let top = dr.traffic_policy.as_deref();
    let clusters = std::iter::once(None).chain(dr.subsets.iter().map(Some));
    let mut out: Vec<(&'a OutlierDetection, Vec<ClusterPods<'a>>)> = Vec::new();
    for subset in clusters {
        let sub_policy: Option<&'a TrafficPolicy> =
            subset.and_then(|s| s.traffic_policy.as_deref());
        let mut blocks: Vec<(&'a OutlierDetection, Option<i64>)> = Vec::new();
        for port in &ports {
            if let Some(od) =
                cluster_field(top, sub_policy, *port, |p| p.outlier_detection.as_deref())
                && !blocks.iter().any(|(b, _)| std::ptr::eq(*b, od))
            {
                let port_level = od.path.contains("/portLevelSettings/");
                blocks.push((od, if port_level { *port } else { None }));
            }
        }
        if blocks.is_empty() {
            continue;
        }
        let Some(endpoints) = index.endpoints(&resolved, subset.map(|s| &s.labels)) else {
            continue;
        };
        let Some(pods) = endpoints.pods.filter(|n| *n >= 1) else {
            continue;
        };
        for (od, port) in blocks {
            let cluster = ClusterPods {
                subset,
                pods,
                workloads: endpoints.workloads.clone(),
                port,
            };
            match out.iter_mut().find(|(b, _)| std::ptr::eq(*b, od)) {
                Some((_, list)) => list.push(cluster),
                None => out.push((od, vec![cluster])),
            }
        }
    }
    for (_, list) in &mut out {
        list.sort_by_key(|c| c.pods);
    }
    out.sort_by_key(|(od, _)| od.span.start);
    out
}

/// Where a workload's pod count comes from, for a related note: the autoscaler's
/// `minReplicas`, or the workload's `replicas` (its name when defaulted).
pub(crate) fn pods_note(index: &Index, workload: ObjId) -> Option<(FileId, Span, String)> {
    let object = index.object(workload);
    let pods = index.pods_of(workload)?;
    let name = object.meta.name();
    let scalers = index.related_to(workload, crate::index::Relation::Scales);
    if let Some(hpa) = scalers.first() {
        let hpa_object = index.object(*hpa);
        if let Spec::Autoscaler(a) = &hpa_object.spec {
            let span = a
                .min_replicas
                .as_ref()
                .map_or(hpa_object.meta.anchor(), |m| m.span);
            return Some((
                hpa_object.meta.file,
                span,
                format!("the autoscaler of `{name}` allows as few as `{pods}` pods"),
            ));
        }
    }
    let span = match &object.spec {
        Spec::Workload(w) if !w.replicas_defaulted => {
            w.replicas.as_ref().map_or(object.meta.anchor(), |r| r.span)
        }
        _ => object.meta.anchor(),
    };
    let word = if pods == 1 { "pod" } else { "pods" };
    Some((
        object.meta.file,
        span,
        format!("`{name}` runs `{pods}` {word}"),
    ))
}

/// Up to this many workloads get a related note.
const NOTES: usize = 3;

impl Rule for ZeroEjectionCap {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        if index.settings().istio_before(1, 20) {
            return;
        }
        for object in index.objects() {
            let Spec::DestinationRule(dr) = &object.spec else {
                continue;
            };
            let host = dr.host.as_ref().map_or("", |h| h.value.as_str());
            for (od, clusters) in outlier_clusters(index, object, dr) {
                check_block(index, object, host, od, &clusters, out);
            }
        }
    }
}

fn check_block(
    index: &Index,
    object: &Object,
    host: &str,
    od: &OutlierDetection,
    clusters: &[ClusterPods<'_>],
    out: &mut Vec<Diagnostic>,
) {
    let written = od.max_ejection_percent.as_ref();
    let percent = match written.map(|m| m.value) {
        None | Some(0) => 10,
        Some(p) if (1..=100).contains(&p) => p,
        // Out of range: rejected by validation, not this rule's business.
        Some(_) => return,
    };
    let failing: Vec<&ClusterPods<'_>> = clusters
        .iter()
        .filter(|c| c.pods.saturating_mul(percent) / 100 == 0)
        .collect();
    let Some(worst) = failing.first() else {
        return;
    };
    let n = worst.pods;
    let what = worst.describe(host);
    let endpoints = if n == 1 { "endpoint" } else { "endpoints" };
    let arithmetic = format!("⌊{n} × {percent} / 100⌋ = 0");
    let mut message = match written {
        Some(m) if m.value > 0 => format!(
            "outlier detection never ejects a host: {what} has `{n}` {endpoints} and `maxEjectionPercent: {percent}` allows {arithmetic} ejections"
        ),
        Some(_) => format!(
            "outlier detection never ejects a host: `maxEjectionPercent: 0` means the default of 10%, and {what} has `{n}` {endpoints}, which allows {arithmetic} ejections"
        ),
        None => format!(
            "outlier detection never ejects a host: {what} has `{n}` {endpoints} and the default `maxEjectionPercent` of 10% allows {arithmetic} ejections"
        ),
    };
    let others: Vec<String> = failing[1..]
        .iter()
        .map(|c| {
            format!(
                "{} (`{}` endpoints)",
                c.describe_among_subsets(host),
                c.pods
            )
        })
        .collect();
    if !others.is_empty() {
        message.push_str(&format!("; the same holds for {}", others.join(", ")));
    }
    let help = if n == 1 {
        "With a single endpoint, ejecting it leaves nothing to send requests to: run at least 2 replicas and set `maxEjectionPercent` to at least `50`, or leave outlier detection out for this cluster.".to_owned()
    } else {
        // ⌈100 / n⌉ for n ≥ 1.
        let needed = 99 / n + 1;
        format!(
            "Set `maxEjectionPercent` to at least `{needed}` (⌈100 / {n}⌉) so that one of the {n} endpoints can be ejected."
        )
    };
    let (span, path, label) = match written {
        Some(m) => (
            m.span,
            format!("{}/maxEjectionPercent", od.path),
            format!("at most {arithmetic} of {n} ejected"),
        ),
        None => (
            od.key_span,
            od.path.clone(),
            "default `maxEjectionPercent: 10`".to_owned(),
        ),
    };
    let mut d = Diagnostic::new(&ZeroEjectionCap::META, object.meta.file, span, message)
        .label(label)
        .help(help)
        .object(&object.meta)
        .path(path);
    for w in worst.workloads.iter().take(NOTES) {
        if let Some((file, span, note)) = pods_note(index, *w) {
            d = d.related(file, span, note);
        }
    }
    out.push(d);
}
