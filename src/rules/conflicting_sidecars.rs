use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{Object, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::{backtick_list, plural};

const NAMESPACE_WIDE: &[&str] = &["IST0111", "KIA0002"];
const SAME_WORKLOAD: &[&str] = &["IST0110", "KIA0003"];

declare_rule! {
    /// Flags Sidecars that compete for the same proxies: two or more Sidecars
    /// without workload selector (or with empty `labels`) in one namespace, and
    /// a workload whose pod labels match the selectors of two or more Sidecars
    /// of its namespace.
    ///
    /// A proxy uses exactly one Sidecar. istiod sorts the Sidecars by creation
    /// time (then by name), puts those with a `workloadSelector` before those
    /// without, and gives each proxy the first one of its namespace that selects
    /// it. Which of two competing Sidecars wins therefore depends on the order
    /// they were applied in, which nothing in the repository fixes. Each
    /// Sidecar involved is reported, with the others as related locations; a
    /// workload conflict names the workloads. Sidecars that are never applied
    /// together (different kustomize overlays, or files without
    /// `metadata.namespace`) are not compared, and two copies of one Sidecar
    /// (same name) are `duplicate-object`'s finding.
    ///
    /// A namespace labelled `istio.io/dataplane-mode: ambient` (without
    /// `istio-injection: enabled` or an `istio.io/rev` label) runs no sidecars,
    /// so its Sidecars have no effect at all (istioctl's IST0167); meshvet does
    /// not report conflicts there, and does not report that finding either.
    ///
    /// Differences from upstream: Kiali (KIA0002) only compares selector-less
    /// Sidecars of namespaces that run workloads, and (KIA0003) matches
    /// selectors against workloads of every namespace; istioctl (IST0110)
    /// matches running pods. meshvet compares the Sidecars whatever the
    /// namespace holds, and matches selectors against the pod templates of the
    /// Sidecar's own namespace, as istiod does.
    ///
    /// ## Why is this bad?
    /// Only one of the Sidecars takes effect; the other is silently ignored for
    /// the proxies they share. Egress restrictions, ingress listeners or the
    /// outbound traffic policy can change on a re-apply or a cluster rebuild,
    /// when the creation order changes.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: shop}
    /// spec:
    ///   egress:
    ///   - hosts: ["./*", "istio-system/*"]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: restrict-egress, namespace: shop}
    /// spec:
    ///   outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    /// ```
    /// Use instead: one Sidecar without selector per namespace (merge the two),
    /// and a `workloadSelector` on every other Sidecar, each selecting distinct
    /// workloads.
    pub ConflictingSidecars {
        name: "conflicting-sidecars",
        severity: Error,
        kinds: [Sidecar],
        upstream: ["IST0110", "IST0111", "KIA0002", "KIA0003"],
    }
}

impl Rule for ConflictingSidecars {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let ambient: BTreeSet<&str> = index
            .objects()
            .iter()
            .filter(|o| matches!(o.spec, Spec::Namespace) && is_ambient(o))
            .map(|o| o.meta.name())
            .collect();
        // Namespace-wide Sidecars by namespace; and for each workload, the
        // Sidecars of its namespace whose selectors match it.
        let mut wide: BTreeMap<&str, Vec<ObjId>> = BTreeMap::new();
        let mut by_workload: BTreeMap<ObjId, Vec<ObjId>> = BTreeMap::new();
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::Sidecar(sc) = &object.spec else {
                continue;
            };
            let ns = object.meta.namespace.as_str();
            if ambient.contains(ns) {
                continue;
            }
            match &sc.workload_selector {
                Some(sel) if !sel.map.is_empty() => {
                    for w in index.workloads_matching(ns, sel) {
                        if index.object(w).meta.applied_with(&object.meta) {
                            by_workload.entry(w).or_default().push(id);
                        }
                    }
                }
                _ => wide.entry(ns).or_default().push(id),
            }
        }
        for (ns, ids) in &wide {
            for &id in ids {
                let object = index.object(id);
                let others = rivals(index, object, ids);
                if !others.is_empty() {
                    out.push(namespace_wide(index, object, ns, &others));
                }
            }
        }
        // Per Sidecar: the workloads it shares, and with which Sidecars.
        let mut shared: BTreeMap<ObjId, (Vec<ObjId>, BTreeSet<ObjId>)> = BTreeMap::new();
        for (w, ids) in &by_workload {
            if ids.len() < 2 {
                continue;
            }
            for &id in ids {
                let others = rivals(index, index.object(id), ids);
                if others.is_empty() {
                    continue;
                }
                let entry = shared.entry(id).or_default();
                entry.0.push(*w);
                entry.1.extend(others);
            }
        }
        for (id, (workloads, others)) in shared {
            out.push(same_workload(index, id, &workloads, &others));
        }
    }
}

