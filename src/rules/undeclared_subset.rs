use std::collections::HashMap;

use crate::declare_rule;
use crate::index::{DestinationRuleLookup, Index, LookupTier, ObjId};
use crate::model::{
    DestinationRef, DestinationUse, Object, ObjectMeta, SStr, Spec, VirtualService,
};
use crate::report::{Diagnostic, Severity};
use crate::rules::invalid_host::destination_host_problem;
use crate::rules::{Rule, RuleMeta};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags a route, mirror or mirrors destination whose subset no
    /// DestinationRule that applies to that host declares.
    ///
    /// The host is resolved as Istio does (a short name in the VirtualService's
    /// namespace), and the DestinationRule is chosen as Istio chooses it: the
    /// client's namespace first, then the service's namespace, then the root
    /// namespace, each only when exported to the client; the exact host before
    /// the most specific wildcard; rules for one host in one namespace merged,
    /// first subset definition winning. Clients are the VirtualService's own
    /// namespace and, for gateway-bound routes, the Gateway's namespace. A
    /// delegate VirtualService is checked for the clients of the roots that
    /// delegate to it; when no root in the analysed files does (the root often
    /// lives in the gateway team's repository), from its own namespace.
    ///
    /// Differences from upstream: Kiali (KIA1107) accepts a subset declared by
    /// any DestinationRule for the host, in any namespace, and reads
    /// `reviews.bookinfo` as the service `reviews` of namespace `bookinfo`.
    /// meshvet follows istiod: a DestinationRule in a third namespace (neither
    /// the client's nor the service's nor the root namespace) never applies,
    /// even when exported, and `reviews.bookinfo` is a literal host that no
    /// DestinationRule for `reviews` covers, so a subset routed through it is
    /// reported.
    ///
    /// A destination whose host Istio rejects for its syntax (`*`,
    /// `reviews:9080`) is `invalid-host`'s finding and its subset is not checked.
    /// A subset name that is not a DNS-1123 label (`v1.2`) is also reported by
    /// `invalid-subset-name` when no DestinationRule declares it: the two
    /// findings say different things.
    ///
    /// ## Why is this bad?
    /// Istio still builds a route to the cluster `outbound|port|subset|host`, but
    /// it only creates clusters for subsets the applicable DestinationRule
    /// declares. Every request that takes this route gets `503` with response
    /// flag `NC` (no cluster found). Declaring the subset in a DestinationRule
    /// Istio never applies to these clients (another namespace, not exported,
    /// shadowed by a rule in the client's namespace) has the same effect.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviews, subset: v3}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - {name: v1, labels: {version: v1}}
    ///   - {name: v2, labels: {version: v2}}
    /// ```
    /// Use instead: route to a declared subset, or declare `v3` (with labels that
    /// select its pods) before the route that uses it is applied.
    pub UndeclaredSubset {
        name: "undeclared-subset",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0101", "KIA1107"],
    }
}

impl Rule for UndeclaredSubset {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let roots = delegate_roots(index);
        for object in index.objects() {
            let Spec::VirtualService(vs) = &object.spec else {
                continue;
            };
            for d in vs.destinations() {
                let clients = if vs.is_delegate() {
                    // A delegate applies only where a root route hands traffic to it.
                    let key = (object.meta.namespace.clone(), object.meta.name().to_owned());
                    let mut clients = Vec::new();
                    for (root, route) in roots.get(&key).into_iter().flatten() {
                        let root_object = index.object(*root);
                        if let Spec::VirtualService(root_vs) = &root_object.spec {
                            let gateways = route_gateways(root_vs, RouteKind::Http, *route);
                            push_unique(&mut clients, clients_of(index, root_object, &gateways));
                        }
                    }
                    if clients.is_empty() {
                        // No root delegates to it (yet, or from another repository):
                        // judge it from its own namespace, as a root there would.
                        clients_of(index, object, &["mesh".to_owned()])
                    } else {
                        clients
                    }
                } else {
                    let gateways = route_gateways(vs, RouteKind::of(d.usage), d.route_index);
                    clients_of(index, object, &gateways)
                };
                let siblings = route_len(vs, d.usage, d.route_index);
                check_destination(index, object, &clients, &d, siblings, out);
            }
        }
    }
}

/// Which list of routes a destination is in.
#[derive(Clone, Copy)]
enum RouteKind {
    Http,
    Tcp,
    Tls,
}

