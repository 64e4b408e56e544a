use std::collections::HashMap;

use crate::declare_rule;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::set_entry;
use crate::rules::traffic_policy::finding;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a DestinationRule `loadBalancer` that Istio rejects: more than one
    /// of `simple`, `consistentHash` and `backendUtilization`; a consistent
    /// hash with more than one hash key (`httpHeaderName`, `httpCookie`,
    /// `useSourceIp`, `httpQueryParameterName`) or with both `ringHash` and
    /// `maglev`; an `httpCookie` whose `name` is empty, or two cookie
    /// attributes with the same name; the deprecated
    /// `consistentHash.minimumRingSize` together with `ringHash` or `maglev`;
    /// and a `maglev` without `tableSize`, or with a `tableSize` that is not a
    /// prime below 5000011.
    ///
    /// The one-of constraints come from the CRD schema (the API server rejects
    /// the object), the others from Istio's `validateLoadBalancer`. Envoy's
    /// Maglev needs a prime table size; Istio uses Envoy's primality test, for
    /// which 1, 2 and 3 are prime. A missing cookie `name` and a missing warmup
    /// `duration` are `missing-required-field`'s; warmup ranges are
    /// `value-out-of-range`'s; `minimumRingSize` alone is `deprecated-field`'s.
    ///
    /// ## Why is this bad?
    /// The whole DestinationRule is rejected, so none of its subsets and
    /// policies apply (routes to its subsets fail with 503), and the version
    /// already in the cluster stays in force.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: cart, namespace: shop}
    /// spec:
    ///   host: cart
    ///   trafficPolicy:
    ///     loadBalancer:
    ///       simple: ROUND_ROBIN
    ///       consistentHash:
    ///         httpHeaderName: x-user
    ///         maglev: {tableSize: 65536}
    /// ```
    /// Use instead: keep only `consistentHash` for sticky sessions, with a
    /// prime table size such as `65537` (Envoy's default).
    pub InvalidLoadBalancer {
        name: "invalid-load-balancer",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

/// Istio's (and Envoy's) limit: `tableSize` must be below this.
const MAGLEV_LIMIT: i64 = 5_000_011;

impl Rule for InvalidLoadBalancer {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        for policy in destination_rule_policies(spec, &base) {
            if let Some(lb) = policy.node.get("loadBalancer") {
                check(ctx, lb, &format!("{}/loadBalancer", policy.pointer), out);
            }
        }
    }
}

