use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::http_routes::http_routes;
use crate::rules::spec_walk::{non_empty_str, set_entry};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags an HTTP `redirect` that Istio rejects: `uri` together with
    /// `prefixRewrite`; `prefixRewrite` on a route that matches the path by
    /// `exact` or `regex`; a redirect that changes nothing (none of `uri`,
    /// `prefixRewrite`, `authority`, `scheme`, `port`, `derivePort`); `port`
    /// together with `derivePort`; a `scheme` other than `http` or `https`.
    ///
    /// `uri` replaces the whole path, `prefixRewrite` only the prefix the
    /// route matched, so a redirect takes one of them, and `prefixRewrite`
    /// needs every URI match of its route to be a `prefix` match. A match
    /// without `uri` is accepted: Istio matches it on the prefix `/`. The
    /// scheme is compared as written: `HTTPS` is rejected. The range of
    /// `redirectCode` and `port` is `value-out-of-range`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService ("redirect must specify
    /// URI, authority, scheme, or port", `invalid redirect scheme, must be
    /// "http" or "https"`), so none of its changes apply. A redirect that
    /// changes nothing would send clients back to the URL they asked for, in
    /// a loop.
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
    ///   - match: [{uri: {exact: /catalog}}]
    ///     redirect:
    ///       prefixRewrite: /shop
    ///       scheme: HTTPS
    /// ```
    /// Use instead: `uri: /shop` for an exact match (or match `prefix:
    /// /catalog` to keep the rest of the path), and `scheme: https`.
    pub InvalidRedirect {
        name: "invalid-redirect",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidRedirect {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let report = |span, path: String, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidRedirect::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(path)
        };

        for r in http_routes(ctx) {
            let Some((redirect_key, redirect)) = set_entry(r.node, "redirect") else {
                continue;
            };
            if redirect.shape() != Shape::Mapping {
                continue;
            }
            let base = format!("{}/redirect", r.pointer);
            let uri = non_empty_str(redirect, "uri");
            let prefix_rewrite = non_empty_str(redirect, "prefixRewrite");

            if let (Some((uk, _, _)), Some((pk, _, _))) = (uri, prefix_rewrite) {
                out.push(
                    report(
                        pk.span(),
                        format!("{base}/prefixRewrite"),
                        "`redirect` sets both `uri` and `prefixRewrite`: `uri` replaces the whole path and `prefixRewrite` only the matched prefix, and Istio rejects the VirtualService".to_owned(),
                        "`uri` is set too",
                        "Keep `uri` to send every matching request to one path, or `prefixRewrite` to keep the rest of the path.",
                    )
                    .related(meta.file, uk.span(), "`uri` is set here"),
                );
            }

            if let Some((_, pv, text)) = prefix_rewrite {
                let mut not_prefix = Vec::new();
                for m in r.node.get("match").into_iter().flat_map(|m| m.items()) {
                    let Some(u) = m.get("uri") else { continue };
                    for (k, v) in u.entries() {
                        if v.is_null() {
                            continue;
                        }
                        if let Some(kind @ ("exact" | "regex")) = k.scalar_text() {
                            not_prefix.push((k, kind));
                        }
                    }
                }
                if !not_prefix.is_empty() {
                    let mut kinds: Vec<&str> = not_prefix.iter().map(|(_, k)| *k).collect();
                    kinds.sort_unstable();
                    kinds.dedup();
                    let mut d = report(
                        pv.span(),
                        format!("{base}/prefixRewrite"),
                        format!(
                            "`prefixRewrite: {text}` replaces the prefix the route matched, but this route matches the path by {}: Istio rejects the VirtualService",
                            backtick_list(&kinds, "and")
                        ),
                        "needs `prefix` matches",
                        "Match the path with `uri: {prefix: ...}`, or use `redirect.uri` to send every matching request to one path.",
                    );
                    for (k, kind) in &not_prefix {
                        d = d.related(meta.file, k.span(), format!("`{kind}` match"));
                    }
                    out.push(d);
                }
            }

            let sets_something = uri.is_some()
                || prefix_rewrite.is_some()
                || non_empty_str(redirect, "authority").is_some()
                || non_empty_str(redirect, "scheme").is_some()
                || set_entry(redirect, "port").is_some()
                || set_entry(redirect, "derivePort").is_some();
            if !sets_something {
                out.push(report(
                    redirect_key.span(),
                    base.clone(),
                    "`redirect` sets none of `uri`, `prefixRewrite`, `authority`, `scheme`, `port` and `derivePort`: it would send clients back to the URL they asked for, and Istio rejects the VirtualService".to_owned(),
                    "changes nothing",
                    "Set where the redirect goes: `uri` (or `prefixRewrite`) for the path, `authority` for the host, `scheme` or `port`.",
                ));
            }

            if let (Some((pk, _)), Some((dk, _))) = (
                set_entry(redirect, "port"),
                set_entry(redirect, "derivePort"),
            ) {
                out.push(
                    report(
                        dk.span(),
                        format!("{base}/derivePort"),
                        "`redirect` sets both `port` and `derivePort`: the port is either fixed or derived, and the API server rejects the VirtualService".to_owned(),
                        "`port` is set too",
                        "Keep `port` for a fixed port, or `derivePort` to take it from the request or the scheme.",
                    )
                    .related(meta.file, pk.span(), "`port` is set here"),
                );
            }

            if let Some((_, sv, scheme)) = non_empty_str(redirect, "scheme")
                && scheme != "http"
                && scheme != "https"
            {
                let lower = scheme.to_ascii_lowercase();
                let help = if lower == "http" || lower == "https" {
                    format!("Write `scheme: {lower}`: Istio compares the scheme as written.")
                } else {
                    "Set `scheme` to `http` or `https`, or remove it to keep the request's scheme."
                        .to_owned()
                };
                out.push(report(
                    sv.span(),
                    format!("{base}/scheme"),
                    format!(
                        "redirect `scheme: {scheme}` is neither `http` nor `https`: Istio rejects the VirtualService"
                    ),
                    "not `http` or `https`",
                    &help,
                ));
            }
        }
    }
}
