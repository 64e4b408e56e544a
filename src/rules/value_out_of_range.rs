use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::listeners::UNIX_PREFIX;
use crate::rules::spec_walk::{Field, destination_rule_policies, visit};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a number outside the range Istio's validation accepts: a port
    /// outside 1–65535, a percentage outside 0–100, a negative retry `attempts`
    /// or connection-pool limit, an HTTP status outside 200–600, a redirect code
    /// that is not 3xx, a warmup `aggression` below 1.
    ///
    /// Checked: VirtualService match ports, destination ports (routes,
    /// `mirror`, `mirrors`), `redirect.port`, `redirect.redirectCode`,
    /// `directResponse.status`, `fault.abort.httpStatus`, fault delay and abort
    /// percentages, `retries.attempts`; DestinationRule traffic policies (top
    /// level, port level, subsets): `maxEjectionPercent`, `minHealthPercent`,
    /// connection-pool limits, warmup `minimumPercent` and `aggression`,
    /// port-level `port.number`, `tunnel.targetPort`; Gateway server ports (a
    /// port `0` bound to a Unix socket is allowed);
    /// ServiceEntry `ports[].number`, `targetPort` and endpoint ports; Sidecar
    /// ingress and egress ports (an egress port `0` bound to a Unix socket is
    /// allowed). Weights and mirror percentages are `weight-sum`'s and
    /// `invalid-mirror`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook (or the CRD's schema) rejects the whole object, so none
    /// of its changes apply. Where no webhook runs, istiod refuses the object
    /// and keeps serving the last accepted version.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     outlierDetection:
    ///       consecutive5xxErrors: 5
    ///       maxEjectionPercent: 150
    /// ```
    /// Use instead: `maxEjectionPercent: 100` (a share of the hosts, at most all of them).
    pub ValueOutOfRange {
        name: "value-out-of-range",
        severity: Error,
        kinds: [VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar],
        upstream: ["IST0106"],
    }
}

/// A range and how to talk about it.
#[derive(Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
    /// What the value is, for the message ("a port", "a percentage").
    what: &'static str,
    /// `0` means "not set" and is allowed.
    zero_unset: bool,
}

const PORT: Range = Range {
    min: 1.0,
    max: 65535.0,
    what: "a port number",
    zero_unset: false,
};
const PERCENT: Range = Range {
    min: 0.0,
    max: 100.0,
    what: "a percentage",
    zero_unset: false,
};
const COUNT: Range = Range {
    min: 0.0,
    max: 2_147_483_647.0,
    what: "a count",
    zero_unset: false,
};
const HTTP_STATUS: Range = Range {
    min: 200.0,
    max: 600.0,
    what: "an HTTP status",
    zero_unset: false,
};

const VIRTUAL_SERVICE: &[(&str, Range)] = &[
    ("http[].match[].port", PORT),
    ("tcp[].match[].port", PORT),
    ("tls[].match[].port", PORT),
    ("http[].route[].destination.port.number", PORT),
    ("tcp[].route[].destination.port.number", PORT),
    ("tls[].route[].destination.port.number", PORT),
    ("http[].mirror.port.number", PORT),
    ("http[].mirrors[].destination.port.number", PORT),
    ("http[].redirect.port", PORT),
    (
        "http[].redirect.redirectCode",
        Range {
            min: 300.0,
            max: 399.0,
            what: "a redirect (3xx) code",
            zero_unset: true,
        },
    ),
    ("http[].directResponse.status", HTTP_STATUS),
    ("http[].fault.abort.httpStatus", HTTP_STATUS),
    ("http[].fault.delay.percentage.value", PERCENT),
    ("http[].fault.delay.percent", PERCENT),
    ("http[].fault.abort.percentage.value", PERCENT),
    ("http[].retries.attempts", COUNT),
];

/// Relative to a traffic policy or a port-level policy.
const TRAFFIC_POLICY: &[(&str, Range)] = &[
    ("outlierDetection.maxEjectionPercent", PERCENT),
    ("outlierDetection.minHealthPercent", PERCENT),
    ("connectionPool.tcp.maxConnections", COUNT),
    ("connectionPool.http.http1MaxPendingRequests", COUNT),
    ("connectionPool.http.http2MaxRequests", COUNT),
    ("connectionPool.http.maxRequestsPerConnection", COUNT),
    ("connectionPool.http.maxRetries", COUNT),
    ("connectionPool.http.maxConcurrentStreams", COUNT),
    ("loadBalancer.warmup.minimumPercent", PERCENT),
    (
        "loadBalancer.warmup.aggression",
        Range {
            min: 1.0,
            max: f64::MAX,
            what: "a warmup aggression",
            zero_unset: false,
        },
    ),
    ("port.number", PORT),
    ("tunnel.targetPort", PORT),
];

const SERVICE_ENTRY: &[(&str, Range)] = &[
    ("ports[].number", PORT),
    (
        "ports[].targetPort",
        Range {
            zero_unset: true,
            ..PORT
        },
    ),
];

