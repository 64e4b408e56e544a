use std::net::IpAddr;

use crate::declare_rule;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::spec_walk::{Field, dns_labels_problem, visit, wildcard_domain_problem};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a host Istio's validation rejects for its syntax: a URL scheme, a
    /// port or a path in a host, a `*` anywhere but at the start of the first
    /// label, characters DNS does not allow, or the wrong `namespace/host`
    /// form in a Gateway or Sidecar.
    ///
    /// Checked: VirtualService `hosts`, destination hosts (routes, `mirror`,
    /// `mirrors`) and `sniHosts`; DestinationRule `host`; ServiceEntry `hosts`;
    /// Gateway server `hosts`; Sidecar egress `hosts`. A host is a domain name
    /// (short names such as `reviews` are fine where Istio resolves them) whose
    /// first label may be `*` or start with `*`; VirtualService hosts may also
    /// be IP addresses. A bare `*` is not a valid destination or ServiceEntry
    /// host, and not a valid VirtualService host when the VirtualService
    /// applies to sidecars (no `gateways`, or `mesh` among them). Gateway and
    /// Sidecar hosts are written `namespace/dnsName` (Gateways also accept a
    /// bare `dnsName`), where the namespace is `*`, `.`, a namespace name (or
    /// `~` in a Sidecar), and the name is `*` or a dotted name: short names
    /// and partial wildcards (`*foo.example.com`) are not allowed there.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole object, so none of its changes apply.
    /// Where no webhook runs, a host such as `https://api.example.com` or
    /// `api.example.com:443` never equals the name a request carries, so the
    /// rule never matches.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: payments-api, namespace: shop}
    /// spec:
    ///   hosts: ["https://api.payments.example.com:443"]
    ///   ports:
    ///   - {number: 443, name: https, protocol: TLS}
    ///   resolution: DNS
    /// ```
    /// Use instead: `hosts: [api.payments.example.com]`; the port belongs in
    /// `ports`.
    pub InvalidHost {
        name: "invalid-host",
        severity: Error,
        kinds: [VirtualService, DestinationRule, ServiceEntry, Gateway, Sidecar],
        upstream: ["IST0106"],
    }
}

/// Where a host is written, which decides what is allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// VirtualService `hosts`: IPs allowed; `*` depends on the gateways.
    VsHost { mesh: bool },
    /// A destination host: `*` not allowed.
    Destination,
    /// An SNI host: IPs allowed (Istio only warns).
    Sni,
    /// DestinationRule `host`.
    DrHost,
    /// ServiceEntry `hosts`: `*` not allowed.
    SeHost,
    /// Gateway server hosts: `ns/name` or bare name.
    Gateway,
    /// Sidecar egress hosts: `ns/name`.
    Sidecar,
}

impl Rule for InvalidHost {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let base = ctx.object.meta.path("/spec");
        let mut check = |pattern: &str, place: Place| {
            visit(spec, &base, pattern, &mut |f| {
                if f.value.shape() != Shape::Scalar {
                    return;
                }
                let Some(h) = f.value.str() else {
                    return;
                };
                if let Some(problem) = problem(h, place) {
                    out.push(report(ctx, f, h, place, &problem));
                }
            });
        };
        match ctx.object.meta.kind.as_str() {
            "VirtualService" => {
                let gateways: Vec<&str> = spec
                    .get("gateways")
                    .into_iter()
                    .flat_map(|g| g.items())
                    .filter_map(|g| g.str())
                    .collect();
                let mesh = gateways.is_empty() || gateways.contains(&"mesh");
                check("hosts[]", Place::VsHost { mesh });
                for kind in ["http", "tcp", "tls"] {
                    check(
                        &format!("{kind}[].route[].destination.host"),
                        Place::Destination,
                    );
                }
                check("http[].mirror.host", Place::Destination);
                check("http[].mirrors[].destination.host", Place::Destination);
                check("tls[].match[].sniHosts[]", Place::Sni);
            }
            "DestinationRule" => check("host", Place::DrHost),
            "ServiceEntry" => check("hosts[]", Place::SeHost),
            "Gateway" => check("servers[].hosts[]", Place::Gateway),
            "Sidecar" => check("egress[].hosts[]", Place::Sidecar),
            _ => {}
        }
    }
}

/// Why Istio rejects a route, mirror or mirrors destination host for its
/// syntax (`*`, a scheme, a port, a path), or `None`. The rules that resolve
/// hosts skip such hosts: this rule reports them.
pub fn destination_host_problem(h: &str) -> Option<String> {
    problem(h, Place::Destination)
}

/// Why Istio rejects a DestinationRule `host` for its syntax, or `None`.
pub fn destination_rule_host_problem(h: &str) -> Option<String> {
    problem(h, Place::DrHost)
}

fn is_ip(h: &str) -> bool {
    h.parse::<IpAddr>().is_ok()
}

