use crate::declare_rule;
use crate::model::NamespaceSource;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::{is_set, non_empty_str};
use crate::rules::traffic_policy::finding;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags DestinationRule client `tls` settings that Istio rejects
    /// (`ValidateTLS`):
    /// - `insecureSkipVerify: true` with `mode: SIMPLE` together with
    ///   `caCertificates`, `credentialName` or `subjectAltNames`, and with
    ///   `mode: MUTUAL` together with `caCertificates` or `subjectAltNames`:
    ///   there is nothing to verify against when verification is off;
    /// - `mode: SIMPLE` or `MUTUAL` with `credentialName` together with
    ///   `clientCertificate`, `privateKey`, `caCertificates` or `caCrl`: the
    ///   credential (a Secret) supplies them, so file paths cannot be given too;
    /// - `mode: MUTUAL` without `credentialName` and without
    ///   `clientCertificate` or `privateKey`;
    /// - a `credentialName` of the form `configmap://namespace/name` that does
    ///   not name both parts, or names a namespace other than the
    ///   DestinationRule's own (checked only when the DestinationRule's
    ///   namespace is known from `metadata.namespace` or a kustomization).
    ///
    /// A missing `caCertificates` with `SIMPLE` or `MUTUAL` is accepted by
    /// Istio (with the system's CAs, or none); `ISTIO_MUTUAL` takes every
    /// certificate from Istio itself.
    ///
    /// ## Why is this bad?
    /// The whole DestinationRule is rejected, so none of its subsets and
    /// policies apply (routes to its subsets fail with 503), and the version
    /// already in the cluster stays in force: a TLS change that looks deployed
    /// is not.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: payments, namespace: shop}
    /// spec:
    ///   host: api.payments.example.com
    ///   trafficPolicy:
    ///     tls:
    ///       mode: MUTUAL
    ///       credentialName: payments-client
    ///       caCertificates: /etc/certs/ca.pem
    /// ```
    /// Use instead: keep `credentialName` and put the CA in that Secret
    /// (`ca.crt`), or drop `credentialName` and give `clientCertificate`,
    /// `privateKey` and `caCertificates` as files.
    pub InvalidClientTls {
        name: "invalid-client-tls",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidClientTls {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        for policy in destination_rule_policies(spec, &base) {
            if let Some(tls) = policy.node.get("tls") {
                check(ctx, tls, &format!("{}/tls", policy.pointer), out);
            }
        }
    }
}

