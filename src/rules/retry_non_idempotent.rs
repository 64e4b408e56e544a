use crate::declare_rule;
use crate::model::{HttpMatch, HttpRoute, MatchKind, Spec, StringMatch};
use crate::report::Diagnostic;
use crate::retry::{self, Token};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;
use crate::text::backtick_list;

declare_rule! {
    /// Flags explicit `retries` whose `retryOn` can resend a request the
    /// upstream may already have processed, on a route that also takes
    /// non-idempotent methods (`POST`, `PATCH`, ...).
    ///
    /// A route is safe when every entry of its `match` restricts the method to
    /// idempotent ones (RFC 9110: `GET`, `HEAD`, `OPTIONS`, `TRACE`, `PUT`,
    /// `DELETE`), through `method` or a `:method` header matcher (`exact`, a
    /// `prefix` that only standard idempotent methods start with, or a regex
    /// alternation such as `GET|HEAD`). A route without `match` takes every
    /// method. Status codes in `retryOn` (`503`) count as unsafe conditions.
    /// Routes without `retryOn` use Istio's default conditions and are not
    /// reported; routes that only redirect, answer directly or delegate, and
    /// `attempts: 0`, retry nothing.
    ///
    /// Envoy never looks at the method when it retries: whether a retry can
    /// repeat a side effect depends only on the condition. Every condition
    /// Istio accepts, from Envoy's router documentation and
    /// `retry_state_impl.cc`:
    ///
    /// | condition | retries when | can replay a processed request |
    /// | --- | --- | --- |
    /// | `connect-failure` | the connection to the upstream could not be established | no: nothing was sent |
    /// | `refused-stream` | the upstream reset the stream with `REFUSED_STREAM` | no: HTTP/2 guarantees the request was not processed |
    /// | `reset-before-request` | the upstream reset or disconnected before any request bytes were sent | no |
    /// | `envoy-ratelimited` | the response carries `x-envoy-ratelimited`, set by the upstream proxy's rate limit filter when it rejects the request | no: the application never saw it |
    /// | `5xx` | any 5xx response, or a reset, disconnect or per-try timeout at any point | yes |
    /// | `gateway-error` | a 502, 503 or 504 response, or a reset, disconnect or per-try timeout at any point | yes |
    /// | `reset` | a reset, disconnect or per-try timeout at any point, even after the request was sent | yes |
    /// | `retriable-4xx` | a 409 response (Envoy warns it may be an optimistic-locking conflict) | yes |
    /// | `http3-post-connect-failure` | an HTTP/3 request failed after the connection was up | yes |
    /// | `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable` | that gRPC status in the response headers | yes: the server answered |
    /// | a status code (`503`) | that response status | yes: the server answered |
    /// | `retriable-status-codes` | a status listed in `retryOn` (those are reported themselves) or in the client's `x-envoy-retriable-status-codes` header | not by itself |
    /// | `retriable-headers` | a response header named in the client's `x-envoy-retriable-header-names` header (Istio configures none) | not by itself |
    ///
    /// `envoy-ratelimited` counts as safe because the rejecting rate limit
    /// filter runs before the upstream application; an application that sets
    /// `x-envoy-ratelimited` itself after doing work defeats that.
    ///
    /// ## Why is this bad?
    /// A `POST` that timed out or got a `503` may already have charged a card or
    /// created an order; Envoy sends it again, up to `attempts` more times, and
    /// the upstream does the work twice. gRPC calls are all `POST`: retrying them
    /// on gRPC status codes is only right for idempotent RPCs.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: orders, namespace: shop}
    /// spec:
    ///   hosts: [orders]
    ///   http:
    ///   - route:
    ///     - destination: {host: orders}
    ///     retries:
    ///       attempts: 3
    ///       retryOn: 5xx,connect-failure
    /// ```
    /// Use instead: `retryOn: connect-failure,refused-stream,reset-before-request`,
    /// or a route whose matches all say `method: {exact: GET}` (or another
    /// idempotent method) for the retries on `5xx`.
    pub RetryNonIdempotent {
        name: "retry-non-idempotent",
        severity: Warning,
        kinds: [VirtualService],
        upstream: [],
    }
}

