use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::istio_annotations::{lookup, sites};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an Istio annotation Istio has deprecated, with its replacement:
    /// the `sidecar.istio.io/inject` annotation (use the label of the same
    /// name), `sidecar.istio.io/statsInclusion*` (use `proxyStatsMatcher` in
    /// `proxy.istio.io/config`), `sidecar.istio.io/discoveryAddress`,
    /// `traffic.sidecar.istio.io/kubevirtInterfaces` and others.
    ///
    /// This is istioctl's IST0135, reported at the same level (info): Istio
    /// still honours most of these today. Like istioctl, the
    /// `sidecar.istio.io/inject` annotation is not reported when the same
    /// metadata also carries the `sidecar.istio.io/inject` label.
    ///
    /// ## Why is this bad?
    /// Deprecated annotations may stop working on an upgrade. The injection
    /// label is also strictly better than the annotation: Kubernetes' webhook
    /// selector evaluates it, so `"false"` pods never reach istiod, and
    /// `"true"` works without labelling the namespace.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: reviews}
    /// spec:
    ///   template:
    ///     metadata:
    ///       annotations:
    ///         sidecar.istio.io/inject: "false"
    /// ```
    /// Use instead: `labels: {sidecar.istio.io/inject: "false"}` on the pod template.
    pub DeprecatedIstioAnnotation {
        name: "deprecated-istio-annotation",
        severity: Info,
        kinds: [Namespace, Service, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Rollout],
        upstream: ["IST0135"],
    }
}

impl Rule for DeprecatedIstioAnnotation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for site in sites(ctx) {
            let Some(replacement) = lookup(site.key).and_then(|d| d.deprecated) else {
                continue;
            };
            if site.key == "sidecar.istio.io/inject"
                && site
                    .labels
                    .is_some_and(|l| l.get("sidecar.istio.io/inject").is_some())
            {
                continue;
            }
            let help = if replacement.is_empty() {
                "Remove the annotation: Istio no longer uses it.".to_owned()
            } else {
                format!("Use {replacement} instead.")
            };
            out.push(
                Diagnostic::new(
                    &DeprecatedIstioAnnotation::META,
                    meta.file,
                    site.key_node.span(),
                    format!("annotation `{}` is deprecated", site.key),
                )
                .label("deprecated")
                .help(help)
                .object(meta)
                .path(site.path),
            );
        }
    }
}
