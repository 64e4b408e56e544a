use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::model::pointer_segment;
use crate::report::Diagnostic;
use crate::rules::header_syntax::{describe_char, match_name_problem};
use crate::rules::spec_walk::is_dns1123_label;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags VirtualService match conditions Istio's validation rejects: a
    /// `headers` or `withoutHeaders` name that is not an HTTP header name, a
    /// `headers` entry that is null, an empty `prefix` in any string match but
    /// `uri`, a `sourceNamespace` that is not a namespace name, and
    /// `sourceLabels` that are not valid label keys and values.
    ///
    /// A header name is an RFC 7230 token (letters, digits and
    /// ``!#$%&'*+-.^_`|~``), one of the HTTP/2 pseudo-headers `:method`,
    /// `:scheme`, `:authority`, `:path` and `:status` (exactly, in lower
    /// case), or a JWT claim key, `@request.auth.claims.<claim>` or
    /// `@request.auth.claims[<claim>][<nested>]` (whether such a key is
    /// allowed where the VirtualService applies is `jwt-claim-route-in-mesh`'s
    /// business). A header written with no value (`x-canary:`) is null; an
    /// empty mapping (`x-canary: {}`) is fine and matches on the header's
    /// presence, as does `regex: "*"` under `withoutHeaders`. Envoy accepts an
    /// empty prefix for the path only, so `prefix: ""` is rejected for
    /// headers, query parameters, `scheme`, `method` and `authority`. Label
    /// keys are an optional DNS prefix and `/`, then at most 63 letters,
    /// digits, `-`, `_` and `.` starting and ending with a letter or digit;
    /// values follow the same pattern or are empty. `sourceLabels` are checked
    /// in HTTP, TCP and TLS matches.
    ///
    /// Empty, oversized and non-RE2 regexes are `invalid-regex`'s findings.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. Where no webhook runs, Envoy cannot match a header name that
    /// no request can carry, and a route that matches `bad header` or
    /// `:host` is silently never taken.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - match:
    ///     - headers:
    ///         "end user": {exact: jason}
    ///         x-canary:
    ///     route:
    ///     - destination: {host: reviews, subset: v2}
    ///   - route:
    ///     - destination: {host: reviews, subset: v1}
    /// ```
    /// Use instead: `end-user: {exact: jason}`, and `x-canary: {}` to match
    /// on the header's presence.
    pub InvalidHeaderMatch {
        name: "invalid-header-match",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidHeaderMatch {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        for kind in ["http", "tcp", "tls"] {
            for (i, route) in spec
                .get(kind)
                .into_iter()
                .flat_map(|r| r.items())
                .enumerate()
            {
                for (j, m) in route
                    .get("match")
                    .into_iter()
                    .flat_map(|m| m.items())
                    .enumerate()
                {
                    let ptr = format!("{base}/{kind}/{i}/match/{j}");
                    if kind == "http" {
                        check_http_match(ctx, m, &ptr, out);
                    }
                    check_source_labels(ctx, m, &ptr, out);
                }
            }
        }
    }
}

fn report(ctx: &ObjectContext<'_>, node: Node<'_>, path: String, message: String) -> Diagnostic {
    let meta = &ctx.object.meta;
    Diagnostic::new(&InvalidHeaderMatch::META, meta.file, node.span(), message)
        .object(meta)
        .path(path)
}

fn check_http_match(ctx: &ObjectContext<'_>, m: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for (field, what) in [
        ("headers", "header"),
        ("withoutHeaders", "`withoutHeaders` header"),
    ] {
        for (k, v) in m.get(field).into_iter().flat_map(|h| h.entries()) {
            let Some(name) = k.scalar_text() else {
                continue;
            };
            let path = format!("{ptr}/{field}/{}", pointer_segment(name));
            if let Some(problem) = match_name_problem(name) {
                out.push(
                    report(
                        ctx,
                        k,
                        path.clone(),
                        format!("{what} name `{name}` is not valid: {problem}"),
                    )
                    .label("invalid header name")
                    .help("Use a header name made of letters, digits and ``!#$%&'*+-.^_`|~`` (such as `x-user-group`), a pseudo-header (`:method`, `:scheme`, `:authority`, `:path`, `:status`) or a JWT claim (`@request.auth.claims.<claim>`)."),
                );
            }
            if field == "headers" && v.is_null() {
                out.push(
                    report(
                        ctx,
                        k,
                        path.clone(),
                        format!("header match `{name}` has no value (null), which Istio rejects"),
                    )
                    .label("null header match")
                    .help(format!(
                        "Give `{name}` a matcher (`exact`, `prefix` or `regex`), or write `{name}: {{}}` to match any request that carries the header."
                    )),
                );
                continue;
            }
            empty_prefix(ctx, v, &path, &format!("{what} `{name}`"), true, out);
        }
    }
    for field in ["scheme", "method", "authority"] {
        if let Some(v) = m.get(field) {
            empty_prefix(
                ctx,
                v,
                &format!("{ptr}/{field}"),
                &format!("`{field}`"),
                false,
                out,
            );
        }
    }
    for (k, v) in m.get("queryParams").into_iter().flat_map(|h| h.entries()) {
        let name = k.scalar_text().unwrap_or("?");
        empty_prefix(
            ctx,
            v,
            &format!("{ptr}/queryParams/{}", pointer_segment(name)),
            &format!("query parameter `{name}`"),
            false,
            out,
        );
    }
    if let Some(ns) = m.get("sourceNamespace")
        && ns.shape() == Shape::Scalar
        && let Some(text) = ns.str()
        && !text.is_empty()
        && !is_dns1123_label(text)
    {
        out.push(
            report(
                ctx,
                ns,
                format!("{ptr}/sourceNamespace"),
                format!("`sourceNamespace` `{text}` is not a namespace name, which Istio rejects"),
            )
            .label("not a namespace name")
            .help("Write one namespace name: at most 63 letters, digits and `-`, starting and ending with a letter or digit; no wildcards and no lists."),
        );
    }
}

