//! What the schema rules share: one walk of an object against the embedded
//! schema, and how its findings are named and located.

use crate::model::node::{Node, Shape};
use crate::rules::ObjectContext;
use crate::schema::walk::{self, Finding};
use crate::source::Span;

/// Findings of `metadata` (every object) and, for kinds in the schema, of the
/// whole object.
///
/// The walk runs once per object; the six schema rules share its result.
pub fn findings<'c, 't>(ctx: &'c ObjectContext<'t>) -> &'c [Finding<'t>] {
    ctx.schema.get_or_init(|| walk_object(ctx))
}

fn walk_object<'t>(ctx: &ObjectContext<'t>) -> Vec<Finding<'t>> {
    let meta = &ctx.object.meta;
    let mut out = walk::walk_metadata(ctx.tree, &meta.pointer);
    if let Some(schema) = crate::schema::embedded()
        && let Some(root) = schema.root(meta.api_version.as_str(), meta.kind.as_str())
    {
        out.extend(walk::walk(
            schema,
            meta.kind.as_str(),
            root,
            ctx.tree,
            &meta.pointer,
        ));
    }
    out
}

/// `spec.http[].retries`, or the kind for the object itself.
pub fn place(parent_path: &str, kind: &str) -> String {
    if parent_path.is_empty() {
        kind.to_owned()
    } else {
        parent_path.to_owned()
    }
}

/// How to name the value of a finding: "`timeout`", "an item of `hosts`",
/// "the value of `version` in `labels`".
pub fn subject(f: &Finding<'_>) -> String {
    let last = last_segment(&f.parent_path);
    match f.field.as_str() {
        "[]" => format!("an item of `{last}`"),
        "{}" => {
            let key = f.key.and_then(|k| k.scalar_text()).unwrap_or("");
            format!("the value of `{key}` in `{last}`")
        }
        _ if f.parent_path == "metadata.labels" || f.parent_path == "metadata.annotations" => {
            format!("the value of `{}` in `{last}`", f.field)
        }
        field => format!("`{field}`"),
    }
}

/// The last named segment of a schema path (`retries` of `spec.http[].retries`).
pub fn last_segment(path: &str) -> &str {
    let base = path.trim_end_matches("[]").trim_end_matches("{}");
    let base = base.trim_end_matches("[]").trim_end_matches("{}");
    base.rsplit('.').next().unwrap_or(base)
}

/// Where to point for a value: the scalar itself, or the key of a collection
/// (a mapping's span would cover many lines).
pub fn value_span(f: &Finding<'_>) -> Span {
    match (f.node.shape(), f.key) {
        (Shape::Mapping | Shape::Sequence, Some(k)) => k.span(),
        (Shape::Mapping | Shape::Sequence, None) => first_line(f.node),
        _ => f.node.span(),
    }
}

/// The first key of a mapping, or the node itself.
pub fn first_line(node: Node<'_>) -> Span {
    node.entries()
        .next()
        .map_or_else(|| node.span(), |(k, _)| k.span())
}
