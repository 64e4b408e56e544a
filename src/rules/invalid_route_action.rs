use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::http_routes::{http_routes, is_delegate, route_anchor, route_label};
use crate::rules::spec_walk::set_entry;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an HTTP route that does not say what to do with a request, or
    /// says two things at once: none of `route`, `redirect` and
    /// `directResponse`; `redirect` together with `directResponse`; `route`
    /// together with either; `fault` or `rewrite` next to `redirect` or
    /// `directResponse`. Also a TCP or TLS route without `route`.
    ///
    /// An HTTP route forwards the request (`route`), answers with a redirect
    /// (`redirect`) or answers by itself (`directResponse`): exactly one of
    /// them. `fault` and `rewrite` act on a request on its way to a
    /// destination, so they mean nothing when the route answers by itself. A
    /// route with `delegate` hands the decision to another VirtualService and
    /// needs none of them (`invalid-delegate` checks what may go with it). An
    /// empty `route: []` counts as no `route`.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService ("HTTP route, redirect or
    /// direct_response is required", "HTTP route cannot contain both route and
    /// redirect", "TCP route is required"), so none of its changes apply.
    /// Where no webhook runs, istiod drops the invalid VirtualService and
    /// keeps serving the last accepted version.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: web, namespace: shop}
    /// spec:
    ///   hosts: [shop.example.com]
    ///   gateways: [shop/public]
    ///   http:
    ///   - match: [{uri: {prefix: /old}}]
    ///     redirect: {uri: /new}
    ///     rewrite: {uri: /new}
    ///   - corsPolicy:
    ///       allowOrigins: [{exact: https://shop.example.com}]
    ///   - route: [{destination: {host: web}}]
    /// ```
    /// Use instead: `redirect: {uri: /new}` alone (the redirect already sets
    /// the path), and the `corsPolicy` on the route that forwards to `web`.
    pub InvalidRouteAction {
        name: "invalid-route-action",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidRouteAction {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let report = |span, path: String, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidRouteAction::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(path)
        };

        for r in http_routes(ctx) {
            let route = r.node;
            // A delegating route needs no action; what may go with `delegate`
            // is invalid-delegate's.
            if set_entry(route, "delegate").is_some() {
                continue;
            }
            // Present and not null: an empty list is pointed at, not treated as absent.
            let forward = route.entry("route").filter(|(_, v)| !v.is_null());
            let forwards = forward.is_some_and(|(_, v)| v.items().next().is_some());
            // `route: {...}` is a type error the schema rules report.
            let forward_misshapen = forward.is_some_and(|(_, v)| v.shape() != Shape::Sequence);
            let redirect = set_entry(route, "redirect");
            let direct = set_entry(route, "directResponse");

            if let (Some((rk, _)), Some((dk, _))) = (redirect, direct) {
                out.push(
                    report(
                        dk.span(),
                        format!("{}/directResponse", r.pointer),
                        "this route sets both `redirect` and `directResponse`: a route answers with one of them, and Istio rejects the VirtualService".to_owned(),
                        "`redirect` is set too",
                        "Keep one: `redirect` sends the client to another URL, `directResponse` answers with a fixed status and body.",
                    )
                    .related(meta.file, rk.span(), "`redirect` is set here"),
                );
            }

            let terminals: Vec<(&str, Node<'_>)> =
                [("redirect", redirect), ("directResponse", direct)]
                    .into_iter()
                    .filter_map(|(name, e)| e.map(|(k, _)| (name, k)))
                    .collect();

            if forwards && let Some((fk, _)) = forward {
                for (name, key) in &terminals {
                    let what = if *name == "redirect" {
                        "a redirect answers the request itself"
                    } else {
                        "a direct response answers the request itself"
                    };
                    out.push(
                        report(
                            key.span(),
                            format!("{}/{name}", r.pointer),
                            format!(
                                "this route sets both `route` and `{name}`: {what}, so the destinations would never be used, and Istio rejects the VirtualService"
                            ),
                            "`route` is set too",
                            &format!(
                                "Keep one: remove `{name}` to forward to the destinations, or remove `route` to answer with the {}.",
                                if *name == "redirect" { "redirect" } else { "direct response" }
                            ),
                        )
                        .related(meta.file, fk.span(), "`route` is set here"),
                    );
                }
            }

            if let Some((name, tkey)) = terminals.first() {
                for (field, does) in [
                    (
                        "fault",
                        "injects faults into requests on their way to a destination",
                    ),
                    ("rewrite", "rewrites requests on their way to a destination"),
                ] {
                    let Some((key, _)) = set_entry(route, field) else {
                        continue;
                    };
                    let help = match (field, *name) {
                        ("rewrite", "redirect") => "Remove `rewrite`: set the new path or host in `redirect.uri` and `redirect.authority` instead.".to_owned(),
                        ("rewrite", _) => "Remove `rewrite`: a direct response never reaches a destination.".to_owned(),
                        _ => format!("Remove `fault`, or replace `{name}` with a `route` if the faults are meant for forwarded requests."),
                    };
                    out.push(
                        report(
                            key.span(),
                            format!("{}/{field}", r.pointer),
                            format!(
                                "`{field}` {does}, but this route answers with `{name}` and forwards nothing: Istio rejects the VirtualService"
                            ),
                            &format!("not allowed with `{name}`"),
                            &help,
                        )
                        .related(meta.file, tkey.span(), format!("`{name}` is set here")),
                    );
                }
            }

            if !forwards && !forward_misshapen && terminals.is_empty() {
                let (span, path, label) = match forward {
                    Some((_, v)) => (v.span(), format!("{}/route", r.pointer), "no destinations"),
                    None => (
                        route_anchor(route),
                        r.pointer.clone(),
                        "no `route`, `redirect` or `directResponse`",
                    ),
                };
                out.push(report(
                    span,
                    path,
                    format!(
                        "{} has no `route`, `redirect` or `directResponse`: it does nothing with the requests it matches, and Istio rejects the VirtualService",
                        route_label(route, &r.pointer)
                    ),
                    label,
                    "Give the route a `route` with at least one destination, a `redirect` or a `directResponse`; settings such as `corsPolicy` or `headers` belong on the route that forwards the requests.",
                ));
            }
        }

        // TCP and TLS routes can only forward. A delegate's `tcp`/`tls` are
        // invalid-delegate's.
        if is_delegate(ctx) {
            return;
        }
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        for (list, proto) in [("tcp", "TCP"), ("tls", "TLS")] {
            for (i, item) in spec
                .get(list)
                .into_iter()
                .flat_map(|l| l.items())
                .enumerate()
            {
                if item.shape() != Shape::Mapping {
                    continue;
                }
                let forward = item.entry("route").filter(|(_, v)| !v.is_null());
                if forward.is_some_and(|(_, v)| {
                    v.shape() != Shape::Sequence || v.items().next().is_some()
                }) {
                    continue;
                }
                let pointer = meta.path(&format!("/spec/{list}/{i}"));
                let (span, path, label) = match forward {
                    Some((_, v)) => (v.span(), format!("{pointer}/route"), "no destinations"),
                    None => (route_anchor(item), pointer, "no `route`"),
                };
                out.push(report(
                    span,
                    path,
                    format!(
                        "{proto} route #{} has no `route`: it forwards the connections it matches nowhere, and Istio rejects the VirtualService",
                        i + 1
                    ),
                    label,
                    &format!("Add a `route` with at least one destination to this {proto} route, or remove the route."),
                ));
            }
        }
    }
}
