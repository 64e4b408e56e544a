use crate::declare_rule;
use crate::host;
use crate::index::{Index, ObjId};
use crate::model::{Gateway, Object, SStr, Spec, VirtualService};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a VirtualService bound to a Gateway that serves none of its hosts,
    /// and a host of a gateway-only VirtualService that none of its Gateways serves.
    ///
    /// A Gateway server's `hosts` entries are `[namespace/]dnsName`: `*/name` or a
    /// bare `name` accept VirtualServices from every namespace, `./name` only from
    /// the Gateway's own namespace, `ns/name` only from `ns`. A VirtualService host
    /// is served when it overlaps a `dnsName` the Gateway accepts from the
    /// VirtualService's namespace (`*` and `*.suffix` wildcards on either side). A
    /// short VirtualService host counts both as written and expanded to its FQDN.
    ///
    /// Two findings, both only for Gateways found in the analysed files (a missing
    /// Gateway is `unknown-gateway`'s):
    /// - on the gateway reference, when the Gateway serves none of the
    ///   VirtualService's hosts (what `istioctl analyze` reports as IST0132);
    /// - on one host, when the VirtualService is bound only to Gateways (not to
    ///   `mesh`), meshvet knows all of them, at least one serves another of its
    ///   hosts, and none serves this one.
    ///
    /// Differences from upstream: `istioctl analyze` also reports IST0132 when the
    /// Gateway does not exist and checks Gateway API listeners; meshvet leaves
    /// missing Gateways to `unknown-gateway` and does not read Gateway API
    /// listeners.
    ///
    /// ## Why is this bad?
    /// istiod gives a gateway proxy only the VirtualService hosts that one of the
    /// Gateway's servers accepts. A host no server accepts is dropped from that
    /// gateway's routes: requests for it get `404` (no route), or are refused at
    /// the TLS handshake on an HTTPS server, however correct the routes look.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: public, namespace: istio-ingress}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 80, name: http, protocol: HTTP}
    ///     hosts: ["shop/shop.example.com"]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: api, namespace: api}
    /// spec:
    ///   hosts: [api.example.com]
    ///   gateways: [istio-ingress/public]
    ///   http:
    ///   - route:
    ///     - destination: {host: api}
    /// ```
    /// Use instead: add `api/api.example.com` (or `*/api.example.com`) to the
    /// Gateway's server hosts, or bind the VirtualService to the Gateway that
    /// serves `api.example.com`.
    pub HostNotInGateway {
        name: "host-not-in-gateway",
        severity: Warning,
        kinds: [VirtualService],
        upstream: ["IST0132"],
    }
}

impl Rule for HostNotInGateway {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        for object in index.objects() {
            if let Spec::VirtualService(vs) = &object.spec
                && !vs.is_delegate()
                && !vs.gateways.is_empty()
            {
                check_virtual_service(index, object, vs, out);
            }
        }
    }
}

/// One accepted server host of a Gateway, as seen from a VirtualService namespace.
struct ServerHost<'a> {
    /// The entry as written.
    written: &'a SStr,
    /// The `dnsName` part.
    dns: &'a str,
    /// True when the namespace part admits the VirtualService's namespace.
    admits: bool,
}

fn server_hosts<'a>(gateway: &'a Gateway, gw_ns: &str, vs_ns: &str) -> Vec<ServerHost<'a>> {
    gateway
        .servers
        .iter()
        .flat_map(|s| &s.hosts)
        .map(|h| {
            let (ns, dns) = h.value.split_once('/').unwrap_or(("*", h.value.as_str()));
            let admits = match ns {
                "*" => true,
                "." => gw_ns == vs_ns,
                other => other == vs_ns,
            };
            ServerHost {
                written: h,
                dns,
                admits,
            }
        })
        .collect()
}

/// True when two hosts (either may be a wildcard) have a name in common.
fn overlaps(a: &str, b: &str) -> bool {
    host::matches(a, b) || host::matches(b, a)
}

/// True when `dns` (a server host) serves VirtualService host `h` (raw or resolved).
fn serves(dns: &str, raw: &str, resolved: &str) -> bool {
    overlaps(dns, raw) || overlaps(dns, resolved)
}

