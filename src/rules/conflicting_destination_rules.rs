use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{DestinationRule, Object, SStr, Spec, Subset, TrafficPolicy};
use crate::report::{Diagnostic, Severity};
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags DestinationRules for one host in one namespace whose settings Istio
    /// silently drops when it combines them: a subset defined again, a second
    /// top-level `trafficPolicy`, or rules that are not combined at all because
    /// their `exportTo` differ.
    ///
    /// Istio orders the DestinationRules of a namespace (those with a
    /// `workloadSelector` first, then oldest, then by name) and merges those for
    /// the same host string: subsets are unioned by name and the first definition
    /// of a name wins, and the first top-level `trafficPolicy` wins whole (there
    /// is no field-by-field merge). Offline there are no creation times: meshvet
    /// assumes the rules were created together (one `kubectl apply`, one sync), in
    /// which case Istio orders them by name, and says so in each finding.
    ///
    /// - Hosts are compared after resolution and as exact strings: Istio never
    ///   merges `*.shop.svc.cluster.local` with `reviews.shop.svc.cluster.local`
    ///   (the most specific applies), nor rules of different namespaces (the
    ///   client's namespace, then the service's, then the root namespace wins).
    /// - With `ENABLE_ENHANCED_DESTINATIONRULE_MERGE` (on by default) only rules
    ///   with the same `exportTo` list are merged, compared literally: none,
    ///   `[*]` and `[.]` all differ. Rules kept apart are not combined at all: a
    ///   proxy that sees several uses only the last one, so every subset and the
    ///   policy that only the other defines are missing for it. meshvet reports
    ///   this when some namespace sees both rules.
    /// - A rule with a `workloadSelector` is private to its namespace and merged
    ///   only with rules that have the same selector. Istio uses it for the
    ///   selected workloads (filling subsets it lacks from a selector-less rule
    ///   with the same `exportTo`) and the selector-less rule for the others:
    ///   overriding is what the selector is for, so that pair is never reported.
    /// - A dropped definition identical to the one kept changes nothing today; it
    ///   is reported as info (edits to the dropped copy have no effect).
    /// - The rule whose definitions Istio keeps gets a finding too, naming the
    ///   rules that define them again (info when every copy is identical), so
    ///   that a change to either file shows the overlap.
    /// - Only rules some proxy uses count: a namespace whose Sidecar does not
    ///   import the host, or rules in a namespace no client consults for it, are
    ///   left alone.
    ///
    /// DestinationRules with the same name and namespace are one object written
    /// twice (`duplicate-object`). Objects without `metadata.namespace` are
    /// compared only with objects in the same file, since such files are applied
    /// one at a time and tutorial folders keep alternative versions side by side.
    ///
    /// Differences from upstream: Kiali (KIA0201) flags every DestinationRule of
    /// an overlapping pair, across namespaces and wildcards, whenever they share
    /// a subset name or one has no subsets, even when nothing is dropped (two
    /// rules for one host without subsets or policies, or with distinct subset
    /// names, merge cleanly; a wildcard rule next to an exact one is simply less
    /// specific); it
    /// reads `reviews.bookinfo` as the service `reviews`, and needs an exception
    /// for mesh-wide and namespace-wide `ISTIO_MUTUAL` rules (`*.local`,
    /// `*.<ns>.svc.cluster.local`), which meshvet never compares with service
    /// rules in the first place. `istioctl analyze` has no check for this.
    ///
    /// ## Why is this bad?
    /// Nothing rejects the second rule: its subset or policy just never takes
    /// effect. A circuit breaker, a TLS origination or a subset's labels written
    /// there are ignored, and which rule wins can flip when one of them is
    /// re-created.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     loadBalancer: {simple: LEAST_REQUEST}
    ///   subsets:
    ///   - {name: v1, labels: {version: v1}}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews-resilience, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     outlierDetection: {consecutive5xxErrors: 5}
    /// ```
    /// Use instead: one DestinationRule per host, or split only subsets (with
    /// distinct names) across rules and keep a single top-level `trafficPolicy`.
    pub ConflictingDestinationRules {
        name: "conflicting-destination-rules",
        severity: Warning,
        kinds: [DestinationRule],
        upstream: ["KIA0201"],
    }
}

