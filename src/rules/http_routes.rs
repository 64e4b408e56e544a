//! Shared by the rules on what an HTTP route does (`invalid-route-action`,
//! `invalid-redirect`, `invalid-rewrite`, `invalid-fault`,
//! `oversized-direct-response`): the HTTP routes of a VirtualService with
//! their JSON pointers, and how to name and point at a route.

use crate::model::node::{Node, Shape};
use crate::rules::ObjectContext;

/// One item of `spec.http`.
pub struct HttpRoute<'t> {
    /// The route mapping.
    pub node: Node<'t>,
    /// Its JSON pointer (`/spec/http/2`, with the object's own prefix).
    pub pointer: String,
}

/// The mapping items of `spec.http`, in order. Items that are not mappings
/// (a stray scalar) are skipped: the schema rules report them.
pub fn http_routes<'t>(ctx: &ObjectContext<'t>) -> Vec<HttpRoute<'t>> {
    let Some(spec) = ctx.tree.get("spec") else {
        return Vec::new();
    };
    spec.get("http")
        .into_iter()
        .flat_map(|h| h.items())
        .enumerate()
        .filter(|(_, n)| n.shape() == Shape::Mapping)
        .map(|(i, node)| HttpRoute {
            node,
            pointer: ctx.object.meta.path(&format!("/spec/http/{i}")),
        })
        .collect()
}

/// True when the VirtualService is a delegate (no `hosts`).
pub fn is_delegate(ctx: &ObjectContext<'_>) -> bool {
    ctx.tree
        .get("spec")
        .and_then(|s| s.get("hosts"))
        .is_none_or(|h| h.items().next().is_none())
}

/// The span of a route to point at when the problem is the route as a whole:
/// its `name` value, else its first key.
pub fn route_anchor(route: Node<'_>) -> crate::source::Span {
    if let Some(name) = route.get("name").filter(|n| n.str().is_some()) {
        return name.span();
    }
    route
        .entries()
        .next()
        .map_or_else(|| route.span(), |(k, _)| k.span())
}

/// How to name a route in a message: `route `name``, or `route #3` (1-based).
pub fn route_label(route: Node<'_>, pointer: &str) -> String {
    if let Some(name) = route.get("name").and_then(|n| n.str()) {
        return format!("route `{name}`");
    }
    let index = pointer
        .rsplit('/')
        .next()
        .and_then(|i| i.parse::<usize>().ok())
        .map_or(0, |i| i + 1);
    format!("route #{index}")
}
