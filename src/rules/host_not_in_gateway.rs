use crate::declare_rule;
use crate::host;
use crate::index::{Index, ObjId};
use crate::model::{Gateway, KubernetesGateway, Object, SStr, Spec, VirtualService};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::source::{FileId, Span};
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
    /// A VirtualService may also name a Kubernetes Gateway API `Gateway`
    /// (gateway.networking.k8s.io), which Istio turns into a Gateway with one
    /// server per listener: the listener's `hostname` (every host when it has
    /// none), for VirtualServices from the namespaces its
    /// `allowedRoutes.namespaces.from` allows (`Same`, the default: the
    /// Gateway's own; `All`; a label `Selector` cannot be evaluated offline and
    /// counts as any namespace).
    ///
    /// Differences from upstream: `istioctl analyze` also reports IST0132 when the
    /// Gateway does not exist; meshvet reports that once, as `unknown-gateway`
    /// (which carries IST0132 too).
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
struct ServerHost {
    /// The entry as written (`*` for a Gateway API listener without `hostname`).
    written: String,
    /// Where it is written.
    span: Span,
    /// The `dnsName` part.
    dns: String,
    /// The namespace it admits VirtualServices from (`*` for all).
    namespace: String,
    /// True when that namespace includes the VirtualService's namespace.
    admits: bool,
}

/// What a bound Gateway accepts: its server hosts (or listener hostnames) and
/// where its servers are declared.
struct Accepts {
    hosts: Vec<ServerHost>,
    /// The first host of each server (or each listener), for related labels.
    declared: Vec<Span>,
    /// True for a Gateway API Gateway (listeners, `allowedRoutes`).
    kubernetes: bool,
}

fn accepts(spec: &Spec, gw_ns: &str, vs_ns: &str) -> Option<Accepts> {
    match spec {
        Spec::Gateway(g) => Some(server_hosts(g, gw_ns, vs_ns)),
        Spec::KubernetesGateway(g) => Some(listener_hosts(g, gw_ns, vs_ns)),
        _ => None,
    }
}

fn server_hosts(gateway: &Gateway, gw_ns: &str, vs_ns: &str) -> Accepts {
    let hosts = gateway
        .servers
        .iter()
        .flat_map(|s| &s.hosts)
        .map(|h| {
            let (ns, dns) = h.value.split_once('/').unwrap_or(("*", h.value.as_str()));
            let namespace = if ns == "." { gw_ns } else { ns };
            ServerHost {
                written: h.value.clone(),
                span: h.span,
                dns: dns.to_owned(),
                namespace: namespace.to_owned(),
                admits: namespace == "*" || namespace == vs_ns,
            }
        })
        .collect();
    let declared = gateway
        .servers
        .iter()
        .filter_map(|s| s.hosts.first().map(|h| h.span))
        .collect();
    Accepts {
        hosts,
        declared,
        kubernetes: false,
    }
}

/// Istio makes each listener a server: its `hostname` (every host when absent),
/// for routes from the namespaces `allowedRoutes.namespaces.from` allows (the
/// Gateway's own by default; a label `Selector` cannot be evaluated offline, so
/// it admits every namespace here).
fn listener_hosts(gateway: &KubernetesGateway, gw_ns: &str, vs_ns: &str) -> Accepts {
    let hosts = gateway
        .listeners
        .iter()
        .map(|l| {
            let namespace = match l.allowed_from.as_ref().map(|f| f.value.as_str()) {
                Some("All" | "Selector") => "*",
                _ => gw_ns,
            };
            let (written, span) = match &l.hostname {
                Some(h) => (h.value.clone(), h.span),
                None => ("*".to_owned(), l.name.as_ref().map_or(l.span, |n| n.span)),
            };
            ServerHost {
                dns: written.clone(),
                written,
                span,
                namespace: namespace.to_owned(),
                admits: namespace == "*" || namespace == vs_ns,
            }
        })
        .collect::<Vec<_>>();
    let declared = hosts.iter().map(|h| h.span).collect();
    Accepts {
        hosts,
        declared,
        kubernetes: true,
    }
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
    accepts: Accepts,
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
        let found = index.gateway(&reference.value, vs_ns).and_then(|id| {
            let gw = index.object(id);
            accepts(&gw.spec, &gw.meta.namespace, vs_ns).map(|a| (id, a))
        });
        match found {
            Some((id, accepts)) => bound.push(Bound {
                reference,
                path: meta.path(&format!("/spec/gateways/{i}")),
                id,
                accepts,
            }),
            None => all_known = false,
        }
    }
    let mut any_serves = false;
    for b in &bound {
        let gw_meta = &index.object(b.id).meta;
        let accepted = &b.accepts;
        let served = hosts.iter().any(|(h, resolved)| {
            accepted
                .hosts
                .iter()
                .any(|s| s.admits && serves(&s.dns, &h.value, resolved))
        });
        if served {
            any_serves = true;
            continue;
        }
        let gw_name = format!("{}/{}", gw_meta.namespace, gw_meta.name());
        let host_names: Vec<&str> = hosts.iter().map(|(h, _)| h.value.as_str()).collect();
        let (detail, help) = explain(accepted, &hosts, &gw_name, vs_ns);
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
        d = relate_servers(d, gw_meta.file, accepted, &hosts, gw_meta.anchor());
        out.push(d.object(meta).path(b.path.clone()));
    }
    if mesh || !all_known || !any_serves {
        return;
    }
    for (i, (h, resolved)) in hosts.iter().enumerate() {
        let served = bound.iter().any(|b| {
            b.accepts
                .hosts
                .iter()
                .any(|s| s.admits && serves(&s.dns, &h.value, resolved))
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
            d = relate_servers(
                d,
                gw_meta.file,
                &b.accepts,
                std::slice::from_ref(&(*h, resolved.clone())),
                gw_meta.anchor(),
            );
        }
        out.push(d.object(meta).path(meta.path(&format!("/spec/hosts/{i}"))));
    }
}

