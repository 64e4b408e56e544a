use crate::declare_rule;
use crate::index::{DestinationRuleLookup, Index, ObjId};
use crate::model::{
    ConnectionPool, Destination, HttpRoute, Object, PortTrafficPolicy, Spec, TrafficPolicy,
    cluster_field,
};
use crate::report::Diagnostic;
use crate::retry;
use crate::rules::retry_non_idempotent::route_name;
use crate::rules::{Rule, RuleMeta};
use crate::source::{FileId, Span};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a route that retries requests the upstream already received,
    /// `retry-storm-min-attempts` (default 2) or more times, to a destination
    /// whose Envoy cluster has no outlier detection.
    ///
    /// The retries counted are explicit `retries` with an `attempts` value and
    /// a `retryOn` that has a condition triggered after the upstream received
    /// the request (`5xx`, `gateway-error`, `reset`, status codes, gRPC codes,
    /// `retriable-4xx`, `http3-post-connect-failure`: the unsafe conditions of
    /// `retry-non-idempotent`). Those multiply the work of an upstream that is
    /// already failing. Retries on `connect-failure`, `refused-stream` and
    /// `reset-before-request` only, and routes without `retryOn` (Istio's
    /// default conditions, which retry only connection failures for HTTP),
    /// are not reported: the upstream never saw those requests.
    ///
    /// The cluster is the one Envoy uses for the destination: the applicable
    /// DestinationRule is looked up from the VirtualService's namespace as
    /// Istio does (client namespace, then service namespace, then root
    /// namespace, with `exportTo`), and its outlier settings are merged as
    /// istiod merges them for the subset and port routed to (subset and
    /// port-level blocks replace the top-level block). With no port on the
    /// destination and several ports, any port's outlier detection counts.
    /// A Service or ServiceEntry host with no DestinationRule at all is
    /// reported: nothing ejects its hosts. A host the repository does not
    /// define (no Service or ServiceEntry) is reported only when a
    /// DestinationRule written for exactly that host applies, and a host with
    /// no DestinationRule that is listed in `external-hosts` is not reported:
    /// their rules may live elsewhere.
    ///
    /// Nothing is reported when the mesh config (ConfigMap `istio`) sets
    /// `defaultTrafficPolicy.outlierDetection` (Istio 1.31+): every cluster
    /// then has outlier detection, from the mesh or from a DestinationRule
    /// block that replaces it.
    ///
    /// ## Why is this bad?
    /// When a pod starts failing, every request that reaches it is sent again,
    /// up to `attempts` more times: a failing upstream gets up to
    /// `attempts + 1` times its normal load, and without outlier detection the
    /// failing pod is never taken out of rotation, so the extra load never
    /// stops. Istio's `connectionPool.http.maxRetries` default (4294967295)
    /// does not cap it either. Outlier detection ejects the failing pods, and
    /// a `maxRetries` cap bounds the concurrent retries of the whole cluster.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: ratings, namespace: shop}
    /// spec:
    ///   hosts: [ratings]
    ///   http:
    ///   - match: [{method: {exact: GET}}]
    ///     route:
    ///     - destination: {host: ratings}
    ///     retries:
    ///       attempts: 3
    ///       retryOn: 5xx
    /// ```
    /// Use instead: add a DestinationRule for `ratings` with
    /// `trafficPolicy.outlierDetection` (and `connectionPool.http.maxRetries`),
    /// or retry fewer times.
    pub RetryStorm {
        name: "retry-storm",
        severity: Warning,
        kinds: [VirtualService],
        upstream: [],
    }
}

impl Rule for RetryStorm {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mesh_default = index
            .objects()
            .iter()
            .any(|o| matches!(&o.spec, Spec::MeshConfig(m) if m.default_outlier_detection));
        if mesh_default {
            return;
        }
        for object in index.objects() {
            if let Spec::VirtualService(vs) = &object.spec {
                for (i, route) in vs.http.iter().enumerate() {
                    check_route(index, object, route, i, out);
                }
            }
        }
    }
}

