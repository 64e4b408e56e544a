//! Shared by the host rules (`short-host-wrong-namespace`,
//! `partially-qualified-host`, `unknown-host`, `unknown-destination-port`,
//! `missing-destination-port`): where hosts are written, whose view of the
//! service registry decides whether they exist, and what each one resolves to.
//!
//! One classification serves all of them, so that a host is reported by exactly
//! one rule: the most specific one that explains it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use crate::host;
use crate::index::{Index, ObjId};
use crate::model::{
    DestinationRef, DestinationUse, Object, ObjectMeta, SStr, Spec, VirtualService,
};
use crate::report::Severity;
use crate::rules::invalid_host::{destination_host_problem, destination_rule_host_problem};

/// Annotation Istio puts on VirtualServices it translates from Gateway API
/// routes; their hosts are not resolved as written ones are.
const ROUTE_SEMANTICS: &str = "internal.istio.io/route-semantics";

/// A namespace whose proxies look a host up, with the gateway that puts them
/// there (none for sidecars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The namespace.
    pub namespace: String,
    /// The gateway reference as written in the VirtualService.
    pub gateway: Option<String>,
}

/// Whose view of the registry decides whether a host exists.
#[derive(Debug, Clone)]
pub enum Viewpoint {
    /// Existence anywhere is enough.
    Anywhere,
    /// Every one of these clients must see the host (route destinations).
    Every(Vec<Client>),
    /// At least one of these namespaces must see the host (DestinationRule hosts).
    Any(Vec<String>),
}

/// What a written host turned out to be.
#[derive(Debug, Clone)]
pub enum HostStatus {
    /// Services or ServiceEntries provide it, visible to the viewpoint.
    Found(Vec<ObjId>),
    /// Not to be checked: a configured external host, an Istio or Kubernetes
    /// built-in, a wildcard DestinationRule host.
    Ignored,
    /// It exists, but not for `client`: not exported there.
    Hidden {
        /// What provides the host.
        providers: Vec<ObjId>,
        /// The client that cannot see it.
        client: Client,
    },
    /// A short host with no service in its own namespace, while Services of that
    /// name exist in other namespaces.
    WrongNamespace {
        /// What the short host expands to.
        resolved: String,
        /// Services of that name elsewhere.
        services: Vec<ObjId>,
    },
    /// A dotted host that reads as `name.namespace[.svc…]` of an existing service.
    Partial {
        /// The FQDN the author meant.
        fqdn: String,
        /// The Services with that FQDN (empty for a built-in one).
        services: Vec<ObjId>,
    },
    /// Nothing provides it.
    Unknown {
        /// The host after short-name expansion.
        resolved: String,
        /// The namespace it would be a Kubernetes service of, when that is known.
        target_ns: Option<String>,
        /// `name.namespace.svc.<other domain>`: the same name under the configured
        /// cluster domain, and the Services that have it.
        other_domain: Option<(String, Vec<ObjId>)>,
    },
}

/// Where a host is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `spec.hosts[]` of a VirtualService.
    VirtualServiceHost,
    /// A route, mirror or mirrors destination.
    Destination(DestinationUse),
    /// `spec.host` of a DestinationRule.
    DestinationRuleHost,
}

impl Place {
    /// How messages name the place.
    pub fn noun(self) -> &'static str {
        match self {
            Place::VirtualServiceHost => "VirtualService host",
            Place::Destination(u) if u.word() == "mirror" => "mirror destination",
            Place::Destination(_) => "route destination",
            Place::DestinationRuleHost => "DestinationRule host",
        }
    }
}

/// One host as written, with its context.
#[derive(Debug, Clone)]
pub struct HostRef<'a> {
    /// The object it is written in.
    pub object: &'a Object,
    /// The host scalar.
    pub host: &'a SStr,
    /// Where in the object.
    pub place: Place,
    /// JSON pointer of the host scalar.
    pub path: String,
    /// Who looks it up.
    pub view: Viewpoint,
    /// The destination, for destination hosts.
    pub destination: Option<DestinationRef<'a>>,
}

/// True for a VirtualService generated from a Gateway API route.
pub fn is_generated(object: &Object) -> bool {
    object
        .meta
        .annotations
        .map
        .get(ROUTE_SEMANTICS)
        .is_some_and(|v| v == "gateway")
}

/// True when the VirtualService programs sidecars (`mesh` or no gateways).
pub fn is_mesh_bound(vs: &VirtualService) -> bool {
    vs.gateways.is_empty() || vs.gateways.iter().any(|g| g.value == "mesh")
}