fn check(ctx: &ObjectContext<'_>, lb: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    let meta = &ctx.object.meta;
    let report = |span: Span, path: String, message: String, label: &str, help: &str| {
        finding(
            &InvalidLoadBalancer::META,
            meta,
            span,
            path,
            message,
            label,
            help,
        )
    };

    one_of(
        ctx,
        lb,
        ptr,
        &["simple", "consistentHash", "backendUtilization"],
        "a load balancer takes one policy",
        "Keep one of `simple`, `consistentHash` and `backendUtilization`: `simple` picks an algorithm, `consistentHash` makes sessions sticky.",
        out,
    );
    let Some((_, ch)) = set_entry(lb, "consistentHash") else {
        return;
    };
    let ch_ptr = format!("{ptr}/consistentHash");
    one_of(
        ctx,
        ch,
        &ch_ptr,
        &[
            "httpHeaderName",
            "httpCookie",
            "useSourceIp",
            "httpQueryParameterName",
        ],
        "a consistent hash takes one hash key",
        "Hash on one key: `httpHeaderName`, `httpCookie`, `useSourceIp` or `httpQueryParameterName`.",
        out,
    );
    one_of(
        ctx,
        ch,
        &ch_ptr,
        &["ringHash", "maglev"],
        "a consistent hash uses one algorithm",
        "Keep `ringHash` or `maglev`, not both.",
        out,
    );

    // httpCookie: a name, unique attribute names.
    if let Some((_, cookie)) = set_entry(ch, "httpCookie") {
        if let Some(name) = cookie.get("name")
            && name.str() == Some("")
        {
            out.push(report(
                name.span(),
                format!("{ch_ptr}/httpCookie/name"),
                "`httpCookie.name` is empty: Istio requires the name of the cookie to hash on"
                    .to_owned(),
                "empty cookie name",
                "Name the cookie: `httpCookie: {name: session, ttl: 3600s}`.",
            ));
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (i, attr) in cookie
            .get("attributes")
            .into_iter()
            .flat_map(|a| a.items())
            .enumerate()
        {
            let Some(n) = attr.get("name") else {
                continue;
            };
            let Some(text) = n.str() else {
                continue;
            };
            if let Some(first) = seen.get(text) {
                out.push(
                    report(
                        n.span(),
                        format!("{ch_ptr}/httpCookie/attributes/{i}/name"),
                        format!("cookie attribute `{text}` is given twice: Istio rejects the DestinationRule"),
                        "duplicate attribute",
                        "Give each cookie attribute once.",
                    )
                    .related(meta.file, *first, "first given here"),
                );
            } else {
                seen.insert(text, n.span());
            }
        }
    }

    // Deprecated minimumRingSize with ringHash or maglev.
    if let Some((mk, mv)) = ch.entry("minimumRingSize")
        && mv.int().is_some_and(|n| n != 0)
    {
        for algo in ["ringHash", "maglev"] {
            if let Some((ak, _)) = set_entry(ch, algo) {
                out.push(
                    report(
                        ak.span(),
                        format!("{ch_ptr}/{algo}"),
                        format!("`{algo}` is set together with the deprecated `consistentHash.minimumRingSize`: Istio accepts only one of them and rejects the DestinationRule"),
                        "set with `minimumRingSize`",
                        "Remove `consistentHash.minimumRingSize`: the ring size belongs in `ringHash: {minimumRingSize: ...}`.",
                    )
                    .related(meta.file, mk.span(), "deprecated `minimumRingSize` is set here"),
                );
            }
        }
    }

    // Maglev table size.
    if let Some((mk, maglev)) = set_entry(ch, "maglev") {
        let size = maglev.entry("tableSize");
        match size.and_then(|(_, v)| v.int().map(|n| (v, n))) {
            None if size.is_some_and(|(_, v)| !v.is_null()) => {
                // Not an integer: the schema rules report it.
            }
            None | Some((_, 0)) => {
                let span = size.map_or_else(|| mk.span(), |(_, v)| v.span());
                out.push(report(
                    span,
                    format!("{ch_ptr}/maglev/tableSize"),
                    "`maglev` has no `tableSize`: Istio requires one".to_owned(),
                    "no table size",
                    "Set `tableSize` to a prime below 5000011, such as `65537` (Envoy's default).",
                ));
            }
            Some((v, n)) => {
                let prime = is_prime(n);
                if n < MAGLEV_LIMIT && prime {
                    return;
                }
                let message = if n >= MAGLEV_LIMIT {
                    format!(
                        "maglev `tableSize: {n}` is not below 5000011{}: Istio rejects the DestinationRule",
                        if prime { "" } else { " and not prime" }
                    )
                } else {
                    format!(
                        "maglev `tableSize: {n}` is not a prime number: Istio rejects the DestinationRule"
                    )
                };
                let suggestion = nearest_prime(n.clamp(2, MAGLEV_LIMIT - 1));
                out.push(report(
                    v.span(),
                    format!("{ch_ptr}/maglev/tableSize"),
                    message,
                    if n >= MAGLEV_LIMIT { "too large" } else { "not prime" },
                    &if suggestion == 65537 {
                        "Use a prime below 5000011: `65537` is the nearest, and Envoy's default.".to_owned()
                    } else {
                        format!("Use a prime below 5000011: `{suggestion}` is the nearest, `65537` is Envoy's default.")
                    },
                ));
            }
        }
    }
}

/// Flags every field of `group` after the first one set in `node`.
fn one_of(
    ctx: &ObjectContext<'_>,
    node: Node<'_>,
    ptr: &str,
    group: &[&str],
    why: &str,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &ctx.object.meta;
    let mut set: Vec<(Node<'_>, &str)> = node
        .entries()
        .filter_map(|(k, v)| {
            let name = group.iter().find(|g| k.scalar_text() == Some(**g))?;
            (!v.is_null()).then_some((k, *name))
        })
        .collect();
    if set.len() < 2 {
        return;
    }
    let (first_key, first) = set.remove(0);
    for (k, name) in set {
        out.push(
            finding(
                &InvalidLoadBalancer::META,
                meta,
                k.span(),
                format!("{ptr}/{name}"),
                format!("`{name}` is set together with `{first}`: {why}, and the API server rejects the DestinationRule"),
                format!("set together with `{first}`"),
                help,
            )
            .related(meta.file, first_key.span(), format!("`{first}` is set here")),
        );
    }
}

/// Envoy's (and Istio's) primality test: 1, 2 and 3 count as prime.
fn is_prime(n: i64) -> bool {
    if n <= 0 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut f = 3;
    while f * f <= n {
        if n % f == 0 {
            return false;
        }
        f += 2;
    }
    true
}

/// The prime nearest to `n` (the smaller one on a tie), below 5000011.
fn nearest_prime(n: i64) -> i64 {
    for d in 0..n {
        if n - d >= 2 && is_prime(n - d) {
            return n - d;
        }
        if n + d < MAGLEV_LIMIT && is_prime(n + d) {
            return n + d;
        }
    }
    65537
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_as_envoy_counts_them() {
        assert!(is_prime(65537));
        assert!(is_prime(3));
        assert!(!is_prime(65536));
        assert!(!is_prime(0));
        assert_eq!(nearest_prime(65536), 65537);
        assert_eq!(nearest_prime(5_000_010), 4_999_999);
    }
}