/// The reason detail for the message and the help sentence for a Gateway that
/// serves none of the VirtualService's hosts.
fn explain(
    accepted: &Accepts,
    hosts: &[(&SStr, String)],
    gw_name: &str,
    vs_ns: &str,
) -> (String, String) {
    let servers = if accepted.kubernetes {
        "listener"
    } else {
        "server"
    };
    if accepted.hosts.is_empty() {
        return (
            if accepted.kubernetes {
                ": it declares no listeners".to_owned()
            } else {
                ": it declares no server hosts".to_owned()
            },
            format!(
                "Add a {servers} accepting the VirtualService's hosts to Gateway `{gw_name}`, or bind the VirtualService to the Gateway that serves them."
            ),
        );
    }
    // Server hosts that would serve one of the hosts but admit other namespaces only.
    let excluded: Vec<&ServerHost> = accepted
        .hosts
        .iter()
        .filter(|s| !s.admits && hosts.iter().any(|(h, r)| serves(&s.dns, &h.value, r)))
        .collect();
    if let Some(first) = excluded.first() {
        let written: Vec<&str> = excluded.iter().map(|s| s.written.as_str()).collect();
        let mut namespaces: Vec<&str> = excluded.iter().map(|s| s.namespace.as_str()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let help = if accepted.kubernetes {
            format!(
                "Set `allowedRoutes.namespaces.from: All` (or a selector matching `{vs_ns}`) on the listener for `{}`, or move the VirtualService to namespace `{}`.",
                first.dns, first.namespace
            )
        } else {
            format!(
                "Write the server host as `{vs_ns}/{dns}` or `*/{dns}` to accept VirtualServices from namespace `{vs_ns}`, or move the VirtualService to the namespace the Gateway accepts.",
                dns = first.dns
            )
        };
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
            help,
        );
    }
    let admitted: Vec<&str> = accepted
        .hosts
        .iter()
        .filter(|s| s.admits)
        .map(|s| s.written.as_str())
        .collect();
    let detail = if admitted.is_empty() {
        format!(": its {servers}s admit no VirtualService from namespace `{vs_ns}`")
    } else {
        format!(
            ": for namespace `{vs_ns}` its {servers}s accept only {}",
            backtick_list(&admitted, "and")
        )
    };
    (
        detail,
        format!(
            "Add the VirtualService's hosts to a {servers} of Gateway `{gw_name}`, or bind the VirtualService to the Gateway that serves them."
        ),
    )
}

/// Adds related labels on the Gateway's server hosts: the entries that would
/// serve a host but admit other namespaces, else the first host of each server
/// (at most three), or the Gateway's name when it has none.
fn relate_servers(
    mut d: Diagnostic,
    file: FileId,
    accepted: &Accepts,
    hosts: &[(&SStr, String)],
    anchor: Span,
) -> Diagnostic {
    if accepted.hosts.is_empty() {
        let what = if accepted.kubernetes {
            "this Gateway has no listeners"
        } else {
            "this Gateway has no server hosts"
        };
        return d.related(file, anchor, what);
    }
    let mut excluded = false;
    for s in accepted
        .hosts
        .iter()
        .filter(|s| !s.admits && hosts.iter().any(|(h, r)| serves(&s.dns, &h.value, r)))
    {
        excluded = true;
        d = d.related(
            file,
            s.span,
            format!("admits namespace `{}` only", s.namespace),
        );
    }
    if excluded {
        return d;
    }
    let what = if accepted.kubernetes {
        "listener hostnames are declared here"
    } else {
        "server hosts are declared here"
    };
    for span in accepted.declared.iter().take(3) {
        d = d.related(file, *span, what);
    }
    d
}