fn empty_prefix(
    ctx: &ObjectContext<'_>,
    v: Node<'_>,
    path: &str,
    what: &str,
    header: bool,
    out: &mut Vec<Diagnostic>,
) {
    let Some(p) = v.get("prefix") else {
        return;
    };
    if p.shape() != Shape::Scalar || p.is_null() || p.scalar_text() != Some("") {
        return;
    }
    out.push(
        report(
            ctx,
            p,
            format!("{path}/prefix"),
            format!("{what} has an empty `prefix`: Envoy allows an empty prefix only for the path, and Istio rejects it"),
        )
        .label("empty prefix")
        .help(if header {
            "Give the prefix some text, or write `{}` to match on the header's presence."
        } else {
            "Give the prefix some text, or remove the condition to match every value."
        }),
    );
}

fn check_source_labels(ctx: &ObjectContext<'_>, m: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for (k, v) in m.get("sourceLabels").into_iter().flat_map(|l| l.entries()) {
        let Some(key) = k.scalar_text() else {
            continue;
        };
        let path = format!("{ptr}/sourceLabels/{}", pointer_segment(key));
        if let Some(problem) = label_key_problem(key) {
            out.push(
                report(
                    ctx,
                    k,
                    path.clone(),
                    format!("`sourceLabels` key `{key}` is not a label key: {problem}"),
                )
                .label("invalid label key")
                .help("Write a label key as Kubernetes does: an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit (`app`, `app.kubernetes.io/name`)."),
            );
        }
        if v.shape() != Shape::Scalar || v.is_null() {
            continue;
        }
        let Some(value) = v.scalar_text() else {
            continue;
        };
        if let Some(problem) = label_value_problem(value) {
            out.push(
                report(
                    ctx,
                    v,
                    path,
                    format!("`sourceLabels` value `{value}` of `{key}` is not a label value: {problem}"),
                )
                .label("invalid label value")
                .help("Write a label value as Kubernetes does: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; a selector matches one exact value, with no wildcards."),
            );
        }
    }
}

/// Istio's label key check: `[dnsPrefix/]name`.
fn label_key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("it is empty".to_owned());
    }
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || !p.split('.').all(is_dns1123_label) {
            return Some(format!("its prefix `{p}` is not a DNS name"));
        }
        if p.len() > 253 {
            return Some(format!(
                "its prefix has {} characters, more than 253",
                p.len()
            ));
        }
    }
    if name.len() > 63 {
        return Some(format!(
            "its name has {} characters, more than 63",
            name.len()
        ));
    }
    qualified_name_problem(name)
}

/// Istio's label value check: empty, or a qualified name.
fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    qualified_name_problem(value)
}

/// `(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn qualified_name_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("the name part is empty".to_owned());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "it contains {}; only letters, digits, `-`, `_` and `.` are allowed",
            describe_char(c)
        ));
    }
    let first_last_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_last_ok(s.chars().next()) || !first_last_ok(s.chars().last()) {
        return Some("it must start and end with a letter or digit".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["app", "app.kubernetes.io/name", "a_b.c-d", "A1"] {
            assert_eq!(label_key_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a b",
            "/a",
            "a/",
            "a/b/c",
            "ex_ample.com/a",
            "*",
        ] {
            assert!(label_key_problem(bad).is_some(), "{bad}");
        }
        for ok in ["", "v1", "1.2.3", "a_b"] {
            assert_eq!(label_value_problem(ok), None, "{ok}");
        }
        for bad in ["*", "v1*", "-v1", "a b", "v1,v2"] {
            assert!(label_value_problem(bad).is_some(), "{bad}");
        }
    }
}