struct Bound<'a> {
    reference: &'a SStr,
    path: String,
    id: ObjId,
    gateway: &'a Gateway,
}

fn check_virtual_service(
    index: &Index,
    object: &Object,
    vs: &VirtualService,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &object.meta;
    let vs_ns = meta.namespace.as_str();
    let hosts: Vec<(&SStr, String)> = vs
        .hosts
        .iter()
        .map(|h| (h, index.resolve_host(&h.value, vs_ns)))
        .collect();
    let mut mesh = false;
    let mut all_known = true;
    let mut bound = Vec::new();
    for (i, reference) in vs.gateways.iter().enumerate() {
        if reference.value == "mesh" {
            mesh = true;
            continue;
        }
        let found =
            index
                .gateway(&reference.value, vs_ns)
                .and_then(|id| match &index.object(id).spec {
                    Spec::Gateway(g) => Some((id, g)),
                    _ => None,
                });
        match found {
            Some((id, gateway)) => bound.push(Bound {
                reference,
                path: meta.path(&format!("/spec/gateways/{i}")),
                id,
                gateway,
            }),
            None => all_known = false,
        }
    }
    let mut any_serves = false;
    for b in &bound {
        let gw_meta = &index.object(b.id).meta;
        let accepted = server_hosts(b.gateway, &gw_meta.namespace, vs_ns);
        let served = hosts.iter().any(|(h, resolved)| {
            accepted
                .iter()
                .any(|s| s.admits && serves(s.dns, &h.value, resolved))
        });
        if served {
            any_serves = true;
            continue;
        }
        let gw_name = format!("{}/{}", gw_meta.namespace, gw_meta.name());
        let host_names: Vec<&str> = hosts.iter().map(|(h, _)| h.value.as_str()).collect();
        let (detail, help) = explain(&accepted, &hosts, &gw_name, &gw_meta.namespace, vs_ns);
        let message = format!(
            "gateway `{gw_name}` serves none of this VirtualService's hosts ({}){detail}",
            backtick_list(&host_names, "and")
        );
        let mut d = Diagnostic::new(
            &HostNotInGateway::META,
            meta.file,
            b.reference.span,
            message,
        )
        .label("serves none of the hosts")
        .help(help);
        d = relate_servers(
            d,
            gw_meta.file,
            b.gateway,
            &accepted,
            &hosts,
            &gw_meta.namespace,
            gw_meta.anchor(),
        );
        out.push(d.object(meta).path(b.path.clone()));
    }
    if mesh || !all_known || !any_serves {
        return;
    }
    for (i, (h, resolved)) in hosts.iter().enumerate() {
        let served = bound.iter().any(|b| {
            let gw_ns = &index.object(b.id).meta.namespace;
            server_hosts(b.gateway, gw_ns, vs_ns)
                .iter()
                .any(|s| s.admits && serves(s.dns, &h.value, resolved))
        });
        if served {
            continue;
        }
        let names: Vec<String> = bound
            .iter()
            .map(|b| {
                let m = &index.object(b.id).meta;
                format!("{}/{}", m.namespace, m.name())
            })
            .collect();
        let which = if names.len() == 1 {
            format!("gateway {}", backtick_list(&names, "or"))
        } else {
            format!("any of its gateways ({})", backtick_list(&names, "and"))
        };
        let message = format!(
            "host `{}` is not served by {which}, and the VirtualService is not bound to `mesh`",
            h.value
        );
        let help = format!(
            "Add `{vs_ns}/{}` (or `*/{}`) to the hosts of a server of {}, or remove the host from this VirtualService: requests for it through the gateway get 404 (no route).",
            h.value,
            h.value,
            backtick_list(&names, "or")
        );
        let mut d = Diagnostic::new(&HostNotInGateway::META, meta.file, h.span, message)
            .label("not served by the gateway")
            .help(help);
        for b in &bound {
            let gw_meta = &index.object(b.id).meta;
            let accepted = server_hosts(b.gateway, &gw_meta.namespace, vs_ns);
            d = relate_servers(
                d,
                gw_meta.file,
                b.gateway,
                &accepted,
                std::slice::from_ref(&(*h, resolved.clone())),
                &gw_meta.namespace,
                gw_meta.anchor(),
            );
        }
        out.push(d.object(meta).path(meta.path(&format!("/spec/hosts/{i}"))));
    }
}