fn check(ctx: &ObjectContext<'_>, tls: Node<'_>, ptr: &str, out: &mut Vec<Diagnostic>) {
    let meta = &ctx.object.meta;
    let mode_node = tls.get("mode");
    let mode = mode_node.and_then(|m| m.str()).unwrap_or("DISABLE");
    let mode_span = mode_node.map(|m| m.span());
    let credential = non_empty_str(tls, "credentialName");
    let mut reported: Vec<Span> = Vec::new();
    let mut push = |d: Diagnostic, span: Span, out: &mut Vec<Diagnostic>| {
        if !reported.contains(&span) {
            reported.push(span);
            out.push(d);
        }
    };

    // configmap:// credentials.
    if let Some((_, v, name)) = credential
        && let Some(rest) = name.strip_prefix("configmap://")
    {
        let parts: Vec<&str> = rest.split('/').collect();
        let problem = match parts.as_slice() {
            [_] => {
                Some("it names no namespace (the form is `configmap://namespace/name`)".to_owned())
            }
            ["", ..] => Some("its namespace is empty".to_owned()),
            [_, "", ..] => Some("its name is empty".to_owned()),
            [ns, ..]
                if *ns != meta.namespace
                    && matches!(
                        meta.namespace_source,
                        NamespaceSource::Field | NamespaceSource::Kustomize
                    ) =>
            {
                Some(format!(
                    "it names namespace `{ns}`, and a ConfigMap credential must be in the DestinationRule's own namespace, `{}`",
                    meta.namespace
                ))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            let d = finding(
                &InvalidClientTls::META,
                meta,
                v.span(),
                format!("{ptr}/credentialName"),
                format!(
                    "`credentialName: {name}` is invalid because {problem}: Istio rejects the DestinationRule"
                ),
                "invalid ConfigMap credential",
                format!(
                    "Write `configmap://{}/<name>` and keep the ConfigMap in the DestinationRule's namespace.",
                    meta.namespace
                ),
            );
            push(d, v.span(), out);
        }
    }

    let insecure = tls.get("insecureSkipVerify").and_then(|v| v.bool()) == Some(true);
    if insecure && matches!(mode, "SIMPLE" | "MUTUAL") {
        let fields: &[&str] = if mode == "SIMPLE" {
            &["caCertificates", "credentialName", "subjectAltNames"]
        } else {
            &["caCertificates", "subjectAltNames"]
        };
        let skip_key = tls.entry("insecureSkipVerify").map(|(k, _)| k.span());
        for f in fields {
            let Some((k, v)) = tls.entry(f) else {
                continue;
            };
            let set = if *f == "subjectAltNames" {
                is_set(Some(v))
            } else {
                v.str().is_some_and(|s| !s.is_empty())
            };
            if !set {
                continue;
            }
            let mut d = finding(
                &InvalidClientTls::META,
                meta,
                k.span(),
                format!("{ptr}/{f}"),
                format!(
                    "`{f}` is set with `insecureSkipVerify: true` in `{mode}` mode: there is nothing to verify with, and Istio rejects the DestinationRule"
                ),
                "set with `insecureSkipVerify`",
                format!(
                    "Remove `{f}` to skip verification, or remove `insecureSkipVerify` to verify the server with it."
                ),
            );
            if let Some(s) = skip_key {
                d = d.related(meta.file, s, "verification is turned off here");
            }
            push(d, k.span(), out);
        }
    }

    if matches!(mode, "SIMPLE" | "MUTUAL") {
        if let Some((ck, _, cname)) = credential {
            for f in ["clientCertificate", "privateKey", "caCertificates", "caCrl"] {
                let Some((k, _, _)) = non_empty_str(tls, f) else {
                    continue;
                };
                let d = finding(
                    &InvalidClientTls::META,
                    meta,
                    k.span(),
                    format!("{ptr}/{f}"),
                    format!("`{f}` is set together with `credentialName`: the certificates come from the Secret `{cname}`, and Istio rejects the DestinationRule"),
                    "set with `credentialName`",
                    format!("Put the {} in the Secret named by `credentialName` and remove `{f}`, or remove `credentialName` and give every file path.", what(f)),
                )
                .related(meta.file, ck.span(), "`credentialName` is set here");
                push(d, k.span(), out);
            }
        } else if mode == "MUTUAL" {
            let missing: Vec<&str> = ["clientCertificate", "privateKey"]
                .into_iter()
                .filter(|f| non_empty_str(tls, f).is_none())
                .collect();
            if !missing.is_empty() {
                let list = crate::text::backtick_list(&missing, "and");
                let span = mode_span.unwrap_or_else(|| tls.span());
                let d = finding(
                    &InvalidClientTls::META,
                    meta,
                    span,
                    format!("{ptr}/mode"),
                    format!(
                        "`mode: MUTUAL` without `credentialName` needs `clientCertificate` and `privateKey`, and {list} {} missing: Istio rejects the DestinationRule",
                        if missing.len() == 1 { "is" } else { "are" }
                    ),
                    format!("{list} missing"),
                    "Name a Secret holding the client certificate and key with `credentialName`, or give the files with `clientCertificate` and `privateKey`.",
                );
                push(d, span, out);
            }
        }
    }
}

fn what(field: &str) -> &'static str {
    match field {
        "clientCertificate" => "client certificate (`tls.crt`)",
        "privateKey" => "private key (`tls.key`)",
        "caCertificates" => "CA certificates (`ca.crt`)",
        _ => "CRL (`ca.crl`)",
    }
}
