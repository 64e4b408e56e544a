use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::http_routes::http_routes;
use crate::rules::spec_walk::{non_empty_str, set_entry};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an HTTP `rewrite` that Istio rejects: `uri` together with
    /// `uriRegexRewrite`; a rewrite that changes nothing (none of `uri`,
    /// `uriRegexRewrite` and `authority`, or only empty strings); a
    /// `uriRegexRewrite` without a `match` or a `rewrite`.
    ///
    /// `uri` and `uriRegexRewrite` are two ways to rewrite the path; a
    /// rewrite takes one. `rewrite.uri` on an `exact` or `regex` URI match is
    /// accepted and replaces the whole path (Envoy swaps "the matched prefix
    /// (or path)"), so it is not flagged. Whether the regex is valid RE2 is
    /// `invalid-regex`'s; a rewrite next to a `redirect` or `directResponse`
    /// is `invalid-route-action`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService ("rewrite may only contain
    /// one of URI or UriRegexRewrite", "UriRegexRewrite requires both
    /// Rewrite and Match fields to be specified"), so none of its changes
    /// apply.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   hosts: [api]
    ///   http:
    ///   - match: [{uri: {prefix: /v1/}}]
    ///     rewrite:
    ///       uriRegexRewrite: {match: ^/v1/(.*)}
    ///     route: [{destination: {host: api}}]
    /// ```
    /// Use instead: `uriRegexRewrite: {match: ^/v1/(.*), rewrite: /\1}`, or
    /// simply `uri: /` on the prefix match.
    pub InvalidRewrite {
        name: "invalid-rewrite",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidRewrite {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let report = |span, path: String, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidRewrite::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(path)
        };

        for r in http_routes(ctx) {
            let Some((rewrite_key, rewrite)) = set_entry(r.node, "rewrite") else {
                continue;
            };
            if rewrite.shape() != Shape::Mapping {
                continue;
            }
            let base = format!("{}/rewrite", r.pointer);
            let uri = non_empty_str(rewrite, "uri");
            let regex = set_entry(rewrite, "uriRegexRewrite");

            if let (Some((uk, _, _)), Some((rk, _))) = (uri, regex) {
                out.push(
                    report(
                        rk.span(),
                        format!("{base}/uriRegexRewrite"),
                        "`rewrite` sets both `uri` and `uriRegexRewrite`: the path is rewritten one way or the other, and Istio rejects the VirtualService".to_owned(),
                        "`uri` is set too",
                        "Keep `uri` to replace the matched prefix, or `uriRegexRewrite` to rewrite the path with a regex.",
                    )
                    .related(meta.file, uk.span(), "`uri` is set here"),
                );
            }

            if uri.is_none() && regex.is_none() && non_empty_str(rewrite, "authority").is_none() {
                out.push(report(
                    rewrite_key.span(),
                    base.clone(),
                    "`rewrite` sets none of `uri`, `uriRegexRewrite` and `authority`: it changes nothing, and Istio rejects the VirtualService".to_owned(),
                    "changes nothing",
                    "Set `uri` (or `uriRegexRewrite`) to rewrite the path, or `authority` to rewrite the host; or remove `rewrite`.",
                ));
            }

            if let Some((rk, rv)) = regex
                && rv.shape() == Shape::Mapping
            {
                let missing: Vec<&str> = ["match", "rewrite"]
                    .into_iter()
                    .filter(|f| non_empty_str(rv, f).is_none())
                    .collect();
                if !missing.is_empty() {
                    let (what, help) = if missing.len() == 2 {
                        (
                            "neither `match` nor `rewrite`".to_owned(),
                            "Set `match` (an RE2 regex on the path) and `rewrite` (its replacement, which may use `\\1` for groups).",
                        )
                    } else if missing[0] == "match" {
                        (
                            "no `match`".to_owned(),
                            "Set `match` to the RE2 regex whose matches `rewrite` replaces.",
                        )
                    } else {
                        (
                            "no `rewrite`".to_owned(),
                            "Set `rewrite` to the replacement (it may use `\\1` for groups); to cut part of the path, capture what to keep and rewrite to the groups.",
                        )
                    };
                    let empty = missing
                        .iter()
                        .any(|f| rv.get(f).is_some_and(|v| v.str() == Some("")));
                    out.push(report(
                        rk.span(),
                        format!("{base}/uriRegexRewrite"),
                        format!(
                            "`uriRegexRewrite` has {what}{}: Istio needs both, and rejects the VirtualService",
                            if empty { " (an empty string counts as none)" } else { "" }
                        ),
                        &what,
                        help,
                    ));
                }
            }
        }
    }
}
