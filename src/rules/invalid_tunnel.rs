use std::net::IpAddr;

use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::spec_walk::set_entry;
use crate::rules::spec_walk::{destination_rule_policies, dns_labels_problem};
use crate::rules::traffic_policy::finding;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a DestinationRule `tunnel` that Istio rejects: `tunnel` together
    /// with `proxyProtocol`, a `protocol` other than `CONNECT` or `POST`, and a
    /// `targetHost` that is neither a fully qualified domain name nor an IP
    /// address.
    ///
    /// Istio's `validateTunnelSettings` compares `protocol` exactly (`connect`
    /// is rejected) and reads `targetHost` as a DNS name without wildcards (a
    /// short name is accepted, a `*`, a port or a path is not). A missing
    /// `targetHost`/`targetPort` is `missing-required-field`'s; a
    /// `targetPort` outside 1–65535 is `value-out-of-range`'s.
    ///
    /// ## Why is this bad?
    /// The whole DestinationRule is rejected, so none of its subsets and
    /// policies apply (routes to its subsets fail with 503), and the version
    /// already in the cluster stays in force. Envoy can either tunnel a
    /// connection through an HTTP proxy or prefix it with a PROXY protocol
    /// header, not both.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: db-via-proxy, namespace: shop}
    /// spec:
    ///   host: db.example.com
    ///   trafficPolicy:
    ///     tunnel:
    ///       protocol: connect
    ///       targetHost: db.example.com:5432
    ///       targetPort: 5432
    /// ```
    /// Use instead: `protocol: CONNECT` and `targetHost: db.example.com` (the
    /// port goes in `targetPort`).
    pub InvalidTunnel {
        name: "invalid-tunnel",
        severity: Error,
        kinds: [DestinationRule],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidTunnel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let base = meta.path("/spec");
        for policy in destination_rule_policies(spec, &base) {
            if policy.port_level {
                continue;
            }
            let Some((tk, tunnel)) = set_entry(policy.node, "tunnel") else {
                continue;
            };
            let ptr = format!("{}/tunnel", policy.pointer);
            if let Some((pk, _)) = set_entry(policy.node, "proxyProtocol") {
                out.push(
                    finding(
                        &InvalidTunnel::META,
                        meta,
                        pk.span(),
                        format!("{}/proxyProtocol", policy.pointer),
                        "`proxyProtocol` is set together with `tunnel`: Istio rejects the DestinationRule".to_owned(),
                        "set together with `tunnel`",
                        "Keep `tunnel` to reach the destination through an HTTP proxy, or `proxyProtocol` to send it a PROXY protocol header, not both.",
                    )
                    .related(meta.file, tk.span(), "`tunnel` is set here"),
                );
            }
            if let Some(p) = tunnel.get("protocol")
                && let Some(text) = p.str()
                && !matches!(text, "" | "CONNECT" | "POST")
            {
                let upper = text.to_ascii_uppercase();
                let hint = if matches!(upper.as_str(), "CONNECT" | "POST") {
                    format!(" (did you mean `{upper}`?)")
                } else {
                    String::new()
                };
                out.push(finding(
                    &InvalidTunnel::META,
                    meta,
                    p.span(),
                    format!("{ptr}/protocol"),
                    format!("tunnel `protocol: {text}` is neither `CONNECT` nor `POST`{hint}: Istio rejects the DestinationRule"),
                    "not `CONNECT` or `POST`",
                    "Use `CONNECT` (the default) or `POST`, in capitals.",
                ));
            }
            if let Some(h) = tunnel.get("targetHost")
                && let Some(text) = h.str()
                && let Some(why) = target_host_problem(text)
            {
                out.push(finding(
                    &InvalidTunnel::META,
                    meta,
                    h.span(),
                    format!("{ptr}/targetHost"),
                    format!("tunnel `targetHost: {text}` is neither a domain name nor an IP address ({why}): Istio rejects the DestinationRule"),
                    "not a host name or IP",
                    "Write the host name or IP address alone; the port goes in `targetPort`.",
                ));
            }
        }
    }
}

/// Why `host` is neither an FQDN (Istio's `ValidateFQDN`) nor an IP address.
fn target_host_problem(host: &str) -> Option<String> {
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    if host.is_empty() {
        return Some("it is empty".to_owned());
    }
    if host.len() > 255 {
        return Some(format!("{} characters, more than 255", host.len()));
    }
    if host.contains('*') {
        return Some("a tunnel target cannot be a wildcard".to_owned());
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(format!("it has a port, `:{port}`"));
    }
    dns_labels_problem(host)
}
