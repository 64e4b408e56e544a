use std::collections::{HashSet, VecDeque};

use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, place};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::walk::{Finding, Problem};
use crate::schema::{Schema, Ty};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags a key that the object's schema does not have at that position: a
    /// typo (`retryon`, `maxEjectionPrecent`), a field written at the wrong
    /// level (`subset` beside `destination` instead of inside it), or a field of
    /// another kind. Istio kinds (VirtualService, DestinationRule, Gateway,
    /// ServiceEntry, Sidecar, WorkloadEntry, AuthorizationPolicy,
    /// PeerAuthentication, RequestAuthentication, in every served version) are
    /// checked against the schema embedded from Istio's CRDs (see `meshvet
    /// rules` for its version); the `metadata` of every object is checked
    /// against Kubernetes' ObjectMeta. Kinds meshvet has no schema for are left
    /// alone.
    ///
    /// The finding suggests the closest field at that level, or says where the
    /// field belongs when it is valid one level down or further up. Fields Istio
    /// removed from its API (`websocketUpgrade`, `appendHeaders`, ...) are
    /// reported by `deprecated-field` instead, with their replacement.
    ///
    /// ## Why is this bad?
    /// `kubectl apply` rejects an unknown field (strict field validation, the
    /// default since Kubernetes 1.27); clients and pipelines that skip that
    /// check have the API server prune it silently. Either way the setting never
    /// takes effect: a misspelt `retryOn` leaves Istio's default retry policy in
    /// place, a `subset` outside `destination` sends traffic to every version.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviews}
    ///       subset: v2
    ///     retries:
    ///       attempts: 3
    ///       retryon: 5xx
    /// ```
    /// Use instead: `destination: {host: reviews, subset: v2}` and `retryOn: 5xx`.
    pub UnknownField {
        name: "unknown-field",
        severity: Error,
        kinds: [Any],
        upstream: [],
    }
}

impl Rule for UnknownField {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let schema = crate::schema::embedded();
        for f in findings(ctx) {
            if !matches!(f.problem, Problem::UnknownField) {
                continue;
            }
            let here = place(&f.parent_path, meta.kind.as_str());
            let (message, help) = match schema.filter(|_| !f.trail.is_empty()) {
                Some(schema) => explain(schema, f, &here),
                None => metadata_explain(f),
            };
            out.push(
                Diagnostic::new(&UnknownField::META, meta.file, f.node.span(), message)
                    .label("unknown field")
                    .help(help)
                    .object(meta)
                    .path(f.pointer.clone()),
            );
        }
    }
}

const OBJECT_META: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "finalizers",
    "ownerReferences",
];

fn metadata_explain(f: &Finding<'_>) -> (String, String) {
    let message = format!("unknown field `{}` in `metadata`", f.field);
    let help = match closest(&f.field, OBJECT_META.iter().copied()) {
        Some(c) => format!("Did you mean `{c}`?"),
        None => format!(
            "`metadata` holds {}; other settings belong under `spec`.",
            backtick_list(&OBJECT_META[..4], "and")
        ),
    };
    (message, help)
}

/// Renders trail segments as a schema path: `spec.http[].route[]`.
fn join(segments: &[&str]) -> String {
    let mut out = String::new();
    for s in segments.iter().filter(|s| !s.is_empty()) {
        if s.starts_with('[') || s.starts_with('{') || out.is_empty() {
            out.push_str(s);
        } else {
            out.push('.');
            out.push_str(s);
        }
    }
    out
}

/// The children of a node with the segments that lead to them.
fn children(schema: &Schema, id: u32) -> Vec<(String, u32)> {
    let node = schema.node(id);
    let mut out: Vec<(String, u32)> = node.props.clone();
    if let Some(i) = node.items {
        out.push(("[]".to_owned(), i));
    }
    if let Some(v) = node.values {
        out.push(("{}".to_owned(), v));
    }
    out
}

