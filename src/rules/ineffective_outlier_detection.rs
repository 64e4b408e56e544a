use crate::declare_rule;
use crate::index::Index;
use crate::model::{DestinationRule, OutlierDetection, Spec};
use crate::report::Diagnostic;
use crate::rules::zero_ejection_cap::{outlier_clusters, pods_note};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags `outlierDetection` settings that do not do what they say: only the
    /// deprecated `consecutiveErrors`, a `consecutiveGatewayErrors` that the 5xx
    /// detector always beats, `consecutive5xxErrors: 0` with nothing else to
    /// eject on, and a `minHealthPercent` whose panic mode cancels every
    /// ejection.
    ///
    /// How Istio translates the block (`applyOutlierDetection`):
    /// - `consecutiveErrors` is deprecated and never read. Used alone, the block
    ///   still exists, so Envoy's default applies: eject after 5 consecutive 5xx
    ///   errors, whatever number was written.
    /// - `consecutive5xxErrors` not set leaves Envoy's default 5xx detector on,
    ///   at 5. Gateway errors (502, 503, 504) are 5xx errors, so a run of N
    ///   gateway errors is also a run of at least N 5xx errors: when
    ///   `consecutiveGatewayErrors` ≥ the 5xx threshold (written, or 5 when
    ///   unset), the 5xx detector ejects first and the gateway setting never
    ///   matters.
    /// - `consecutive5xxErrors: 0` disables the 5xx detector; with
    ///   `consecutiveGatewayErrors` unset or 0 and
    ///   `splitExternalLocalOriginErrors` not on, nothing can eject a host.
    /// - `minHealthPercent` becomes the cluster's panic threshold. Envoy enters
    ///   panic when `100 × healthy / hosts < minHealthPercent` and then balances
    ///   over every host, ejected ones included. Ejecting one of `n` hosts
    ///   leaves `100 × (n − 1) / n` percent healthy, so when
    ///   `minHealthPercent > 100 × (n − 1) / n` the first ejection already
    ///   triggers panic and ejection has no effect. `n` is the cluster's
    ///   endpoint count, found as in `zero-ejection-cap` (per subset, with
    ///   autoscaler minimums), and the check assumes the endpoints share one
    ///   locality priority. (Istio forces the threshold to 0 for services that
    ///   send not-ready endpoints, such as `publishNotReadyAddresses`; meshvet
    ///   does not model that.)
    ///
    /// ## Why is this bad?
    /// Each of these looks like protection and is none: the ejection threshold
    /// is not the one written, or no host is ever taken out of rotation, so a
    /// failing pod keeps receiving its share of requests.
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
    ///       consecutiveErrors: 3
    ///       consecutiveGatewayErrors: 10
    /// ```
    /// Use instead: `consecutive5xxErrors: 3`, and either drop
    /// `consecutiveGatewayErrors` or set it below the 5xx threshold.
    pub IneffectiveOutlierDetection {
        name: "ineffective-outlier-detection",
        severity: Warning,
        kinds: [DestinationRule],
        upstream: [],
    }
}

/// Envoy's `consecutive_5xx` when Istio leaves it unset.
const ENVOY_DEFAULT_5XX: i64 = 5;

/// Every `outlierDetection` block written in a DestinationRule: top level,
/// top-level port settings, each subset, each subset's port settings.
fn blocks(dr: &DestinationRule) -> Vec<&OutlierDetection> {
    let policies = dr.traffic_policy.as_deref().into_iter().chain(
        dr.subsets
            .iter()
            .filter_map(|s| s.traffic_policy.as_deref()),
    );
    let mut out = Vec::new();
    for policy in policies {
        out.extend(policy.outlier_detection.as_deref());
        out.extend(
            policy
                .port_level
                .iter()
                .filter_map(|p| p.policy.outlier_detection.as_deref()),
        );
    }
    out
}

