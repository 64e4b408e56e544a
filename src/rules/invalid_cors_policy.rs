use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::header_syntax::token_problem;
use crate::rules::{ObjectContext, Rule, RuleMeta};

/// The methods Istio accepts in `allowMethods`.
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*",
];

declare_rule! {
    /// Flags a VirtualService `corsPolicy` Istio's validation rejects: an
    /// `allowOrigins` entry without a non-empty `exact`, `prefix` or `regex`;
    /// an `allowMethods` entry that is not an HTTP method Istio knows; and an
    /// `allowHeaders` or `exposeHeaders` entry that is not a header name or
    /// `*`.
    ///
    /// The methods are `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`,
    /// `CONNECT`, `OPTIONS`, `TRACE` and `*`, compared exactly (`get` is
    /// rejected). Header names are RFC 7230 tokens (letters, digits and
    /// ``!#$%&'*+-.^_`|~``). `maxAge` is `invalid-duration`'s, and
    /// `allowOrigins` regexes are `invalid-regex`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. Where no webhook runs, an empty origin matcher or a method
    /// list such as `GET, POST` in one string never matches what a browser
    /// sends, so its preflight requests fail and the page's cross-origin
    /// calls are blocked.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   hosts: [api.example.com]
    ///   gateways: [shop/public]
    ///   http:
    ///   - corsPolicy:
    ///       allowOrigins:
    ///       - exact: ""
    ///       allowMethods: ["GET, POST"]
    ///       allowHeaders: ["content type"]
    ///     route:
    ///     - destination: {host: api}
    /// ```
    /// Use instead: `allowOrigins: [{exact: https://shop.example.com}]`,
    /// `allowMethods: [GET, POST]` and `allowHeaders: [content-type]`.
    pub InvalidCorsPolicy {
        name: "invalid-cors-policy",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidCorsPolicy {
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
            let Some(cors) = route.get("corsPolicy") else {
                continue;
            };
            let ptr = format!("{base}/http/{i}/corsPolicy");
            check_origins(ctx, cors, &ptr, out);
            check_methods(ctx, cors, &ptr, out);
            for field in ["allowHeaders", "exposeHeaders"] {
                check_header_names(ctx, cors, field, &ptr, out);
            }
        }
    }
}

fn report(ctx: &ObjectContext<'_>, node: Node<'_>, path: String, message: String) -> Diagnostic {
    let meta = &ctx.object.meta;
    Diagnostic::new(&InvalidCorsPolicy::META, meta.file, node.span(), message)
        .object(meta)
        .path(path)
}

/// Istio's `validateAllowOrigins`: the one matcher must be non-empty.
fn check_origins(ctx: &ObjectContext<'_>, cors: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for (j, origin) in cors
        .get("allowOrigins")
        .into_iter()
        .flat_map(|o| o.items())
        .enumerate()
    {
        let shape = origin.shape();
        if shape != Shape::Mapping && !origin.is_null() {
            // A bare string is a type error, reported by invalid-field-type.
            continue;
        }
        let has_value = ["exact", "prefix", "regex"].iter().any(|k| {
            origin
                .get(k)
                .and_then(|v| v.str())
                .is_some_and(|t| !t.is_empty())
        });
        if has_value {
            continue;
        }
        let empty = ["exact", "prefix", "regex"]
            .iter()
            .find_map(|k| origin.entry(k).map(|(_, v)| (*k, v)));
        let (node, path, message) = match empty {
            Some((k, v)) => (
                v,
                format!("{ptr}/allowOrigins/{j}/{k}"),
                format!("`allowOrigins` entry has an empty `{k}`, which Istio rejects"),
            ),
            None => (
                origin,
                format!("{ptr}/allowOrigins/{j}"),
                "`allowOrigins` entry has no `exact`, `prefix` or `regex`, which Istio rejects"
                    .to_owned(),
            ),
        };
        out.push(
            report(ctx, node, path, message)
                .label("no origin to match")
                .help("Name the origin, scheme included: `exact: https://shop.example.com`, or `regex: 'https://.*\\.example\\.com'` for a family of origins."),
        );
    }
}

fn check_methods(ctx: &ObjectContext<'_>, cors: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for (j, m) in cors
        .get("allowMethods")
        .into_iter()
        .flat_map(|o| o.items())
        .enumerate()
    {
        if m.shape() != Shape::Scalar || m.is_null() {
            continue;
        }
        let Some(method) = m.scalar_text() else {
            continue;
        };
        if METHODS.contains(&method) {
            continue;
        }
        let parts: Vec<&str> = method
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        let upper = method.to_ascii_uppercase();
        let help = if parts.len() > 1
            && parts
                .iter()
                .all(|p| METHODS.contains(&p.to_ascii_uppercase().as_str()))
        {
            format!(
                "List each method as its own entry: `allowMethods: [{}]`.",
                parts
                    .iter()
                    .map(|p| p.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if METHODS.contains(&upper.as_str()) {
            format!("Methods are compared exactly and written in upper case: `{upper}`.")
        } else {
            format!("Use {}.", crate::text::backtick_list(METHODS, "or"))
        };
        out.push(
            report(
                ctx,
                m,
                format!("{ptr}/allowMethods/{j}"),
                format!("`allowMethods` entry `{method}` is not an HTTP method Istio accepts"),
            )
            .label("unknown method")
            .help(help),
        );
    }
}

fn check_header_names(
    ctx: &ObjectContext<'_>,
    cors: Node<'_>,
    field: &str,
    ptr: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (j, h) in cors
        .get(field)
        .into_iter()
        .flat_map(|o| o.items())
        .enumerate()
    {
        if h.shape() != Shape::Scalar || h.is_null() {
            continue;
        }
        let Some(name) = h.scalar_text() else {
            continue;
        };
        if name == "*" {
            continue;
        }
        let Some(problem) = token_problem(name) else {
            continue;
        };
        let parts: Vec<&str> = name
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let help = if parts.len() > 1 && parts.iter().all(|p| token_problem(p).is_none()) {
            format!(
                "List each header as its own entry: `{field}: [{}]`.",
                parts.join(", ")
            )
        } else {
            "Use a header name made of letters, digits and ``!#$%&'*+-.^_`|~`` (such as `content-type`), or `*`.".to_owned()
        };
        out.push(
            report(
                ctx,
                h,
                format!("{ptr}/{field}/{j}"),
                format!("`{field}` entry `{name}` is not a header name: {problem}"),
            )
            .label("invalid header name")
            .help(help),
        );
    }
}
