use crate::declare_rule;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

/// The UID Istio's sidecar runs as; its iptables rules let this UID's traffic
/// through unredirected.
const PROXY_UID: i64 = 1337;

declare_rule! {
    /// Flags an application container that runs as UID `1337`, the UID Istio
    /// reserves for its sidecar proxy: a container whose own
    /// `securityContext.runAsUser` is `1337`, and a pod-level
    /// `securityContext.runAsUser: 1337` that some application container
    /// inherits (does not override). Workloads are Deployments, StatefulSets,
    /// DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, Argo
    /// Rollouts, OpenShift DeploymentConfigs and bare Pods.
    ///
    /// Containers named `istio-proxy` or `istio-operator` are Istio's own and
    /// are not checked; neither are objects labelled `istio` or
    /// `release: istio` (Istio's installation), nor pods that opt out of
    /// sidecar injection with `sidecar.istio.io/inject: "false"` (no sidecar,
    /// no iptables rules to bypass; istioctl reports those too).
    ///
    /// Init containers are not checked, on purpose: the sidecar is not running
    /// yet while they run, so their outbound connections, redirected to a proxy
    /// that is not listening, fail. Running an init container as UID `1337` is
    /// the workaround Istio documents for that (and Istio's own
    /// `istio-validation` init container runs as `1337`).
    ///
    /// Differences from upstream (IST0144): istioctl reports a pod-level
    /// `runAsUser: 1337` even when every application container overrides it,
    /// and collapses the pod-level and a container-level finding into one
    /// because their messages are identical. meshvet reports where the UID
    /// comes from: once per container that sets `1337` itself, and once at the
    /// pod level when at least one container inherits it (naming those
    /// containers). A pod-level value that every container overrides is not
    /// reported: no application process runs as `1337`.
    ///
    /// ## Why is this bad?
    /// The sidecar's iptables rules send every outbound connection of the pod
    /// to Envoy, except connections made by UID `1337`: that exception is how
    /// Envoy's own upstream connections avoid being captured again. An
    /// application running as `1337` falls under the same exception, so its
    /// outbound traffic bypasses the proxy entirely: no mutual TLS (servers in
    /// `STRICT` mode reject it), no VirtualService routing, retries or
    /// timeouts, no egress policy, no telemetry. Inbound traffic is still
    /// captured, which makes the problem easy to miss.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: checkout, namespace: shop}
    /// spec:
    ///   selector: {matchLabels: {app: checkout}}
    ///   template:
    ///     metadata: {labels: {app: checkout}}
    ///     spec:
    ///       securityContext:
    ///         runAsUser: 1337
    ///       containers:
    ///         - name: checkout
    ///           image: example/checkout:1.4
    /// ```
    /// Use instead: any other non-root UID, such as `runAsUser: 1000`.
    pub ReservedProxyUid {
        name: "reserved-proxy-uid",
        severity: Warning,
        kinds: [
            Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
            Job, CronJob, Rollout, DeploymentConfig, Pod,
        ],
        upstream: ["IST0144"],
    }
}

/// Istio's own containers, which run as `1337` by design.
const ISTIO_CONTAINERS: &[&str] = &["istio-proxy", "istio-operator"];

