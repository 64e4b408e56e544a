use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::istio_annotations::{lookup, sites, value_help, value_problem};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an Istio pod annotation whose value the sidecar injector rejects:
    /// a non-integer `readiness.status.sidecar.istio.io/initialDelaySeconds`,
    /// a port list with a name or a number above 65535 in
    /// `traffic.sidecar.istio.io/excludeOutboundPorts`, a CIDR list with a
    /// bare address or a space in `traffic.sidecar.istio.io/excludeOutboundIPRanges`,
    /// an interception mode other than `REDIRECT`, `TPROXY` or `NONE`.
    ///
    /// This is istioctl's IST0125, with the injector's own validators
    /// (`AnnotationValidation`): integers for the readiness probe settings, a
    /// port for `status.sidecar.istio.io/port`, comma-separated ports (`*`
    /// allowed for `includeInboundPorts`) and comma-separated CIDR prefixes
    /// without spaces (`*` allowed for `includeOutboundIPRanges`), a boolean
    /// for `prometheus.istio.io/merge-metrics`. Values are checked where the
    /// annotation applies (a Pod or a pod template).
    ///
    /// ## Why is this bad?
    /// The injector refuses the annotation: depending on the webhook's failure
    /// policy the pod is created without a sidecar or not at all, and the
    /// traffic exclusion or probe setting the author wanted never applies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: batch}
    /// spec:
    ///   template:
    ///     metadata:
    ///       annotations:
    ///         traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8, 172.16.0.0/12"
    /// ```
    /// Use instead: `"10.0.0.0/8,172.16.0.0/12"` (no spaces).
    pub InvalidIstioAnnotationValue {
        name: "invalid-istio-annotation-value",
        severity: Error,
        kinds: [Namespace, Service, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Rollout],
        upstream: ["IST0125"],
    }
}

impl Rule for InvalidIstioAnnotationValue {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for site in sites(ctx) {
            let Some(def) = lookup(site.key) else {
                continue;
            };
            if !def.resources.contains(&site.kind) {
                continue;
            }
            let value = site.value.str().unwrap_or("");
            let Some(problem) = value_problem(def.value, value) else {
                continue;
            };
            let span = if site.value.is_null() {
                site.key_node.span()
            } else {
                site.value.span()
            };
            out.push(
                Diagnostic::new(
                    &InvalidIstioAnnotationValue::META,
                    meta.file,
                    span,
                    format!(
                        "value `{value}` of annotation `{}` is invalid: {problem}",
                        site.key
                    ),
                )
                .label("invalid value")
                .help(value_help(def.value))
                .object(meta)
                .path(site.path),
            );
        }
    }
}
