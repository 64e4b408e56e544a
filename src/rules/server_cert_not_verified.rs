use crate::declare_rule;
use crate::model::node::Node;
use crate::report::{Diagnostic, Severity};
use crate::rules::spec_walk::destination_rule_policies;
use crate::rules::spec_walk::non_empty_str;
use crate::rules::{ObjectContext, Rule, RuleMeta};

/// The first Istio version whose `VERIFY_CERTIFICATE_AT_CLIENT` defaults to
/// true (istio/istio#48225).
const VERIFYING_SINCE: (u32, u32) = (1, 21);

declare_rule! {
    /// Flags DestinationRule client TLS with `mode: SIMPLE` or `mode: MUTUAL`
    /// that names no `caCertificates`, so the server's certificate is not
    /// checked against a CA the configuration chooses: as information for
    /// Istio 1.21 and later (and when `istio-version` is not configured), as a
    /// warning when `istio-version` is below 1.21.
    ///
    /// What Istio does without `caCertificates`:
    /// - Istio 1.21 and later (`VERIFY_CERTIFICATE_AT_CLIENT` and
    ///   `ENABLE_AUTO_SNI` default to true): istiod fills in
    ///   `caCertificates: system`, so Envoy verifies the server certificate
    ///   against the proxy image's system CA bundle (and, when neither `sni`
    ///   nor `subjectAltNames` is set, checks its SAN against the SNI it sends).
    ///   A public server works and is verified; a server whose certificate
    ///   comes from a private CA (Istio's own CA included) fails the handshake
    ///   (`CERTIFICATE_VERIFY_FAILED`, requests get 503).
    /// - Istio 1.20 and earlier, or `compatibilityVersion: 1.20`, or
    ///   `VERIFY_CERTIFICATE_AT_CLIENT=false` on istiod: the server certificate
    ///   is not verified at all; traffic is encrypted but anyone who can
    ///   intercept it can impersonate the server.
    ///
    /// Checked like istioctl (IST0128 for `trafficPolicy.tls`, IST0129 for
    /// `trafficPolicy.portLevelSettings[].tls`): `ISTIO_MUTUAL` and `DISABLE`
    /// never count, and a `credentialName` is accepted as the CA's source only
    /// when the DestinationRule also has a `workloadSelector`. Without one the
    /// finding stays, and says the CA then comes from the Secret's `ca.crt`
    /// only if it has one.
    ///
    /// Differences from upstream: istioctl does not check subset traffic
    /// policies; meshvet does (a subset's `tls` replaces the top-level one for
    /// traffic routed to that subset), without an upstream code. `tls` with
    /// `insecureSkipVerify: true` is not reported: verification is switched off
    /// on purpose. A `MUTUAL` setting without client certificate is not
    /// reported either: Istio rejects it (`invalid-client-tls`). istioctl
    /// reports every case as a warning whatever the Istio version.
    ///
    /// ## Why is this bad?
    /// Before Istio 1.21 (and with the old default kept), TLS origination
    /// without `caCertificates` accepts any certificate, so the connection is
    /// open to a man in the middle. Since 1.21 it trusts every public CA in the
    /// proxy image, which is right for a public API but fails for a server with
    /// a private CA, and does not pin the CA you expect.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: db, namespace: shop}
    /// spec:
    ///   host: db.internal.example.com
    ///   trafficPolicy:
    ///     tls:
    ///       mode: SIMPLE
    /// ```
    /// Use instead: name the CA that signs the server certificate.
    /// ```yaml
    ///   trafficPolicy:
    ///     tls:
    ///       mode: SIMPLE
    ///       caCertificates: /etc/certs/internal-ca.pem
    /// ```
    pub ServerCertNotVerified {
        name: "server-cert-not-verified",
        severity: Info,
        kinds: [DestinationRule],
        upstream: ["IST0128", "IST0129"],
    }
}