impl Rule for RetryNonIdempotent {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Spec::VirtualService(vs) = &ctx.object.spec else {
            return;
        };
        for (i, route) in vs.http.iter().enumerate() {
            check_route(ctx, route, i, out);
        }
    }
}

/// Methods RFC 9110 defines as idempotent.
const IDEMPOTENT: &[&str] = &["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];

/// The standard methods, for prefix matches.
const STANDARD: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// What non-idempotent requests a match lets through.
#[derive(Debug, PartialEq)]
enum Admits {
    /// Only idempotent methods.
    Nothing,
    /// Any method: no method condition.
    AnyMethod,
    /// These non-idempotent methods.
    Methods(Vec<String>),
}

/// A name for a route in messages: its `name`, else its position.
pub(crate) fn route_name(route: &HttpRoute, index: usize) -> String {
    match &route.name {
        Some(n) => format!("route `{}`", n.value),
        None => format!("route `http[{index}]`"),
    }
}

fn check_route(
    ctx: &ObjectContext<'_>,
    route: &HttpRoute,
    index: usize,
    out: &mut Vec<Diagnostic>,
) {
    if route.route.is_empty() || route.delegate.is_some() {
        return;
    }
    let Some(retries) = &route.retries else {
        return;
    };
    if retries.attempts.as_ref().is_none_or(|a| a.value < 1) {
        return;
    }
    let Some(retry_on) = &retries.retry_on else {
        return;
    };
    let tokens = retry::parse(&retry_on.value);
    let bad = retry::unsafe_tokens(&tokens);
    if bad.is_empty() {
        return;
    }
    let Some((admits, match_span, match_no)) = first_open_match(route) else {
        return;
    };
    let names: Vec<String> = bad.iter().map(|t| t.text()).collect();
    let route_name = route_name(route, index);
    let takes = match (&admits, match_no) {
        (Admits::AnyMethod, None) => "every method: it has no `match`".to_owned(),
        (Admits::AnyMethod, Some(n)) => {
            format!("every method: match {n} does not restrict `method`")
        }
        (Admits::Methods(m), Some(n)) => {
            format!(
                "{} requests: match {n} selects them",
                backtick_list(m, "and")
            )
        }
        (Admits::Methods(m), None) => format!("{} requests", backtick_list(m, "and")),
        (Admits::Nothing, _) => return,
    };
    let message = format!(
        "retrying on {} can resend a request the upstream may already have processed, and {route_name} takes {takes}",
        backtick_list(&names, "and")
    );
    let safe = if ctx.settings.istio_before(1, 23) {
        "connect-failure,refused-stream"
    } else {
        retry::SAFE_RETRY_ON
    };
    let all_grpc = bad
        .iter()
        .all(|t| matches!(t, Token::Condition(_)) && t.info().is_some_and(|i| i.grpc));
    let help = if all_grpc {
        format!(
            "gRPC calls are all `POST`, so no method match makes this safe: retry on {} only for RPCs that are idempotent, or use `retryOn: {safe}`, which only retries requests the upstream never saw.",
            backtick_list(&names, "and")
        )
    } else {
        format!(
            "Use `retryOn: {safe}`, which only retries requests the upstream never saw, or restrict every match of this route to idempotent methods (`method: {{exact: GET}}`; `HEAD`, `OPTIONS`, `TRACE`, `PUT` and `DELETE` are idempotent too)."
        )
    };
    let mut d = Diagnostic::new(
        &RetryNonIdempotent::META,
        ctx.object.meta.file,
        retry_on.span,
        message,
    )
    .label("may replay processed requests")
    .help(help)
    .object(&ctx.object.meta)
    .path(format!("{}/retries/retryOn", route.path));
    if let Some(span) = match_span {
        let what = match &admits {
            Admits::Methods(m) => format!("takes {}", backtick_list(m, "and")),
            _ => "takes every method".to_owned(),
        };
        d = d.related(ctx.object.meta.file, span, what);
    }
    out.push(d);
}

/// The first match of the route that lets a non-idempotent request through,
/// with the span to point at (the method value, else the match) and its 1-based
/// number; `(AnyMethod, None, None)` for a route without `match`; `None` when
/// every match restricts the method.
fn first_open_match(route: &HttpRoute) -> Option<(Admits, Option<Span>, Option<usize>)> {
    if route.matches.is_empty() {
        return Some((Admits::AnyMethod, None, None));
    }
    route.matches.iter().enumerate().find_map(|(i, m)| {
        let (admits, span) = admits(m);
        (admits != Admits::Nothing).then_some((admits, Some(span), Some(i + 1)))
    })
}

/// What non-idempotent methods one match request lets through, and where that
/// shows. Its `method` and a `:method` header matcher must both hold, so either
/// can restrict it.
fn admits(m: &HttpMatch) -> (Admits, Span) {
    let header = m
        .headers
        .iter()
        .find(|h| h.name.value.eq_ignore_ascii_case(":method"))
        .map(|h| &h.matcher);
    let mut result = (Admits::AnyMethod, m.span);
    for matcher in m.method.iter().chain(header) {
        match method_admits(matcher) {
            Admits::Nothing => return (Admits::Nothing, m.span),
            Admits::Methods(list) => {
                let span = matcher.value.as_ref().map_or(matcher.span, |v| v.span);
                result = (Admits::Methods(list), span);
            }
            Admits::AnyMethod => {}
        }
    }
    result
}

fn method_admits(matcher: &StringMatch) -> Admits {
    let (Some(kind), Some(value)) = (matcher.kind, &matcher.value) else {
        return Admits::AnyMethod;
    };
    let value = value.value.trim();
    let candidates: Vec<String> = match kind {
        MatchKind::Exact => vec![value.to_ascii_uppercase()],
        MatchKind::Prefix => STANDARD
            .iter()
            .filter(|m| m.starts_with(&value.to_ascii_uppercase()))
            .map(|m| (*m).to_owned())
            .collect(),
        MatchKind::Regex => match regex_alternatives(value) {
            Some(list) => list,
            None if matches!(value, ".*" | ".+" | "^.*$" | "^.+$") => {
                return Admits::AnyMethod;
            }
            // A regex we cannot read: assume its author restricted the method.
            None => return Admits::Nothing,
        },
    };
    let open: Vec<String> = candidates
        .into_iter()
        .filter(|m| !IDEMPOTENT.contains(&m.as_str()))
        .collect();
    if open.is_empty() {
        Admits::Nothing
    } else {
        Admits::Methods(open)
    }
}

/// The literal words of a regex that is only an alternation of letters
/// (`GET|HEAD`, `^(GET|HEAD)$`, `(?:PUT|DELETE)`), upper-cased; `None` otherwise.
fn regex_alternatives(regex: &str) -> Option<Vec<String>> {
    let mut r = regex.trim();
    r = r.strip_prefix('^').unwrap_or(r);
    r = r.strip_suffix('$').unwrap_or(r);
    if let Some(inner) = r.strip_prefix("(?:").or_else(|| r.strip_prefix('(')) {
        r = inner.strip_suffix(')')?;
    }
    let words: Vec<String> = r.split('|').map(str::to_owned).collect();
    words
        .iter()
        .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| words.iter().map(|w| w.to_ascii_uppercase()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm(kind: MatchKind, value: &str) -> StringMatch {
        StringMatch {
            kind: Some(kind),
            value: Some(crate::model::Spanned {
                value: value.to_owned(),
                span: Span::default(),
            }),
            span: Span::default(),
        }
    }

    #[test]
    fn method_matchers() {
        assert_eq!(method_admits(&sm(MatchKind::Exact, "GET")), Admits::Nothing);
        assert_eq!(
            method_admits(&sm(MatchKind::Exact, "delete")),
            Admits::Nothing
        );
        assert_eq!(
            method_admits(&sm(MatchKind::Exact, "POST")),
            Admits::Methods(vec!["POST".into()])
        );
        assert_eq!(method_admits(&sm(MatchKind::Prefix, "GE")), Admits::Nothing);
        assert_eq!(
            method_admits(&sm(MatchKind::Prefix, "P")),
            Admits::Methods(vec!["POST".into(), "PATCH".into()])
        );
        assert_eq!(
            method_admits(&sm(MatchKind::Regex, "^(GET|HEAD)$")),
            Admits::Nothing
        );
        assert_eq!(
            method_admits(&sm(MatchKind::Regex, "GET|POST")),
            Admits::Methods(vec!["POST".into()])
        );
        assert_eq!(
            method_admits(&sm(MatchKind::Regex, ".*")),
            Admits::AnyMethod
        );
    }
}