/// A namespace name no object can have: stands for "any namespace not named in
/// the manifests".
const ELSEWHERE: &str = "*elsewhere*";

impl Rule for ConflictingDestinationRules {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut groups: BTreeMap<(String, String), Vec<ObjId>> = BTreeMap::new();
        for (id, object) in index.objects().iter().enumerate() {
            if let Some(h) = dr_of(object).and_then(|dr| dr.host.as_ref()) {
                let ns = &object.meta.namespace;
                groups
                    .entry((ns.clone(), index.resolve_host(&h.value, ns)))
                    .or_default()
                    .push(id);
            }
        }
        for ((ns, host), ids) in groups {
            if ids.len() < 2 {
                continue;
            }
            check_group(index, &ns, &host, ids, out);
        }
    }
}

fn dr_of(object: &Object) -> Option<&DestinationRule> {
    match &object.spec {
        Spec::DestinationRule(dr) => Some(dr),
        _ => None,
    }
}

fn shown(object: &Object) -> String {
    format!("`{}/{}`", object.meta.namespace, object.meta.name())
}

/// The `exportTo` set Istio merges by: as written, except that a rule with a
/// workload selector is always private.
fn export_set(dr: &DestinationRule) -> BTreeSet<&str> {
    if dr.workload_selector.is_some() {
        return BTreeSet::from(["."]);
    }
    dr.export_to.iter().map(|e| e.value.as_str()).collect()
}

fn export_shown(dr: &DestinationRule) -> String {
    if dr.export_to.is_empty() {
        "none".to_owned()
    } else {
        let items: Vec<&str> = dr.export_to.iter().map(|e| e.value.as_str()).collect();
        format!("`[{}]`", items.join(", "))
    }
}

/// The namespaces whose proxies apply rule `id` (for host `host`, in `ns`), among
/// the namespaces the manifests name plus "any other".
fn users(index: &Index, ns: &str, host: &str, id: ObjId) -> BTreeSet<String> {
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    candidates.insert(ns.to_owned());
    candidates.insert(index.settings().root_namespace.clone());
    candidates.insert(ELSEWHERE.to_owned());
    let service_namespaces = index.service_namespaces(host);
    candidates.extend(service_namespaces.iter().cloned());
    if let Some(dr) = dr_of(index.object(id)) {
        for e in &dr.export_to {
            if !matches!(e.value.as_str(), "." | "*" | "~") {
                candidates.insert(e.value.clone());
            }
        }
    }
    let owner = service_namespaces.first().map_or(ns, String::as_str);
    // Istio's namespace-local index holds only rules exported to their own namespace.
    let local = dr_of(index.object(id)).is_some_and(|dr| {
        let set = export_set(dr);
        set.is_empty() || set.contains("*") || set.contains(".") || set.contains(ns)
    });
    candidates
        .into_iter()
        .filter(|client| {
            (client != ns || local)
                && index.destination_rules_for(host, client).is_some_and(|l| {
                    l.namespace == ns && l.pattern == host && l.rules.contains(&id)
                })
                && index.sidecar_imports(client, owner, host)
        })
        .collect()
}

fn scope(clients: &BTreeSet<String>) -> String {
    if clients.contains(ELSEWHERE) {
        return "in every namespace that sees both".to_owned();
    }
    let names: Vec<&str> = clients.iter().map(String::as_str).collect();
    let word = if names.len() == 1 {
        "namespace"
    } else {
        "namespaces"
    };
    format!("in {word} {}", backtick_list(&names, "and"))
}

fn host_shown(dr: &DestinationRule, resolved: &str) -> String {
    match &dr.host {
        Some(h) if h.value != resolved => format!("`{}` (`{resolved}`)", h.value),
        _ => format!("`{resolved}`"),
    }
}

