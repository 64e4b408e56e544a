use std::time::Duration;

use crate::declare_rule;
use crate::duration;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::spec_walk::{Field, destination_rule_policies, visit};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a duration field Istio rejects: text that is not a duration
    /// (`5`, `5 sec`, `1d`), a duration below 1ms (`timeout: 0s`), a duration
    /// finer than a millisecond (`1500us`), or a CORS `maxAge` that is not whole
    /// seconds.
    ///
    /// Istio reads durations as Go writes them: a number and a unit, `h`, `m`,
    /// `s`, `ms`, `us` or `ns`, possibly several (`1m30s`, `1.5s`, `250ms`).
    /// A bare number has no unit and is not a duration. Istio's validation
    /// (`ValidateDuration`) and the CRD's CEL rules then require at least 1ms,
    /// and the Go validation whole milliseconds. The fields checked are every
    /// duration of a VirtualService (`timeout`, `retries.perTryTimeout`,
    /// `retries.backoff`, fault `fixedDelay`/`exponentialDelay`,
    /// `corsPolicy.maxAge`), of a DestinationRule traffic policy (top level,
    /// port level and subsets: connection-pool `connectTimeout`,
    /// `maxConnectionDuration`, `idleTimeout`, TCP keepalive `time`/`interval`,
    /// HTTP/2 keepalive `interval`/`timeout`, outlier `interval` and
    /// `baseEjectionTime`, warmup `duration`, `warmupDurationSecs`), and of a
    /// Sidecar's inbound connection pools. A TCP `idleTimeout: 0s` is allowed (it
    /// disables the timeout); a cookie `ttl`, `weightStabilizationPeriod` and
    /// `retryBudget.budgetInterval` are checked for syntax only.
    ///
    /// `timeout: 0s` is a common way of writing "no timeout", but Istio rejects
    /// it: leave the field out instead, which is Istio's default (no timeout).
    ///
    /// ## Why is this bad?
    /// The API server (CEL rules) or Istio's validating webhook rejects the
    /// whole object, so none of its changes apply. Where neither runs, istiod
    /// refuses the object and keeps serving the last accepted version, so what
    /// is in Git is not what runs.
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
    ///     timeout: 0s
    ///     retries:
    ///       attempts: 2
    ///       perTryTimeout: 5
    /// ```
    /// Use instead: leave `timeout` out for no timeout (or set one of at least
    /// `1ms`), and give every duration a unit: `perTryTimeout: 5s`.
    pub InvalidDuration {
        name: "invalid-duration",
        severity: Error,
        kinds: [VirtualService, DestinationRule, Sidecar],
        upstream: ["IST0106"],
    }
}

/// What Istio requires of a duration field beyond its syntax.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// At least 1ms, whole milliseconds (`ValidateDuration`).
    Strict,
    /// `0s` allowed (disables); otherwise as strict.
    ZeroOk,
    /// Strict, and whole seconds (CORS `maxAge`).
    Seconds,
    /// Syntax only.
    Syntax,
}

const VIRTUAL_SERVICE: &[(&str, Check)] = &[
    ("http[].timeout", Check::Strict),
    ("http[].retries.perTryTimeout", Check::Strict),
    ("http[].retries.backoff", Check::Strict),
    ("http[].fault.delay.fixedDelay", Check::Strict),
    ("http[].fault.delay.exponentialDelay", Check::Strict),
    ("http[].corsPolicy.maxAge", Check::Seconds),
];

/// Durations of a connection pool, relative to it.
const CONNECTION_POOL: &[(&str, Check)] = &[
    ("tcp.connectTimeout", Check::Strict),
    ("tcp.maxConnectionDuration", Check::Strict),
    ("tcp.idleTimeout", Check::ZeroOk),
    ("tcp.tcpKeepalive.time", Check::Strict),
    ("tcp.tcpKeepalive.interval", Check::Strict),
    ("http.idleTimeout", Check::Strict),
    ("http.http2KeepAlive.interval", Check::Strict),
    ("http.http2KeepAlive.timeout", Check::Strict),
];

/// Durations of a traffic policy (or port-level policy) outside its connection pool.
const TRAFFIC_POLICY: &[(&str, Check)] = &[
    ("outlierDetection.interval", Check::Strict),
    ("outlierDetection.baseEjectionTime", Check::Strict),
    ("loadBalancer.warmup.duration", Check::Strict),
    ("loadBalancer.warmupDurationSecs", Check::Strict),
    ("loadBalancer.consistentHash.httpCookie.ttl", Check::Syntax),
    (
        "loadBalancer.backendUtilization.weightStabilizationPeriod",
        Check::Syntax,
    ),
    ("retryBudget.budgetInterval", Check::Syntax),
];