/// True for a Namespace whose pods run in ambient mode, so that Sidecars do
/// not apply there (the condition of istioctl's IST0167).
fn is_ambient(ns: &Object) -> bool {
    let labels = &ns.meta.labels.map;
    labels.get("istio.io/dataplane-mode").map(String::as_str) == Some("ambient")
        && labels.get("istio-injection").map(String::as_str) != Some("enabled")
        && labels.get("istio.io/rev").is_none_or(|r| r.is_empty())
}

/// The Sidecars of `group` other than `object` that compete with it: another
/// name, applied together with it.
fn rivals(index: &Index, object: &Object, group: &[ObjId]) -> Vec<ObjId> {
    group
        .iter()
        .copied()
        .filter(|o| {
            let other = &index.object(*o).meta;
            other.name() != object.meta.name()
                && other.applied_with(&object.meta)
                && other.applied_together(&object.meta)
        })
        .collect()
}

/// The span and path to report a Sidecar's selector at: the `workloadSelector`
/// when written, else the name.
fn selector_place(object: &Object) -> (crate::source::Span, String) {
    let meta = &object.meta;
    match &object.spec {
        Spec::Sidecar(sc) => match &sc.workload_selector {
            Some(sel) if !sel.span.is_empty() => {
                (sel.span, meta.path("/spec/workloadSelector/labels"))
            }
            _ => (meta.anchor(), meta.path("/metadata/name")),
        },
        _ => (meta.anchor(), meta.path("/metadata/name")),
    }
}

fn namespace_wide(index: &Index, object: &Object, ns: &str, others: &[ObjId]) -> Diagnostic {
    let meta = &object.meta;
    let mut names: Vec<&str> = vec![meta.name()];
    names.extend(others.iter().map(|o| index.object(*o).meta.name()));
    names.sort_unstable();
    let (span, path) = selector_place(object);
    let mut d = Diagnostic::new(
        &ConflictingSidecars::META,
        meta.file,
        span,
        format!(
            "namespace `{ns}` has {} that apply to the whole namespace ({}): istiod uses only one of them, the oldest, for every proxy there",
            plural(names.len(), "Sidecar"),
            backtick_list(&names, "and")
        ),
    )
    .label("one of several namespace-wide Sidecars");
    for o in others {
        let other = index.object(*o);
        let (span, _) = selector_place(other);
        d = d.related(
            other.meta.file,
            span,
            format!(
                "Sidecar `{}` also applies to the whole namespace",
                other.meta.name()
            ),
        );
    }
    d.upstream = NAMESPACE_WIDE;
    d.help(format!(
        "Merge them into one Sidecar without selector for namespace `{ns}`, or give the others a `workloadSelector` for the workloads they are meant for."
    ))
    .object(meta)
    .path(path)
}

fn same_workload(
    index: &Index,
    id: ObjId,
    workloads: &[ObjId],
    others: &BTreeSet<ObjId>,
) -> Diagnostic {
    let object = index.object(id);
    let meta = &object.meta;
    let shown: Vec<String> = workloads
        .iter()
        .take(3)
        .map(|w| {
            let m = &index.object(*w).meta;
            format!("{} `{}`", m.kind.as_str(), m.name())
        })
        .collect();
    let more = if workloads.len() > shown.len() {
        format!(" and {} more", workloads.len() - shown.len())
    } else {
        String::new()
    };
    let other_names: Vec<&str> = others
        .iter()
        .map(|o| index.object(*o).meta.name())
        .collect();
    let (span, path) = selector_place(object);
    let mut d = Diagnostic::new(
        &ConflictingSidecars::META,
        meta.file,
        span,
        format!(
            "this selector matches the pods of {}{more}, which {} {} also {}: istiod applies only the oldest Sidecar to them",
            shown.join(", "),
            if other_names.len() == 1 { "Sidecar" } else { "Sidecars" },
            backtick_list(&other_names, "and"),
            if other_names.len() == 1 { "selects" } else { "select" },
        ),
    )
    .label("selects workloads another Sidecar selects");
    for o in others {
        let other = index.object(*o);
        let (span, _) = selector_place(other);
        d = d.related(
            other.meta.file,
            span,
            format!("Sidecar `{}` selects them too", other.meta.name()),
        );
    }
    d.upstream = SAME_WORKLOAD;
    d.help(
        "Make the selectors select distinct workloads (add a distinguishing label such as `version`), or merge the Sidecars into one.",
    )
    .object(meta)
    .path(path)
}
