use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::retry::{CONDITIONS, is_status_code};
use crate::rules::spec_walk::{sub_span, visit};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::closest;

declare_rule! {
    /// Flags a `retries.retryOn` entry that Istio's validating webhook rejects:
    /// a name that is not an Envoy retry condition, a number that is not an HTTP
    /// status code, an empty entry (`5xx,,reset`, a trailing comma), or a space
    /// next to a comma (`5xx, reset`).
    ///
    /// `retryOn` is a comma-separated list. Istio accepts exactly the 16 Envoy
    /// conditions (`5xx`, `gateway-error`, `reset`, `reset-before-request`,
    /// `connect-failure`, `envoy-ratelimited`, `retriable-4xx`,
    /// `refused-stream`, `retriable-status-codes`, `retriable-headers`,
    /// `http3-post-connect-failure`, and the gRPC `cancelled`,
    /// `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`) and
    /// integers that Go's `http.StatusText` knows (`503`). The webhook
    /// (`ValidateHTTPRetry`) splits at commas without trimming, so `" reset"`
    /// is not `reset` and the list is rejected, even though istiod's
    /// translation would trim it.
    ///
    /// ## Why is this bad?
    /// The webhook rejects the whole VirtualService, so none of its changes
    /// apply. Where no webhook runs, Envoy silently ignores condition names it
    /// does not know, so a typo such as `5xxx` or `connect_failure` turns that
    /// retry condition off without a word.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: search, namespace: shop}
    /// spec:
    ///   hosts: [search]
    ///   http:
    ///   - route:
    ///     - destination: {host: search}
    ///     retries:
    ///       attempts: 2
    ///       retryOn: connect_failure, refused-stream
    /// ```
    /// Use instead: `retryOn: connect-failure,refused-stream`.
    pub InvalidRetryOn {
        name: "invalid-retry-on",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidRetryOn {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let base = meta.path("/spec");
        visit(spec, &base, "http[].retries.retryOn", &mut |f| {
            if f.value.shape() != Shape::Scalar {
                return;
            }
            let Some(text) = f.value.str() else {
                return;
            };
            if text.is_empty() {
                return;
            }
            let mut offset = 0;
            for token in text.split(',') {
                let start = offset;
                offset += token.len() + 1;
                if is_valid(token) {
                    continue;
                }
                let trimmed = token.trim();
                let (message, label, help) = if trimmed.is_empty() {
                    (
                        format!("`retryOn: {text}` has an empty entry: Istio rejects it"),
                        "empty entry",
                        format!("Remove the extra comma: `{}`.", cleaned(text)),
                    )
                } else if is_valid(trimmed) {
                    (
                        format!(
                            "`retryOn` entry `{token}` has a space next to the comma: Istio's webhook does not trim spaces and rejects it"
                        ),
                        "space next to a comma",
                        format!("Remove the spaces: `{}`.", cleaned(text)),
                    )
                } else if trimmed.bytes().all(|c| c.is_ascii_digit()) {
                    (
                        format!(
                            "`retryOn` entry `{trimmed}` is not an HTTP status code: Istio rejects it"
                        ),
                        "not a status code",
                        "Use a status code Go's `http.StatusText` knows (for example `503`), or a retry condition such as `gateway-error`.".to_owned(),
                    )
                } else {
                    let suggestion = closest(
                        &trimmed.to_ascii_lowercase().replace('_', "-"),
                        CONDITIONS.iter().map(|c| c.name),
                    )
                    .or_else(|| {
                        CONDITIONS
                            .iter()
                            .map(|c| c.name)
                            .find(|c| *c == trimmed.to_ascii_lowercase().replace('_', "-"))
                    });
                    let help = match suggestion {
                        Some(s) => format!("Did you mean `{s}`? Envoy ignores condition names it does not know."),
                        None => "Use Envoy retry conditions (`5xx`, `gateway-error`, `reset`, `connect-failure`, `refused-stream`, `retriable-4xx`, ...) or HTTP status codes.".to_owned(),
                    };
                    (
                        format!(
                            "`retryOn` entry `{trimmed}` is not an Envoy retry condition or an HTTP status code: Istio rejects it"
                        ),
                        "unknown retry condition",
                        help,
                    )
                };
                let span = if trimmed.is_empty() {
                    let comma = start.saturating_sub(1).min(text.len().saturating_sub(1));
                    sub_span(f.value, comma, comma + 1)
                } else {
                    sub_span(f.value, start, start + token.len())
                };
                out.push(
                    Diagnostic::new(&InvalidRetryOn::META, meta.file, span, message)
                        .label(label)
                        .help(help)
                        .object(meta)
                        .path(f.pointer),
                );
            }
        });
    }
}

/// True for a token the webhook accepts as written.
fn is_valid(token: &str) -> bool {
    CONDITIONS.iter().any(|c| c.name == token)
        || token
            .strip_prefix('+')
            .unwrap_or(token)
            .parse::<u16>()
            .is_ok_and(|c| !token.starts_with("++") && is_status_code(c))
}

/// The list with spaces and empty entries removed.
fn cleaned(text: &str) -> String {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}