impl RouteKind {
    fn of(usage: DestinationUse) -> RouteKind {
        match usage {
            DestinationUse::TcpRoute => RouteKind::Tcp,
            DestinationUse::TlsRoute => RouteKind::Tls,
            _ => RouteKind::Http,
        }
    }
}

/// Number of destinations of the route a destination belongs to (1 for mirrors).
fn route_len(vs: &VirtualService, usage: DestinationUse, i: usize) -> usize {
    match usage {
        DestinationUse::HttpRoute => vs.http.get(i).map_or(1, |r| r.route.len()),
        DestinationUse::TcpRoute => vs.tcp.get(i).map_or(1, |r| r.route.len()),
        DestinationUse::TlsRoute => vs.tls.get(i).map_or(1, |r| r.route.len()),
        DestinationUse::Mirror | DestinationUse::Mirrors => 1,
    }
}

/// The gateways a route is installed on: when every match request of the route
/// names `gateways`, istiod installs it only on those; otherwise on all of the
/// VirtualService's gateways (`mesh` when it names none).
fn route_gateways(vs: &VirtualService, kind: RouteKind, i: usize) -> Vec<String> {
    let per_match: Vec<&[SStr]> = match kind {
        RouteKind::Http => vs
            .http
            .get(i)
            .map(|r| r.matches.iter().map(|m| m.gateways.as_slice()).collect())
            .unwrap_or_default(),
        RouteKind::Tcp => vs
            .tcp
            .get(i)
            .map(|r| r.matches.iter().map(|m| m.gateways.as_slice()).collect())
            .unwrap_or_default(),
        RouteKind::Tls => vs
            .tls
            .get(i)
            .map(|r| r.matches.iter().map(|m| m.gateways.as_slice()).collect())
            .unwrap_or_default(),
    };
    let mut out: Vec<String> = Vec::new();
    if !per_match.is_empty() && per_match.iter().all(|g| !g.is_empty()) {
        for g in per_match.into_iter().flatten() {
            if !out.contains(&g.value) {
                out.push(g.value.clone());
            }
        }
    } else if vs.gateways.is_empty() {
        out.push("mesh".to_owned());
    } else {
        out.extend(vs.gateways.iter().map(|g| g.value.clone()));
    }
    out
}

/// Root VirtualServices and route indexes that delegate to each (namespace, name).
fn delegate_roots(index: &Index) -> HashMap<(String, String), Vec<(ObjId, usize)>> {
    let mut out: HashMap<(String, String), Vec<(ObjId, usize)>> = HashMap::new();
    for (id, object) in index.objects().iter().enumerate() {
        let Spec::VirtualService(vs) = &object.spec else {
            continue;
        };
        for (i, route) in vs.http.iter().enumerate() {
            let Some(delegate) = &route.delegate else {
                continue;
            };
            let Some(name) = &delegate.name else { continue };
            let ns = delegate
                .namespace
                .as_ref()
                .map_or_else(|| object.meta.namespace.clone(), |n| n.value.clone());
            out.entry((ns, name.value.clone()))
                .or_default()
                .push((id, i));
        }
    }
    out
}

/// A namespace whose proxies use a route, and the gateway that puts them there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Client {
    namespace: String,
    gateway: Option<String>,
}

fn push_unique(into: &mut Vec<Client>, from: Vec<Client>) {
    for c in from {
        if !into.contains(&c) {
            into.push(c);
        }
    }
}

/// Namespaces whose proxies use routes installed on `gateways` of `object`:
/// sidecars in the VirtualService's own namespace for `mesh`; for a gateway, the
/// namespaces of the pods its selector picks (where the gateway proxies run and
/// look up DestinationRules), or the Gateway's own namespace when its pods are
/// not in the analysed files.
fn clients_of(index: &Index, object: &Object, gateways: &[String]) -> Vec<Client> {
    let ns = &object.meta.namespace;
    let mut out = Vec::new();
    for g in gateways {
        if g == "mesh" {
            push_unique(
                &mut out,
                vec![Client {
                    namespace: ns.clone(),
                    gateway: None,
                }],
            );
            continue;
        }
        let namespaces: Vec<String> = match index.gateway(g, ns) {
            Some(id) => {
                let gw = index.object(id);
                let pods = match &gw.spec {
                    Spec::Gateway(spec) => index.workloads_matching_anywhere(&spec.selector),
                    _ => Vec::new(),
                };
                let mut found: Vec<String> = pods
                    .iter()
                    .map(|w| index.object(*w).meta.namespace.clone())
                    .collect();
                found.sort();
                found.dedup();
                if found.is_empty() {
                    vec![gw.meta.namespace.clone()]
                } else {
                    found
                }
            }
            None => vec![
                g.split_once('/')
                    .map_or_else(|| ns.clone(), |(n, _)| n.to_owned()),
            ],
        };
        push_unique(
            &mut out,
            namespaces
                .into_iter()
                .map(|namespace| Client {
                    namespace,
                    gateway: Some(g.clone()),
                })
                .collect(),
        );
    }
    out
}

