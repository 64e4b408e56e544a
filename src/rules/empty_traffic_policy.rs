use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::is_set;
use crate::rules::traffic_policy::{finding, head};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a DestinationRule traffic policy that sets nothing — a top-level
    /// or subset `trafficPolicy: {}`, or a `portLevelSettings` entry with no
    /// setting besides `port` — and a `portLevelSettings` entry without `port`.
    ///
    /// Istio's validation requires every traffic policy to set at least one
    /// field (`connectionPool`, `loadBalancer`, `outlierDetection`, `tls`,
    /// `portLevelSettings`, `tunnel`, `proxyProtocol`, `retryBudget`; a
    /// port-level one `connectionPool`, `loadBalancer`, `outlierDetection` or
    /// `tls`), and every port-level policy to name its `port`. A field
    /// written as `null`, or an empty list, counts as not set. A policy whose
    /// only keys are misspelt is left to `unknown-field`.
    ///
    /// ## Why is this bad?
    /// The whole DestinationRule is rejected, so none of its subsets and
    /// policies apply (routes to its subsets fail with 503), and the version
    /// already in the cluster stays in force. An empty policy usually marks a
    /// setting that was meant to be there and got lost in a merge or a
    /// template.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: cart, namespace: shop}
    /// spec:
    ///   host: cart
    ///   subsets:
    ///   - name: v1
    ///     labels: {version: v1}
    ///     trafficPolicy: {}
    ///   trafficPolicy:
    ///     portLevelSettings:
    ///     - port: {number: 8080}
    /// ```
    /// Use instead: remove the empty `trafficPolicy` and the port-level entry,
    /// or give each the settings it was meant to carry.
    pub EmptyTrafficPolicy {
        name: "empty-traffic-policy",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

const POLICY_FIELDS: &[&str] = &[
    "connectionPool",
    "loadBalancer",
    "outlierDetection",
    "tls",
    "portLevelSettings",
    "tunnel",
    "proxyProtocol",
    "retryBudget",
];
const PORT_FIELDS: &[&str] = &["connectionPool", "loadBalancer", "outlierDetection", "tls"];

impl Rule for EmptyTrafficPolicy {
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
            let node = policy.node;
            if node.shape() != Shape::Mapping {
                // null: no policy; a scalar or list: the schema rules report it.
                continue;
            }
            let (fields, extra): (&[&str], &[&str]) = if policy.port_level {
                (PORT_FIELDS, &["port"])
            } else {
                (POLICY_FIELDS, &[])
            };
            // Unknown keys: `unknown-field` reports them.
            let only_known = node.entries().all(|(k, _)| {
                k.scalar_text()
                    .is_some_and(|t| fields.contains(&t) || extra.contains(&t))
            });
            let empty = !fields.iter().any(|f| is_set(node.get(f)));
            if policy.port_level {
                let port = node.get("port");
                if !is_set(port) && only_known {
                    out.push(finding(
                        &EmptyTrafficPolicy::META,
                        meta,
                        head(node),
                        format!("{}/port", policy.pointer),
                        "this `portLevelSettings` entry names no `port`: Istio rejects a port-level policy that applies to no port".to_owned(),
                        "no `port`",
                        "Add the port the settings are for: `port: {number: 8080}`.",
                    ));
                }
                if empty && only_known {
                    let span = port
                        .and_then(|_| node.entry("port").map(|(k, _)| k.span()))
                        .unwrap_or_else(|| head(node));
                    let which = node
                        .get("port")
                        .and_then(|p| p.get("number"))
                        .and_then(|n| n.int())
                        .map_or(String::new(), |n| format!(" for port {n}"));
                    out.push(finding(
                        &EmptyTrafficPolicy::META,
                        meta,
                        span,
                        policy.pointer.clone(),
                        format!("the port-level policy{which} sets nothing: Istio requires `connectionPool`, `loadBalancer`, `outlierDetection` or `tls` and rejects the DestinationRule"),
                        "sets nothing",
                        "Add the settings meant for this port, or remove the entry.",
                    ));
                }
            } else if empty && only_known {
                let what = if policy.pointer.contains("/subsets/") {
                    "this subset's `trafficPolicy`"
                } else {
                    "`trafficPolicy`"
                };
                out.push(finding(
                    &EmptyTrafficPolicy::META,
                    meta,
                    head(node),
                    policy.pointer.clone(),
                    format!("{what} sets nothing: Istio requires at least one setting and rejects the DestinationRule"),
                    "empty policy",
                    "Remove the empty `trafficPolicy`, or add the settings it was meant to carry.",
                ));
            }
        }
    }
}