/// The reason detail for the message and the help sentence for a Gateway that
/// serves none of the VirtualService's hosts.
fn explain(
    accepted: &[ServerHost<'_>],
    hosts: &[(&SStr, String)],
    gw_name: &str,
    gw_ns: &str,
    vs_ns: &str,
) -> (String, String) {
    if accepted.is_empty() {
        return (
            ": it declares no server hosts".to_owned(),
            format!(
                "Add a server accepting the VirtualService's hosts to Gateway `{gw_name}`, or bind the VirtualService to the Gateway that serves them."
            ),
        );
    }
    // Server hosts that would serve one of the hosts but admit other namespaces only.
    let excluded: Vec<&ServerHost<'_>> = accepted
        .iter()
        .filter(|s| !s.admits && hosts.iter().any(|(h, r)| serves(s.dns, &h.value, r)))
        .collect();
    if !excluded.is_empty() {
        let written: Vec<&str> = excluded.iter().map(|s| s.written.value.as_str()).collect();
        let mut namespaces: Vec<&str> = excluded
            .iter()
            .map(|s| match s.written.value.split_once('/') {
                Some((".", _)) | None => gw_ns,
                Some((ns, _)) => ns,
            })
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        return (
            format!(
                ": {} {} only VirtualServices in {} {}",
                backtick_list(&written, "and"),
                if written.len() == 1 {
                    "admits"
                } else {
                    "admit"
                },
                if namespaces.len() == 1 {
                    "namespace"
                } else {
                    "namespaces"
                },
                backtick_list(&namespaces, "and")
            ),
            format!(
                "Write the server host as `{vs_ns}/{dns}` or `*/{dns}` to accept VirtualServices from namespace `{vs_ns}`, or move the VirtualService to the namespace the Gateway accepts.",
                dns = excluded[0].dns
            ),
        );
    }
    let admitted: Vec<&str> = accepted
        .iter()
        .filter(|s| s.admits)
        .map(|s| s.written.value.as_str())
        .collect();
    let detail = if admitted.is_empty() {
        format!(": its server hosts admit no VirtualService from namespace `{vs_ns}`")
    } else {
        format!(
            ": for namespace `{vs_ns}` its servers accept only {}",
            backtick_list(&admitted, "and")
        )
    };
    (
        detail,
        format!(
            "Add the VirtualService's hosts to a server of Gateway `{gw_name}`, or bind the VirtualService to the Gateway that serves them."
        ),
    )
}

/// Adds related labels on the Gateway's server hosts: the entries that would
/// serve a host but admit other namespaces, else the first host of each server
/// (at most three), or the Gateway's name when it has none.
fn relate_servers(
    mut d: Diagnostic,
    file: crate::source::FileId,
    gateway: &Gateway,
    accepted: &[ServerHost<'_>],
    hosts: &[(&SStr, String)],
    gw_ns: &str,
    anchor: crate::source::Span,
) -> Diagnostic {
    if accepted.is_empty() {
        return d.related(file, anchor, "this Gateway has no server hosts");
    }
    let mut excluded = false;
    for s in accepted
        .iter()
        .filter(|s| !s.admits && hosts.iter().any(|(h, r)| serves(s.dns, &h.value, r)))
    {
        excluded = true;
        let ns = match s.written.value.split_once('/') {
            Some((".", _)) | None => gw_ns,
            Some((ns, _)) => ns,
        };
        d = d.related(
            file,
            s.written.span,
            format!("admits namespace `{ns}` only"),
        );
    }
    if excluded {
        return d;
    }
    for server in gateway
        .servers
        .iter()
        .filter(|s| !s.hosts.is_empty())
        .take(3)
    {
        if let Some(first) = server.hosts.first() {
            d = d.related(file, first.span, "server hosts are declared here");
        }
    }
    d
}
