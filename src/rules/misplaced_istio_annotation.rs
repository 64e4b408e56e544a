use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::istio_annotations::{lookup, sites};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a known Istio annotation on a kind it does not apply to: most
    /// often a pod annotation (`sidecar.istio.io/inject`,
    /// `proxy.istio.io/config`, `traffic.sidecar.istio.io/*`) on a
    /// Deployment's own `metadata` instead of its pod template's
    /// `spec.template.metadata`.
    ///
    /// This is istioctl's IST0107. Istio's annotation registry names the
    /// kinds each annotation is read from (`Pod`, `Service`, `Ingress`, ...);
    /// meshvet reads a workload's pod template as a Pod, like the pods it
    /// creates, and checks StatefulSets, DaemonSets, Jobs, CronJobs and
    /// Rollouts as well as the Deployments istioctl checks.
    ///
    /// ## Why is this bad?
    /// The sidecar injector reads the annotations of the pod it is creating;
    /// annotations on the Deployment are not copied to its pods, so the
    /// setting silently does nothing.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: reviews
    ///   annotations:
    ///     proxy.istio.io/config: '{holdApplicationUntilProxyStarts: true}'
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: reviews}
    /// ```
    /// Use instead: write the annotation under `spec.template.metadata.annotations`.
    pub MisplacedIstioAnnotation {
        name: "misplaced-istio-annotation",
        severity: Warning,
        kinds: [Namespace, Service, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Rollout],
        upstream: ["IST0107"],
    }
}

impl Rule for MisplacedIstioAnnotation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for site in sites(ctx) {
            let Some(def) = lookup(site.key) else {
                continue;
            };
            if def.resources.iter().any(|r| *r == "Any" || *r == site.kind) {
                continue;
            }
            let kinds = backtick_list(def.resources, "and");
            let (message, help) = if site.has_template && def.resources.contains(&"Pod") {
                (
                    format!(
                        "`{}` is a pod annotation, but it is on the {}'s own metadata: Istio never sees it",
                        site.key, site.kind
                    ),
                    format!(
                        "Move it to the pod template, `spec.template.metadata.annotations`{}: \
                         the sidecar injector reads the pod's annotations, and the {}'s are not copied to its pods.",
                        if site.kind == "CronJob" {
                            " (under `spec.jobTemplate`)"
                        } else {
                            ""
                        },
                        site.kind
                    ),
                )
            } else {
                (
                    format!(
                        "annotation `{}` applies to {kinds}, not to {}: Istio ignores it here",
                        site.key,
                        site.what()
                    ),
                    format!(
                        "Put `{}` on the {kinds} it configures, or remove it.",
                        site.key
                    ),
                )
            };
            out.push(
                Diagnostic::new(
                    &MisplacedIstioAnnotation::META,
                    meta.file,
                    site.key_node.span(),
                    message,
                )
                .label("misplaced annotation")
                .help(help)
                .object(meta)
                .path(site.path),
            );
        }
    }
}