impl Rule for ReservedProxyUid {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let labels = &meta.labels.map;
        if labels.contains_key("istio") || labels.get("release").is_some_and(|v| v == "istio") {
            return;
        }
        let Some((pod_spec, base)) = pod_spec(ctx.tree, &meta.group, &meta.kind.value) else {
            return;
        };
        if injection_disabled(ctx.tree, &base) {
            return;
        }
        let base = meta.path(&base);
        let pod_uid = run_as_user(pod_spec);
        let mut inheriting: Vec<String> = Vec::new();
        for (i, container) in pod_spec
            .get("containers")
            .into_iter()
            .flat_map(|c| c.items())
            .enumerate()
        {
            let name = container.get("name").and_then(|n| n.str()).unwrap_or("");
            if ISTIO_CONTAINERS.contains(&name) {
                continue;
            }
            match run_as_user(container) {
                Some(uid) => {
                    if uid.int() == Some(PROXY_UID) {
                        let shown = if name.is_empty() {
                            format!("container {}", i + 1)
                        } else {
                            format!("container `{name}`")
                        };
                        out.push(finding(
                            meta,
                            uid,
                            format!("{base}/containers/{i}/securityContext/runAsUser"),
                            format!(
                                "{shown} runs as UID `1337`, the UID reserved for Istio's sidecar: its outbound traffic bypasses the proxy"
                            ),
                        ));
                    }
                }
                None => inheriting.push(name.to_owned()),
            }
        }
        if let Some(uid) = pod_uid
            && uid.int() == Some(PROXY_UID)
            && !inheriting.is_empty()
        {
            let (who, their) = if inheriting.len() == 1 {
                (
                    format!("container {}", backtick_list(&inheriting, "and")),
                    "its",
                )
            } else {
                (
                    format!("containers {}", backtick_list(&inheriting, "and")),
                    "their",
                )
            };
            out.push(finding(
                meta,
                uid,
                format!("{base}/securityContext/runAsUser"),
                format!(
                    "pod-level `runAsUser: 1337` makes {who} run as the UID reserved for Istio's sidecar: {their} outbound traffic bypasses the proxy"
                ),
            ));
        }
    }
}

fn finding(
    meta: &crate::model::ObjectMeta,
    uid: Node<'_>,
    pointer: String,
    message: String,
) -> Diagnostic {
    Diagnostic::new(&ReservedProxyUid::META, meta.file, uid.span(), message)
        .label("UID reserved for the sidecar")
        .help(
            "Run the application as another non-root UID (for example `runAsUser: 1000`); iptables lets UID 1337's connections leave the pod without passing through Envoy, so they get no mutual TLS, routing or policy.",
        )
        .object(meta)
        .path(pointer)
}

/// True when the pod template opts out of sidecar injection
/// (`sidecar.istio.io/inject: "false"` as a label, or as an annotation when
/// no label says otherwise): without a sidecar there are no iptables rules
/// to bypass.
fn injection_disabled(root: Node<'_>, pod_spec_pointer: &str) -> bool {
    let template_pointer = pod_spec_pointer.strip_suffix("/spec").unwrap_or("");
    let mut template = Some(root);
    for key in template_pointer.split('/').filter(|k| !k.is_empty()) {
        template = template.and_then(|t| t.get(key));
    }
    let value = |key: &str| {
        template
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get(key))
            .and_then(|l| l.get("sidecar.istio.io/inject"))
            .and_then(|v| v.scalar_text())
    };
    value("labels").or_else(|| value("annotations")) == Some("false")
}

/// `securityContext.runAsUser` of a pod spec or container.
fn run_as_user(node: Node<'_>) -> Option<Node<'_>> {
    node.get("securityContext")
        .and_then(|s| s.get("runAsUser"))
        .filter(|v| !v.is_null())
}

/// The pod spec of a workload and its JSON pointer (without the document's
/// own prefix), as `kube::workload` finds the pod template.
fn pod_spec<'t>(root: Node<'t>, group: &str, kind: &str) -> Option<(Node<'t>, String)> {
    let spec = root.get("spec")?;
    match (group, kind) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet")
        | ("", "ReplicationController")
        | ("argoproj.io", "Rollout")
        | ("apps.openshift.io", "DeploymentConfig")
        | ("batch", "Job") => Some((
            spec.get("template")?.get("spec")?,
            "/spec/template/spec".to_owned(),
        )),
        ("batch", "CronJob") => Some((
            spec.get("jobTemplate")?
                .get("spec")?
                .get("template")?
                .get("spec")?,
            "/spec/jobTemplate/spec/template/spec".to_owned(),
        )),
        ("", "Pod") => Some((spec, "/spec".to_owned())),
        _ => None,
    }
}
