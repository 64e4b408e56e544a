use std::net::IpAddr;

use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::{Diagnostic, Severity};
use crate::rules::spec_walk::is_dns1123_label;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags VirtualService TCP and TLS match conditions Istio's validation
    /// rejects: a `tls` route whose `match` list is empty, a TLS match whose
    /// `sniHosts` list is empty, and a `destinationSubnets` entry that is
    /// neither an IP address nor a CIDR block (`10.0.0.0/33`, `10.0.0.0/8/9`,
    /// `db.internal`). As a warning, a TCP or TLS match `sourceNamespace` that
    /// is not a namespace name.
    ///
    /// A TLS route is chosen by SNI, so Istio requires at least one match and
    /// at least one SNI host in each. A `tls` route without `match` and a TLS
    /// match without `sniHosts` are `missing-required-field`'s findings; this
    /// rule reports the lists written but left empty. Ports out of range are
    /// `value-out-of-range`'s, HTTP match `sourceNamespace` is
    /// `invalid-header-match`'s.
    ///
    /// Difference from upstream: Istio does not check `sourceNamespace` in TCP
    /// and TLS matches, so `Bad_NS` passes the webhook; no namespace can have
    /// that name, so the match never applies, and meshvet warns.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole VirtualService, so none of its routes
    /// change. Where no webhook runs, a TLS route with no SNI to match on never
    /// takes a connection, and a subnet that does not parse leaves the listener
    /// filter chain istiod builds for it broken.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: mongo, namespace: shop}
    /// spec:
    ///   hosts: [mongo.shop.svc.cluster.local]
    ///   tcp:
    ///   - match:
    ///     - port: 27017
    ///       destinationSubnets: ["10.0.0.0/33"]
    ///     route:
    ///     - destination: {host: mongo-v2}
    /// ```
    /// Use instead: a prefix length the address family allows:
    /// `destinationSubnets: ["10.0.0.0/16"]`.
    pub InvalidL4Match {
        name: "invalid-l4-match",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

/// Why `subnet` is not an IP address or CIDR block as Istio's
/// `ValidateIPSubnet` reads it, or `None`.
fn subnet_problem(subnet: &str) -> Option<String> {
    if subnet.is_empty() {
        return Some("it is empty".to_owned());
    }
    if subnet.matches('/').count() == 1 {
        let (addr, bits) = subnet.split_once('/')?;
        let Ok(ip) = addr.parse::<IpAddr>() else {
            return Some(format!("`{addr}` is not an IP address"));
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let ok = !bits.is_empty()
            && bits.len() <= 3
            && bits.bytes().all(|c| c.is_ascii_digit())
            && bits.parse::<u32>().is_ok_and(|b| b <= max);
        if !ok {
            return Some(format!(
                "the prefix length `/{bits}` is not a number from 0 to {max}"
            ));
        }
        return None;
    }
    if subnet.contains('/') {
        return Some("it has more than one `/`".to_owned());
    }
    match subnet.parse::<IpAddr>() {
        Ok(_) => None,
        Err(_) => Some("it is not an IP address".to_owned()),
    }
}

impl Rule for InvalidL4Match {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let report = |node: Node<'_>, path: String, message: String| {
            Diagnostic::new(&InvalidL4Match::META, meta.file, node.span(), message)
                .object(meta)
                .path(path)
        };
        for kind in ["tcp", "tls"] {
            for (i, route) in spec
                .get(kind)
                .into_iter()
                .flat_map(|r| r.items())
                .enumerate()
            {
                let base = meta.path(&format!("/spec/{kind}/{i}"));
                let matches = route.entry("match");
                if kind == "tls"
                    && let Some((key, list)) = matches
                    && list.shape() == Shape::Sequence
                    && list.items().next().is_none()
                {
                    out.push(
                        report(
                            key,
                            format!("{base}/match"),
                            "this TLS route has an empty `match` list: Istio requires at least one match, with `sniHosts`".to_owned(),
                        )
                        .label("no match")
                        .help("Add a match with the SNI host names this route takes, such as `match: [{sniHosts: [shop.example.com]}]`."),
                    );
                }
                for (j, m) in matches
                    .map(|(_, v)| v)
                    .into_iter()
                    .flat_map(|v| v.items())
                    .enumerate()
                {
                    let ptr = format!("{base}/match/{j}");
                    if kind == "tls"
                        && let Some((key, list)) = m.entry("sniHosts")
                        && list.shape() == Shape::Sequence
                        && list.items().next().is_none()
                    {
                        out.push(
                            report(
                                key,
                                format!("{ptr}/sniHosts"),
                                "this TLS match has an empty `sniHosts` list: Istio requires at least one SNI host".to_owned(),
                            )
                            .label("no SNI host")
                            .help("List the SNI host names this match takes; they must be covered by the VirtualService's `hosts`."),
                        );
                    }
                    for (k, subnet) in m
                        .get("destinationSubnets")
                        .into_iter()
                        .flat_map(|l| l.items())
                        .enumerate()
                    {
                        if subnet.shape() != Shape::Scalar {
                            continue;
                        }
                        let text = subnet.scalar_text().unwrap_or("");
                        if let Some(problem) = subnet_problem(text) {
                            out.push(
                                report(
                                    subnet,
                                    format!("{ptr}/destinationSubnets/{k}"),
                                    format!(
                                        "destination subnet `{text}` is not an IP address or CIDR block: {problem}; Istio rejects it"
                                    ),
                                )
                                .label("not an IP or CIDR")
                                .help("Write an IP address (`10.1.2.3`, `2001:db8::1`) or a CIDR block (`10.1.0.0/16`, `2001:db8::/32`)."),
                            );
                        }
                    }
                    if let Some(ns) = m.get("sourceNamespace")
                        && ns.shape() == Shape::Scalar
                        && let Some(text) = ns.str()
                        && !text.is_empty()
                        && !is_dns1123_label(text)
                    {
                        out.push(
                            report(
                                ns,
                                format!("{ptr}/sourceNamespace"),
                                format!(
                                    "`sourceNamespace` `{text}` is not a namespace name, so this {} match never applies",
                                    kind.to_uppercase()
                                ),
                            )
                            .severity(Severity::Warning)
                            .label("not a namespace name")
                            .help("Write one namespace name: at most 63 letters, digits and `-`, starting and ending with a letter or digit; no wildcards and no lists."),
                        );
                    }
                }
            }
        }
    }
}
