use std::collections::HashSet;

use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::{Diagnostic, Severity};
use crate::rules::listeners::{TlsBlock, is_http, is_istio, tls_blocks};
use crate::rules::spec_walk::is_set;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags server-side `tls` settings of a Gateway server or Sidecar ingress
    /// listener that Istio rejects or ignores.
    ///
    /// Errors (Istio rejects the object): `ISTIO_MUTUAL` with a certificate,
    /// key, CA bundle, `tlsCertificates` or `credentialName(s)`; more than one
    /// certificate source among `credentialName`, `credentialNames`,
    /// `tlsCertificates` and `serverCertificate` with `privateKey`; `SIMPLE`,
    /// `MUTUAL` or `OPTIONAL_MUTUAL` without `credentialName(s)` and without a
    /// `serverCertificate` and `privateKey` (for each `tlsCertificates` entry
    /// too); `MUTUAL` or `OPTIONAL_MUTUAL` without `credentialName(s)` and
    /// without `caCertificates`; `caCrl` with `credentialName` or with
    /// `SIMPLE`; more than two `tlsCertificates` or `credentialNames`. On a
    /// Sidecar ingress listener also: `subjectAltNames`, `httpsRedirect`,
    /// `credentialName(s)`, `tlsCertificates`, and mode `ISTIO_MUTUAL` or
    /// `AUTO_PASSTHROUGH`.
    ///
    /// Warnings (accepted, but not what it says): certificates with
    /// `PASSTHROUGH` or `AUTO_PASSTHROUGH`, which never terminate TLS — also
    /// when `mode` is left out, because it defaults to `PASSTHROUGH` (on a
    /// plain HTTP redirect server, a `credentialName` is simply ignored);
    /// `minProtocolVersion` `TLSV1_0` or `TLSV1_1` without `cipherSuites`
    /// (the default suites no longer include any that those versions can
    /// use); a cipher suite Envoy does not know, or one listed twice (both are
    /// dropped).
    ///
    /// Istio's analyzer only warns about more than two `tlsCertificates`; the
    /// CRD's schema (`maxItems: 2`) makes the API server reject them, so
    /// meshvet reports an error.
    ///
    /// ## Why is this bad?
    /// A rejected Gateway or Sidecar never applies. A `tls` block without
    /// `mode` passes TLS through untouched, so the gateway never presents the
    /// certificate named in `credentialName`, and HTTP routes bound to the
    /// server never match.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: public, namespace: edge}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["*/shop.example.com"]
    ///     tls:
    ///       mode: MUTUAL
    ///       serverCertificate: /etc/certs/tls.crt
    ///       privateKey: /etc/certs/tls.key
    /// ```
    /// Use instead: add `caCertificates: /etc/certs/ca.crt` to verify client
    /// certificates, or `credentialName: shop-cert` holding `ca.crt` too.
    pub InvalidServerTls {
        name: "invalid-server-tls",
        severity: Error,
        kinds: [Gateway, Sidecar],
        upstream: ["IST0106"],
    }
}

/// Modes the schema allows.
const MODES: &[&str] = &[
    "PASSTHROUGH",
    "SIMPLE",
    "MUTUAL",
    "AUTO_PASSTHROUGH",
    "ISTIO_MUTUAL",
    "OPTIONAL_MUTUAL",
];

/// Cipher suites Istio accepts in `cipherSuites` (BoringSSL's names).
const CIPHER_SUITES: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
];

/// Istio's `IsValidCipherSuite`: a known name, `ALL`, empty, or an expression
/// starting with an operator (`-`, `+`, `!`, `[`), which it does not parse.
fn valid_cipher(cs: &str) -> bool {
    match cs.chars().next() {
        None => true,
        Some(c) if !c.is_alphanumeric() => true,
        _ => cs == "ALL" || CIPHER_SUITES.contains(&cs),
    }
}

struct Out<'a> {
    meta: &'a crate::model::ObjectMeta,
    base: &'a str,
    seen: HashSet<(usize, usize)>,
    out: &'a mut Vec<Diagnostic>,
}

impl Out<'_> {
    /// Adds a finding unless the same value already has one.
    fn push(&mut self, span: Span, field: &str, message: String, label: &str, help: &str) {
        self.push_diag(span, field, message, label, help, false);
    }

    fn warn(&mut self, span: Span, field: &str, message: String, label: &str, help: &str) {
        self.push_diag(span, field, message, label, help, true);
    }

    fn push_diag(
        &mut self,
        span: Span,
        field: &str,
        message: String,
        label: &str,
        help: &str,
        warning: bool,
    ) {
        if !self.seen.insert((span.start as usize, span.end as usize)) {
            return;
        }
        let pointer = if field.is_empty() {
            self.base.to_owned()
        } else {
            format!("{}/{field}", self.base)
        };
        let mut d = Diagnostic::new(&InvalidServerTls::META, self.meta.file, span, message)
            .label(label)
            .help(help)
            .object(self.meta)
            .path(pointer);
        if warning {
            d = d.severity(Severity::Warning);
            d.upstream = &["IST0133"];
        }
        self.out.push(d);
    }
}