fn rule_name(meta: &ObjectMeta) -> String {
    format!("`{}/{}`", meta.namespace, meta.name())
}

fn check_destination(
    index: &Index,
    object: &Object,
    clients: &[Client],
    dref: &DestinationRef<'_>,
    siblings: usize,
    out: &mut Vec<Diagnostic>,
) {
    let dest = dref.destination;
    let what = dref.usage.word();
    let (Some(subset), Some(host)) = (&dest.subset, &dest.host) else {
        return;
    };
    // A host Istio rejects for its syntax (`*`, `reviews:9080`) is `invalid-host`'s.
    if destination_host_problem(&host.value).is_some() {
        return;
    }
    let meta = &object.meta;
    let resolved = index.resolve_host(&host.value, &meta.namespace);
    // Istio drops zero-weight entries of a split: the subset gets no traffic yet.
    let dormant = siblings > 1 && dref.weight.is_some_and(|w| w.value == 0);
    for Client {
        namespace: client,
        gateway,
    } in clients
    {
        let lookup = index.destination_rules_for(&resolved, client);
        let declared = lookup
            .as_ref()
            .map(|l| index.merged_subsets(&l.rules))
            .unwrap_or_default();
        if declared.contains_key(subset.value.as_str()) {
            continue;
        }
        let via = gateway
            .as_ref()
            .map(|g| format!(" for traffic through gateway `{g}`"))
            .unwrap_or_default();
        let host_shown = if resolved == host.value {
            format!("`{resolved}`")
        } else {
            format!("`{}` (`{resolved}`)", host.value)
        };
        let mut d = match &lookup {
            Some(l) => {
                let names: Vec<&str> = declared.keys().copied().collect();
                let mut rules: Vec<String> = l.rules.iter().map(|id| rule_name(&index.object(*id).meta)).collect();
                rules.dedup();
                let (by, declare) = if rules.len() == 1 {
                    (format!("DestinationRule {}", rules[0]), "declares")
                } else {
                    (format!("DestinationRules {}", rules.join(", ")), "declare")
                };
                let message = if names.is_empty() {
                    format!("{what} subset `{}` of host {host_shown} is not declared: {by} {declare} no subsets{via}", subset.value)
                } else {
                    format!(
                        "{what} subset `{}` of host {host_shown} is not declared by {by}{via}, which {declare} {}",
                        subset.value,
                        backtick_list(&names, "and")
                    )
                };
                let hint = closest(&subset.value, names.iter().copied())
                    .map(|c| format!("Did you mean `{c}`? "))
                    .unwrap_or_default();
                let alternatives = if names.is_empty() {
                    String::new()
                } else {
                    format!(", or route to {}", backtick_list(&names, "or"))
                };
                let mut d = Diagnostic::new(&UndeclaredSubset::META, meta.file, subset.span, message).help(format!(
                    "{hint}Declare subset `{}` in {by}{alternatives}.",
                    subset.value
                ));
                for id in &l.rules {
                    let dr_meta = &index.object(*id).meta;
                    if let Spec::DestinationRule(dr) = &index.object(*id).spec {
                        let span = dr.subsets_key.or(dr.host.as_ref().map(|h| h.span)).unwrap_or(dr_meta.anchor());
                        d = d.related(dr_meta.file, span, format!("subsets of `{}` are declared here", host.value));
                    }
                }
                d
            }
            None => Diagnostic::new(
                &UndeclaredSubset::META,
                meta.file,
                subset.span,
                format!("{what} subset `{}` is not declared: no DestinationRule for host {host_shown} applies{via}", subset.value),
            )
            .help(format!(
                "Create a DestinationRule for `{resolved}` that declares subset `{}` with labels selecting its pods, or remove the subset.",
                subset.value
            )),
        };
        d = explain_unapplied(index, d, &resolved, client, lookup.as_ref(), &subset.value);
        if lookup.is_none() && crate::host::is_short(&host.value) {
            d = hint_other_namespaces(index, d, &host.value, &meta.namespace, &subset.value);
        }
        if dormant {
            d.message = format!(
                "{}; it has weight 0 and gets no traffic now, but requests will fail with 503 once its weight is raised",
                d.message
            );
            d = d.severity(Severity::Warning);
        }
        out.push(
            d.label("not declared")
                .object(meta)
                .path(format!("{}/subset", dest.path)),
        );
        // One finding per destination: the first client that misses it says enough.
        return;
    }
}