impl Rule for InvalidDuration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        let mut check = |node: Node<'_>, ptr: &str, pattern: &str, check: Check| {
            visit(node, ptr, pattern, &mut |f| {
                if let Some(problem) = problem(f.value, check, pattern) {
                    out.push(report(ctx, f, &problem));
                }
            });
        };
        match ctx.object.meta.kind.as_str() {
            "VirtualService" => {
                for (pattern, c) in VIRTUAL_SERVICE {
                    check(spec, &base, pattern, *c);
                }
            }
            "DestinationRule" => {
                for policy in destination_rule_policies(spec, &base) {
                    let (tp, ptr) = (policy.node, &policy.pointer);
                    for (pattern, c) in TRAFFIC_POLICY {
                        check(tp, ptr, pattern, *c);
                    }
                    if let Some(pool) = tp.get("connectionPool") {
                        let pool_ptr = format!("{ptr}/connectionPool");
                        for (pattern, c) in CONNECTION_POOL {
                            check(pool, &pool_ptr, pattern, *c);
                        }
                    }
                }
            }
            "Sidecar" => {
                let mut pools: Vec<(Node<'_>, String)> = Vec::new();
                if let Some(p) = spec.get("inboundConnectionPool") {
                    pools.push((p, format!("{base}/inboundConnectionPool")));
                }
                for (i, ing) in spec
                    .get("ingress")
                    .into_iter()
                    .flat_map(|s| s.items())
                    .enumerate()
                {
                    if let Some(p) = ing.get("connectionPool") {
                        pools.push((p, format!("{base}/ingress/{i}/connectionPool")));
                    }
                }
                for (pool, ptr) in pools {
                    for (pattern, c) in CONNECTION_POOL {
                        check(pool, &ptr, pattern, *c);
                    }
                }
            }
            _ => {}
        }
    }
}

/// What is wrong with one duration value.
struct Problem {
    message: String,
    label: &'static str,
    help: String,
}

fn field_name(pattern: &str) -> &str {
    pattern.rsplit('.').next().unwrap_or(pattern)
}

fn problem(value: Node<'_>, check: Check, pattern: &str) -> Option<Problem> {
    if value.shape() != Shape::Scalar {
        return None;
    }
    let text = value.scalar_text()?;
    let name = field_name(pattern);
    let unit_help = format!(
        "Write `{name}` as a number with a unit: `h`, `m`, `s` or `ms` (for example {}).",
        example(text)
    );
    if value.int().is_some() || value.float().is_some() {
        return Some(Problem {
            message: format!(
                "`{name}: {text}` has no unit, so it is not a duration and Istio rejects it"
            ),
            label: "no unit",
            help: unit_help,
        });
    }
    let Some(d) = duration::parse(text) else {
        if let Some(rest) = text.trim().strip_prefix('-')
            && duration::parse(rest).is_some()
        {
            return Some(Problem {
                message: format!(
                    "`{name}: {text}` is negative: Istio accepts durations of at least 1ms"
                ),
                label: "negative",
                help: format!("Set `{name}` to a positive duration such as `{rest}`."),
            });
        }
        if let Some(days) = text
            .trim()
            .strip_suffix('d')
            .and_then(|n| n.parse::<u64>().ok())
        {
            return Some(Problem {
                message: format!(
                    "`{name}: {text}` uses `d` (days), which is not a duration unit Istio knows"
                ),
                label: "unknown unit",
                help: format!("Write days in hours: `{}h`.", days.saturating_mul(24)),
            });
        }
        let bare = text.trim().bytes().all(|c| c.is_ascii_digit() || c == b'.');
        let message = if bare {
            format!(
                "`{name}: \"{text}\"` has no unit, so it is not a duration and Istio rejects it"
            )
        } else {
            format!("`{name}: {text}` is not a duration Istio can read")
        };
        return Some(Problem {
            message,
            label: if bare { "no unit" } else { "not a duration" },
            help: unit_help,
        });
    };
    if check == Check::Syntax || (check == Check::ZeroOk && d.is_zero()) {
        return None;
    }
    if d < Duration::from_millis(1) {
        let (message, help) = if d.is_zero() {
            let help = if name == "timeout" && pattern.starts_with("http[]") {
                "Remove `timeout` to have no timeout (Istio's default), or set one of at least `1ms`.".to_owned()
            } else {
                format!(
                    "Remove `{name}` to get Istio's default, or set a duration of at least `1ms`."
                )
            };
            (
                format!("`{name}: {text}` is zero: Istio rejects durations below 1ms"),
                help,
            )
        } else {
            (
                format!("`{name}: {text}` is below 1ms: Istio rejects durations below 1ms"),
                format!("Set `{name}` to at least `1ms`."),
            )
        };
        return Some(Problem {
            message,
            label: "below 1ms",
            help,
        });
    }
    if !d.as_nanos().is_multiple_of(1_000_000) {
        let ms = (d.as_micros() + 500) / 1000;
        let rounded = Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(u64::MAX));
        return Some(Problem {
            message: format!(
                "`{name}: {text}` is finer than a millisecond: Istio accepts whole milliseconds only"
            ),
            label: "sub-millisecond precision",
            help: format!(
                "Round `{name}` to whole milliseconds, for example `{}`.",
                duration::format(rounded)
            ),
        });
    }
    if check == Check::Seconds && d.subsec_nanos() != 0 {
        return Some(Problem {
            message: format!(
                "`{name}: {text}` is not whole seconds: Istio accepts CORS `maxAge` to the second only"
            ),
            label: "not whole seconds",
            help: format!(
                "Round `maxAge` to whole seconds, for example `{}s`.",
                ((d.as_millis() + 500) / 1000).max(1)
            ),
        });
    }
    None
}

/// Example durations for the help: the number written with `s` and `ms`.
fn example(text: &str) -> String {
    let digits: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if digits.is_empty() || digits == "." {
        "`1.5s` or `250ms`".to_owned()
    } else if digits.contains('.') {
        format!("`{digits}s`")
    } else {
        format!("`{digits}s` or `{digits}ms`")
    }
}

fn report(ctx: &ObjectContext<'_>, field: Field<'_, '_>, problem: &Problem) -> Diagnostic {
    let meta = &ctx.object.meta;
    Diagnostic::new(
        &InvalidDuration::META,
        meta.file,
        field.value.span(),
        problem.message.clone(),
    )
    .label(problem.label)
    .help(problem.help.clone())
    .object(meta)
    .path(field.pointer)
}
