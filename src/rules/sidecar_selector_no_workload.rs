use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{Labels, Object, Spec};
use crate::report::Diagnostic;
use crate::rules::host_refs::namespace_is_known;
use crate::rules::{Rule, RuleMeta};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags a Sidecar whose `workloadSelector.labels` match the pod labels of
    /// no workload in the Sidecar's own namespace.
    ///
    /// Istio applies a Sidecar with a selector to the pods of its namespace
    /// whose labels include every label of the selector; a workload of another
    /// namespace is never selected, whatever its labels. Workloads are the pod
    /// templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
    /// CronJobs, Argo Rollouts and DeploymentConfigs, and bare Pods.
    ///
    /// Workloads often live in another repository than their mesh
    /// configuration, so the rule stays silent for a namespace that has no
    /// workload at all in the analysed files, unless a workload of another
    /// namespace has the selected labels (the Sidecar is then most likely in the
    /// wrong namespace). A workload that names no namespace (applied with
    /// `kubectl apply -n`) may be applied to any, so one with the selected
    /// labels silences the rule. A Sidecar without selector, or with empty labels,
    /// applies to the whole namespace and is never reported here.
    ///
    /// Differences from upstream: istioctl (IST0101) and Kiali (KIA0004) also
    /// report a selector in a namespace whose workloads they cannot see; meshvet
    /// only knows the analysed files and stays silent there.
    ///
    /// ## Why is this bad?
    /// No proxy uses the Sidecar. The workloads it was written for fall back to
    /// the namespace's Sidecar without selector, or the root namespace's, or
    /// Istio's default (every service of the mesh on every port): the egress
    /// restrictions, ingress listeners and outbound traffic policy it sets are
    /// silently not in force.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: ratings, namespace: shop}
    /// spec:
    ///   selector: {matchLabels: {app: ratings}}
    ///   template:
    ///     metadata: {labels: {app: ratings, version: v1}}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: ratings, namespace: shop}
    /// spec:
    ///   workloadSelector:
    ///     labels: {app: rating}
    ///   egress:
    ///   - hosts: ["./*", "istio-system/*"]
    /// ```
    /// Use instead: `labels: {app: ratings}`, the pod labels of the workload the
    /// Sidecar is for.
    pub SidecarSelectorNoWorkload {
        name: "sidecar-selector-no-workload",
        severity: Warning,
        kinds: [Sidecar],
        upstream: ["IST0101", "KIA0004"],
    }
}

impl Rule for SidecarSelectorNoWorkload {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        // Pod label values by (namespace, key), for "did you mean".
        let mut values: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        let mut populated: BTreeSet<&str> = BTreeSet::new();
        for object in index.objects() {
            if let Spec::Workload(w) = &object.spec {
                let ns = object.meta.namespace.as_str();
                populated.insert(ns);
                for (k, v) in &w.pod_labels.map {
                    values
                        .entry((ns, k.as_str()))
                        .or_default()
                        .insert(v.as_str());
                }
            }
        }
        for object in index.objects() {
            let Spec::Sidecar(sc) = &object.spec else {
                continue;
            };
            let Some(selector) = sc.workload_selector.as_ref().filter(|s| !s.map.is_empty()) else {
                continue;
            };
            let ns = object.meta.namespace.as_str();
            if !index.workloads_matching(ns, selector).is_empty() {
                continue;
            }
            // A workload that names no namespace can be applied to this one.
            let (floating, elsewhere): (Vec<ObjId>, Vec<ObjId>) = index
                .workloads_matching_anywhere(selector)
                .into_iter()
                .partition(|w| !namespace_is_known(index, &index.object(*w).meta));
            if !floating.is_empty() || (elsewhere.is_empty() && !populated.contains(ns)) {
                continue;
            }
            out.push(diagnose(index, object, selector, &elsewhere, &values));
        }
    }
}

fn workload_name(object: &Object) -> String {
    format!(
        "{} `{}/{}`",
        object.meta.kind.as_str(),
        object.meta.namespace,
        object.meta.name()
    )
}

fn diagnose(
    index: &Index,
    object: &Object,
    selector: &Labels,
    elsewhere: &[ObjId],
    values: &BTreeMap<(&str, &str), BTreeSet<&str>>,
) -> Diagnostic {
    let meta = &object.meta;
    let ns = meta.namespace.as_str();
    let mut d = Diagnostic::new(
        &SidecarSelectorNoWorkload::META,
        meta.file,
        selector.span,
        format!(
            "workload selector `{}` matches no workload in namespace `{ns}`, so no proxy uses this Sidecar",
            selector.render()
        ),
    )
    .label("matches no workload");
    let help = if elsewhere.is_empty() {
        // A corrected selector: each value no workload of the namespace has,
        // replaced by the closest value one has for that key.
        let mut corrected = selector.clone();
        let mut complete = true;
        for (k, v) in &selector.map {
            match values.get(&(ns, k.as_str())) {
                Some(vals) if vals.contains(v.as_str()) => {}
                Some(vals) => match closest(v, vals.iter().copied()) {
                    Some(c) => {
                        corrected.map.insert(k.clone(), c.to_owned());
                    }
                    None => complete = false,
                },
                None => complete = false,
            }
        }
        let hit = complete
            .then(|| index.workloads_matching(ns, &corrected))
            .and_then(|w| w.first().copied());
        match hit {
            Some(w) => {
                let wo = index.object(w);
                if let Spec::Workload(wl) = &wo.spec {
                    d = d.related(
                        wo.meta.file,
                        wl.pod_labels.span,
                        format!("pods of {} have these labels", workload_name(wo)),
                    );
                }
                format!(
                    "Did you mean `{}`? It selects {}.",
                    corrected.render(),
                    workload_name(wo)
                )
            }
            None => format!(
                "Make the selector match the pod labels of the workloads in namespace `{ns}` this Sidecar is for, or remove it to apply the Sidecar to the whole namespace."
            ),
        }
    } else {
        let mut names = Vec::new();
        let mut namespaces = BTreeSet::new();
        for w in elsewhere.iter().take(3) {
            let wo = index.object(*w);
            names.push(workload_name(wo));
            namespaces.insert(wo.meta.namespace.as_str());
            if let Spec::Workload(wl) = &wo.spec {
                d = d.related(
                    wo.meta.file,
                    wl.pod_labels.span,
                    format!(
                        "pods of {} match, but a Sidecar applies only in its own namespace",
                        workload_name(wo)
                    ),
                );
            }
        }
        let more = if elsewhere.len() > names.len() {
            ", …"
        } else {
            ""
        };
        let namespaces: Vec<&str> = namespaces.into_iter().collect();
        format!(
            "The selector matches {}{more}; a Sidecar selects workloads only in its own namespace, so create it in namespace {} instead.",
            names.join(", "),
            backtick_list(&namespaces, "or")
        )
    };
    d.help(help)
        .object(meta)
        .path(meta.path("/spec/workloadSelector/labels"))
}