fn problem(h: &str, place: Place) -> Option<String> {
    match place {
        Place::VsHost { mesh } => {
            if h == "*" {
                return mesh.then(|| {
                    "`*` alone cannot be the host of a VirtualService that applies to sidecars (no `gateways`, or `mesh` among them)".to_owned()
                });
            }
            if is_ip(h) || h.starts_with("outbound_.") {
                return None;
            }
            wildcard_domain_problem(h)
        }
        Place::Destination | Place::SeHost if h == "*" => {
            Some("`*` alone is not a host Istio can send traffic to".to_owned())
        }
        Place::Sni if is_ip(h) => None,
        Place::Destination | Place::SeHost | Place::Sni | Place::DrHost => {
            wildcard_domain_problem(h)
        }
        Place::Gateway | Place::Sidecar => namespaced_problem(h, place),
    }
}

/// Istio's `ValidateNamespaceSlashWildcardHostname`.
fn namespaced_problem(h: &str, place: Place) -> Option<String> {
    let Some((ns, name)) = h.split_once('/') else {
        if place == Place::Sidecar {
            return Some(
                "a Sidecar egress host is written `namespace/dnsName` (`*/`, `./` or a namespace)"
                    .to_owned(),
            );
        }
        // A bare (legacy) Gateway host: the same rules as the part after `/`.
        return hostname_part_problem(h, place);
    };
    if ns.is_empty() || name.is_empty() {
        return Some("the namespace and the name around `/` cannot be empty".to_owned());
    }
    let ns_ok = ns == "*"
        || ns == "."
        || (place == Place::Sidecar
            && (ns == "~"
                || ns
                    .strip_prefix('~')
                    .is_some_and(|n| dns_labels_problem(n).is_none())));
    if !ns_ok && let Some(p) = dns_labels_problem(ns) {
        return Some(format!(
            "its namespace part `{ns}` is not `*`, `.` or a namespace name: {p}"
        ));
    }
    hostname_part_problem(name, place)
}

/// Istio's `validateSidecarOrGatewayHostnamePart`: `*`, or a dotted name (an
/// IP address too, in a Gateway) without a partial wildcard.
fn hostname_part_problem(name: &str, place: Place) -> Option<String> {
    if name == "*" {
        return None;
    }
    if !name.contains('.') {
        return Some(format!(
            "short name `{name}` is not allowed here: write the fully qualified name (`{name}.<namespace>.svc.cluster.local`)"
        ));
    }
    if place == Place::Gateway && is_ip(name) {
        return None;
    }
    wildcard_domain_problem(name).or_else(|| partial_wildcard(name))
}

fn partial_wildcard(name: &str) -> Option<String> {
    let first = name.split('.').next().unwrap_or(name);
    (first.starts_with('*') && first != "*").then(|| {
        format!("its first label `{first}` is a partial wildcard: only `*` as a whole label is allowed here")
    })
}

fn report(
    ctx: &ObjectContext<'_>,
    field: Field<'_, '_>,
    h: &str,
    place: Place,
    problem: &str,
) -> Diagnostic {
    let meta = &ctx.object.meta;
    let what = match place {
        Place::VsHost { .. } => "host",
        Place::Destination => "destination host",
        Place::Sni => "SNI host",
        Place::DrHost => "host",
        Place::SeHost => "host",
        Place::Gateway => "server host",
        Place::Sidecar => "egress host",
    };
    Diagnostic::new(
        &InvalidHost::META,
        meta.file,
        field.value.span(),
        format!("{what} `{h}` is not valid: {problem}"),
    )
    .label("invalid host")
    .help(help(h, place))
    .object(meta)
    .path(field.pointer)
}

fn help(h: &str, place: Place) -> String {
    let stripped = strip_url(h);
    match place {
        Place::Sidecar if !h.contains('/') => format!(
            "Prefix the host with the namespaces to import it from: `*/{h}` (any namespace) or `./{h}` (this one)."
        ),
        Place::Gateway | Place::Sidecar => {
            "Write the host as `namespace/dnsName`, for example `*/api.example.com`, `./*` or `shop/reviews.shop.svc.cluster.local`.".to_owned()
        }
        _ if h == "*" => {
            "Name the hosts this object is for; use a wildcard such as `*.example.com` only as the first label.".to_owned()
        }
        _ if stripped != h && wildcard_domain_problem(&stripped).is_none() => {
            format!("Write the host name only: `{stripped}`; ports and protocols are set in the port fields.")
        }
        _ => "Use a DNS name (letters, digits, `-` and dots) with at most a leading wildcard label such as `*.example.com`.".to_owned(),
    }
}

/// `h` without a URL scheme, port and path.
fn strip_url(h: &str) -> String {
    let no_scheme = h.split_once("://").map_or(h, |(_, r)| r);
    let no_path = no_scheme.split('/').next().unwrap_or(no_scheme);
    let no_port = match no_path.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|c| c.is_ascii_digit()) => name,
        _ => no_path,
    };
    no_port.to_owned()
}