/// Namespaces whose proxies use a VirtualService's routes: for sidecars, the
/// namespaces it is exported to (its own for `*` or no `exportTo`); for each
/// gateway it binds to, the gateway's namespace.
pub fn vs_clients(index: &Index, object: &Object, vs: &VirtualService) -> Vec<Client> {
    let ns = &object.meta.namespace;
    let mut out: Vec<Client> = Vec::new();
    let mut push = |namespace: String, gateway: Option<String>| {
        if !out.iter().any(|c| c.namespace == namespace) {
            out.push(Client { namespace, gateway });
        }
    };
    if is_mesh_bound(vs) {
        let entries: Vec<&str> = vs.export_to.iter().map(|e| e.value.as_str()).collect();
        if entries.is_empty() || entries.contains(&"*") {
            push(ns.clone(), None);
        } else {
            for e in entries {
                match e {
                    "." => push(ns.clone(), None),
                    "~" => {}
                    other => push(other.to_owned(), None),
                }
            }
        }
    }
    for g in vs.gateways.iter().filter(|g| g.value != "mesh") {
        let gw_ns = match index.gateway(&g.value, ns) {
            Some(id) => index.object(id).meta.namespace.clone(),
            None => g
                .value
                .split_once('/')
                .map_or_else(|| ns.clone(), |(n, _)| n.to_owned()),
        };
        push(gw_ns, Some(g.value.clone()));
    }
    if out.is_empty() {
        out.push(Client {
            namespace: ns.clone(),
            gateway: None,
        });
    }
    out
}

/// Every host the host rules look at, in analysis order. VirtualService
/// `hosts` are included only when `vs_hosts` is set, and only for VirtualServices
/// that program sidecars (a gateway-only VirtualService's hosts are the names
/// clients outside the mesh use, not services). Wildcard DestinationRule hosts
/// are policies over many services and are left out.
pub fn host_refs(index: &Index, vs_hosts: bool) -> Vec<HostRef<'_>> {
    let mut out = Vec::new();
    let root = index.settings().root_namespace.as_str();
    for object in index.objects() {
        let meta = &object.meta;
        match &object.spec {
            Spec::VirtualService(vs) if !is_generated(object) => {
                let all_clients = vs_clients(index, object, vs);
                let clients = &all_clients;
                if vs_hosts && is_mesh_bound(vs) {
                    let namespaces: Vec<String> =
                        clients.iter().map(|c| c.namespace.clone()).collect();
                    for (i, h) in vs.hosts.iter().enumerate() {
                        out.push(HostRef {
                            object,
                            host: h,
                            place: Place::VirtualServiceHost,
                            path: meta.path(&format!("/spec/hosts/{i}")),
                            view: Viewpoint::Any(namespaces.clone()),
                            destination: None,
                        });
                    }
                }
                for d in vs.destinations() {
                    if let Some(h) = &d.destination.host
                        && destination_host_problem(&h.value).is_none()
                    {
                        // A route whose matches all name gateways is used only there.
                        let through = only_through(&route_matches(vs, &d));
                        let mut used: Vec<Client> = clients
                            .iter()
                            .filter(|c| {
                                let name = c.gateway.as_deref().unwrap_or("mesh");
                                through.as_ref().is_none_or(|t| t.contains(&name))
                            })
                            .cloned()
                            .collect();
                        if used.is_empty() {
                            used.clone_from(clients);
                        }
                        out.push(HostRef {
                            object,
                            host: h,
                            place: Place::Destination(d.usage),
                            path: format!("{}/host", d.destination.path),
                            view: Viewpoint::Every(used),
                            destination: Some(d),
                        });
                    }
                }
            }
            Spec::DestinationRule(dr) => {
                let Some(h) = &dr.host else { continue };
                if host::is_wildcard(&h.value)
                    || h.value.is_empty()
                    || destination_rule_host_problem(&h.value).is_some()
                {
                    continue;
                }
                // A DestinationRule is used by clients in its own namespace; one in
                // the root namespace by every client.
                let view = if meta.namespace == root && dr.workload_selector.is_none() {
                    Viewpoint::Anywhere
                } else {
                    Viewpoint::Any(vec![meta.namespace.clone()])
                };
                out.push(HostRef {
                    object,
                    host: h,
                    place: Place::DestinationRuleHost,
                    path: meta.path("/spec/host"),
                    view,
                    destination: None,
                });
            }
            _ => {}
        }
    }
    out
}

