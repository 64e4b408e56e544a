use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::set_entry;
use crate::rules::traffic_policy::finding;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags `outlierDetection.consecutiveLocalOriginFailures` above 0 without
    /// `splitExternalLocalOriginErrors: true`, which Istio rejects.
    ///
    /// Local-origin failures (connection timeouts, resets, refused
    /// connections) are counted apart from the upstream's 5xx answers only
    /// when `splitExternalLocalOriginErrors` is on; otherwise they count as
    /// 5xx errors and there is no separate counter to compare the threshold
    /// with. Istio's `validateOutlierDetection` turns this into an error.
    /// Ranges and durations of the block are `value-out-of-range`'s and
    /// `invalid-duration`'s; settings that are accepted but do nothing are
    /// `ineffective-outlier-detection`'s.
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
    ///     outlierDetection:
    ///       consecutive5xxErrors: 5
    ///       consecutiveLocalOriginFailures: 3
    /// ```
    /// Use instead: add `splitExternalLocalOriginErrors: true`, or remove
    /// `consecutiveLocalOriginFailures` (local failures then count as 5xx).
    pub InvalidOutlierDetection {
        name: "invalid-outlier-detection",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidOutlierDetection {
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
            let Some((_, od)) = set_entry(policy.node, "outlierDetection") else {
                continue;
            };
            let Some(v) = od.get("consecutiveLocalOriginFailures") else {
                continue;
            };
            let Some(n) = v.int().filter(|n| *n > 0) else {
                continue;
            };
            let split = od.entry("splitExternalLocalOriginErrors");
            if split.and_then(|(_, s)| s.bool()) == Some(true) {
                continue;
            }
            let how = match split {
                Some(_) => "`splitExternalLocalOriginErrors` is false",
                None => "`splitExternalLocalOriginErrors` is not set (false)",
            };
            let mut d = finding(
                &InvalidOutlierDetection::META,
                meta,
                v.span(),
                format!(
                    "{}/outlierDetection/consecutiveLocalOriginFailures",
                    policy.pointer
                ),
                format!(
                    "`consecutiveLocalOriginFailures: {n}` is set but {how}: local-origin failures are not counted apart, and Istio rejects the DestinationRule"
                ),
                "needs `splitExternalLocalOriginErrors: true`",
                "Add `splitExternalLocalOriginErrors: true` to eject hosts on local-origin failures separately, or remove `consecutiveLocalOriginFailures`.",
            );
            if let Some((_, s)) = split {
                d = d.related(meta.file, s.span(), "split is off here");
            }
            out.push(d);
        }
    }
}