impl Rule for InvalidServerTls {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        if !is_istio(meta) {
            return;
        }
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        for block in tls_blocks(meta, spec) {
            let mut o = Out {
                meta,
                base: &block.pointer,
                seen: HashSet::new(),
                out,
            };
            check_block(&block, &mut o);
        }
    }
}

/// A field of the `tls` block, when it holds something: the node to point at
/// (the value of a scalar, the key of a list) and the value.
fn field<'t>(tls: Node<'t>, name: &str) -> Option<(Node<'t>, Node<'t>)> {
    tls.entry(name)
        .filter(|(_, v)| is_set(Some(*v)))
        .map(|(k, v)| {
            if v.shape() == Shape::Scalar {
                (v, v)
            } else {
                (k, v)
            }
        })
}

fn check_block(block: &TlsBlock<'_>, o: &mut Out<'_>) {
    let tls = block.tls;
    let mode_node = tls.get("mode").filter(|m| !m.is_null());
    let mode_written = mode_node.and_then(|m| m.str());
    let mode = mode_written.unwrap_or("PASSTHROUGH");
    // An unknown mode is `invalid-enum`'s; its mode rules cannot be judged.
    let mode_known = MODES.contains(&mode);
    let mode_span = mode_node.map_or_else(|| block.key.span(), |m| m.span());

    if block.sidecar {
        sidecar_only(block, mode, mode_span, o);
    }

    // minProtocolVersion below 1.2 without cipher suites.
    let ciphers: Vec<Node<'_>> = tls
        .get("cipherSuites")
        .into_iter()
        .flat_map(|c| c.items())
        .collect();
    if let Some(v) = tls.get("minProtocolVersion")
        && let Some(version @ ("TLSV1_0" | "TLSV1_1")) = v.str()
        && ciphers.is_empty()
    {
        o.warn(
            v.span(),
            "minProtocolVersion",
            format!("`minProtocolVersion: {version}` without `cipherSuites`: the default cipher suites no longer include any that TLS 1.0 or 1.1 clients can use"),
            "no usable ciphers",
            "List `cipherSuites` that the old clients support (for example `ECDHE-RSA-AES128-SHA`), or raise `minProtocolVersion` to `TLSV1_2`.",
        );
    }
    let mut valid_seen: HashSet<&str> = HashSet::new();
    for (i, c) in ciphers.iter().enumerate() {
        let Some(cs) = c.str() else { continue };
        if !valid_cipher(cs) {
            let hint = crate::text::closest(cs, CIPHER_SUITES.iter().copied());
            o.warn(
                c.span(),
                &format!("cipherSuites/{i}"),
                format!("cipher suite `{cs}` is not one Envoy knows: Istio drops it"),
                "unknown cipher suite",
                &match hint {
                    Some(h) => format!("Did you mean `{h}`? Cipher suites use BoringSSL's names."),
                    None => "Use BoringSSL's names, for example `ECDHE-RSA-AES256-GCM-SHA384`."
                        .to_owned(),
                },
            );
        } else if !valid_seen.insert(cs) {
            o.warn(
                c.span(),
                &format!("cipherSuites/{i}"),
                format!("cipher suite `{cs}` is listed twice: Istio drops the repeat"),
                "listed twice",
                "List each cipher suite once.",
            );
        }
    }

    if !mode_known {
        return;
    }
    let server_cert = field(tls, "serverCertificate");
    let private_key = field(tls, "privateKey");
    let ca = field(tls, "caCertificates");
    let crl = field(tls, "caCrl");
    let cred = field(tls, "credentialName");
    let creds = field(tls, "credentialNames");
    let certs = field(tls, "tlsCertificates");

    if mode == "ISTIO_MUTUAL" {
        for (name, f) in [
            ("serverCertificate", server_cert),
            ("privateKey", private_key),
            ("caCertificates", ca),
            ("tlsCertificates", certs),
            ("credentialName", cred),
            ("credentialNames", creds),
        ] {
            if let Some((k, _)) = f {
                o.push(
                    k.span(),
                    name,
                    format!("`{name}` is set with mode `ISTIO_MUTUAL`, which uses the mesh's own certificates: Istio rejects it"),
                    "not with `ISTIO_MUTUAL`",
                    &format!("Remove `{name}`, or use mode `MUTUAL` (or `SIMPLE`) to present your own certificate."),
                );
            }
        }
        return;
    }

    if mode == "PASSTHROUGH" || mode == "AUTO_PASSTHROUGH" {
        let set: Vec<(&str, Node<'_>)> = [
            ("caCrl", crl),
            ("serverCertificate", server_cert),
            ("privateKey", private_key),
            ("caCertificates", ca),
            ("tlsCertificates", certs),
            ("credentialName", cred),
            ("credentialNames", creds),
        ]
        .into_iter()
        .filter_map(|(n, f)| f.map(|(k, _)| (n, k)))
        .collect();
        // On a plain HTTP Gateway server, certificate files are
        // `server-tls-mismatch`'s error; other certificate fields are ignored.
        let http = !block.sidecar && block.protocol.is_some_and(is_http);
        let http_error = http && [server_cert, private_key, ca].iter().any(|f| f.is_some());
        if http
            && !http_error
            && let Some((first, k)) = set.first()
        {
            let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
            let list = crate::text::backtick_list(&names, "and");
            o.warn(
                k.span(),
                first,
                format!(
                    "on a plain HTTP server `tls` only redirects to HTTPS: {list} {} ignored",
                    if names.len() == 1 { "is" } else { "are" }
                ),
                "ignored on an HTTP server",
                &format!(
                    "Remove {list}; certificates belong on the `HTTPS` server for these hosts."
                ),
            );
        } else if !http && let Some((first, k)) = set.first() {
            let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
            let list = crate::text::backtick_list(&names, "and");
            let (message, help) = if mode_written.is_none() {
                (
                    format!(
                        "`tls` sets {list} but no `mode`, so the mode is `PASSTHROUGH`, which never uses certificates: the gateway does not terminate TLS"
                    ),
                    "Set `mode: SIMPLE` (or `MUTUAL`) to terminate TLS with this certificate."
                        .to_owned(),
                )
            } else {
                (
                    format!(
                        "mode `{mode}` passes TLS through and never uses certificates: {list} {} ignored",
                        if names.len() == 1 { "is" } else { "are" }
                    ),
                    format!(
                        "Remove {list}, or use mode `SIMPLE` (or `MUTUAL`) to terminate TLS at the proxy."
                    ),
                )
            };
            let span = if mode_written.is_none() {
                k.span()
            } else {
                mode_span
            };
            o.warn(
                span,
                if mode_written.is_none() {
                    first
                } else {
                    "mode"
                },
                message,
                "certificates ignored",
                &help,
            );
        }
    }

    // Only one certificate source.
    let pair = match (server_cert, private_key) {
        (Some((k, _)), Some(_)) => Some(k),
        _ => None,
    };
    let mut sources: Vec<(&str, Node<'_>)> = [
        ("credentialName", cred.map(|(k, _)| k)),
        ("credentialNames", creds.map(|(k, _)| k)),
        ("tlsCertificates", certs.map(|(k, _)| k)),
        ("serverCertificate", pair),
    ]
    .into_iter()
    .filter_map(|(n, k)| k.map(|k| (n, k)))
    .collect();
    sources.sort_by_key(|(_, k)| k.span().start);
    if let [_, (name, second), ..] = sources.as_slice() {
        let names: Vec<&str> = sources
            .iter()
            .map(|(n, _)| {
                if *n == "serverCertificate" {
                    "serverCertificate`/`privateKey"
                } else {
                    n
                }
            })
            .collect();
        o.push(
            second.span(),
            name,
            format!("`tls` names its certificate more than once ({}): Istio accepts only one certificate source", crate::text::backtick_list(&names, "and")),
            "second certificate source",
            "Keep one: `credentialName` (a Secret, preferred), `credentialNames`, `tlsCertificates`, or `serverCertificate` with `privateKey`.",
        );
    }

    // Cardinality the CRD schema limits.
    for (name, f) in [("tlsCertificates", certs), ("credentialNames", creds)] {
        if let Some((k, v)) = f {
            let n = v.items().count();
            if n > 2 {
                o.push(
                    k.span(),
                    name,
                    format!("`{name}` has {n} entries, and a server can have at most 2 (one RSA, one ECDSA): the API server rejects it"),
                    "more than 2",
                    &format!("Keep at most two `{name}` entries; serve other hosts from another server."),
                );
            }
        }
    }

    let terminating = matches!(mode, "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL");
    if terminating && (cred.is_some() || creds.is_some()) {
        // Certificates come from the Secret.
        return;
    }
    if terminating && !block.sidecar_has_unsupported_source(tls) {
        let mutual = mode != "SIMPLE";
        if mutual && ca.is_none() {
            o.push(
                mode_span,
                "mode",
                format!("mode `{mode}` verifies client certificates, but `tls` has neither `caCertificates` nor `credentialName`: Istio rejects it"),
                "no client CA",
                "Add `caCertificates` (the CA bundle that signs client certificates), or use `credentialName` with a Secret holding `ca.crt`.",
            );
        }
        match certs {
            Some((_, list)) => {
                for (i, item) in list.items().enumerate() {
                    let missing: Vec<&str> = ["serverCertificate", "privateKey"]
                        .into_iter()
                        .filter(|f| !is_set(item.get(f)))
                        .collect();
                    if !missing.is_empty() {
                        let span = if item.shape() == Shape::Mapping {
                            item.entries().next().map_or(item.span(), |(k, _)| k.span())
                        } else {
                            item.span()
                        };
                        o.push(
                            span,
                            &format!("tlsCertificates/{i}"),
                            format!("`tlsCertificates` entry has no {}: mode `{mode}` needs a certificate and its key", crate::text::backtick_list(&missing, "or")),
                            "incomplete certificate",
                            "Give each `tlsCertificates` entry both `serverCertificate` and `privateKey`.",
                        );
                    }
                }
            }
            None => {
                let missing: Vec<&str> = [
                    ("serverCertificate", server_cert),
                    ("privateKey", private_key),
                ]
                .into_iter()
                .filter(|(_, f)| f.is_none())
                .map(|(n, _)| n)
                .collect();
                if !missing.is_empty() {
                    o.push(
                        mode_span,
                        "mode",
                        format!("mode `{mode}` terminates TLS, but `tls` has no `credentialName` and no {}: Istio rejects it", crate::text::backtick_list(&missing, "or")),
                        "no certificate",
                        "Add `credentialName: <secret>` (a Secret in the gateway's namespace with `tls.crt` and `tls.key`), or both `serverCertificate` and `privateKey`.",
                    );
                }
            }
        }
    }
    if let Some((k, _)) = crl {
        if cred.is_some() {
            o.push(
                k.span(),
                "caCrl",
                "`caCrl` is set together with `credentialName`: Istio rejects it; the CRL belongs in the Secret (`ca.crl`)".to_owned(),
                "not with `credentialName`",
                "Remove `caCrl` and add the revocation list to the Secret as `ca.crl`.",
            );
        }
        if mode == "SIMPLE" {
            o.push(
                k.span(),
                "caCrl",
                "`caCrl` is set with mode `SIMPLE`, which does not verify client certificates: Istio rejects it".to_owned(),
                "not with `SIMPLE`",
                "Remove `caCrl`, or use mode `MUTUAL` to verify client certificates against the CA and the CRL.",
            );
        }
    }
}

