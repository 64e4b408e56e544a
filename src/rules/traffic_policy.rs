//! Shared by the DestinationRule traffic-policy rules (`invalid-locality-lb`,
//! `invalid-load-balancer`, `invalid-connection-pool`, `invalid-client-tls`,
//! `invalid-tunnel`, `invalid-outlier-detection`, `empty-traffic-policy`): one
//! way to build a finding. What "set" means is in [`super::spec_walk`].

use crate::model::ObjectMeta;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::RuleMeta;
use crate::source::Span;

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
