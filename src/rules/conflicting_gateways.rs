use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{Gateway, Object, Server, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags servers of two Gateways on the same gateway workloads that istiod
    /// cannot both program on one port: servers whose protocols cannot share a
    /// listener, and TLS servers (HTTPS or TLS with a `tls` block) that serve
    /// the same host.
    ///
    /// istiod merges every Gateway that selects a gateway proxy into one
    /// configuration, port by port (and by `bind` address). Plain HTTP servers
    /// (`HTTP`, `HTTP2`, `GRPC`, `GRPC-WEB`, `HTTP_PROXY`) share one listener and
    /// one route table: the routes of their VirtualServices are merged, which is
    /// not reported here. TLS servers share a listener and are told apart by SNI
    /// host. Anything else on a port already taken is dropped: a plain HTTP
    /// server next to a TLS server, a `TCP` (or `MONGO`, `REDIS`, `MYSQL`) server
    /// next to any other server. Among TLS servers, a server one of whose hosts
    /// an earlier server already serves is dropped whole, with its certificate
    /// and all its hosts; two hosts that differ only in their namespace part
    /// (`edge/shop.example.com` and `shop.example.com`) are not caught by istiod
    /// and give Envoy two filter chains for one SNI name, which it can reject
    /// for the whole listener. Wildcard hosts that merely overlap
    /// (`*.example.com` and `shop.example.com`) are fine: Envoy picks the most
    /// specific. "Earlier" is istiod's order: oldest Gateway first, then by
    /// namespace and name, so the winner depends on when each was applied.
    ///
    /// Two Gateways are on the same workloads when their selectors are equal,
    /// or when a workload in the analysed files matches both (an empty selector
    /// matches every gateway workload). Each server involved is reported, with
    /// the other Gateways' servers as related locations. Gateways that are never
    /// applied together (different kustomize overlays, or files without
    /// `metadata.namespace`) are not compared, and two copies of one Gateway are
    /// `duplicate-object`'s finding.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0145) compares host
    /// strings literally on servers of any protocol, and ignores protocols. It
    /// reports two plain HTTP Gateways serving `*` on port 80, which istiod
    /// merges without trouble; meshvet does not. It misses a `TCP` and an
    /// `HTTP` server on one port with different hosts, where istiod drops one;
    /// meshvet reports it. Its selector overlap test is a substring heuristic;
    /// meshvet matches selectors against workloads. Kiali (KIA0301) flags every
    /// pair of servers whose hosts overlap on one port and selector, HTTP ones
    /// included; meshvet reports only the pairs where istiod drops a server.
    ///
    /// ## Why is this bad?
    /// One of the two servers silently never reaches the gateway proxy: its
    /// hosts answer with the other Gateway's certificate and routes, or not at
    /// all. Which one survives depends on creation order, so a re-apply or a
    /// cluster rebuild can swap them.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: shop, namespace: shop}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["shop.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: shop-cert}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: shop-v2, namespace: shop}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["shop.example.com", "api.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: shop-v2-cert}
    /// ```
    /// Use instead: serve each host from one Gateway server; delete the old
    /// Gateway or drop `shop.example.com` from one of them.
    pub ConflictingGateways {
        name: "conflicting-gateways",
        severity: Error,
        kinds: [Gateway],
        upstream: ["IST0145", "KIA0301"],
    }
}

/// How istiod places a server on a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Plain HTTP: merged with other plain HTTP servers.
    Http,
    /// TLS termination or passthrough: shares the listener by SNI.
    Tls,
    /// Opaque TCP: owns the port alone.
    Opaque,
}

fn class(server: &Server) -> Option<Class> {
    let protocol = server.port_protocol.as_ref()?.value.to_ascii_uppercase();
    match protocol.as_str() {
        "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" | "HTTP_PROXY" => Some(Class::Http),
        "HTTPS" | "TLS" | "TCP" | "MONGO" | "REDIS" | "MYSQL" if server.has_tls => Some(Class::Tls),
        "HTTPS" | "TLS" | "TCP" | "MONGO" | "REDIS" | "MYSQL" => Some(Class::Opaque),
        _ => None,
    }
}

fn compatible(a: Class, b: Class) -> bool {
    matches!(
        (a, b),
        (Class::Http, Class::Http) | (Class::Tls, Class::Tls)
    )
}

/// The DNS name of a server host (`ns/name` → `name`).
fn dns_name(host: &str) -> &str {
    host.split_once('/').map_or(host, |(_, h)| h)
}

/// A server host as istiod compares it: `./h` → `<ns>/h`, `*/h` → `h`.
fn sanitized(host: &str, ns: &str) -> String {
    match host.split_once('/') {
        Some((".", h)) => format!("{ns}/{h}"),
        Some(("*", h)) => h.to_owned(),
        _ => host.to_owned(),
    }
}

/// One server: its Gateway and its position there.
type ServerRef = (ObjId, usize);

/// What the gateway proxies a Gateway applies to are known by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    /// Every Gateway with this exact selector applies to the same proxies.
    Selector(Vec<(String, String)>),
    /// A workload of the analysed files.
    Workload(ObjId),
}