/// Adds related notes for DestinationRules that do declare the subset but that
/// Istio does not apply to clients in `client`, saying why.
fn explain_unapplied(
    index: &Index,
    mut d: Diagnostic,
    host: &str,
    client: &str,
    lookup: Option<&DestinationRuleLookup>,
    subset: &str,
) -> Diagnostic {
    for id in index.destination_rules_covering(host) {
        if lookup.is_some_and(|l| l.rules.contains(&id)) {
            continue;
        }
        let object = index.object(id);
        let Spec::DestinationRule(dr) = &object.spec else {
            continue;
        };
        let Some(s) = dr
            .subsets
            .iter()
            .find(|s| s.name.as_ref().is_some_and(|n| n.value == subset))
        else {
            continue;
        };
        let span = s.name.as_ref().map_or(s.span, |n| n.span);
        let dr_ns = &object.meta.namespace;
        let why = match lookup {
            Some(l) if l.namespace == *dr_ns => format!(
                "declared by {} too, but the rule for `{}` in the same namespace takes precedence",
                rule_name(&object.meta),
                l.pattern
            ),
            Some(l) if tier_of(index, host, client, dr_ns).is_some_and(|t| l.tier < t) => format!(
                "declared by {}, but Istio uses the DestinationRule in namespace `{}` first",
                rule_name(&object.meta),
                l.namespace
            ),
            _ if !index.is_exported(&dr.export_to, "DestinationRule", dr_ns, client) => format!(
                "declared by {}, which is not exported to namespace `{client}`",
                rule_name(&object.meta)
            ),
            _ if dr.workload_selector.is_some() && dr_ns != client => format!(
                "declared by {}, which has a workload selector and so applies only in namespace `{dr_ns}`",
                rule_name(&object.meta)
            ),
            _ => format!(
                "declared by {}, but Istio never applies a DestinationRule from namespace `{dr_ns}` to clients in `{client}`: only the client's, the service's and the root namespace count",
                rule_name(&object.meta)
            ),
        };
        d = d.related(object.meta.file, span, why);
    }
    d
}

/// For a short host that resolved to a namespace without rules for it: points at
/// DestinationRules in other namespaces whose host has the same short name and
/// that declare the subset, since the author most likely meant that service.
fn hint_other_namespaces(
    index: &Index,
    mut d: Diagnostic,
    short: &str,
    own_ns: &str,
    subset: &str,
) -> Diagnostic {
    let domain = &index.settings().cluster_domain;
    let mut hosts = Vec::new();
    for ns in index.namespaces().iter().filter(|ns| *ns != own_ns) {
        let fqdn = crate::host::service_fqdn(short, ns, domain);
        for id in index.destination_rules_covering(&fqdn) {
            let object = index.object(id);
            let Spec::DestinationRule(dr) = &object.spec else {
                continue;
            };
            if let Some(s) = dr
                .subsets
                .iter()
                .find(|s| s.name.as_ref().is_some_and(|n| n.value == subset))
            {
                let span = s.name.as_ref().map_or(s.span, |n| n.span);
                d = d.related(
                    object.meta.file,
                    span,
                    format!("declared for `{fqdn}` by {}", rule_name(&object.meta)),
                );
                if !hosts.contains(&fqdn) {
                    hosts.push(fqdn.clone());
                }
            }
        }
    }
    if !hosts.is_empty() {
        let help = format!(
            "The short host `{short}` means `{}`. To reach the service in another namespace, write its full name: {}.",
            crate::host::service_fqdn(short, own_ns, domain),
            backtick_list(&hosts, "or")
        );
        d = d.help(help);
    }
    d
}

/// The lookup step at which Istio would consider rules in `ns`, if any.
fn tier_of(index: &Index, host: &str, client: &str, ns: &str) -> Option<LookupTier> {
    if ns == client {
        Some(LookupTier::Client)
    } else if index.service_namespaces(host).iter().any(|n| n == ns) {
        Some(LookupTier::Service)
    } else if index.settings().root_namespace == ns {
        Some(LookupTier::Root)
    } else {
        None
    }
}
