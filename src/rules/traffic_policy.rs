//! Shared by the DestinationRule traffic-policy rules (`invalid-locality-lb`,
//! `invalid-load-balancer`, `invalid-connection-pool`, `invalid-client-tls`,
//! `invalid-tunnel`, `invalid-outlier-detection`, `empty-traffic-policy`): what
//! "set" means to Istio's Go validation, and one way to build a finding.

use crate::model::ObjectMeta;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::RuleMeta;
use crate::source::Span;

/// True when Istio's decoded proto has the field: present, not `null`, and not
/// an empty list (an empty repeated field decodes to nothing).
pub fn is_set(node: Option<Node<'_>>) -> bool {
    match node {
        None => false,
        Some(n) => match n.shape() {
            Shape::Null => false,
            Shape::Sequence => n.items().next().is_some(),
            Shape::Mapping | Shape::Scalar => true,
        },
    }
}

/// The field `key` of `node` when it is set (see [`is_set`]), with its key node.
pub fn set_entry<'t>(node: Node<'t>, key: &str) -> Option<(Node<'t>, Node<'t>)> {
    node.entry(key).filter(|(_, v)| is_set(Some(*v)))
}

/// A non-empty string field (Go's `!= ""`).
pub fn non_empty_str<'t>(node: Node<'t>, key: &str) -> Option<(Node<'t>, Node<'t>, &'t str)> {
    let (k, v) = node.entry(key)?;
    let s = v.str().filter(|s| !s.is_empty())?;
    Some((k, v, s))
}

/// A finding of `rule` on a DestinationRule at `span`, with the JSON pointer
/// `pointer`, a short label and a full-sentence help.
pub fn finding(
    rule: &RuleMeta,
    meta: &ObjectMeta,
    span: Span,
    pointer: impl Into<String>,
    message: impl Into<String>,
    label: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(rule, meta.file, span, message)
        .label(label)
        .help(help)
        .object(meta)
        .path(pointer)
}

/// The span of the first key of a mapping, or of the node itself.
pub fn head(node: Node<'_>) -> Span {
    node.entries()
        .next()
        .map_or_else(|| node.span(), |(k, _)| k.span())
}