/// Each match of the route a destination belongs to: its `port` and its
/// `gateways`.
pub fn route_matches<'v>(
    vs: &'v VirtualService,
    dest: &DestinationRef<'_>,
) -> Vec<(Option<i64>, Vec<&'v str>)> {
    let names = |gateways: &'v [SStr]| -> Vec<&'v str> {
        gateways.iter().map(|g| g.value.as_str()).collect()
    };
    match dest.usage {
        DestinationUse::HttpRoute | DestinationUse::Mirror | DestinationUse::Mirrors => vs
            .http
            .get(dest.route_index)
            .map(|r| {
                r.matches
                    .iter()
                    .map(|m| (m.port.as_ref().map(|p| p.value), names(&m.gateways)))
                    .collect()
            })
            .unwrap_or_default(),
        DestinationUse::TcpRoute | DestinationUse::TlsRoute => {
            let routes = if dest.usage == DestinationUse::TcpRoute {
                &vs.tcp
            } else {
                &vs.tls
            };
            routes
                .get(dest.route_index)
                .map(|r| {
                    r.matches
                        .iter()
                        .map(|m| (m.port.as_ref().map(|p| p.value), names(&m.gateways)))
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}

/// The gateways (`mesh` for sidecars) a route is limited to, when every one of
/// its matches names some.
pub fn only_through<'v>(matches: &[(Option<i64>, Vec<&'v str>)]) -> Option<Vec<&'v str>> {
    (!matches.is_empty() && matches.iter().all(|(_, g)| !g.is_empty())).then(|| {
        matches
            .iter()
            .flat_map(|(_, g)| g.iter().copied())
            .collect()
    })
}

/// The registry as the host rules see it: the index plus a few per-run tables.
pub struct Hosts<'a> {
    /// The index.
    pub index: &'a Index,
    /// Services whose namespace is known, by namespace.
    services_by_ns: HashMap<&'a str, Vec<&'a str>>,
    /// Names of Services that name no namespace (and none was given to the run):
    /// they are applied to whatever namespace the deployment chooses.
    floating: HashSet<&'a str>,
    addresses: Vec<(IpAddr, u8, ObjId)>,
}

