use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::{Diagnostic, Severity};
use crate::rules::listeners::{is_http, is_istio, is_tls, protocol};
use crate::rules::spec_walk::text;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a Gateway server or Sidecar ingress listener whose `tls` does not
    /// fit its port protocol: an `HTTPS` or `TLS` Gateway server without
    /// `tls`; a plain HTTP server (`HTTP`, `HTTP2`, `GRPC`, ...) whose `tls`
    /// does more than redirect (a `mode` other than `PASSTHROUGH` or
    /// `AUTO_PASSTHROUGH`, or a certificate, key or CA file); `tls` on a server
    /// of any other protocol (`TCP`, `MONGO`, ...); `tls` on a Sidecar ingress
    /// listener whose protocol is not `HTTPS` or `TLS`; and, as a warning,
    /// `httpsRedirect` on a Gateway server that is not plain HTTP.
    ///
    /// A plain HTTP server may carry `tls: {httpsRedirect: true}` to answer
    /// every request with a redirect to HTTPS; that is the only use of `tls`
    /// there. What the `tls` block itself holds is `invalid-server-tls`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole Gateway or Sidecar, so none of its
    /// changes apply. An `httpsRedirect` on an HTTPS or TCP server is accepted
    /// but does nothing.
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
    /// ```
    /// Use instead: add `tls: {mode: SIMPLE, credentialName: shop-cert}` to
    /// terminate TLS at the gateway.
    pub ServerTlsMismatch {
        name: "server-tls-mismatch",
        severity: Error,
        kinds: [Gateway, Sidecar],
        upstream: ["IST0106"],
    }
}

/// Certificate fields a plain HTTP server's `tls` may not carry.
const HTTP_FORBIDDEN: &[&str] = &["serverCertificate", "privateKey", "caCertificates"];

impl Rule for ServerTlsMismatch {
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
        let sidecar = meta.kind.as_str() == "Sidecar";
        let list = if sidecar { "ingress" } else { "servers" };
        for (i, server) in spec
            .get(list)
            .into_iter()
            .flat_map(|l| l.items())
            .enumerate()
        {
            let base = meta.path(&format!("/spec/{list}/{i}"));
            let Some(port) = server.get("port").filter(|p| p.shape() == Shape::Mapping) else {
                continue;
            };
            let proto_node = port.get("protocol");
            let written = proto_node.and_then(|p| p.str()).unwrap_or("");
            let tls_entry = server
                .entry("tls")
                .filter(|(_, v)| v.shape() != Shape::Null);
            if sidecar {
                // Istio: any protocol but HTTPS/TLS (unknown or unset included).
                if let Some((key, _)) = tls_entry
                    && !protocol(written).is_some_and(is_tls)
                {
                    let what = if written.is_empty() {
                        "has no protocol".to_owned()
                    } else {
                        format!("is `{written}`")
                    };
                    let mut d = Diagnostic::new(
                        &ServerTlsMismatch::META,
                        meta.file,
                        key.span(),
                        format!("ingress listener has `tls`, but its port {what}: Istio accepts `tls` only on `HTTPS` or `TLS` ports"),
                    )
                    .label("TLS on a non-TLS port")
                    .help("Set the port's `protocol` to `HTTPS` (or `TLS`) to terminate TLS at the sidecar, or remove `tls`.")
                    .object(meta)
                    .path(format!("{base}/tls"));
                    if let Some(p) = proto_node {
                        d = d.related(meta.file, p.span(), "protocol is set here");
                    }
                    out.push(d);
                }
                continue;
            }
            // Gateway servers: protocol problems are `invalid-gateway-server`'s.
            let Some(proto) = protocol(written) else {
                continue;
            };
            let Some(proto_node) = proto_node else {
                continue;
            };
            let report = |span, pointer: String, message: String, label: &str, help: &str| {
                Diagnostic::new(&ServerTlsMismatch::META, meta.file, span, message)
                    .label(label)
                    .help(help)
                    .object(meta)
                    .path(pointer)
            };
            match tls_entry {
                None if is_tls(proto) => out.push(report(
                    proto_node.span(),
                    format!("{base}/port/protocol"),
                    format!("server protocol is `{written}`, but the server has no `tls`: Istio rejects `HTTPS` and `TLS` servers without TLS settings"),
                    "needs `tls`",
                    if proto == "HTTPS" {
                        "Add `tls: {mode: SIMPLE, credentialName: <secret>}` to terminate TLS at the gateway, or `tls: {mode: PASSTHROUGH}` with protocol `TLS` to pass it through."
                    } else {
                        "Add `tls: {mode: PASSTHROUGH}` to route by SNI without terminating, or `tls: {mode: SIMPLE, credentialName: <secret>}` to terminate."
                    },
                )),
                None => {}
                Some(_) if is_tls(proto) => {}
                Some((_, tls)) if is_http(proto) => {
                    let mode = tls.get("mode");
                    let mode_text = mode.and_then(|m| m.str()).unwrap_or("PASSTHROUGH");
                    if let Some(m) = mode
                        && !matches!(mode_text, "PASSTHROUGH" | "AUTO_PASSTHROUGH")
                    {
                        out.push(
                            report(
                                m.span(),
                                format!("{base}/tls/mode"),
                                format!("server protocol is `{written}`, but its `tls` has mode `{mode_text}`: Istio rejects TLS settings on a plain HTTP port"),
                                "TLS mode on an HTTP port",
                                "To terminate TLS, set the port's protocol to `HTTPS` (usually on port 443); on the HTTP server keep only `tls: {httpsRedirect: true}`.",
                            )
                            .related(meta.file, proto_node.span(), "protocol is set here"),
                        );
                    } else if let Some((field, v)) = HTTP_FORBIDDEN
                        .iter()
                        .find_map(|f| text(tls.get(f)).and(tls.get(f)).map(|v| (*f, v)))
                    {
                        out.push(
                            report(
                                v.span(),
                                format!("{base}/tls/{field}"),
                                format!("server protocol is `{written}`, but its `tls` sets `{field}`: Istio rejects certificates on a plain HTTP port"),
                                "certificate on an HTTP port",
                                "Move the certificate to an `HTTPS` server; on the HTTP server keep only `tls: {httpsRedirect: true}`.",
                            )
                            .related(meta.file, proto_node.span(), "protocol is set here"),
                        );
                    }
                }
                Some((key, _)) => out.push(
                    report(
                        key.span(),
                        format!("{base}/tls"),
                        format!("server protocol is `{written}`, but the server has `tls`: Istio accepts `tls` only on HTTPS, TLS and (for redirects) HTTP servers"),
                        "TLS on a non-TLS port",
                        "Use protocol `TLS` to pass TLS through or terminate it, or remove `tls`.",
                    )
                    .related(meta.file, proto_node.span(), "protocol is set here"),
                ),
            }
            // httpsRedirect on an HTTPS or TLS server: a warning. (On other
            // non-HTTP servers the whole `tls` is already rejected above.)
            if is_tls(proto)
                && let Some((_, tls)) = tls_entry
                && let Some(r) = tls.get("httpsRedirect")
                && r.bool() == Some(true)
            {
                let mut d = report(
                    r.span(),
                    format!("{base}/tls/httpsRedirect"),
                    format!("`httpsRedirect` on a server with protocol `{written}` does nothing: Istio applies it only to plain HTTP servers"),
                    "ignored here",
                    "Remove `httpsRedirect` here; put `tls: {httpsRedirect: true}` on the HTTP (port 80) server instead.",
                )
                .severity(Severity::Warning);
                d.upstream = &["IST0133"];
                out.push(d);
            }
        }
    }
}