impl TlsBlock<'_> {
    /// True on a Sidecar listener whose certificate source is one a sidecar
    /// does not support (already reported): no further certificate checks.
    fn sidecar_has_unsupported_source(&self, tls: Node<'_>) -> bool {
        self.sidecar && is_set(tls.get("tlsCertificates"))
    }
}

/// What a Sidecar ingress listener's `tls` may not hold.
fn sidecar_only(block: &TlsBlock<'_>, mode: &str, mode_span: Span, o: &mut Out<'_>) {
    let tls = block.tls;
    for (name, why) in [
        (
            "subjectAltNames",
            "is not supported on a Sidecar ingress listener",
        ),
        (
            "credentialName",
            "is not supported on a Sidecar ingress listener (a sidecar reads certificates from files)",
        ),
        (
            "credentialNames",
            "is not supported on a Sidecar ingress listener (a sidecar reads certificates from files)",
        ),
        (
            "tlsCertificates",
            "is not supported on a Sidecar ingress listener",
        ),
    ] {
        if let Some((k, _)) = field(tls, name) {
            o.push(
                k.span(),
                name,
                format!("`{name}` {why}: Istio rejects the Sidecar"),
                "not supported in a Sidecar",
                if name.starts_with("credential") || name == "tlsCertificates" {
                    "Mount the certificate into the pod and set `serverCertificate` and `privateKey` (and `caCertificates` for `MUTUAL`)."
                } else {
                    "Remove it; a Sidecar ingress listener does not check client certificate names."
                },
            );
        }
    }
    if let Some(r) = tls.get("httpsRedirect")
        && r.bool() == Some(true)
    {
        o.push(
            r.span(),
            "httpsRedirect",
            "`httpsRedirect` is not supported on a Sidecar ingress listener: Istio rejects the Sidecar".to_owned(),
            "not supported in a Sidecar",
            "Remove `httpsRedirect`; redirects to HTTPS are configured on a Gateway's HTTP server.",
        );
    }
    if matches!(mode, "ISTIO_MUTUAL" | "AUTO_PASSTHROUGH") && tls.get("mode").is_some() {
        o.push(
            mode_span,
            "mode",
            format!("mode `{mode}` cannot be used on a Sidecar ingress listener: Istio rejects the Sidecar"),
            "not for a Sidecar",
            "Use `SIMPLE` or `MUTUAL` with certificate files; mesh mTLS between sidecars is set by PeerAuthentication, not here.",
        );
    }
}