#[derive(Default)]
struct Conflicts {
    /// Servers on the same port that cannot share the listener with this one.
    protocol: BTreeSet<ServerRef>,
    /// Per host index of this server: TLS servers serving the same DNS name.
    hosts: BTreeMap<usize, BTreeSet<(ServerRef, usize)>>,
}

impl Rule for ConflictingGateways {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let gateways: Vec<(ObjId, &Gateway)> = index
            .objects()
            .iter()
            .enumerate()
            .filter_map(|(id, o)| match &o.spec {
                Spec::Gateway(g) => Some((id, &**g)),
                _ => None,
            })
            .collect();
        // Workloads some Gateway selects: what an empty selector applies to.
        let mut matched: HashMap<ObjId, Vec<ObjId>> = HashMap::new();
        let mut gateway_workloads: BTreeSet<ObjId> = BTreeSet::new();
        for (id, g) in &gateways {
            if !g.selector.map.is_empty() {
                let ws = index.workloads_matching_anywhere(&g.selector);
                gateway_workloads.extend(ws.iter().copied());
                matched.insert(*id, ws);
            }
        }
        // Servers by (port, bind, target).
        let mut buckets: HashMap<(i64, &str, Target), Vec<ServerRef>> = HashMap::new();
        for (id, g) in &gateways {
            let mut targets = vec![Target::Selector(
                g.selector
                    .map
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )];
            let workloads = match matched.get(id) {
                Some(ws) => ws.clone(),
                None => gateway_workloads.iter().copied().collect(),
            };
            targets.extend(workloads.into_iter().map(Target::Workload));
            for (i, server) in g.servers.iter().enumerate() {
                let Some(port) = &server.port_number else {
                    continue;
                };
                if class(server).is_none() {
                    continue;
                }
                let bind = server.bind.as_ref().map_or("", |b| b.value.as_str());
                for t in &targets {
                    buckets
                        .entry((port.value, bind, t.clone()))
                        .or_default()
                        .push((*id, i));
                }
            }
        }
        let mut found: BTreeMap<ServerRef, Conflicts> = BTreeMap::new();
        for servers in buckets.values() {
            if servers.len() < 2 {
                continue;
            }
            check_bucket(index, servers, &mut found);
        }
        for (server, conflicts) in found {
            report(index, server, &conflicts, out);
        }
    }
}

fn gateway_of(index: &Index, id: ObjId) -> Option<(&Object, &Gateway)> {
    let object = index.object(id);
    match &object.spec {
        Spec::Gateway(g) => Some((object, g)),
        _ => None,
    }
}

fn server_of(index: &Index, (id, i): ServerRef) -> Option<&Server> {
    gateway_of(index, id).and_then(|(_, g)| g.servers.get(i))
}

/// True when the Gateways of `a` and `b` compete: different Gateways that are
/// applied together.
fn rivals(index: &Index, a: ObjId, b: ObjId) -> bool {
    let (ma, mb) = (&index.object(a).meta, &index.object(b).meta);
    (ma.namespace != mb.namespace || ma.name() != mb.name())
        && ma.applied_with(mb)
        && ma.applied_together(mb)
}

/// At most this many rivals are kept per server (the message names a few).
const MAX_RIVALS: usize = 8;

fn check_bucket(index: &Index, servers: &[ServerRef], found: &mut BTreeMap<ServerRef, Conflicts>) {
    let classes: Vec<Class> = servers
        .iter()
        .map(|s| server_of(index, *s).and_then(class).unwrap_or(Class::Http))
        .collect();
    // Servers whose protocols cannot share the listener.
    if classes.iter().any(|c| *c != classes[0]) || classes[0] == Class::Opaque {
        let mut by_class: Vec<(Class, Vec<ServerRef>)> = Vec::new();
        for (s, c) in servers.iter().zip(&classes) {
            match by_class.iter_mut().find(|(k, _)| k == c) {
                Some((_, list)) => list.push(*s),
                None => by_class.push((*c, vec![*s])),
            }
        }
        for (a, ca) in servers.iter().zip(&classes) {
            let entry = found.entry(*a).or_default();
            let incompatible = by_class
                .iter()
                .filter(|(cb, _)| !compatible(*ca, *cb))
                .flat_map(|(_, list)| list);
            for b in incompatible {
                if entry.protocol.len() >= MAX_RIVALS {
                    break;
                }
                if rivals(index, a.0, b.0) {
                    entry.protocol.insert(*b);
                }
            }
        }
    }
    // TLS servers serving the same DNS name.
    let mut by_host: HashMap<&str, Vec<(ServerRef, usize)>> = HashMap::new();
    for (i, s) in servers.iter().enumerate() {
        if classes[i] != Class::Tls {
            continue;
        }
        if let Some(server) = server_of(index, *s) {
            for (h, host) in server.hosts.iter().enumerate() {
                by_host
                    .entry(dns_name(&host.value))
                    .or_default()
                    .push((*s, h));
            }
        }
    }
    for entries in by_host.values() {
        if entries.len() < 2 {
            continue;
        }
        for (a, ha) in entries {
            let set = found.entry(*a).or_default().hosts.entry(*ha).or_default();
            for (b, hb) in entries {
                if set.len() >= MAX_RIVALS {
                    break;
                }
                if rivals(index, a.0, b.0) {
                    set.insert((*b, *hb));
                }
            }
        }
    }
}