/// A destination whose cluster has no outlier detection, and why.
struct Unprotected {
    /// "`ratings`" or "`ratings` subset `v1`".
    what: String,
    /// Resolved host.
    host: String,
    /// Where to point, and what to say there.
    notes: Vec<(FileId, Span, String)>,
    /// Where `outlierDetection` would go, for the help.
    fix_in: String,
    /// `maxRetries` of the cluster, when set.
    max_retries: Option<i64>,
}

fn check_route(
    index: &Index,
    object: &Object,
    route: &HttpRoute,
    route_index: usize,
    out: &mut Vec<Diagnostic>,
) {
    let Some(retries) = &route.retries else {
        return;
    };
    let (Some(attempts), Some(retry_on)) = (&retries.attempts, &retries.retry_on) else {
        return;
    };
    let min = index.settings().retry_storm_min_attempts.max(1);
    if attempts.value < min {
        return;
    }
    let tokens = retry::parse(&retry_on.value);
    let amplifying: Vec<String> = retry::unsafe_tokens(&tokens)
        .iter()
        .map(|t| t.text())
        .collect();
    if amplifying.is_empty() {
        return;
    }
    let meta = &object.meta;
    let mut found: Vec<Unprotected> = Vec::new();
    for rd in &route.route {
        if let Some(u) = unprotected(index, object, &rd.destination)
            && !found.iter().any(|f| f.what == u.what && f.host == u.host)
        {
            found.push(u);
        }
    }
    if found.is_empty() {
        return;
    }
    let factor = attempts.value.saturating_add(1);
    let whats: Vec<String> = found.iter().map(|u| u.what.clone()).collect();
    let have = if found.len() == 1 { "has" } else { "have" };
    let message = format!(
        "{} retries up to `{}` times on {} to {}, which {have} no outlier detection: a failing upstream gets up to `{factor}×` its requests and Envoy never ejects it",
        route_name(route, route_index),
        attempts.value,
        backtick_list(&amplifying, "and"),
        whats.join(" and "),
    );
    let first = &found[0];
    let target = &first.fix_in;
    let cap = match first.max_retries {
        Some(n) => format!(" (`connectionPool.http.maxRetries: {n}` already caps concurrent retries)"),
        None => ", and cap concurrent retries of the cluster with `connectionPool.http.maxRetries` (Istio's default is 4294967295)".to_owned(),
    };
    let help = format!(
        "Add `outlierDetection` to {target} so failing pods are ejected{cap}; or retry fewer times."
    );
    let mut d = Diagnostic::new(&RetryStorm::META, meta.file, attempts.span, message)
        .label(format!("up to `{factor}×` load"))
        .help(help)
        .object(meta)
        .path(format!("{}/retries/attempts", route.path))
        .related(
            meta.file,
            retry_on.span,
            format!(
                "{} {} requests the upstream already received",
                backtick_list(&amplifying, "and"),
                if amplifying.len() == 1 {
                    "retries"
                } else {
                    "retry"
                }
            ),
        );
    for u in &found {
        for (file, span, note) in &u.notes {
            d = d.related(*file, *span, note.clone());
        }
    }
    out.push(d);
}