/// The settings a traffic policy holds, as their keys.
fn policy_keys(p: &TrafficPolicy) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if p.load_balancer.is_some() {
        keys.push("loadBalancer");
    }
    if p.connection_pool.is_some() {
        keys.push("connectionPool");
    }
    if p.outlier_detection.is_some() {
        keys.push("outlierDetection");
    }
    if p.tls.is_some() {
        keys.push("tls");
    }
    if !p.port_level.is_empty() {
        keys.push("portLevelSettings");
    }
    keys
}

const ORDER_NOTE: &str = "Istio merges DestinationRules for one host in creation order, by name when they were created in the same second; this finding assumes name order.";

fn check_group(index: &Index, ns: &str, host: &str, ids: Vec<ObjId>, out: &mut Vec<Diagnostic>) {
    // One per identity (duplicates are `duplicate-object`'s), in Istio's order.
    let mut seen = BTreeSet::new();
    let mut rules: Vec<ObjId> = ids
        .into_iter()
        .filter(|id| seen.insert(index.object(*id).meta.name().to_owned()))
        .collect();
    if rules.len() < 2 {
        return;
    }
    rules.sort_by_key(|id| {
        let object = index.object(*id);
        let selector = dr_of(object).is_some_and(|dr| dr.workload_selector.is_some());
        (!selector, object.meta.name().to_owned())
    });
    let user_sets: Vec<BTreeSet<String>> =
        rules.iter().map(|id| users(index, ns, host, *id)).collect();
    let mut kept: Vec<Kept<'_>> = Vec::new();
    let mut reported: Vec<&Object> = Vec::new();

    for (j, &b_id) in rules.iter().enumerate() {
        let b = index.object(b_id);
        let Some(b_dr) = dr_of(b) else {
            continue;
        };
        if user_sets[j].is_empty() {
            continue;
        }
        let selector = b_dr.workload_selector.as_ref().map(|l| &l.map);
        let earlier: Vec<(usize, &Object, &DestinationRule)> = rules[..j]
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let a = index.object(*id);
                let a_dr = dr_of(a)?;
                (a.meta.applied_with(&b.meta)
                    && a_dr.workload_selector.as_ref().map(|l| &l.map) == selector)
                    .then_some((i, a, a_dr))
            })
            .collect();
        let merged: Vec<(&Object, &DestinationRule)> = earlier
            .iter()
            .filter(|(_, _, a_dr)| export_set(a_dr) == export_set(b_dr))
            .map(|(_, a, a_dr)| (*a, *a_dr))
            .collect();
        let before = out.len();
        dropped_subsets(host, b, b_dr, &merged, &mut kept, out);
        dropped_policy(host, b, b_dr, &merged, &mut kept, out);
        if out.len() > before {
            reported.push(b);
        }
        if selector.is_none() {
            for (i, a, a_dr) in &earlier {
                if export_set(a_dr) == export_set(b_dr) {
                    continue;
                }
                let both: BTreeSet<String> =
                    user_sets[*i].intersection(&user_sets[j]).cloned().collect();
                if !both.is_empty() {
                    not_merged(host, a, a_dr, b, b_dr, &both, out);
                }
            }
        }
    }
    report_kept(host, &kept, &reported, out);
}

/// What Istio keeps of one rule in a merge, at the expense of another's.
struct Kept<'a> {
    /// The rule whose definitions are used.
    keeper: &'a Object,
    /// The rule whose definitions are dropped.
    dropper: &'a Object,
    /// Subset names defined by both.
    subsets: Vec<String>,
    /// Both define a top-level traffic policy.
    policy: bool,
    /// The dropped definitions equal the kept ones.
    identical: bool,
}

