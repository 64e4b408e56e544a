use std::collections::HashMap;

use crate::declare_rule;
use crate::model::node::Node;
use crate::report::{Diagnostic, Severity};
use crate::rules::spec_walk::{Policy, destination_rule_policies};
use crate::rules::spec_walk::{is_set, set_entry};
use crate::rules::traffic_policy::{finding, head};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a DestinationRule `localityLbSetting` that Istio rejects, and, as a
    /// warning, locality failover that cannot happen because the policy has no
    /// outlier detection.
    ///
    /// Rejected (`ValidateLocalityLbSetting`):
    /// - `distribute` and `failover` together, and `localityLbSetting` together
    ///   with `zoneAwareLbSetting`;
    /// - a `distribute[].to` weight outside 1–100, or the weights of one `from`
    ///   not totalling exactly 100. Unlike route weights (relative since Istio
    ///   1.15), locality weights are percentages and this is the one place
    ///   where Istio still requires a sum of 100;
    /// - a locality with more than one `*`, a `*` that is not its last
    ///   character, an empty region, zone or sub-zone (`us-east//a`, or no
    ///   `from`), or a locality that overlaps an earlier one of the same list
    ///   (the same locality twice, `us-east/a` after `us-east/*` or after
    ///   `us-east`). Istio checks overlaps in list order, so a wildcard written
    ///   after a more specific locality passes, and so does it here;
    /// - a `failover` entry whose `from` equals its `to`, or that names
    ///   anything but a region (a `/`) or uses `*`;
    /// - `failoverPriority` naming `topology.kubernetes.io/region`,
    ///   `topology.kubernetes.io/zone` or `topology.istio.io/subzone` while
    ///   `failover` is set.
    ///
    /// Warned (`IST0133`): `failover` or `failoverPriority` in a policy with no
    /// `outlierDetection`. Istio gives endpoints locality priorities only when
    /// the cluster has outlier detection; without it, traffic never fails over.
    /// Which `outlierDetection` counts is taken from how istiod merges
    /// policies: a subset policy inherits the top-level one field by field,
    /// while a port-level policy replaces the policy it overrides as a whole.
    /// Istio's validation looks only at the policy block itself, so it also
    /// warns about a subset that inherits outlier detection; meshvet does not.
    /// No warning is given with `enabled: false`.
    ///
    /// ## Why is this bad?
    /// The API server's webhook (or istiod, where no webhook runs) rejects the
    /// whole DestinationRule, so none of its subsets and policies apply, and
    /// routes to its subsets fail with 503. Failover without outlier detection
    /// is accepted but does nothing: when a zone fails, its clients keep
    /// sending traffic there.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: cart, namespace: shop}
    /// spec:
    ///   host: cart
    ///   trafficPolicy:
    ///     loadBalancer:
    ///       localityLbSetting:
    ///         distribute:
    ///         - from: us-west/zone1/*
    ///           to:
    ///             "us-west/zone1/*": 70
    ///             "us-west/zone2/*": 20
    /// ```
    /// Use instead: weights that total 100 (`70` and `30`), for every `from`.
    pub InvalidLocalityLb {
        name: "invalid-locality-lb",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106", "IST0133"],
    }
}

/// Topology labels that `failoverPriority` cannot use together with `failover`.
const TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];

impl Rule for InvalidLocalityLb {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        // Outlier detection a subset policy can inherit from the top level.
        let top = spec.get("trafficPolicy");
        let top_outlier = top.is_some_and(|t| {
            is_set(t.get("outlierDetection"))
                || t.get("portLevelSettings")
                    .into_iter()
                    .flat_map(|p| p.items())
                    .any(|p| is_set(p.get("outlierDetection")))
        });
        for policy in destination_rule_policies(spec, &base) {
            let inherits =
                !policy.port_level && policy.pointer.contains("/subsets/") && top_outlier;
            check_policy(ctx, &policy, inherits, out);
        }
    }
}