impl<'a> Hosts<'a> {
    /// Builds the per-run tables (one pass over the objects).
    pub fn new(index: &'a Index) -> Hosts<'a> {
        let mut services_by_ns: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut floating = HashSet::new();
        let mut addresses = Vec::new();
        for (id, object) in index.objects().iter().enumerate() {
            match &object.spec {
                Spec::Service(_) if !namespace_is_known(index, &object.meta) => {
                    floating.insert(object.meta.name());
                }
                Spec::Service(_) => services_by_ns
                    .entry(object.meta.namespace.as_str())
                    .or_default()
                    .push(object.meta.name()),
                Spec::ServiceEntry(se) => {
                    for a in se.addresses.iter().chain(se.hosts.iter()) {
                        if let Some((ip, bits)) = parse_cidr(&a.value) {
                            addresses.push((ip, bits, id));
                        }
                    }
                }
                _ => {}
            }
        }
        Hosts {
            index,
            services_by_ns,
            floating,
            addresses,
        }
    }

    /// Names of the Services known to be in `ns`, in analysis order.
    pub fn services_in(&self, ns: &str) -> &[&'a str] {
        self.services_by_ns.get(ns).map_or(&[], Vec::as_slice)
    }

    /// True when the analysed files hold at least one Service known to be in
    /// `ns`: then a missing one is a mistake, not a service kept elsewhere.
    pub fn has_services(&self, ns: &str) -> bool {
        !self.services_in(ns).is_empty()
    }

    /// Severity for a host nothing provides, by what is known of its namespace.
    pub fn unknown_severity(&self, status: &HostStatus) -> Severity {
        match status {
            HostStatus::Unknown {
                other_domain: Some(_),
                ..
            }
            | HostStatus::Hidden { .. } => Severity::Error,
            HostStatus::Unknown {
                target_ns: Some(t), ..
            } if self.has_services(t) => Severity::Error,
            _ => Severity::Warning,
        }
    }

    fn declares_exactly(&self, id: ObjId, resolved: &str) -> bool {
        let object = self.index.object(id);
        match &object.spec {
            Spec::ServiceEntry(se) => se
                .hosts
                .iter()
                .any(|h| self.index.resolve_host(&h.value, &object.meta.namespace) == resolved),
            _ => true,
        }
    }

    fn with_address(&self, ip: IpAddr) -> Vec<ObjId> {
        self.addresses
            .iter()
            .filter(|(net, bits, _)| cidr_contains(*net, *bits, ip))
            .map(|(_, _, id)| *id)
            .collect()
    }

    /// Services and ServiceEntries (exact, wildcard or by address) providing
    /// `resolved` (written as `written`), and the subset of them that name it exactly.
    fn providers(&self, written: &str, resolved: &str) -> (Vec<ObjId>, Vec<ObjId>) {
        let services = self.index.services(resolved);
        let entries = self.index.service_entries(resolved);
        let mut exact: Vec<ObjId> = services.to_vec();
        exact.extend(
            entries
                .iter()
                .copied()
                .filter(|id| self.declares_exactly(*id, resolved)),
        );
        let mut all: Vec<ObjId> = services.to_vec();
        all.extend(entries);
        if let Ok(ip) = written.parse::<IpAddr>() {
            let by_address = self.with_address(ip);
            exact.extend(by_address.iter().copied());
            all.extend(by_address);
        }
        for v in [&mut exact, &mut all] {
            v.sort_unstable();
            v.dedup();
        }
        (all, exact)
    }

    /// Classifies `written`, a host written in `meta`'s object.
    pub fn classify(&self, written: &str, meta: &ObjectMeta, view: &Viewpoint) -> HostStatus {
        let ns = meta.namespace.as_str();
        let index = self.index;
        let settings = index.settings();
        let domain = settings.cluster_domain.as_str();
        let resolved = index.resolve_host(written, ns);
        if settings.is_external(written) || settings.is_external(&resolved) {
            return HostStatus::Ignored;
        }
        let (all, exact) = self.providers(written, &resolved);
        let visible_to = |client: &str| -> Vec<ObjId> {
            all.iter()
                .copied()
                .filter(|id| index.is_visible_to(*id, client))
                .collect()
        };
        match view {
            Viewpoint::Anywhere if !all.is_empty() => return HostStatus::Found(all),
            Viewpoint::Anywhere => {}
            Viewpoint::Any(namespaces) => {
                let mut seen: Vec<ObjId> = namespaces.iter().flat_map(|n| visible_to(n)).collect();
                seen.sort_unstable();
                seen.dedup();
                if !seen.is_empty() {
                    return HostStatus::Found(seen);
                }
                if let (false, Some(n)) = (exact.is_empty(), namespaces.first()) {
                    return HostStatus::Hidden {
                        providers: exact,
                        client: Client {
                            namespace: n.clone(),
                            gateway: None,
                        },
                    };
                }
            }
            Viewpoint::Every(clients) => {
                let mut seen = Vec::new();
                let mut blind = None;
                for c in clients {
                    let v = visible_to(&c.namespace);
                    if v.is_empty() {
                        blind.get_or_insert(c);
                    }
                    seen.extend(v);
                }
                seen.sort_unstable();
                seen.dedup();
                match blind {
                    None if !seen.is_empty() => return HostStatus::Found(seen),
                    Some(c) if !exact.is_empty() || !seen.is_empty() => {
                        return HostStatus::Hidden {
                            providers: if exact.is_empty() { seen } else { exact },
                            client: c.clone(),
                        };
                    }
                    _ => {}
                }
            }
        }
        if is_builtin(&resolved, domain, &settings.root_namespace)
            || resolved.ends_with(".svc.clusterset.local")
        {
            // `clusterset.local`: Kubernetes multi-cluster services, which Istio
            // serves from ServiceExports these files cannot show.
            return HostStatus::Ignored;
        }
        // A Service that names no namespace may be applied to the one this host
        // means: nothing to say.
        let name = host::service_parts(&resolved, domain).map(|(n, _)| n);
        if name.is_some_and(|n| self.floating.contains(n)) {
            return HostStatus::Ignored;
        }
        if host::is_short(written) {
            let services: Vec<ObjId> = index
                .services_named(written)
                .iter()
                .copied()
                .filter(|id| index.object(*id).meta.namespace != ns)
                .collect();
            if !services.is_empty() {
                return HostStatus::WrongNamespace { resolved, services };
            }
            return HostStatus::Unknown {
                resolved,
                target_ns: namespace_is_known(index, meta).then(|| ns.to_owned()),
                other_domain: None,
            };
        }
        if host::is_wildcard(written) {
            return HostStatus::Unknown {
                resolved,
                target_ns: None,
                other_domain: None,
            };
        }
        if let Some((_, target)) = host::service_parts(&resolved, domain) {
            return HostStatus::Unknown {
                target_ns: Some(target.to_owned()),
                resolved,
                other_domain: None,
            };
        }
        if let Some(fqdn) = partial_fqdn(written, domain) {
            let (_, exact) = self.providers(&fqdn, &fqdn);
            let short = written.split('.').next().unwrap_or(written);
            let floating: Vec<ObjId> = index
                .services_named(short)
                .iter()
                .copied()
                .filter(|id| !namespace_is_known(index, &index.object(*id).meta))
                .collect();
            if !exact.is_empty()
                || !floating.is_empty()
                || is_builtin(&fqdn, domain, &settings.root_namespace)
            {
                let mut services = index.services(&fqdn).to_vec();
                services.extend(floating);
                return HostStatus::Partial { services, fqdn };
            }
        }
        if let Some((fqdn, target)) = other_domain(written, domain) {
            let services = index.services(&fqdn);
            if !services.is_empty() {
                return HostStatus::Unknown {
                    resolved,
                    target_ns: Some(target),
                    other_domain: Some((fqdn, services.to_vec())),
                };
            }
        }
        HostStatus::Unknown {
            resolved,
            target_ns: None,
            other_domain: None,
        }
    }
}

/// True when the object's namespace is known: written in the object, or given
/// to the run (`--namespace`). Otherwise it is wherever the deployment applies it.
pub fn namespace_is_known(index: &Index, meta: &ObjectMeta) -> bool {
    meta.namespace_field.is_some() || index.settings().default_namespace != "default"
}

/// Port numbers the providers expose (Service `ports[].port`, ServiceEntry
/// `ports[].number`), with what exposes each.
pub fn exposed_ports(index: &Index, providers: &[ObjId]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for id in providers {
        match &index.object(*id).spec {
            Spec::Service(svc) => out.extend(
                svc.ports
                    .iter()
                    .filter_map(|p| p.port.as_ref().map(|n| n.value)),
            ),
            Spec::ServiceEntry(se) => out.extend(
                se.ports
                    .iter()
                    .filter_map(|p| p.number.as_ref().map(|n| n.value)),
            ),
            _ => {}
        }
    }
    out
}

/// Renders port numbers as "`80` and `443`".
pub fn port_list(ports: &BTreeSet<i64>, conjunction: &str) -> String {
    let items: Vec<String> = ports.iter().map(i64::to_string).collect();
    crate::text::backtick_list(&items, conjunction)
}

/// `ns/name` of an object, in backticks.
pub fn object_name(object: &Object) -> String {
    format!("`{}/{}`", object.meta.namespace, object.meta.name())
}

/// The host as written, with its expansion when that differs.
pub fn shown(written: &str, resolved: &str) -> String {
    if written == resolved {
        format!("`{written}`")
    } else {
        format!("`{written}` (`{resolved}`)")
    }
}

/// Services every Istio or Kubernetes cluster has although no repository of
/// application config defines them: the API server and the control plane with
/// its default gateways.
pub fn is_builtin(fqdn: &str, domain: &str, root_ns: &str) -> bool {
    let Some((name, ns)) = host::service_parts(fqdn, domain) else {
        return false;
    };
    if name == "kubernetes" && ns == "default" {
        return true;
    }
    (ns == root_ns || ns == "istio-system")
        && (name.starts_with("istiod")
            || name == "istio-pilot"
            || name.starts_with("istio-ingressgateway")
            || name.starts_with("istio-egressgateway")
            || name.starts_with("istio-eastwestgateway"))
}

/// `name.ns`, `name.ns.svc` or `name.ns.svc.<a leading part of the cluster
/// domain>`: the FQDN the author most likely meant.
pub fn partial_fqdn(written: &str, domain: &str) -> Option<String> {
    let labels: Vec<&str> = written.split('.').collect();
    let domain_labels: Vec<&str> = domain.split('.').collect();
    let (name, ns) = match labels.as_slice() {
        [name, ns, ..] if !name.is_empty() && !ns.is_empty() => (*name, *ns),
        _ => return None,
    };
    let rest = &labels[2..];
    let ok = match rest {
        [] => true,
        ["svc", tail @ ..] => tail.len() < domain_labels.len() && domain_labels.starts_with(tail),
        _ => false,
    };
    ok.then(|| host::service_fqdn(name, ns, domain))
}

/// `name.ns.svc.<other domain>` → the same service under `domain`, and `ns`.
fn other_domain(written: &str, domain: &str) -> Option<(String, String)> {
    let labels: Vec<&str> = written.split('.').collect();
    match labels.as_slice() {
        [name, ns, "svc", rest @ ..] if !rest.is_empty() && !name.is_empty() && !ns.is_empty() => {
            (rest.join(".") != domain)
                .then(|| (host::service_fqdn(name, ns, domain), (*ns).to_owned()))
        }
        _ => None,
    }
}

/// Parses `10.0.0.1` or `10.0.0.0/24` into (address, prefix length).
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let (a, b, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            (u128::from(u32::from(n)), u128::from(u32::from(i)), 32u32)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128u32),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= 128 || (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{SpanMapper, parse_file};
    use crate::model::node::Node;
    use crate::model::{DocumentContent, ModelOptions, read_document};
    use crate::report::Diagnostic;
    use crate::rules::Rule;
    use crate::settings::Settings;
    use crate::source::{FileId, SourceFile};

    fn index(text: &str, settings: &Settings) -> Index {
        let file = SourceFile::new(FileId(0), "t.yaml".into(), "t.yaml".into(), text.into());
        let mut objects = Vec::new();
        for doc in parse_file(&file) {
            let Some(root) = doc.root.as_ref() else {
                continue;
            };
            let node = Node::root(root, SpanMapper::new(&file, doc.segment.first_line));
            if let DocumentContent::Objects(o) =
                read_document(node, FileId(0), &ModelOptions::default())
            {
                objects.extend(o);
            }
        }
        Index::build(objects, settings)
    }

    fn run(rule: &dyn Rule, text: &str, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        rule.check_graph(&index(text, settings), &mut out);
        out
    }

    const ROUTES: &str = "
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.shop.svc.cluster.local}
    mirror: {host: shadow.googleapis.com}
";