/// The destination, when its cluster has no outlier detection; `None` when it
/// has some, or when the host is unknown to the repository.
fn unprotected(index: &Index, object: &Object, dest: &Destination) -> Option<Unprotected> {
    let host = dest.host.as_ref()?;
    let ns = &object.meta.namespace;
    let resolved = index.resolve_host(&host.value, ns);
    let subset = dest.subset.as_ref().map(|s| s.value.as_str());
    let what = match subset {
        Some(s) => format!("`{}` subset `{s}`", host.value),
        None => format!("`{}`", host.value),
    };
    let known =
        !index.services(&resolved).is_empty() || !index.service_entries(&resolved).is_empty();
    let lookup = index.destination_rules_for(&resolved, ns);
    // For a host the repository does not define, only a rule written for exactly
    // that host counts: a wildcard may be shadowed by a rule kept elsewhere.
    let lookup = lookup.filter(|l| known || l.pattern == resolved);
    let Some(lookup) = lookup else {
        if !known || index.settings().is_external(&resolved) {
            return None;
        }
        return Some(Unprotected {
            what,
            notes: vec![(
                object.meta.file,
                host.span,
                format!("no DestinationRule applies to `{resolved}`"),
            )],
            fix_in: format!("a new DestinationRule for `{resolved}`"),
            host: resolved,
            max_retries: None,
        });
    };
    let (top_id, top) = top_policy(index, &lookup);
    let sub_policy: Option<&TrafficPolicy> = match subset {
        Some(name) => {
            let subsets = index.merged_subsets(&lookup.rules);
            // An undeclared subset is `undeclared-subset`'s finding.
            let (_, s) = subsets.get(name)?;
            s.traffic_policy.as_deref()
        }
        None => None,
    };
    let ports = candidate_ports(index, &resolved, dest, top, sub_policy);
    let od = |port| cluster_field(top, sub_policy, port, |p| p.outlier_detection.as_deref());
    if ports.iter().any(|p| od(*p).is_some()) {
        return None;
    }
    let pool = |port| cluster_field(top, sub_policy, port, |p| p.connection_pool.as_deref());
    let max_retries = ports
        .iter()
        .find_map(|p| pool(*p).and_then(|c: &ConnectionPool| c.max_retries.as_ref()))
        .map(|m| m.value);
    let first_rule = *lookup.rules.first()?;
    let subset_rule = subset.and_then(|name| {
        index
            .merged_subsets(&lookup.rules)
            .get(name)
            .map(|(id, _)| *id)
    });
    let mut notes = Vec::new();
    let rule_names: Vec<String> = lookup
        .rules
        .iter()
        .map(|id| {
            let m = &index.object(*id).meta;
            format!("`{}/{}`", m.namespace, m.name())
        })
        .collect();
    let mut fix_in = format!("DestinationRule {}", rule_names.join(", "));
    if let [Some(port)] = ports.as_slice() {
        let sub_entry = port_entry(sub_policy, *port).zip(subset_rule);
        let top_entry = port_entry(top, *port).zip(top_id);
        let for_subset = subset
            .map(|s| format!(" of subset `{s}`"))
            .unwrap_or_default();
        let entry = match (
            sub_entry,
            sub_policy.and_then(|p| p.outlier_detection.as_deref()),
        ) {
            (Some(e), _) => Some((e, for_subset)),
            (None, None) => top_entry.map(|e| (e, String::new())),
            (None, Some(_)) => None,
        };
        if let Some(((e, id), whose)) = entry
            && let Some(n) = &e.port
        {
            let rule = &index.object(id).meta;
            fix_in = format!(
                "the `portLevelSettings` entry for port `{port}`{whose} in DestinationRule `{}/{}`",
                rule.namespace,
                rule.name()
            );
            notes.push((
                rule.file,
                n.span,
                format!(
                    "the `portLevelSettings` entry for port `{port}`{whose} replaces the whole policy of `{}/{}` there and sets no `outlierDetection`",
                    rule.namespace,
                    rule.name()
                ),
            ));
        }
    }
    if notes.is_empty() {
        // Point at the subset that is routed to, else at the rule's host.
        let rule_id = subset_rule.or(top_id).unwrap_or(first_rule);
        let rule = index.object(rule_id);
        let span = match &rule.spec {
            Spec::DestinationRule(dr) => {
                let subset_name = subset.and_then(|name| {
                    dr.subsets
                        .iter()
                        .filter_map(|s| s.name.as_ref())
                        .find(|n| n.value == name)
                });
                subset_name
                    .map(|n| n.span)
                    .or(dr.host.as_ref().map(|h| h.span))
                    .unwrap_or(rule.meta.anchor())
            }
            _ => rule.meta.anchor(),
        };
        let for_what = match subset {
            Some(s) => format!(" for subset `{s}`"),
            None => String::new(),
        };
        notes.push((
            rule.meta.file,
            span,
            format!(
                "DestinationRule `{}/{}` sets no `outlierDetection`{for_what}",
                rule.meta.namespace,
                rule.meta.name()
            ),
        ));
    }
    // Rules with outlier detection that Istio does not use for this client.
    let chosen = index.object(first_rule);
    for id in index.destination_rules_covering(&resolved) {
        if lookup.rules.contains(&id) || notes.len() >= 3 {
            continue;
        }
        let other = index.object(id);
        if let Spec::DestinationRule(dr) = &other.spec
            && has_any_outlier_detection(dr)
        {
            let span = dr.host.as_ref().map_or(other.meta.anchor(), |h| h.span);
            notes.push((
                other.meta.file,
                span,
                format!(
                    "DestinationRule `{}/{}` has outlier detection, but clients in `{ns}` use `{}/{}`",
                    other.meta.namespace,
                    other.meta.name(),
                    chosen.meta.namespace,
                    chosen.meta.name()
                ),
            ));
        }
    }
    Some(Unprotected {
        what,
        host: resolved,
        notes,
        fix_in,
        max_retries,
    })
}