impl Rule for ServerCertNotVerified {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let host = spec.get("host").and_then(|h| h.str()).unwrap_or("");
        let selector = spec.get("workloadSelector").is_some_and(|s| !s.is_null());
        let old = ctx
            .settings
            .istio_before(VERIFYING_SINCE.0, VERIFYING_SINCE.1);
        let base = meta.path("/spec");
        for policy in destination_rule_policies(spec, &base) {
            let Some(tls) = policy.node.get("tls") else {
                continue;
            };
            let Some(mode) = tls.get("mode") else {
                continue;
            };
            let Some(mode_text @ ("SIMPLE" | "MUTUAL")) = mode.str() else {
                continue;
            };
            if non_empty_str(tls, "caCertificates").is_some()
                || tls.get("insecureSkipVerify").and_then(|v| v.bool()) == Some(true)
            {
                continue;
            }
            let credential = non_empty_str(tls, "credentialName").map(|(_, _, c)| c);
            if credential.is_some() && selector {
                continue;
            }
            if mode_text == "MUTUAL"
                && credential.is_none()
                && (non_empty_str(tls, "clientCertificate").is_none()
                    || non_empty_str(tls, "privateKey").is_none())
            {
                // Rejected by Istio: `invalid-client-tls` reports it.
                continue;
            }
            let subset = policy.pointer.contains("/subsets/");
            let port = policy
                .node
                .get("port")
                .and_then(|p| p.get("number"))
                .and_then(|n| n.int());
            out.push(finding(
                ctx,
                mode,
                mode_text,
                host,
                port,
                credential,
                old,
                format!("{}/tls/mode", policy.pointer),
                match (subset, policy.port_level) {
                    (true, _) => &[],
                    (false, false) => &["IST0128"],
                    (false, true) => &["IST0129"],
                },
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    ctx: &ObjectContext<'_>,
    mode: Node<'_>,
    mode_text: &str,
    host: &str,
    port: Option<i64>,
    credential: Option<&str>,
    old: bool,
    pointer: String,
    upstream: &'static [&'static str],
) -> Diagnostic {
    let meta = &ctx.object.meta;
    let target = match (host, port) {
        ("", Some(p)) => format!("port {p}"),
        ("", None) => "the host".to_owned(),
        (h, Some(p)) => format!("`{h}` port {p}"),
        (h, None) => format!("`{h}`"),
    };
    let lead = match credential {
        Some(c) => format!(
            "`{mode_text}` TLS to {target} names no `caCertificates`, and Secret `{c}` supplies a CA only if it has `ca.crt`"
        ),
        None => format!("`{mode_text}` TLS to {target} names no `caCertificates`"),
    };
    let version = ctx.settings.istio_version;
    let (message, label, help) = match version {
        Some((a, b)) if old => (
            format!(
                "{lead}: Istio {a}.{b} does not verify the server certificate, so anyone who intercepts the connection can impersonate the server"
            ),
            "server certificate not verified",
            "Set `caCertificates` to the CA that signs the server certificate, or enable `VERIFY_CERTIFICATE_AT_CLIENT` on istiod (the default from Istio 1.21) to verify it against the proxy's system CA bundle.".to_owned(),
        ),
        Some(_) => (
            format!(
                "{lead}: the server certificate is verified against the proxy's system CA bundle only, so a server with a private CA fails the handshake"
            ),
            "verified against system CAs only",
            "Set `caCertificates` to the CA that signs the server certificate when it is not a public CA; for a server with a public certificate nothing needs to change.".to_owned(),
        ),
        None => (
            format!(
                "{lead}: Istio 1.21 and later verify the server certificate against the proxy's system CA bundle only (a private CA fails the handshake), Istio 1.20 and earlier do not verify it"
            ),
            "verified against system CAs only, or not at all",
            "Set `caCertificates` to the CA that signs the server certificate when it is not a public CA, and set `istio-version` in .meshvet.yaml so meshvet can tell whether the proxies verify it at all.".to_owned(),
        ),
    };
    let mut d = Diagnostic::new(
        &ServerCertNotVerified::META,
        meta.file,
        mode.span(),
        message,
    )
    .label(label)
    .help(help)
    .object(meta)
    .path(pointer);
    if old {
        d = d.severity(Severity::Warning);
    }
    d.upstream = upstream;
    d
}

#[cfg(test)]
mod tests {
    use crate::report::Severity;
    use crate::settings::Settings;
    use crate::{Inputs, Options, check};

    const SIMPLE: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: shop}
spec:
  host: db.internal.example.com
  trafficPolicy:
    tls:
      mode: SIMPLE
";

    fn findings(version: Option<(u32, u32)>) -> Vec<(Severity, String)> {
        let opts = Options {
            settings: Settings {
                istio_version: version,
                ..Settings::default()
            },
            select: Some(vec!["server-cert-not-verified".to_owned()]),
            ..Options::default()
        };
        let inputs = Inputs {
            paths: Vec::new(),
            stdin: Some(("dr.yaml".to_owned(), SIMPLE.as_bytes().to_vec())),
        };
        check(&inputs, &opts)
            .map(|r| {
                r.diagnostics
                    .into_iter()
                    .map(|d| (d.severity, d.message))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Information by default and from 1.21 on, a warning before 1.21.
    #[test]
    fn severity_follows_istio_version() {
        for version in [None, Some((1, 21)), Some((1, 24))] {
            let f = findings(version);
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].0, Severity::Info);
            assert!(f[0].1.contains("system CA bundle only"));
            assert_eq!(f[0].1.contains("1.20 and earlier"), version.is_none());
        }
        let old = findings(Some((1, 20)));
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].0, Severity::Warning);
        assert!(old[0].1.contains("Istio 1.20 does not verify"));
    }
}
