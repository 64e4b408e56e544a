use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::set_entry;
use crate::rules::traffic_policy::finding;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a DestinationRule `connectionPool` that Istio rejects: one with
    /// neither `http` nor `tcp` settings, `h2UpgradePolicy: UPGRADE` together
    /// with `useClientProtocol: true`, and an `http2KeepAlive` without both
    /// `interval` and `timeout`.
    ///
    /// These are the checks of Istio's `validateConnectionPool` that no other
    /// rule makes: negative limits are `value-out-of-range`'s, durations
    /// `invalid-duration`'s. TCP keepalive settings need no particular field.
    ///
    /// ## Why is this bad?
    /// The whole DestinationRule is rejected, so none of its subsets and
    /// policies apply (routes to its subsets fail with 503), and the version
    /// already in the cluster stays in force. `UPGRADE` with
    /// `useClientProtocol` asks Envoy both to upgrade every connection to
    /// HTTP/2 and to keep the client's protocol.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: cart, namespace: shop}
    /// spec:
    ///   host: cart
    ///   trafficPolicy:
    ///     connectionPool:
    ///       http:
    ///         h2UpgradePolicy: UPGRADE
    ///         useClientProtocol: true
    /// ```
    /// Use instead: `h2UpgradePolicy: UPGRADE` alone to upgrade to HTTP/2, or
    /// `useClientProtocol: true` alone to keep the client's protocol.
    pub InvalidConnectionPool {
        name: "invalid-connection-pool",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidConnectionPool {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let base = meta.path("/spec");
        for policy in destination_rule_policies(spec, &base) {
            let Some((key, pool)) = set_entry(policy.node, "connectionPool") else {
                continue;
            };
            let ptr = format!("{}/connectionPool", policy.pointer);
            let http = set_entry(pool, "http");
            if http.is_none() && set_entry(pool, "tcp").is_none() {
                out.push(finding(
                    &InvalidConnectionPool::META,
                    meta,
                    key.span(),
                    ptr.clone(),
                    "`connectionPool` sets neither `http` nor `tcp`: Istio rejects an empty connection pool".to_owned(),
                    "no `http` or `tcp`",
                    "Put the settings under `tcp` (`maxConnections`, `connectTimeout`) or `http` (`http1MaxPendingRequests`, `maxRequestsPerConnection`), or remove `connectionPool`.",
                ));
                continue;
            }
            let Some((_, http)) = http else {
                continue;
            };
            let h2 = http.entry("h2UpgradePolicy");
            if let Some((_, uv)) = http.entry("useClientProtocol")
                && uv.bool() == Some(true)
                && let Some((_, hv)) = h2
                && hv.str() == Some("UPGRADE")
            {
                out.push(
                    finding(
                        &InvalidConnectionPool::META,
                        meta,
                        uv.span(),
                        format!("{ptr}/http/useClientProtocol"),
                        "`useClientProtocol: true` is set together with `h2UpgradePolicy: UPGRADE`: Istio rejects the DestinationRule".to_owned(),
                        "contradicts `UPGRADE`",
                        "Keep `h2UpgradePolicy: UPGRADE` to upgrade HTTP/1.1 connections to HTTP/2, or `useClientProtocol: true` to keep the client's protocol, not both.",
                    )
                    .related(meta.file, hv.span(), "`UPGRADE` is set here"),
                );
            }
            if let Some((kk, ka)) = set_entry(http, "http2KeepAlive") {
                let missing: Vec<&str> = ["interval", "timeout"]
                    .into_iter()
                    .filter(|f| set_entry(ka, f).is_none())
                    .collect();
                if !missing.is_empty() {
                    let what = crate::text::backtick_list(&missing, "and");
                    out.push(finding(
                        &InvalidConnectionPool::META,
                        meta,
                        kk.span(),
                        format!("{ptr}/http/http2KeepAlive"),
                        format!("`http2KeepAlive` has no {what}: Istio requires both `interval` and `timeout`"),
                        format!("{what} missing"),
                        "Set both: `http2KeepAlive: {interval: 30s, timeout: 10s}` pings every `interval` and closes the connection when no answer comes within `timeout`.",
                    ));
                }
            }
        }
    }
}
