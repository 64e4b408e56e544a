use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::istio_annotations::{ANNOTATIONS, LABELS, lookup, sites};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::closest;

declare_rule! {
    /// Flags an annotation in one of Istio's key prefixes (`sidecar.istio.io/`,
    /// `traffic.sidecar.istio.io/`, `proxy.istio.io/`, any prefix ending in
    /// `istio.io`) that Istio does not know, on a Namespace, Service, Pod or
    /// workload (its own metadata and its pod template's).
    ///
    /// This is istioctl's IST0108. A key close to a known one gets a "did you
    /// mean"; one of Istio's labels (`istio.io/dataplane-mode`,
    /// `istio.io/use-waypoint`, `istio-injection`, ...) written as an
    /// annotation is told to move to `labels`. Keys Istio writes itself
    /// (`sidecar.istio.io/status`, `gateway.istio.io/controller-version`,
    /// `istio.io/rev`) are never reported.
    ///
    /// ## Why is this bad?
    /// Istio reads annotations by exact key and ignores every other key
    /// silently: a misspelt `sidecar.istio.io/injects: "false"` or
    /// `traffic.sidecar.istio.io/excludeOutboundPort` leaves the pod exactly as
    /// it would be without it, and nothing says so.
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
    ///         traffic.sidecar.istio.io/excludeOutboundPort: "5432"
    /// ```
    /// Use instead: `traffic.sidecar.istio.io/excludeOutboundPorts: "5432"`.
    pub UnknownIstioAnnotation {
        name: "unknown-istio-annotation",
        severity: Warning,
        kinds: [Namespace, Service, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Rollout],
        upstream: ["IST0108"],
    }
}

impl Rule for UnknownIstioAnnotation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for site in sites(ctx) {
            if lookup(site.key).is_some() {
                continue;
            }
            let (label, help) = if LABELS.contains(&site.key) {
                (
                    "a label, not an annotation",
                    format!(
                        "`{}` is one of Istio's labels: move it from `annotations` to `labels`.",
                        site.key
                    ),
                )
            } else if let Some(best) = closest(site.key, ANNOTATIONS.iter().map(|a| a.name)) {
                ("unknown annotation", format!("Did you mean `{best}`?"))
            } else {
                (
                    "unknown annotation",
                    "Check the key against Istio's annotation reference \
                     (https://istio.io/latest/docs/reference/config/annotations/); \
                     Istio ignores keys it does not know."
                        .to_owned(),
                )
            };
            out.push(
                Diagnostic::new(
                    &UnknownIstioAnnotation::META,
                    meta.file,
                    site.key_node.span(),
                    format!("unknown Istio annotation `{}`: Istio ignores it", site.key),
                )
                .label(label)
                .help(help)
                .object(meta)
                .path(site.path),
            );
        }
    }
}