fn check_policy(
    ctx: &ObjectContext<'_>,
    policy: &Policy<'_>,
    inherits: bool,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &ctx.object.meta;
    let Some(lb) = policy.node.get("loadBalancer") else {
        return;
    };
    let lb_ptr = format!("{}/loadBalancer", policy.pointer);
    let Some((loc_key, loc)) = set_entry(lb, "localityLbSetting") else {
        return;
    };
    let ptr = format!("{lb_ptr}/localityLbSetting");
    let report = |span: Span, path: String, message: String, label: &str, help: &str| {
        finding(
            &InvalidLocalityLb::META,
            meta,
            span,
            path,
            message,
            label,
            help,
        )
    };

    if let Some((zk, _)) = set_entry(lb, "zoneAwareLbSetting") {
        out.push(
            report(
                zk.span(),
                format!("{lb_ptr}/zoneAwareLbSetting"),
                "`zoneAwareLbSetting` and `localityLbSetting` are both set: Istio rejects the DestinationRule".to_owned(),
                "set together with `localityLbSetting`",
                "Keep one of `localityLbSetting` and `zoneAwareLbSetting`.",
            )
            .related(meta.file, loc_key.span(), "`localityLbSetting` is set here"),
        );
    }

    let distribute = set_entry(loc, "distribute");
    let failover = set_entry(loc, "failover");
    if let (Some((dk, _)), Some((fk, _))) = (distribute, failover) {
        out.push(
            report(
                fk.span(),
                format!("{ptr}/failover"),
                "`failover` and `distribute` are both set: Istio rejects the DestinationRule".to_owned(),
                "set together with `distribute`",
                "Use `distribute` to spread traffic over localities by fixed weights, or `failover` to move it to another region when a region is unhealthy, not both.",
            )
            .related(meta.file, dk.span(), "`distribute` is set here"),
        );
    }

    // failoverPriority with topology labels while failover is set.
    if failover.is_some() {
        for (i, item) in loc
            .get("failoverPriority")
            .into_iter()
            .flat_map(|p| p.items())
            .enumerate()
        {
            if let Some(label) = item.str().filter(|l| TOPOLOGY_LABELS.contains(l)) {
                let mut d = report(
                    item.span(),
                    format!("{ptr}/failoverPriority/{i}"),
                    format!(
                        "`failoverPriority` names the topology label `{label}` while `failover` is set: Istio rejects the DestinationRule"
                    ),
                    "topology label with `failover`",
                    "Either list the region/zone/sub-zone labels in `failoverPriority` and drop `failover`, or keep `failover` and list only other labels in `failoverPriority`.",
                );
                if let Some((fk, _)) = failover {
                    d = d.related(meta.file, fk.span(), "`failover` is set here");
                }
                out.push(d);
                break;
            }
        }
    }

    // distribute: weights and localities.
    let mut sources: Vec<(String, Span, String)> = Vec::new();
    for (i, entry) in distribute
        .into_iter()
        .flat_map(|(_, d)| d.items())
        .enumerate()
    {
        let entry_ptr = format!("{ptr}/distribute/{i}");
        let from = entry.get("from").and_then(|f| f.str()).unwrap_or("");
        let from_span = entry.get("from").map_or_else(|| head(entry), |f| f.span());
        sources.push((from.to_owned(), from_span, format!("{entry_ptr}/from")));
        check_weights(ctx, entry, from, &entry_ptr, out);
        let targets: Vec<(String, Span, String)> = entry
            .get("to")
            .into_iter()
            .flat_map(|t| t.entries())
            .filter_map(|(k, _)| {
                let name = k.str()?;
                Some((name.to_owned(), k.span(), format!("{entry_ptr}/to/{name}")))
            })
            .collect();
        locality_problems(ctx, &targets, "`to` locality", out);
    }
    locality_problems(ctx, &sources, "`from` locality", out);

    // failover entries.
    for (i, entry) in failover
        .into_iter()
        .flat_map(|(_, f)| f.items())
        .enumerate()
    {
        let entry_ptr = format!("{ptr}/failover/{i}");
        let from = entry.get("from");
        let to = entry.get("to");
        let from_s = from.and_then(|f| f.str()).unwrap_or("");
        let to_s = to.and_then(|t| t.str()).unwrap_or("");
        if from_s == to_s {
            let span = to.or(from).map_or_else(|| entry.span(), |n| n.span());
            let message = if from_s.is_empty() {
                "this `failover` entry names neither `from` nor `to`: Istio rejects the DestinationRule".to_owned()
            } else {
                format!(
                    "`failover` from `{from_s}` to `{to_s}` names the same region twice: Istio rejects the DestinationRule"
                )
            };
            out.push(report(
                span,
                format!("{entry_ptr}/to"),
                message,
                "same region as `from`",
                "Fail over from one region to a different region: `{from: us-east, to: us-west}`.",
            ));
        }
        for (node, field, text) in [(from, "from", from_s), (to, "to", to_s)] {
            let Some(node) = node else {
                continue;
            };
            if text.contains('/') {
                out.push(report(
                    node.span(),
                    format!("{entry_ptr}/{field}"),
                    format!("`failover` {field} `{text}` is not a region: failover is between regions only, and Istio rejects the DestinationRule"),
                    "not a region",
                    &format!("Write the region alone (`{}`); to prefer zones or other labels, use `failoverPriority`.", text.split('/').next().unwrap_or(text)),
                ));
            } else if text.contains('*') {
                out.push(report(
                    node.span(),
                    format!("{entry_ptr}/{field}"),
                    format!("`failover` {field} `{text}` contains `*`: failover regions cannot be wildcards, and Istio rejects the DestinationRule"),
                    "wildcard region",
                    "Name one region in each `failover` entry; add an entry per region.",
                ));
            }
        }
    }

    // Failover without outlier detection.
    let enabled = loc.get("enabled").and_then(|e| e.bool()) != Some(false);
    let priority = set_entry(loc, "failoverPriority");
    if enabled
        && (failover.is_some() || priority.is_some())
        && !is_set(policy.node.get("outlierDetection"))
        && !inherits
    {
        let (key, field) = failover.map_or_else(
            || (priority.map(|(k, _)| k), "failoverPriority"),
            |(k, _)| (Some(k), "failover"),
        );
        let span = key.map_or_else(|| loc_key.span(), |k| k.span());
        let scope = if policy.port_level {
            "this port-level policy (a port-level policy replaces the enclosing one whole)"
        } else {
            "this traffic policy"
        };
        out.push(
            report(
                span,
                format!("{ptr}/{field}"),
                format!("`{field}` is set but {scope} has no `outlierDetection`: Istio fails over only on clusters with outlier detection, so traffic never leaves an unhealthy locality"),
                "no outlier detection",
                "Add `outlierDetection` (for example `consecutive5xxErrors: 5`, `interval: 10s`, `baseEjectionTime: 30s`) next to `loadBalancer` in the same policy.",
            )
            .severity(Severity::Warning),
        );
    }
}