impl Rule for IneffectiveOutlierDetection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Spec::DestinationRule(dr) = &ctx.object.spec else {
            return;
        };
        for od in blocks(dr) {
            check_thresholds(ctx, od, out);
        }
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        for object in index.objects() {
            let Spec::DestinationRule(dr) = &object.spec else {
                continue;
            };
            let host = dr.host.as_ref().map_or("", |h| h.value.as_str());
            for (od, clusters) in outlier_clusters(index, object, dr) {
                let Some(mhp) = od.min_health_percent.as_ref() else {
                    continue;
                };
                let m = mhp.value;
                if !(1..=100).contains(&m) {
                    continue;
                }
                // Clusters come with the fewest endpoints first: the first one
                // that panics on its first ejection is the worst.
                let Some(worst) = clusters
                    .iter()
                    .find(|c| (c.pods - 1).saturating_mul(100) < m.saturating_mul(c.pods))
                else {
                    continue;
                };
                let n = worst.pods;
                let left = 100.0 * (n - 1) as f64 / n as f64;
                let what = worst.describe(host);
                let endpoints = if n == 1 { "endpoint" } else { "endpoints" };
                let message = format!(
                    "`minHealthPercent: {m}` cancels every ejection: ejecting one of the `{n}` {endpoints} of {what} leaves {} healthy, below {m}%, so Envoy's panic mode keeps sending requests to the ejected host",
                    percent(left)
                );
                let max_ok = (n - 1).saturating_mul(100) / n;
                let help = if max_ok == 0 {
                    "With a single endpoint any `minHealthPercent` above 0 puts the cluster in panic on the first ejection: remove `minHealthPercent`, or run more replicas.".to_owned()
                } else {
                    format!(
                        "Lower `minHealthPercent` to at most `{max_ok}` so that one of the {n} endpoints can be ejected, or run more replicas."
                    )
                };
                let mut d = Diagnostic::new(
                    &IneffectiveOutlierDetection::META,
                    object.meta.file,
                    mhp.span,
                    message,
                )
                .label("panic threshold")
                .help(help)
                .object(&object.meta)
                .path(format!("{}/minHealthPercent", od.path));
                for w in worst.workloads.iter().take(3) {
                    if let Some((file, span, note)) = pods_note(index, *w) {
                        d = d.related(file, span, note);
                    }
                }
                out.push(d);
            }
        }
    }
}

/// `50%`, `66.7%`.
fn percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

fn check_thresholds(ctx: &ObjectContext<'_>, od: &OutlierDetection, out: &mut Vec<Diagnostic>) {
    let meta = &ctx.object.meta;
    let five = od.consecutive_5xx_errors.as_ref();
    let gateway = od.consecutive_gateway_errors.as_ref();
    if let Some(deprecated) = &od.consecutive_errors
        && five.is_none()
        && gateway.is_none()
    {
        let v = deprecated.value;
        let same = if v == ENVOY_DEFAULT_5XX {
            " (the same number only by coincidence)"
        } else {
            ""
        };
        out.push(
            Diagnostic::new(
                &IneffectiveOutlierDetection::META,
                meta.file,
                deprecated.span,
                format!(
                    "`consecutiveErrors` is deprecated and Istio ignores it: hosts are ejected after Envoy's default of `5` consecutive 5xx errors, not `{v}`{same}"
                ),
            )
            .label("ignored")
            .help(format!(
                "Write `consecutive5xxErrors: {v}` instead (or `consecutiveGatewayErrors: {v}` to count only 502, 503 and 504)."
            ))
            .object(meta)
            .path(format!("{}/consecutiveErrors", od.path)),
        );
    }
    if let Some(g) = gateway.filter(|g| g.value > 0) {
        let threshold = five.map_or(ENVOY_DEFAULT_5XX, |f| f.value);
        if threshold > 0 && g.value >= threshold {
            let (because, help) = match five {
                Some(f) => (
                    format!("`consecutive5xxErrors: {}`", f.value),
                    format!(
                        "Lower `consecutiveGatewayErrors` below `{}`, or set `consecutive5xxErrors: 0` to eject on gateway errors only.",
                        f.value
                    ),
                ),
                None => (
                    "the 5xx detector, on at Envoy's default of `5` because `consecutive5xxErrors` is not set,".to_owned(),
                    "Set `consecutive5xxErrors: 0` to eject on gateway errors only, or lower `consecutiveGatewayErrors` below `5`.".to_owned(),
                ),
            };
            let mut d = Diagnostic::new(
                &IneffectiveOutlierDetection::META,
                meta.file,
                g.span,
                format!(
                    "`consecutiveGatewayErrors: {}` never triggers first: 502, 503 and 504 are 5xx errors, so {because} ejects the host at or before the same response",
                    g.value
                ),
            )
            .label("redundant")
            .help(help)
            .object(meta)
            .path(format!("{}/consecutiveGatewayErrors", od.path));
            if let Some(f) = five {
                d = d.related(meta.file, f.span, "the 5xx threshold");
            }
            out.push(d);
        }
    }
    if let Some(f) = five.filter(|f| f.value == 0)
        && gateway.is_none_or(|g| g.value == 0)
        && !od
            .split_external_local_origin_errors
            .as_ref()
            .is_some_and(|s| s.value)
    {
        let gw = match gateway {
            Some(_) => "`consecutiveGatewayErrors` is 0 too",
            None => "`consecutiveGatewayErrors` is not set",
        };
        out.push(
            Diagnostic::new(
                &IneffectiveOutlierDetection::META,
                meta.file,
                f.span,
                format!(
                    "`consecutive5xxErrors: 0` turns off the 5xx detector and {gw}, so outlier detection never ejects a host"
                ),
            )
            .label("disables ejection")
            .help("Set `consecutiveGatewayErrors` to eject on 502, 503 and 504 only, or give `consecutive5xxErrors` a threshold above 0.")
            .object(meta)
            .path(format!("{}/consecutive5xxErrors", od.path)),
        );
    }
}