/// The `portLevelSettings` entry of `policy` for `port`, which replaces the
/// whole policy for that port.
fn port_entry(policy: Option<&TrafficPolicy>, port: i64) -> Option<&PortTrafficPolicy> {
    policy.and_then(|p| {
        p.port_level
            .iter()
            .find(|e| e.port.as_ref().is_some_and(|n| n.value == port))
    })
}

/// True when any block of the rule (top level, subsets, ports) has outlier detection.
fn has_any_outlier_detection(dr: &crate::model::DestinationRule) -> bool {
    dr.traffic_policy
        .as_deref()
        .into_iter()
        .chain(
            dr.subsets
                .iter()
                .filter_map(|s| s.traffic_policy.as_deref()),
        )
        .any(|p| {
            p.outlier_detection.is_some()
                || p.port_level
                    .iter()
                    .any(|e| e.policy.outlier_detection.is_some())
        })
}

/// The top-level traffic policy of merged rules: the first rule's that has one.
fn top_policy<'a>(
    index: &'a Index,
    lookup: &DestinationRuleLookup,
) -> (Option<ObjId>, Option<&'a TrafficPolicy>) {
    for id in &lookup.rules {
        if let Spec::DestinationRule(dr) = &index.object(*id).spec
            && let Some(tp) = &dr.traffic_policy
        {
            return (Some(*id), Some(tp));
        }
    }
    (None, None)
}

/// The ports whose cluster the destination may use: its `port.number`, the
/// Service's only port, or (unknown) the port-level entries and no port.
fn candidate_ports(
    index: &Index,
    host: &str,
    dest: &Destination,
    top: Option<&TrafficPolicy>,
    subset: Option<&TrafficPolicy>,
) -> Vec<Option<i64>> {
    if let Some(p) = &dest.port {
        return vec![Some(p.value)];
    }
    let mut service_ports: Vec<i64> = Vec::new();
    for id in index.services(host) {
        if let Spec::Service(svc) = &index.object(*id).spec {
            service_ports.extend(
                svc.ports
                    .iter()
                    .filter_map(|p| p.port.as_ref().map(|n| n.value)),
            );
        }
    }
    service_ports.sort_unstable();
    service_ports.dedup();
    if let [only] = service_ports.as_slice() {
        return vec![Some(*only)];
    }
    let mut out = vec![None];
    for policy in top.into_iter().chain(subset) {
        for entry in &policy.port_level {
            if let Some(n) = &entry.port
                && !out.contains(&Some(n.value))
            {
                out.push(Some(n.value));
            }
        }
    }
    out
}
