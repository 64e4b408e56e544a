use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId, Relation};
use crate::model::{Labels, Spec, Workload};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::{backtick_list, closest, plural};

declare_rule! {
    /// Flags a Gateway whose `selector` matches the pod labels of no workload in
    /// the analysed files, when those files deploy gateway workloads at all.
    ///
    /// Istio applies a Gateway to the gateway proxies whose pod labels include
    /// every label of its `selector`, looked up in all namespaces (only in the
    /// Gateway's own namespace when istiod runs with
    /// `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true`, which meshvet does not model). An
    /// empty selector applies to every gateway proxy and is never reported.
    ///
    /// Gateway deployments often live outside the repository that holds the
    /// Gateway (installed by `istioctl`, a Helm chart, or a platform team), so the
    /// rule stays silent unless the analysed files contain gateway workloads: a
    /// workload whose pod labels carry `istio` with a value containing `gateway`
    /// (`ingressgateway`, `egressgateway`, `eastwestgateway`),
    /// `gateway.istio.io/managed` or `gateway.networking.k8s.io/gateway-name`; a
    /// workload whose pod template asks for Istio's `gateway` injection template
    /// (annotation `inject.istio.io/templates: gateway`); or a workload that
    /// another Gateway's selector matches.
    ///
    /// ## Why is this bad?
    /// No proxy receives the Gateway's servers: its ports are not opened, and
    /// every VirtualService bound to it gets no traffic through it. A typo in the
    /// selector (`ingresgateway`) silently takes an entry point offline.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: istio-ingressgateway, namespace: istio-ingress}
    /// spec:
    ///   selector: {matchLabels: {istio: ingressgateway}}
    ///   template:
    ///     metadata: {labels: {istio: ingressgateway}}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: public, namespace: istio-ingress}
    /// spec:
    ///   selector: {istio: ingresgateway}
    ///   servers:
    ///   - port: {number: 80, name: http, protocol: HTTP}
    ///     hosts: ["*/shop.example.com"]
    /// ```
    /// Use instead: `selector: {istio: ingressgateway}`, the labels of the gateway
    /// pods.
    pub GatewaySelectorNoWorkload {
        name: "gateway-selector-no-workload",
        severity: Warning,
        kinds: [Gateway],
        upstream: ["IST0101", "KIA0302"],
    }
}

/// True for a workload whose pods are an Istio gateway proxy, going by their
/// labels or by the injection template they ask for.
fn is_gateway_workload(w: &Workload) -> bool {
    let labels = &w.pod_labels.map;
    w.gateway_injection
        || labels.get("istio").is_some_and(|v| v.contains("gateway"))
        || labels.contains_key("gateway.istio.io/managed")
        || labels.contains_key("gateway.networking.k8s.io/gateway-name")
}

impl Rule for GatewaySelectorNoWorkload {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        // Label values of every workload, by key, for "did you mean"; and the
        // gateway-like workloads.
        let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut gateway_workloads: Vec<ObjId> = Vec::new();
        for (id, object) in index.objects().iter().enumerate() {
            if let Spec::Workload(w) = &object.spec {
                for (k, v) in &w.pod_labels.map {
                    values.entry(k).or_default().insert(v);
                }
                if is_gateway_workload(w) {
                    gateway_workloads.push(id);
                }
            }
        }
        let mut unmatched = Vec::new();
        let mut any_matched = false;
        for (id, object) in index.objects().iter().enumerate() {
            if let Spec::Gateway(g) = &object.spec
                && !g.selector.map.is_empty()
            {
                if index.workloads_matching_anywhere(&g.selector).is_empty() {
                    unmatched.push(id);
                } else {
                    any_matched = true;
                }
            }
        }
        if gateway_workloads.is_empty() && !any_matched {
            return;
        }
        for id in unmatched {
            let object = index.object(id);
            let Spec::Gateway(g) = &object.spec else {
                continue;
            };
            out.push(diagnose(
                index,
                id,
                &g.selector,
                &values,
                &gateway_workloads,
            ));
        }
    }
}

fn diagnose(
    index: &Index,
    id: ObjId,
    selector: &Labels,
    values: &BTreeMap<&str, BTreeSet<&str>>,
    gateway_workloads: &[ObjId],
) -> Diagnostic {
    let object = index.object(id);
    let meta = &object.meta;
    let bound = index.related_to(id, Relation::BindsTo);
    let consequence = match bound.as_slice() {
        [] => "no proxy serves its servers".to_owned(),
        [one] => {
            let m = &index.object(*one).meta;
            format!(
                "no proxy serves its servers, and VirtualService `{}/{}` bound to it gets no traffic through it",
                m.namespace,
                m.name()
            )
        }
        many => format!(
            "no proxy serves its servers, and the {} bound to it get no traffic through it",
            plural(many.len(), "VirtualService")
        ),
    };
    let message = format!(
        "selector `{}` matches no workload in the analysed files: {consequence}",
        selector.render()
    );
    // A corrected selector: each label whose value no workload has, replaced by
    // the closest value some workload has for that key.
    let mut corrected = selector.clone();
    let mut changed = false;
    let mut missing_keys = Vec::new();
    for (k, v) in &selector.map {
        match values.get(k.as_str()) {
            Some(vals) if vals.contains(v.as_str()) => {}
            Some(vals) => {
                // `egressgateway` is not a typo of `ingressgateway`: never swap directions.
                let same_direction = |c: &&str| c.contains("egress") == v.contains("egress");
                if let Some(c) = closest(v, vals.iter().copied().filter(same_direction)) {
                    corrected.map.insert(k.clone(), c.to_owned());
                    changed = true;
                }
            }
            None => missing_keys.push(k.as_str()),
        }
    }
    let suggestion = if changed && missing_keys.is_empty() {
        let hits = index.workloads_matching_anywhere(&corrected);
        hits.first().map(|w| (corrected.render(), *w))
    } else {
        None
    };
    let mut d = Diagnostic::new(
        &GatewaySelectorNoWorkload::META,
        meta.file,
        selector.span,
        message,
    )
    .label("matches no workload");
    let help = match suggestion {
        Some((labels, w)) => {
            let wm = &index.object(w).meta;
            if let Spec::Workload(wl) = &index.object(w).spec {
                d = d.related(
                    wm.file,
                    wl.pod_labels.span,
                    format!(
                        "pods of {} `{}/{}` have these labels",
                        wm.kind.as_str(),
                        wm.namespace,
                        wm.name()
                    ),
                );
            }
            format!(
                "Did you mean `{labels}`? It selects {} `{}/{}`.",
                wm.kind.as_str(),
                wm.namespace,
                wm.name()
            )
        }
        None => {
            let known: Vec<String> = gateway_workloads
                .iter()
                .take(3)
                .filter_map(|w| {
                    let o = index.object(*w);
                    match &o.spec {
                        Spec::Workload(wl) => Some(format!(
                            "{}/{} ({})",
                            o.meta.namespace,
                            o.meta.name(),
                            wl.pod_labels.render()
                        )),
                        _ => None,
                    }
                })
                .collect();
            if known.is_empty() {
                "Make the selector match the pod labels of the gateway Deployment that should serve this Gateway.".to_owned()
            } else {
                format!(
                    "Make the selector match the pod labels of the gateway Deployment that should serve this Gateway; gateway workloads in the analysed files: {}.",
                    backtick_list(&known, "and")
                )
            }
        }
    };
    d.help(help).object(meta).path(meta.path("/spec/selector"))
}