/// The counterpart of each drop: a finding on the rule whose definitions Istio
/// keeps, naming the rules that define them again, so that a change to either
/// file shows the overlap. A rule that loses something itself already has a
/// finding and gets no second one.
fn report_kept(host: &str, kept: &[Kept<'_>], reported: &[&Object], out: &mut Vec<Diagnostic>) {
    let mut done: Vec<&Object> = Vec::new();
    for k in kept {
        let seen = |list: &[&Object]| list.iter().any(|o| std::ptr::eq(*o, k.keeper));
        if seen(reported) || seen(&done) {
            continue;
        }
        done.push(k.keeper);
        let object = k.keeper;
        let Some(dr) = dr_of(object) else {
            continue;
        };
        let Some(h) = &dr.host else {
            continue;
        };
        let mine: Vec<&Kept<'_>> = kept
            .iter()
            .filter(|o| std::ptr::eq(o.keeper, k.keeper))
            .collect();
        let mut droppers: Vec<String> = Vec::new();
        let mut subsets: Vec<&str> = Vec::new();
        for o in &mine {
            let d = format!("{}/{}", o.dropper.meta.namespace, o.dropper.meta.name());
            if !droppers.contains(&d) {
                droppers.push(d);
            }
            for n in &o.subsets {
                if !subsets.contains(&n.as_str()) {
                    subsets.push(n);
                }
            }
        }
        let policy = mine.iter().any(|o| o.policy);
        let identical = mine.iter().all(|o| o.identical);
        let mut what = Vec::new();
        if !subsets.is_empty() {
            let word = if subsets.len() == 1 {
                "subset"
            } else {
                "subsets"
            };
            what.push(format!("{word} {}", backtick_list(&subsets, "and")));
        }
        if policy {
            what.push("a top-level traffic policy".to_owned());
        }
        let (by, their) = if droppers.len() == 1 {
            ("DestinationRule", "its")
        } else {
            ("DestinationRules", "their")
        };
        let by = format!("{by} {}", backtick_list(&droppers, "and"));
        let outcome = format!(
            "Istio uses this rule's definitions when it merges the rules and drops {their} {} ones",
            if identical { "identical" } else { "different" }
        );
        let message = format!(
            "{by} also {} {} for host {}: {outcome}",
            if droppers.len() == 1 {
                "defines"
            } else {
                "define"
            },
            what.join(" and "),
            host_shown(dr, host),
        );
        let mut d = Diagnostic::new(&ConflictingDestinationRules::META, object.meta.file, h.span, message)
            .label("kept in the merge")
            .object(&object.meta)
            .path(object.meta.path("/spec/host"))
            .help(format!(
                "Define each subset and the top-level `trafficPolicy` in one DestinationRule per host, and delete the other definitions. {ORDER_NOTE}"
            ));
        for o in &mine {
            let other = o.dropper;
            if let Some(oh) = dr_of(other).and_then(|x| x.host.as_ref()) {
                d = d.related(
                    other.meta.file,
                    oh.span,
                    "defines them again; dropped in the merge",
                );
            }
        }
        if identical {
            d = d.severity(Severity::Info);
        }
        out.push(d);
    }
}

fn dropped_subsets<'a>(
    host: &str,
    b: &'a Object,
    b_dr: &DestinationRule,
    merged: &[(&'a Object, &DestinationRule)],
    kept: &mut Vec<Kept<'a>>,
    out: &mut Vec<Diagnostic>,
) {
    // (dropped subset, its name, rule that keeps it, kept subset)
    let mut drops: Vec<(&Subset, &SStr, &Object, &Subset)> = Vec::new();
    for subset in &b_dr.subsets {
        let Some(name) = &subset.name else {
            continue;
        };
        if let Some((a, kept)) = merged.iter().find_map(|(a, a_dr)| {
            a_dr.subsets
                .iter()
                .find(|s| s.name.as_ref().is_some_and(|n| n.value == name.value))
                .map(|s| (*a, s))
        }) {
            drops.push((subset, name, a, kept));
        }
    }
    for (s, name, a, k) in &drops {
        let same = s.fingerprint == k.fingerprint;
        match kept
            .iter_mut()
            .find(|o| std::ptr::eq(o.keeper, *a) && std::ptr::eq(o.dropper, b))
        {
            Some(o) => {
                o.subsets.push(name.value.clone());
                o.identical &= same;
            }
            None => kept.push(Kept {
                keeper: a,
                dropper: b,
                subsets: vec![name.value.clone()],
                policy: false,
                identical: same,
            }),
        }
    }
    let (identical, differing): (Vec<_>, Vec<_>) = drops
        .into_iter()
        .partition(|(s, _, _, k)| s.fingerprint == k.fingerprint);
    for (group, same) in [(differing, false), (identical, true)] {
        let Some(&(first, first_name, _, first_kept)) = group.first() else {
            continue;
        };
        let names: Vec<&str> = group.iter().map(|(_, n, _, _)| n.value.as_str()).collect();
        let mut owners: Vec<String> = Vec::new();
        for (_, _, a, _) in &group {
            let o = shown(a);
            if !owners.contains(&o) {
                owners.push(o);
            }
        }
        let by = if owners.len() == 1 {
            format!("DestinationRule {}", owners[0])
        } else {
            format!("DestinationRules {}", owners.join(" and "))
        };
        let subsets = if names.len() == 1 {
            format!("subset `{}`", names[0])
        } else {
            format!("subsets {}", backtick_list(&names, "and"))
        };
        let message = if same {
            let copy = if names.len() == 1 {
                "this copy is"
            } else {
                "these copies are"
            };
            format!(
                "{subsets} of host {} {} defined identically by {by}: {copy} dropped when Istio merges the rules, so editing {} changes nothing",
                host_shown(b_dr, host),
                if names.len() == 1 { "is" } else { "are" },
                if names.len() == 1 { "it" } else { "them" },
            )
        } else if names.len() == 1 {
            let mut lost = Vec::new();
            if first_kept.labels.map != first.labels.map && !first.labels.map.is_empty() {
                lost.push(format!("labels `{}`", first.labels.render()));
            }
            if first.traffic_policy.is_some() {
                lost.push("traffic policy".to_owned());
            }
            let lost = if lost.is_empty() {
                String::new()
            } else {
                format!(", so its {} never apply", lost.join(" and "))
            };
            format!(
                "{subsets} of host {} is also defined by {by}, and Istio keeps only that definition when it merges the rules: this one is dropped{lost}",
                host_shown(b_dr, host),
            )
        } else {
            format!(
                "{subsets} of host {} are also defined by {by}, and Istio keeps only those definitions when it merges the rules: these are dropped",
                host_shown(b_dr, host),
            )
        };
        let mut d = Diagnostic::new(
            &ConflictingDestinationRules::META,
            b.meta.file,
            first_name.span,
            message,
        )
        .label("dropped in the merge")
        .object(&b.meta)
        .path(format!("{}/name", first.path))
        .help(format!(
            "Define each subset in one DestinationRule per host. {ORDER_NOTE}"
        ));
        for (i, (_, name, a, kept)) in group.iter().enumerate() {
            if i > 0 {
                d = d.related(b.meta.file, name.span, "dropped too");
            }
            if let Some(n) = &kept.name {
                d = d.related(a.meta.file, n.span, "Istio uses this definition");
            }
        }
        if same {
            d = d.severity(Severity::Info);
        }
        out.push(d);
    }
}

fn dropped_policy<'a>(
    host: &str,
    b: &'a Object,
    b_dr: &DestinationRule,
    merged: &[(&'a Object, &DestinationRule)],
    keeps: &mut Vec<Kept<'a>>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(policy) = &b_dr.traffic_policy else {
        return;
    };
    let Some((a, kept)) = merged
        .iter()
        .find_map(|(a, a_dr)| a_dr.traffic_policy.as_deref().map(|p| (*a, p)))
    else {
        return;
    };
    let identical = kept.fingerprint == policy.fingerprint;
    match keeps
        .iter_mut()
        .find(|o| std::ptr::eq(o.keeper, a) && std::ptr::eq(o.dropper, b))
    {
        Some(o) => {
            o.policy = true;
            o.identical &= identical;
        }
        None => keeps.push(Kept {
            keeper: a,
            dropper: b,
            subsets: Vec::new(),
            policy: true,
            identical,
        }),
    }
    let keys = policy_keys(policy);
    let message = if identical {
        format!(
            "the top-level traffic policy of this DestinationRule is identical to that of DestinationRule {} for host {}: Istio keeps only the first rule's policy, so this copy is dropped and editing it changes nothing",
            shown(a),
            host_shown(b_dr, host)
        )
    } else {
        let lost = if keys.is_empty() {
            String::new()
        } else {
            format!(
                " (its {} settings never apply)",
                backtick_list(&keys, "and")
            )
        };
        format!(
            "the top-level traffic policy of this DestinationRule is dropped: DestinationRule {} for host {} has one too, and Istio keeps only the first rule's policy, whole{lost}",
            shown(a),
            host_shown(b_dr, host)
        )
    };
    let span = b_dr.traffic_policy_key.unwrap_or(policy.span);
    let mut d = Diagnostic::new(&ConflictingDestinationRules::META, b.meta.file, span, message)
        .label("dropped in the merge")
        .object(&b.meta)
        .path(policy.path.clone())
        .help(format!(
            "Keep one top-level `trafficPolicy` per host: move these settings into the policy of DestinationRule {}, or merge the two rules. {ORDER_NOTE}",
            shown(a)
        ));
    if let Some(a_dr) = dr_of(a) {
        let span = a_dr.traffic_policy_key.unwrap_or(kept.span);
        d = d.related(a.meta.file, span, "Istio uses this policy");
    }
    if identical {
        d = d.severity(Severity::Info);
    }
    out.push(d);
}

/// `a` and `b` are kept apart (different `exportTo`); a proxy that sees both uses
/// only `b`, the later one. Reports what `a` then loses.
fn not_merged(
    host: &str,
    a: &Object,
    a_dr: &DestinationRule,
    b: &Object,
    b_dr: &DestinationRule,
    clients: &BTreeSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    let missing: Vec<&str> = a_dr
        .subsets
        .iter()
        .filter_map(|s| {
            let name = s.name.as_ref()?;
            let same = b_dr.subsets.iter().any(|t| {
                t.name.as_ref().is_some_and(|n| n.value == name.value)
                    && t.fingerprint == s.fingerprint
            });
            (!same).then_some(name.value.as_str())
        })
        .collect();
    let policy_lost = match (&a_dr.traffic_policy, &b_dr.traffic_policy) {
        (Some(p), Some(q)) => p.fingerprint != q.fingerprint,
        (Some(_), None) => true,
        _ => false,
    };
    if missing.is_empty() && !policy_lost {
        return;
    }
    let mut lost = Vec::new();
    if !missing.is_empty() {
        let word = if missing.len() == 1 {
            "subset"
        } else {
            "subsets"
        };
        lost.push(format!("{word} {}", backtick_list(&missing, "and")));
    }
    if policy_lost {
        lost.push("the top-level traffic policy".to_owned());
    }
    let verb = if lost.len() > 1 || missing.len() > 1 {
        "are"
    } else {
        "is"
    };
    let Some(h) = &a_dr.host else {
        return;
    };
    let message = format!(
        "DestinationRules {} and {} for host {} have different `exportTo` ({} and {}), so Istio does not merge them: {} only {} is used, so {} of this one {verb} ignored",
        shown(a),
        shown(b),
        host_shown(a_dr, host),
        export_shown(a_dr),
        export_shown(b_dr),
        scope(clients),
        shown(b),
        lost.join(" and ")
    );
    let mut d = Diagnostic::new(&ConflictingDestinationRules::META, a.meta.file, h.span, message)
        .label(format!("not merged with {}", shown(b)))
        .object(&a.meta)
        .path(a.meta.path("/spec/host"))
        .help(format!(
            "Give DestinationRules for one host the same `exportTo` (Istio compares the lists literally), or merge them into one.{} With ENABLE_ENHANCED_DESTINATIONRULE_MERGE (on by default) Istio keeps rules with different `exportTo` apart, and a proxy that sees several uses only the one created last; this finding assumes name order.",
            if missing.is_empty() {
                ""
            } else {
                " Routes to a subset that only this rule defines get 503 (NC) there."
            }
        ));
    if let Some(bh) = &b_dr.host {
        d = d.related(b.meta.file, bh.span, "used instead where both apply");
    }
    out.push(d);
}