fn gateway_name(index: &Index, id: ObjId) -> String {
    let m = &index.object(id).meta;
    format!("{}/{}", m.namespace, m.name())
}

/// Joins already formatted items as "a, b and c".
fn text_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn protocol_of(server: &Server) -> &str {
    server
        .port_protocol
        .as_ref()
        .map_or("", |p| p.value.as_str())
}

fn report(index: &Index, (id, i): ServerRef, conflicts: &Conflicts, out: &mut Vec<Diagnostic>) {
    let Some((object, g)) = gateway_of(index, id) else {
        return;
    };
    let Some(server) = g.servers.get(i) else {
        return;
    };
    let Some(port) = &server.port_number else {
        return;
    };
    let meta = &object.meta;
    let number = port.value;
    let protocol = protocol_of(server);
    if !conflicts.protocol.is_empty() {
        let others: Vec<(String, &Server)> = conflicts
            .protocol
            .iter()
            .filter_map(|r| Some((gateway_name(index, r.0), server_of(index, *r)?)))
            .collect();
        let described: Vec<String> = others
            .iter()
            .map(|(name, s)| format!("Gateway `{name}` (`{}`)", protocol_of(s)))
            .collect();
        let lone_tcp = class(server) == Some(Class::Opaque);
        let why = if lone_tcp {
            "a plain TCP server owns its port alone"
        } else {
            "these protocols cannot share one listener"
        };
        let mut d = Diagnostic::new(
            &ConflictingGateways::META,
            meta.file,
            port.span,
            format!(
                "port `{number}` is served as `{protocol}` here and also by {} on the same gateway workloads: {why}, so istiod keeps only the server of the Gateway it reads first (the oldest) and drops the {}",
                text_list(&described),
                if described.len() == 1 { "other" } else { "others" }
            ),
        )
        .label("port also served by another Gateway");
        for r in &conflicts.protocol {
            if let Some(s) = server_of(index, *r) {
                let om = &index.object(r.0).meta;
                let span = s.port_number.as_ref().map_or(s.span, |p| p.span);
                d = d.related(
                    om.file,
                    span,
                    format!(
                        "Gateway `{}` serves port `{number}` as `{}`",
                        gateway_name(index, r.0),
                        protocol_of(s)
                    ),
                );
            }
        }
        out.push(
            d.help(format!(
                "Serve port `{number}` with one kind of server on these gateway workloads: move one server to another port (and expose it on the gateway's Service), or select different gateway workloads."
            ))
            .object(meta)
            .path(format!("{}/port/number", server.path)),
        );
    }
    for (h, rivals) in &conflicts.hosts {
        if rivals.is_empty() {
            continue;
        }
        let Some(host) = server.hosts.get(*h) else {
            continue;
        };
        let name = dns_name(&host.value);
        let mine = sanitized(&host.value, &meta.namespace);
        let mut literal = false;
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut d_related = Vec::new();
        for ((rid, ri), rh) in rivals {
            let Some(s) = server_of(index, (*rid, *ri)) else {
                continue;
            };
            let Some(other) = s.hosts.get(*rh) else {
                continue;
            };
            let om = &index.object(*rid).meta;
            if sanitized(&other.value, &om.namespace) == mine {
                literal = true;
            }
            let gw = gateway_name(index, *rid);
            names.insert(gw.clone());
            d_related.push((
                om.file,
                other.span,
                format!("Gateway `{gw}` serves `{name}` with TLS on port `{number}` too"),
            ));
        }
        let names: Vec<String> = names.into_iter().collect();
        let consequence = if literal {
            "istiod keeps only the server of the Gateway it reads first (the oldest) and drops the other server entirely, with its certificate and every host it serves"
        } else {
            "istiod sends Envoy two filter chains for one SNI name, and Envoy can reject the whole listener"
        };
        let mut d = Diagnostic::new(
            &ConflictingGateways::META,
            meta.file,
            host.span,
            format!(
                "host `{name}` on port `{number}` is also served with TLS by {} {} on the same gateway workloads: {consequence}",
                if names.len() == 1 { "Gateway" } else { "Gateways" },
                backtick_list(&names, "and")
            ),
        )
        .label("served by another Gateway too");
        for (file, span, msg) in d_related {
            d = d.related(file, span, msg);
        }
        out.push(
            d.help(format!(
                "Serve `{name}` on port `{number}` from one Gateway server only: remove it from all but one of these Gateways, or delete the Gateway that replaced the other."
            ))
            .object(meta)
            .path(format!("{}/hosts/{h}", server.path)),
        );
    }
}