/// Fields directly below `id` (through one list or map) that have `field`.
fn below(schema: &Schema, id: u32, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (seg, child) in children(schema, id) {
        if seg == "[]" || seg == "{}" {
            continue;
        }
        let mut targets = vec![(seg.clone(), child)];
        let c = schema.node(child);
        if let Some(i) = c.items {
            targets = vec![(format!("{seg}[]"), i)];
        } else if let Some(v) = c.values {
            targets = vec![(format!("{seg}{{}}"), v)];
        }
        for (path, t) in targets {
            if schema.node(t).prop(field).is_some() {
                out.push(path);
            }
        }
    }
    out
}

/// The shortest schema path from `root` to a mapping that has `field`.
fn anywhere(schema: &Schema, root: u32, field: &str) -> Option<String> {
    let mut queue = VecDeque::from([(root, Vec::<String>::new())]);
    let mut seen = HashSet::from([root]);
    while let Some((id, path)) = queue.pop_front() {
        if schema.node(id).ty == Ty::Object && schema.node(id).prop(field).is_some() {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            return Some(join(&segs));
        }
        if path.len() > 12 {
            continue;
        }
        for (seg, child) in children(schema, id) {
            if seen.insert(child) {
                let mut p = path.clone();
                p.push(seg);
                queue.push_back((child, p));
            }
        }
    }
    None
}

fn explain(schema: &Schema, f: &Finding<'_>, here: &str) -> (String, String) {
    let field = f.field.as_str();
    let current = f.schema;
    let segments: Vec<&str> = f.trail.iter().map(|(s, _)| s.as_str()).collect();
    let base = format!("unknown field `{field}` in `{here}`");

    let down = below(schema, current, field);
    if !down.is_empty() {
        let places: Vec<&str> = down.iter().map(String::as_str).collect();
        return (
            format!(
                "{base}: `{field}` belongs under {}",
                backtick_list(&places, "or")
            ),
            format!("Move `{field}` under `{}`.", places[0]),
        );
    }
    // Written too deep: an enclosing mapping has the field.
    for i in (0..f.trail.len().saturating_sub(1)).rev() {
        let (_, id) = f.trail[i];
        if schema.node(id).prop(field).is_some() {
            let target = join(&segments[..=i]);
            let target = if target.is_empty() {
                "the top level of the object".to_owned()
            } else {
                format!("`{target}`")
            };
            let inside = crate::rules::schema_findings::last_segment(here);
            return (
                format!("{base}: `{field}` belongs in {target}, not inside `{inside}`"),
                format!("Move `{field}` out of `{inside}`, into {target}."),
            );
        }
    }
    let node = schema.node(current);
    let mut names: Vec<&str> = node.props.iter().map(|(n, _)| n.as_str()).collect();
    if f.parent_path.is_empty() {
        names.extend(["apiVersion", "kind", "metadata"]);
    }
    let lower = field.to_ascii_lowercase();
    let suggestion = names
        .iter()
        .copied()
        .find(|n| {
            n.to_ascii_lowercase() == lower
                || n.replace('_', "")
                    .eq_ignore_ascii_case(&lower.replace('_', ""))
        })
        .or_else(|| closest(field, names.iter().copied()));
    if let Some(s) = suggestion {
        return (
            format!("{base}: did you mean `{s}`?"),
            format!("Rename `{field}` to `{s}`."),
        );
    }
    if let Some(root) = f.trail.first().map(|(_, id)| *id)
        && let Some(elsewhere) = anywhere(schema, root, field)
    {
        let elsewhere = if elsewhere.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{elsewhere}`")
        };
        return (
            format!("{base}: `{field}` is a field of {elsewhere}"),
            format!("Move `{field}` to {elsewhere}, or remove it."),
        );
    }
    let help = if names.is_empty() {
        format!("`{here}` has no fields; remove `{field}`.")
    } else if names.len() <= 16 {
        names.sort_unstable();
        format!(
            "Remove `{field}`; the fields of `{here}` are {}.",
            backtick_list(&names, "and")
        )
    } else {
        format!("Remove `{field}`, or check the field names of `{here}` in Istio's API reference.")
    };
    (base, help)
}
