use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::istio_annotations::{LABEL_PLACES, label_sites};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags one of Istio's injection labels where Istio does not read it:
    /// `istio-injection` anywhere but on a Namespace, `sidecar.istio.io/inject`
    /// on a Namespace or on a workload's own metadata (its pod template does
    /// not have it), `istio.io/dataplane-mode` elsewhere than on a Namespace or
    /// pod.
    ///
    /// Istio's injection webhooks select namespaces by `istio-injection` (or
    /// `istio.io/rev`) and pods by `sidecar.istio.io/inject`; ambient mode
    /// reads `istio.io/dataplane-mode` from namespaces and pods. A workload's
    /// own labels are not copied to the pods it creates. istioctl has no
    /// check for this.
    ///
    /// ## Why is this bad?
    /// The label does nothing: the pods are injected (or not) according to
    /// their namespace alone, the opposite of what the author asked for.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: reviews}
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: reviews, istio-injection: enabled}
    /// ```
    /// Use instead: `sidecar.istio.io/inject: "true"` on the pod template, or
    /// `istio-injection: enabled` on the Namespace.
    pub MisplacedIstioLabel {
        name: "misplaced-istio-label",
        severity: Warning,
        kinds: [Namespace, Service, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Rollout],
        upstream: [],
    }
}

impl Rule for MisplacedIstioLabel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let sites = label_sites(ctx);
        if sites.is_empty() {
            return;
        }
        let annotations = crate::rules::istio_annotations::sites(ctx);
        for site in &sites {
            let Some((_, kinds)) = LABEL_PLACES.iter().find(|(l, _)| *l == site.key) else {
                continue;
            };
            if kinds.contains(&site.kind) {
                continue;
            }
            let pod_label = kinds.contains(&"Pod");
            if site.has_template && pod_label {
                // A workload's own copy of a label its pods also carry is harmless.
                if sites.iter().any(|s| s.key == site.key && s.kind == "Pod")
                    || annotations
                        .iter()
                        .any(|s| s.key == site.key && s.kind == "Pod")
                {
                    continue;
                }
            }
            let value = site.value.str().unwrap_or("");
            let (message, help) = if site.has_template && pod_label {
                (
                    format!(
                        "label `{}` is on the {}'s own metadata, not on its pods: Istio never sees it",
                        site.key, site.kind
                    ),
                    format!(
                        "Move it to the pod template's labels (`spec.template.metadata.labels`): \
                         the {}'s own labels are not copied to its pods.",
                        site.kind
                    ),
                )
            } else if site.key == "istio-injection" {
                (
                    format!(
                        "label `istio-injection` works only on a Namespace, not on {}: Istio ignores it",
                        site.what()
                    ),
                    if value == "enabled" || value == "disabled" {
                        format!(
                            "Use the `sidecar.istio.io/inject: \"{}\"` label on the pod (template), \
                             or label the Namespace `istio-injection: {value}`.",
                            value == "enabled"
                        )
                    } else {
                        "Label the Namespace instead, or use the `sidecar.istio.io/inject` label on the pod (template)."
                            .to_owned()
                    },
                )
            } else if site.key == "sidecar.istio.io/inject" && site.kind == "Namespace" {
                (
                    "label `sidecar.istio.io/inject` on a Namespace is ignored: namespaces use `istio-injection`"
                        .to_owned(),
                    format!(
                        "Label the Namespace `istio-injection: {}` (or `istio.io/rev`) instead.",
                        if value == "false" { "disabled" } else { "enabled" }
                    ),
                )
            } else {
                (
                    format!(
                        "label `{}` applies to {}, not to {}: Istio ignores it here",
                        site.key,
                        backtick_list(kinds, "and"),
                        site.what()
                    ),
                    format!(
                        "Put `{}` on the {} it configures.",
                        site.key,
                        backtick_list(kinds, "or")
                    ),
                )
            };
            out.push(
                Diagnostic::new(
                    &MisplacedIstioLabel::META,
                    meta.file,
                    site.key_node.span(),
                    message,
                )
                .label("misplaced label")
                .help(help)
                .object(meta)
                .path(site.path.clone()),
            );
        }
    }
}