    #[test]
    fn external_hosts_are_not_reported() {
        let rule = crate::rules::UnknownHost;
        let found = run(&rule, ROUTES, &Settings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Warning);
        let settings = Settings {
            external_hosts: vec!["*.googleapis.com".into()],
            ..Settings::default()
        };
        assert!(run(&rule, ROUTES, &settings).is_empty());
    }

    #[test]
    fn another_cluster_domain_is_an_error() {
        let settings = Settings {
            cluster_domain: "corp.local".into(),
            ..Settings::default()
        };
        let found = run(&crate::rules::UnknownHost, ROUTES, &settings);
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(found.len(), 2, "{messages:?}");
        assert_eq!(found[0].severity, Severity::Error);
        assert!(messages[0].contains("cluster domain `corp.local`"));
        assert!(
            found[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("reviews.shop.svc.corp.local"))
        );
    }

    #[test]
    fn partial_names() {
        let d = "cluster.local";
        assert_eq!(
            partial_fqdn("reviews.prod", d).as_deref(),
            Some("reviews.prod.svc.cluster.local")
        );
        assert_eq!(
            partial_fqdn("reviews.prod.svc", d).as_deref(),
            Some("reviews.prod.svc.cluster.local")
        );
        assert_eq!(
            partial_fqdn("reviews.prod.svc.cluster", d).as_deref(),
            Some("reviews.prod.svc.cluster.local")
        );
        assert_eq!(partial_fqdn("reviews.prod.svc.cluster.local", d), None);
        assert_eq!(partial_fqdn("api.example.com", d), None);
        assert_eq!(partial_fqdn("reviews", d), None);
    }

    #[test]
    fn other_domains() {
        assert_eq!(
            other_domain("reviews.prod.svc.cluster.local", "corp.local"),
            Some(("reviews.prod.svc.corp.local".into(), "prod".into()))
        );
        assert_eq!(
            other_domain("reviews.prod.svc.corp.local", "corp.local"),
            None
        );
        assert_eq!(other_domain("www.example.com", "corp.local"), None);
    }

    #[test]
    fn addresses() {
        let (net, bits) = parse_cidr("10.1.0.0/16").expect("cidr");
        assert!(cidr_contains(net, bits, "10.1.2.3".parse().expect("ip")));
        assert!(!cidr_contains(net, bits, "10.2.0.1".parse().expect("ip")));
        let (one, b) = parse_cidr("192.168.0.7").expect("ip");
        assert!(cidr_contains(one, b, "192.168.0.7".parse().expect("ip")));
        assert!(parse_cidr("10.0.0.0/40").is_none());
        let (any, zero) = parse_cidr("0.0.0.0/0").expect("cidr");
        assert!(cidr_contains(any, zero, "8.8.8.8".parse().expect("ip")));
    }
}
