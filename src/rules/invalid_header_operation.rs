use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::model::pointer_segment;
use crate::report::Diagnostic;
use crate::rules::header_syntax::header_value_problem;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags VirtualService header operations Istio's validation rejects: a
    /// request `set` or `add` of a `:`-prefixed header other than
    /// `:authority`; a request `remove`, or any response operation, on `host`
    /// or a `:`-prefixed header; an empty header name; a value with control
    /// characters or a `%` that is not Envoy's `%VARIABLE%` or `%%`; and the
    /// authority rewritten in more than one place.
    ///
    /// Checked: `headers` of each HTTP route and of each of its `route`
    /// destinations. Envoy computes the pseudo-headers (`:path`, `:method`,
    /// `:status`, ...) itself, so only the authority can be changed, with
    /// `:authority` or `host` in a request `set`/`add`. Header values use
    /// Envoy's custom header format: `%DOWNSTREAM_REMOTE_ADDRESS%`,
    /// `%REQ(x-request-id)%` and `%UPSTREAM_METADATA(["istio","x"])%` are
    /// variables, `%%` is a literal percent sign, and any other `%` must open
    /// a variable closed by `%` (so `50%` is rejected). Tabs are allowed;
    /// other control characters, line breaks included (a `|` block scalar
    /// ends with one), are not. The name between the `%`s is not checked
    /// against Envoy's list, as Istio does not. A route's authority comes
    /// from `rewrite.authority` or from a route-level request `set`/`add` of
    /// `:authority` or `host`; Istio rejects a route that sets it twice.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. Where no webhook runs, Envoy rejects the route configuration
    /// (an xDS NACK) and keeps serving stale routes for every host on that
    /// listener.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: web, namespace: shop}
    /// spec:
    ///   hosts: [web]
    ///   http:
    ///   - headers:
    ///       request:
    ///         set: {":path": /v2}
    ///       response:
    ///         add: {x-discount: "50%"}
    ///     route:
    ///     - destination: {host: web}
    /// ```
    /// Use instead: `rewrite: {uri: /v2}` to change the path, and
    /// `x-discount: "50%%"` for a literal percent sign.
    pub InvalidHeaderOperation {
        name: "invalid-header-operation",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidHeaderOperation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        for (i, route) in spec
            .get("http")
            .into_iter()
            .flat_map(|r| r.items())
            .enumerate()
        {
            let rptr = format!("{base}/http/{i}");
            if let Some(h) = route.get("headers") {
                check_headers(ctx, h, &format!("{rptr}/headers"), out);
            }
            for (k, dest) in route
                .get("route")
                .into_iter()
                .flat_map(|r| r.items())
                .enumerate()
            {
                if let Some(h) = dest.get("headers") {
                    check_headers(ctx, h, &format!("{rptr}/route/{k}/headers"), out);
                }
            }
            check_authority(ctx, route, &rptr, out);
        }
    }
}

fn report(ctx: &ObjectContext<'_>, span: Span, path: String, message: String) -> Diagnostic {
    let meta = &ctx.object.meta;
    Diagnostic::new(&InvalidHeaderOperation::META, meta.file, span, message)
        .object(meta)
        .path(path)
}

/// True for the headers Istio treats as the authority.
fn is_authority(name: &str) -> bool {
    name.eq_ignore_ascii_case(":authority") || name.eq_ignore_ascii_case("host")
}

fn check_headers(ctx: &ObjectContext<'_>, headers: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for dir in ["request", "response"] {
        let Some(ops) = headers.get(dir) else {
            continue;
        };
        for op in ["set", "add"] {
            for (k, v) in ops.get(op).into_iter().flat_map(|m| m.entries()) {
                let Some(name) = k.scalar_text() else {
                    continue;
                };
                let path = format!("{ptr}/{dir}/{op}/{}", pointer_segment(name));
                if let Some(d) = name_problem(ctx, k.span(), name, dir, op, &path) {
                    out.push(d);
                }
                if v.shape() == Shape::Scalar
                    && !v.is_null()
                    && let Some(value) = v.scalar_text()
                    && let Some(problem) = header_value_problem(value)
                {
                    out.push(
                        report(
                            ctx,
                            v.span(),
                            path,
                            format!("the value of header `{name}` is not valid: {problem}"),
                        )
                        .label("invalid header value")
                        .help(if problem.contains("cannot contain") {
                            "Keep the value on one line without control characters: a `|` or `>` block scalar ends with a line break, so quote the value instead."
                        } else {
                            "Write `%%` for a literal `%`, and close each Envoy variable with `%` (`%DOWNSTREAM_REMOTE_ADDRESS%`, `%REQ(x-request-id)%`)."
                        }),
                    );
                }
            }
        }
        for (n, item) in ops
            .get("remove")
            .into_iter()
            .flat_map(|r| r.items())
            .enumerate()
        {
            if item.shape() != Shape::Scalar || item.is_null() {
                continue;
            }
            let Some(name) = item.scalar_text() else {
                continue;
            };
            let path = format!("{ptr}/{dir}/remove/{n}");
            if let Some(d) = name_problem(ctx, item.span(), name, dir, "remove", &path) {
                out.push(d);
            }
        }
    }
}