/// Weights of one `distribute` entry: each 1–100, total 100.
fn check_weights(
    ctx: &ObjectContext<'_>,
    entry: Node<'_>,
    from: &str,
    entry_ptr: &str,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &ctx.object.meta;
    let to = entry.entry("to");
    let weights: Vec<(&str, Node<'_>)> = to
        .into_iter()
        .flat_map(|(_, t)| t.entries())
        .filter_map(|(k, v)| Some((k.str()?, v)))
        .collect();
    let mut total: i64 = 0;
    let mut all_valid = true;
    for (name, v) in &weights {
        let Some(w) = v.int() else {
            // Not an integer: the schema rules report it.
            all_valid = false;
            continue;
        };
        if !(1..=100).contains(&w) {
            all_valid = false;
            out.push(finding(
                &InvalidLocalityLb::META,
                meta,
                v.span(),
                format!("{entry_ptr}/to/{name}"),
                format!("locality weight `{w}` for `{name}` is outside 1–100: Istio rejects the DestinationRule"),
                "outside 1–100",
                "Give each locality a percentage between 1 and 100 (leave a locality out to send it nothing), with the weights of one `from` totalling 100.",
            ));
        }
        total += w;
    }
    if !all_valid || total == 100 {
        return;
    }
    let from_text = if from.is_empty() {
        "this `distribute` entry".to_owned()
    } else {
        format!("`from: {from}`")
    };
    let (span, message) = match to {
        Some((k, _)) if !weights.is_empty() => {
            let parts: Vec<String> = weights
                .iter()
                .filter_map(|(n, v)| Some(format!("`{n}` {}", v.int()?)))
                .collect();
            let off = if total < 100 {
                format!("{} short of 100", 100 - total)
            } else {
                format!("{} over 100", total - 100)
            };
            (
                k.span(),
                format!(
                    "locality weights of {from_text} total {total} ({}), {off}: they are percentages and Istio rejects any other total",
                    parts.join(", ")
                ),
            )
        }
        Some((k, _)) => (
            k.span(),
            format!(
                "{from_text} sends traffic to no locality: `to` is empty, and Istio requires weights totalling 100"
            ),
        ),
        None => (
            head(entry),
            format!("{from_text} has no `to`: Istio requires locality weights totalling 100"),
        ),
    };
    out.push(finding(
        &InvalidLocalityLb::META,
        meta,
        span,
        format!("{entry_ptr}/to"),
        message,
        "total is not 100",
        "Adjust the weights so that they total exactly 100: each is the percentage of this locality's traffic sent to that locality.",
    ));
}

/// Istio's `validateLocalities` over a list of localities (`(text, span,
/// pointer)`), in list order. Istio stops at the first problem; this goes on
/// past it (a rejected locality is not remembered).
fn locality_problems(
    ctx: &ObjectContext<'_>,
    list: &[(String, Span, String)],
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    // region → zone → sub-zones; "*" marks a wildcard at that level.
    let mut seen: HashMap<&str, HashMap<&str, Vec<&str>>> = HashMap::new();
    let meta = &ctx.object.meta;
    for (locality, span, ptr) in list {
        let problem = locality_problem(&mut seen, locality);
        let Some(problem) = problem else {
            continue;
        };
        let (message, label, help) = match problem {
            Problem::Wildcard => (
                format!(
                    "{what} `{locality}` has a `*` that is not its last character: Istio allows one wildcard, at the end, and rejects the DestinationRule"
                ),
                "misplaced `*`",
                "Write a wildcard only as the last part: `us-west/*` or `us-west/zone1/*`.",
            ),
            Problem::Empty => (
                if locality.is_empty() {
                    format!("a {what} is empty: Istio rejects the DestinationRule")
                } else {
                    format!(
                        "{what} `{locality}` has an empty region, zone or sub-zone: Istio rejects the DestinationRule"
                    )
                },
                "empty part",
                "Write a locality as `region`, `region/zone` or `region/zone/sub-zone`, each part non-empty (a final `*` matches any).",
            ),
            Problem::Overlap => (
                format!(
                    "{what} `{locality}` overlaps a locality listed before it: Istio rejects the DestinationRule"
                ),
                "overlaps an earlier locality",
                "List each locality once, and do not list a locality that an earlier entry (such as `us-west/*` or `us-west`) already covers.",
            ),
        };
        out.push(finding(
            &InvalidLocalityLb::META,
            meta,
            *span,
            ptr.clone(),
            message,
            label,
            help,
        ));
    }
}

enum Problem {
    Wildcard,
    Empty,
    Overlap,
}

/// One step of Istio's `validateLocalities`: checks `locality` against the
/// localities `seen` before it and records it when it is valid.
fn locality_problem<'a>(
    seen: &mut HashMap<&'a str, HashMap<&'a str, Vec<&'a str>>>,
    locality: &'a str,
) -> Option<Problem> {
    let stars = locality.matches('*').count();
    if stars > 1 || (stars == 1 && !locality.ends_with('*')) {
        return Some(Problem::Wildcard);
    }
    if seen.contains_key("*") {
        return Some(Problem::Overlap);
    }
    let parts: Vec<&str> = locality.splitn(3, '/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Some(Problem::Empty);
    }
    match parts.as_slice() {
        [region] => {
            if seen.contains_key(region) {
                return Some(Problem::Overlap);
            }
            seen.insert(region, HashMap::from([("*", vec!["*"])]));
        }
        [region, zone] => {
            let zones = seen.entry(region).or_default();
            if zones.contains_key("*") || zones.contains_key(zone) {
                return Some(Problem::Overlap);
            }
            zones.insert(zone, vec!["*"]);
        }
        [region, zone, sub] => {
            let zones = seen.entry(region).or_default();
            if zones.contains_key("*") {
                return Some(Problem::Overlap);
            }
            let subs = zones.entry(zone).or_default();
            if subs.contains(&"*") || subs.contains(sub) {
                return Some(Problem::Overlap);
            }
            subs.push(sub);
        }
        _ => {}
    }
    None
}
