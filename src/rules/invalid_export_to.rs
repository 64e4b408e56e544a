use std::collections::HashMap;

use crate::declare_rule;
use crate::model::NamespaceSource;
use crate::report::Diagnostic;
use crate::rules::spec_walk::is_dns1123_label;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags an `exportTo` list Istio rejects: an entry that is not `.`, `*` or
    /// a namespace name; a duplicate (including `.` next to the object's own
    /// namespace); `*` together with other entries; `~` outside a ServiceEntry
    /// or next to other entries; and a DestinationRule with a
    /// `workloadSelector` exported beyond its own namespace.
    ///
    /// This is Istio's `validateExportTo`. `.` is the object's own namespace,
    /// `*` every namespace, and `~` (ServiceEntry only) no namespace at all,
    /// only the workloads the ServiceEntry selects. A DestinationRule with a
    /// `workloadSelector` applies to workloads of its own namespace only, so it
    /// may be exported only there (`.`). The duplicate of `.` and the own
    /// namespace is reported only when `metadata.namespace` is written.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole object, so none of its changes apply.
    /// A list such as `[*, shop]` also says two different things: the author
    /// meant to restrict visibility but exported to everyone.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   exportTo: ["*", "shop"]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviews}
    /// ```
    /// Use instead: `exportTo: ["*"]` (or no `exportTo`) to export everywhere,
    /// or list only the namespaces that should see it: `exportTo: [".", frontend]`.
    pub InvalidExportTo {
        name: "invalid-export-to",
        severity: Error,
        kinds: [VirtualService, DestinationRule, ServiceEntry],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidExportTo {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let Some(list) = spec.get("exportTo") else {
            return;
        };
        let meta = &ctx.object.meta;
        let kind = meta.kind.as_str();
        let is_se = kind == "ServiceEntry";
        let own_ns = matches!(
            meta.namespace_source,
            NamespaceSource::Field | NamespaceSource::Kustomize
        )
        .then_some(meta.namespace.as_str());
        let entries: Vec<_> = list
            .items()
            .enumerate()
            .filter_map(|(i, n)| n.str().map(|s| (i, s, n)))
            .collect();
        let total = entries.len();
        let report = |i: usize, span, message: String, label: &str, help: String| {
            Diagnostic::new(&InvalidExportTo::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(meta.path(&format!("/spec/exportTo/{i}")))
        };
        let mut seen: HashMap<String, crate::source::Span> = HashMap::new();
        for &(i, e, node) in &entries {
            let key = if e == "." {
                own_ns.map_or(".".to_owned(), str::to_owned)
            } else {
                e.to_owned()
            };
            if let Some(first) = seen.get(&key) {
                let message = if key != e
                    || (e != "." && own_ns == Some(e) && entries.iter().any(|(_, x, _)| *x == "."))
                {
                    format!(
                        "`exportTo` has both `.` and `{key}`, the object's own namespace: Istio rejects the duplicate"
                    )
                } else {
                    format!("`exportTo` lists `{e}` twice: Istio rejects the duplicate")
                };
                out.push(
                    report(
                        i,
                        node.span(),
                        message,
                        "duplicate",
                        "Remove the duplicate entry.".to_owned(),
                    )
                    .related(meta.file, *first, "first listed here"),
                );
                continue;
            }
            seen.insert(key, node.span());
            let valid = e == "." || e == "*" || (e == "~" && is_se) || is_dns1123_label(e);
            if !valid {
                let (message, help) = if e == "~" {
                    (
                        format!(
                            "`exportTo: ~` is allowed only on a ServiceEntry, not on a {kind}: Istio rejects it"
                        ),
                        "Export to `.` to keep the object in its own namespace.".to_owned(),
                    )
                } else {
                    (
                        format!(
                            "`exportTo` entry `{e}` is not `.`, `*` or a namespace name: Istio rejects it"
                        ),
                        "Use `.` (this namespace), `*` (every namespace) or namespace names."
                            .to_owned(),
                    )
                };
                out.push(report(i, node.span(), message, "invalid entry", help));
            }
        }
        for (special, what) in [("*", "every namespace"), ("~", "no namespace")] {
            if (special == "~" && !is_se) || total < 2 {
                continue;
            }
            if let Some(&(i, _, node)) = entries.iter().find(|(_, e, _)| *e == special) {
                out.push(report(
                    i,
                    node.span(),
                    format!(
                        "`exportTo` has `{special}` ({what}) together with other entries: Istio rejects the list"
                    ),
                    "must be alone",
                    format!("Use `{special}` alone, or list only the namespaces that should see the object."),
                ));
            }
        }
        let has_selector = spec.get("workloadSelector").is_some_and(|s| !s.is_null());
        if kind == "DestinationRule" && has_selector && total > 0 {
            let is_own = |e: &str| e == "." || own_ns == Some(e);
            if let Some(&(i, e, node)) = entries.iter().find(|(_, e, _)| !is_own(e)) {
                out.push(report(
                    i,
                    node.span(),
                    format!(
                        "a DestinationRule with a `workloadSelector` can be exported only to its own namespace, not to `{e}`: Istio rejects it"
                    ),
                    "beyond its own namespace",
                    "Use `exportTo: [\".\"]` (or no `exportTo`): the selected workloads are all in this namespace.".to_owned(),
                ));
            }
        }
    }
}