/// Istio's `ValidateHTTPHeaderWithAuthorityOperationName` (request set/add)
/// and `ValidateHTTPHeaderOperationName` (the rest).
fn name_problem(
    ctx: &ObjectContext<'_>,
    span: Span,
    name: &str,
    dir: &str,
    op: &str,
    path: &str,
) -> Option<Diagnostic> {
    let where_ = format!("`{dir}.{op}`");
    if name.is_empty() {
        return Some(
            report(
                ctx,
                span,
                path.to_owned(),
                format!("{where_} has an empty header name, which Istio rejects"),
            )
            .label("empty header name")
            .help("Name the header, or remove the entry."),
        );
    }
    let request_write = dir == "request" && op != "remove";
    if request_write {
        if name.starts_with(':') && !is_authority(name) {
            return Some(
                report(
                    ctx,
                    span,
                    path.to_owned(),
                    format!("{where_} cannot change the pseudo-header `{name}`: Envoy computes it, and Istio rejects the VirtualService"),
                )
                .label("pseudo-header")
                .help(pseudo_help(name)),
            );
        }
        return None;
    }
    if name.eq_ignore_ascii_case("host") || name.starts_with(':') {
        let what = if name.starts_with(':') {
            format!("the pseudo-header `{name}`")
        } else {
            format!("the `{name}` header")
        };
        let help = if dir == "request" {
            "Requests always carry an authority: change it with `rewrite.authority` (or a request `set` of `:authority`) instead of removing it.".to_owned()
        } else if name.starts_with(':') && !is_authority(name) {
            pseudo_help(name)
        } else {
            "Responses have no authority to change; remove this entry.".to_owned()
        };
        return Some(
            report(
                ctx,
                span,
                path.to_owned(),
                format!("{where_} cannot touch {what}, which Istio rejects"),
            )
            .label("not allowed here")
            .help(help),
        );
    }
    None
}

fn pseudo_help(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        ":path" => "Change the path with `rewrite.uri` (or `rewrite.uriRegexRewrite`).".to_owned(),
        ":scheme" => "Use `redirect.scheme` to send clients to another scheme, or TLS settings in a DestinationRule to change the upstream protocol.".to_owned(),
        ":status" => "Use `directResponse` or `fault.abort` to answer with another status.".to_owned(),
        _ => "Only the authority can be changed, with `rewrite.authority` or a request `set` of `:authority`; remove this entry.".to_owned(),
    }
}

/// Istio's `validateAuthorityRewrite`: `rewrite.authority`, then request
/// `set`, then request `add` entries for the authority; the second non-empty
/// one is an error.
fn check_authority(
    ctx: &ObjectContext<'_>,
    route: Node<'_>,
    rptr: &str,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &ctx.object.meta;
    let mut first: Option<(Span, String)> = None;
    if let Some(a) = route.get("rewrite").and_then(|r| r.get("authority"))
        && let Some(text) = a.str()
        && !text.is_empty()
    {
        first = Some((a.span(), "`rewrite.authority`".to_owned()));
    }
    let request = route.get("headers").and_then(|h| h.get("request"));
    for op in ["set", "add"] {
        for (k, v) in request
            .and_then(|r| r.get(op))
            .into_iter()
            .flat_map(|m| m.entries())
        {
            let Some(name) = k.scalar_text() else {
                continue;
            };
            if !is_authority(name) {
                continue;
            }
            let here = format!("request `{op}` of `{name}`");
            match &first {
                Some((span, what)) => out.push(
                    report(
                        ctx,
                        k.span(),
                        format!("{rptr}/headers/request/{op}/{}", pointer_segment(name)),
                        format!("this route rewrites the authority twice, with {what} and with a {here}: Istio rejects the VirtualService"),
                    )
                    .label("second authority rewrite")
                    .related(meta.file, *span, "the authority is already rewritten here")
                    .help("Rewrite the authority in one place only: keep `rewrite.authority` (or one request `set` of `:authority`) and remove the other."),
                ),
                None => {
                    if v.str().is_some_and(|t| !t.is_empty()) {
                        first = Some((k.span(), format!("a {here}")));
                    }
                }
            }
        }
    }
}