impl Rule for ValueOutOfRange {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        let mut check = |node: Node<'_>, ptr: &str, pattern: &str, range: Range| {
            visit(node, ptr, pattern, &mut |f| {
                if let Some(d) = check_value(ctx, f, pattern, range) {
                    out.push(d);
                }
            });
        };
        match ctx.object.meta.kind.as_str() {
            "VirtualService" => {
                for (p, r) in VIRTUAL_SERVICE {
                    check(spec, &base, p, *r);
                }
            }
            "DestinationRule" => {
                for policy in destination_rule_policies(spec, &base) {
                    // Only port-level settings have a `port` selector; only the
                    // others have `tunnel`.
                    let skip = if policy.port_level {
                        "tunnel."
                    } else {
                        "port."
                    };
                    for (p, r) in TRAFFIC_POLICY {
                        if !p.starts_with(skip) {
                            check(policy.node, &policy.pointer, p, *r);
                        }
                    }
                }
            }
            "Gateway" => {
                for (i, server) in spec
                    .get("servers")
                    .into_iter()
                    .flat_map(|s| s.items())
                    .enumerate()
                {
                    let range = listener_port(server);
                    check(server, &format!("{base}/servers/{i}"), "port.number", range);
                }
            }
            "ServiceEntry" => {
                for (p, r) in SERVICE_ENTRY {
                    check(spec, &base, p, *r);
                }
                for (i, ep) in spec
                    .get("endpoints")
                    .into_iter()
                    .flat_map(|e| e.items())
                    .enumerate()
                {
                    for (name, value) in ep.get("ports").into_iter().flat_map(|p| p.entries()) {
                        let name = name.str().unwrap_or_default();
                        let ptr = format!("{base}/endpoints/{i}/ports/{name}");
                        let f = Field {
                            value,
                            pointer: &ptr,
                        };
                        if let Some(d) = check_value(ctx, f, "ports", PORT) {
                            out.push(d);
                        }
                    }
                }
            }
            "Sidecar" => {
                check(spec, &base, "ingress[].port.number", PORT);
                for (i, eg) in spec
                    .get("egress")
                    .into_iter()
                    .flat_map(|e| e.items())
                    .enumerate()
                {
                    check(
                        eg,
                        &format!("{base}/egress/{i}"),
                        "port.number",
                        listener_port(eg),
                    );
                }
            }
            _ => {}
        }
    }
}

/// The port range of a Gateway server or Sidecar egress listener: one bound to
/// a Unix socket takes port 0.
fn listener_port(listener: Node<'_>) -> Range {
    let unix = listener
        .get("bind")
        .and_then(|b| b.str())
        .is_some_and(|b| b.starts_with(UNIX_PREFIX));
    Range {
        zero_unset: unix,
        ..PORT
    }
}

fn check_value(
    ctx: &ObjectContext<'_>,
    f: Field<'_, '_>,
    pattern: &str,
    range: Range,
) -> Option<Diagnostic> {
    if f.value.shape() != Shape::Scalar {
        return None;
    }
    let v = f.value.float()?;
    if (range.zero_unset && v == 0.0) || (range.min..=range.max).contains(&v) {
        return None;
    }
    let text = f.value.scalar_text().unwrap_or_default();
    let segments: Vec<&str> = pattern.split('.').collect();
    let name = match segments.as_slice() {
        [.., parent, last] if *last == "value" || *last == "number" => {
            format!("{}.{last}", parent.trim_end_matches("[]"))
        }
        [.., last] => (*last).to_owned(),
        [] => pattern.to_owned(),
    };
    let name = name.as_str();
    let bounds = if range.max == f64::MAX {
        format!("at least {}", range.min)
    } else if range.max >= 2_147_483_647.0 {
        "negative".to_owned()
    } else {
        format!("outside {}–{}", range.min, range.max)
    };
    let message = if bounds == "negative" {
        format!("`{name}: {text}` is negative: Istio rejects it")
    } else if bounds.starts_with("at least") {
        format!("`{name}: {text}` is below {}: Istio rejects it", range.min)
    } else {
        format!(
            "`{name}: {text}` is outside {}–{} ({}): Istio rejects it",
            range.min, range.max, range.what
        )
    };
    let label = if bounds == "negative" {
        "negative".to_owned()
    } else if bounds.starts_with("at least") {
        format!("below {}", range.min)
    } else {
        format!("outside {}–{}", range.min, range.max)
    };
    let help = help(name, range);
    let meta = &ctx.object.meta;
    Some(
        Diagnostic::new(&ValueOutOfRange::META, meta.file, f.value.span(), message)
            .label(label)
            .help(help)
            .object(meta)
            .path(f.pointer),
    )
}

fn help(name: &str, range: Range) -> String {
    match (name, range.what) {
        ("maxEjectionPercent", _) => "Set `maxEjectionPercent` between 0 and 100: it is the largest share of the hosts that may be ejected at once.".to_owned(),
        ("minHealthPercent", _) => "Set `minHealthPercent` between 0 and 100: below that share of healthy hosts, outlier detection stops ejecting.".to_owned(),
        ("attempts", _) => "Set `attempts` to 0 (no retries) or more.".to_owned(),
        ("redirectCode", _) => "Use a 3xx redirect code such as 301, 302, 307 or 308.".to_owned(),
        ("aggression", _) => "Set `aggression` to 1 (linear warmup) or more.".to_owned(),
        (_, "a port number") => format!("Set `{name}` to a port number between 1 and 65535."),
        (_, "a percentage") => format!("Set `{name}` to a percentage between 0 and 100."),
        (_, "a count") => format!("Set `{name}` to 0 or more."),
        _ => format!("Set `{name}` between {} and {}.", range.min, range.max),
    }
}
