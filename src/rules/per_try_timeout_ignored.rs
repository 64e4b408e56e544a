use std::time::Duration;

use crate::declare_rule;
use crate::duration;
use crate::model::{HttpRoute, Spec};
use crate::report::{Diagnostic, Severity};
use crate::retry;
use crate::rules::retry_non_idempotent::route_name;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a `perTryTimeout` that Envoy ignores because it is not shorter than
    /// the route's `timeout` (warning), and, as info, retries that cannot all
    /// run because `attempts + 1` per-try timeouts do not fit in the route
    /// timeout.
    ///
    /// Envoy's router (`FilterUtility::finalTimeout`) sets the per-try timeout
    /// to zero, that is no per-try timeout at all, when the route timeout is
    /// set and the per-try timeout is greater than or equal to it. The route
    /// timeout covers every try and the backoff between them. A try that runs
    /// into its per-try timeout becomes a local reset, which Envoy retries only
    /// when `retryOn` has `5xx`, `gateway-error` or `reset`; so the info case is
    /// reported only then, and only when the per-try timeouts alone exceed the
    /// route timeout (the jittered backoff, 25ms base by default, makes an exact
    /// fit a little short too).
    ///
    /// Silent when the route has no `timeout` (Istio's default is none, so the
    /// per-try timeout applies as written), when `attempts` is missing or `0`
    /// (no retries), and when a duration cannot be read (`duration` rules
    /// report those).
    ///
    /// ## Why is this bad?
    /// With `timeout: 2s` and `perTryTimeout: 2s`, a hung first try uses the
    /// whole route timeout and the client gets `504` without a single retry:
    /// the per-try timeout the author wrote does nothing. With `timeout: 5s`,
    /// `perTryTimeout: 2s` and `attempts: 3`, only two tries can run to their
    /// per-try timeout; the third is cut short at `5s` and the fourth never
    /// starts, so `attempts` promises more than it delivers.
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
    ///     timeout: 2s
    ///     retries:
    ///       attempts: 2
    ///       perTryTimeout: 2s
    ///       retryOn: gateway-error,connect-failure
    /// ```
    /// Use instead: a per-try timeout that lets every try fit, here
    /// `perTryTimeout: 600ms` (3 tries of 600ms in 2s).
    pub PerTryTimeoutIgnored {
        name: "per-try-timeout-ignored",
        severity: Warning,
        kinds: [VirtualService],
        upstream: [],
    }
}

impl Rule for PerTryTimeoutIgnored {
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

fn check_route(
    ctx: &ObjectContext<'_>,
    route: &HttpRoute,
    index: usize,
    out: &mut Vec<Diagnostic>,
) {
    let Some(retries) = &route.retries else {
        return;
    };
    let (Some(per_try), Some(timeout), Some(attempts)) =
        (&retries.per_try_timeout, &route.timeout, &retries.attempts)
    else {
        return;
    };
    if attempts.value < 1 {
        return;
    }
    let (Some(p), Some(t)) = (
        duration::parse(&per_try.value),
        duration::parse(&timeout.value),
    ) else {
        return;
    };
    if p.is_zero() || t.is_zero() {
        return;
    }
    let meta = &ctx.object.meta;
    let name = route_name(route, index);
    let path = format!("{}/retries/perTryTimeout", route.path);
    if p >= t {
        let relation = if p == t { "equal to" } else { "longer than" };
        out.push(
            Diagnostic::new(
                &PerTryTimeoutIgnored::META,
                meta.file,
                per_try.span,
                format!(
                    "`perTryTimeout: {}` is {relation} the `timeout: {}` of {name}, so Envoy ignores it: a slow try can use the whole route timeout and leave no time for a retry",
                    per_try.value, timeout.value
                ),
            )
            .label("ignored by Envoy")
            .related(meta.file, timeout.span, "the route timeout covers every try")
            .help(format!(
                "Make `perTryTimeout` shorter than `timeout`: at most `{}` lets all {} tries (`attempts: {}` plus the first) fit in `{}`. Or remove `perTryTimeout`.",
                duration::format(fair_share(t, attempts.value)),
                attempts.value.saturating_add(1),
                attempts.value,
                timeout.value
            ))
            .object(meta)
            .path(path),
        );
        return;
    }
    let Some(retry_on) = &retries.retry_on else {
        return;
    };
    let tokens = retry::parse(&retry_on.value);
    let retried: Vec<String> = tokens
        .iter()
        .filter(|t| t.retries_per_try_timeout())
        .map(|t| t.text())
        .collect();
    if retried.is_empty() {
        return;
    }
    let tries = u128::try_from(attempts.value)
        .unwrap_or(0)
        .saturating_add(1);
    let needed = p.as_nanos().saturating_mul(tries);
    if needed <= t.as_nanos() {
        return;
    }
    let full = t.as_nanos() / p.as_nanos();
    let fits_exactly = full.saturating_mul(p.as_nanos()) == t.as_nanos();
    let cut = if fits_exactly {
        format!("before try {} starts", full + 1)
    } else {
        format!("during try {}", full + 1)
    };
    let needed_text = duration::format(nanos(needed));
    let fewer = full.saturating_sub(1);
    let mut fixes = vec![
        format!("raise `timeout` to at least `{needed_text}`"),
        format!(
            "lower `perTryTimeout` to `{}`",
            duration::format(fair_share(t, attempts.value))
        ),
    ];
    if fewer >= 1 {
        fixes.push(format!("lower `attempts` to `{fewer}`"));
    }
    let help = match fixes.split_last() {
        Some((last, init)) => format!("{}, or {last}.", init.join(", ")),
        None => String::new(),
    };
    let help = capitalize(&help);
    out.push(
        Diagnostic::new(
            &PerTryTimeoutIgnored::META,
            meta.file,
            per_try.span,
            format!(
                "`attempts: {}` cannot all run: {tries} tries of up to `{}` need `{needed_text}`, but when tries run into their per-try timeout, the `timeout: {}` of {name} ends the request {cut}",
                attempts.value, per_try.value, timeout.value
            ),
        )
        .severity(Severity::Info)
        .label(format!("{tries} × {} > {}", per_try.value, timeout.value))
        .related(
            meta.file,
            retry_on.span,
            format!(
                "{} retries a try that hit its per-try timeout",
                backtick_list(&retried, "and")
            ),
        )
        .related(meta.file, timeout.span, "the route timeout covers every try")
        .help(help)
        .object(meta)
        .path(path),
    );
}

/// `text` with its first letter upper-cased.
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The route timeout divided among `attempts + 1` tries, rounded down to whole
/// milliseconds (Istio durations have millisecond precision).
fn fair_share(timeout: Duration, attempts: i64) -> Duration {
    let tries = u128::try_from(attempts).unwrap_or(0).saturating_add(1);
    let ms = (timeout.as_millis() / tries.max(1)).max(1);
    nanos(ms.saturating_mul(1_000_000))
}

fn nanos(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = u32::try_from(n % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}
