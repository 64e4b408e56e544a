use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{HttpMatch, HttpRoute, NamedMatch, Object, Spec, StringMatch, VirtualService};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::source::Span;
use crate::text::backtick_list;

declare_rule! {
    /// Flags a VirtualService that claims a host another VirtualService already
    /// claims for the same proxies — for sidecars (`mesh`: no `gateways`, or
    /// `mesh` listed) or on the same Gateway — when Istio will ignore some of its
    /// routes because of it.
    ///
    /// Hosts are compared after resolution (a short name means
    /// `<name>.<namespace of the VirtualService>.svc.<cluster domain>`) and as
    /// exact strings, as Istio's analyzer does: `*.example.com` and
    /// `api.example.com` are different hosts, and Envoy picks the most specific
    /// one, which is not a conflict. Only VirtualServices that the same proxies
    /// see count: `exportTo` must make both visible in one namespace (for a
    /// gateway, the Gateway's namespace), and a namespace whose Sidecar does not
    /// import both is not affected. Delegate VirtualServices (no `hosts`) never
    /// conflict.
    ///
    /// - **Sidecars** use one VirtualService per host: the one exported
    ///   specifically to the client's namespace first, then the oldest (the first
    ///   by name, then namespace, when created in the same second). Every route of
    ///   the others is ignored for that host. Each VirtualService of the
    ///   conflict gets a finding: those that lose under name order say their
    ///   routes are ignored, the one that wins names those it hides, so that a
    ///   change to any of the files shows the conflict.
    /// - **Gateways** merge the VirtualServices of one host: their HTTP routes
    ///   are concatenated, VirtualService after VirtualService in creation
    ///   order, and catch-all routes (no match, or only `uri: {prefix: /}`) are
    ///   then moved to the end. Merging is a documented way to split a host
    ///   across teams, so it is flagged only when a route becomes unreachable:
    ///   a second catch-all (only the first one is ever used), or a route whose
    ///   matches all repeat another VirtualService's (which of the two wins
    ///   depends on creation order). The VirtualService whose routes are used
    ///   gets a finding too, naming the ones it shadows. A VirtualService counts only when the
    ///   Gateway, if it is in the analysed files, accepts the host from its
    ///   namespace (server hosts `ns/name`). TCP and TLS routes on gateways are
    ///   not examined.
    ///
    /// VirtualServices with the same name and namespace are one object written
    /// twice (`duplicate-object`). Objects without `metadata.namespace` are
    /// compared only with objects in the same file: such files are applied one at
    /// a time (`kubectl apply -n NS -f FILE`), and tutorial folders keep several
    /// alternative versions of one VirtualService side by side.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0109) flags every
    /// VirtualService of a conflicting set, checks sidecars only, and also treats
    /// overlapping wildcards as conflicts; Kiali (KIA1106) flags every
    /// VirtualService of a host per gateway even when the merge is clean, reads
    /// `reviews.bookinfo` as the service `reviews` (Istio does not), and applies
    /// Sidecar imports by the host's namespace where Istio selects
    /// VirtualServices by their own namespace (a Sidecar importing `./*` does
    /// import a VirtualService of its namespace for `kubernetes.default`). meshvet
    /// reports the VirtualServices of a conflict that actually loses routes, one
    /// finding per VirtualService and host, so one that wins for one host and
    /// loses for another has two findings where istioctl has one.
    ///
    /// ## Why is this bad?
    /// For sidecars, the routes of every VirtualService but one are silently
    /// dropped for that host: the canary split, the retry policy or the fault
    /// injection written there never happens, and which VirtualService wins can
    /// flip when one of them is re-created. On a gateway, a second catch-all or a
    /// repeated match can never be reached.
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
    ///     - destination: {host: reviews, subset: v1}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews-canary, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - match:
    ///     - headers: {x-canary: {exact: "true"}}
    ///     route:
    ///     - destination: {host: reviews, subset: v2}
    /// ```
    /// Use instead: one VirtualService per host for the mesh, with the canary
    /// match placed before the default route.
    pub ConflictingVirtualServices {
        name: "conflicting-virtual-services",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0109", "KIA1106"],
    }
}

/// Which proxies a VirtualService host is bound to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Binding {
    /// Sidecars (`mesh`).
    Mesh,
    /// A Gateway, as `namespace/name`.
    Gateway(String),
}

/// One host entry of one VirtualService.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    id: ObjId,
    host: usize,
}

/// A namespace name no object can have: stands for "any namespace not named in
/// the manifests".
const ELSEWHERE: &str = "*elsewhere*";

impl Rule for ConflictingVirtualServices {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut groups: BTreeMap<(Binding, String), Vec<Claim>> = BTreeMap::new();
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::VirtualService(vs) = &object.spec else {
                continue;
            };
            let ns = &object.meta.namespace;
            let mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g.value == "mesh");
            for (host, h) in vs.hosts.iter().enumerate() {
                let resolved = index.resolve_host(&h.value, ns);
                let claim = Claim { id, host };
                if mesh {
                    groups
                        .entry((Binding::Mesh, resolved.clone()))
                        .or_default()
                        .push(claim);
                }
                for g in vs.gateways.iter().filter(|g| g.value != "mesh") {
                    groups
                        .entry((
                            Binding::Gateway(gateway_key(&g.value, ns)),
                            resolved.clone(),
                        ))
                        .or_default()
                        .push(claim);
                }
            }
        }
        for ((binding, host), claims) in groups {
            let claims = distinct(index, claims);
            if claims.len() < 2 {
                continue;
            }
            match binding {
                Binding::Mesh => check_mesh(index, &host, &claims, out),
                Binding::Gateway(gw) => check_gateway(index, &gw, &host, &claims, out),
            }
        }
    }
}

/// `name` or `ns/name` as written in a VirtualService of `ns`, as `ns/name`.
fn gateway_key(reference: &str, ns: &str) -> String {
    if reference.contains('/') {
        reference.to_owned()
    } else {
        format!("{ns}/{reference}")
    }
}

/// One claim per VirtualService identity: a host listed twice, or an object
/// defined twice (`duplicate-object`), counts once.
fn distinct(index: &Index, claims: Vec<Claim>) -> Vec<Claim> {
    let mut seen = BTreeSet::new();
    claims
        .into_iter()
        .filter(|c| {
            let meta = &index.object(c.id).meta;
            seen.insert((meta.namespace.clone(), meta.name().to_owned()))
        })
        .collect()
}

fn vs_of(object: &Object) -> Option<&VirtualService> {
    match &object.spec {
        Spec::VirtualService(vs) => Some(vs),
        _ => None,
    }
}

fn shown(object: &Object) -> String {
    format!("`{}/{}`", object.meta.namespace, object.meta.name())
}

/// `ns/name`, without backticks (for [`backtick_list`]).
fn plain(object: &Object) -> String {
    format!("{}/{}", object.meta.namespace, object.meta.name())
}

fn host_shown(written: &str, resolved: &str) -> String {
    if written == resolved {
        format!("`{resolved}`")
    } else {
        format!("`{written}` (`{resolved}`)")
    }
}

/// Istio's order of VirtualServices for a proxy in `client`: exported privately
/// to it, then exported to it by name, then public; then oldest, which offline
/// means name, then namespace.
fn order_key<'a>(index: &Index, object: &'a Object, client: &str) -> (u8, &'a str, &'a str) {
    let ns = object.meta.namespace.as_str();
    let public = vs_of(object)
        .is_some_and(|vs| index.is_exported(&vs.export_to, "VirtualService", ns, ELSEWHERE));
    let rank = if public {
        2
    } else if ns == client {
        0
    } else {
        1
    };
    (rank, object.meta.name(), ns)
}

/// Who loses to whom, and for which client namespaces.
struct Loss {
    winner: Claim,
    clients: Vec<String>,
}

fn check_mesh(index: &Index, host: &str, claims: &[Claim], out: &mut Vec<Diagnostic>) {
    let mut clients: BTreeSet<String> = BTreeSet::new();
    for c in claims {
        let object = index.object(c.id);
        clients.insert(object.meta.namespace.clone());
        if let Some(vs) = vs_of(object) {
            for e in &vs.export_to {
                if !matches!(e.value.as_str(), "." | "*" | "~") {
                    clients.insert(e.value.clone());
                }
            }
        }
    }
    clients.insert(ELSEWHERE.to_owned());

    let mut losses: Vec<(Claim, Loss)> = Vec::new();
    for client in &clients {
        let mut visible: Vec<Claim> = claims
            .iter()
            .copied()
            .filter(|c| {
                let object = index.object(c.id);
                let ns = &object.meta.namespace;
                vs_of(object).is_some_and(|vs| {
                    index.is_exported(&vs.export_to, "VirtualService", ns, client)
                }) && index.sidecar_imports(client, ns, host)
            })
            .collect();
        visible.sort_by(|a, b| {
            order_key(index, index.object(a.id), client).cmp(&order_key(
                index,
                index.object(b.id),
                client,
            ))
        });
        for (i, loser) in visible.iter().enumerate().skip(1) {
            let loser_meta = &index.object(loser.id).meta;
            let Some(winner) = visible[..i]
                .iter()
                .find(|w| index.object(w.id).meta.applied_with(loser_meta))
            else {
                continue;
            };
            match losses.iter_mut().find(|(l, _)| l == loser) {
                Some((_, loss)) => loss.clients.push(client.clone()),
                None => losses.push((
                    *loser,
                    Loss {
                        winner: *winner,
                        clients: vec![client.clone()],
                    },
                )),
            }
        }
    }

    report_winners(index, host, &losses, out);

    for (loser, loss) in losses {
        let object = index.object(loser.id);
        let winner = index.object(loss.winner.id);
        let (Some(vs), Some(wvs)) = (vs_of(object), vs_of(winner)) else {
            continue;
        };
        let Some(h) = vs.hosts.get(loser.host) else {
            continue;
        };
        let scope = if loss.clients.iter().any(|c| c == ELSEWHERE) {
            String::new()
        } else {
            let names: Vec<&str> = loss.clients.iter().map(String::as_str).collect();
            let word = if names.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            };
            format!(" in {word} {}", backtick_list(&names, "and"))
        };
        let lost = match describe_routes(vs) {
            Some(routes) => format!("{routes} ignored for that host"),
            None => "this VirtualService is ignored for that host".to_owned(),
        };
        let message = format!(
            "host {} is also routed by VirtualService {} for sidecars, which use one VirtualService per host{scope}: {lost}",
            host_shown(&h.value, host),
            shown(winner),
        );
        let mut d = Diagnostic::new(&ConflictingVirtualServices::META, object.meta.file, h.span, message)
            .label("ignored by sidecars")
            .object(&object.meta)
            .path(object.meta.path(&format!("/spec/hosts/{}", loser.host)))
            .help(format!(
                "Keep the routes for `{host}` in one VirtualService, or limit each with `exportTo` so that no namespace sees both. Istio uses the oldest VirtualService (the first by name, then namespace, when both were created in the same second); this finding assumes name order."
            ));
        if let Some(wh) = wvs.hosts.get(loss.winner.host) {
            d = d.related(
                winner.meta.file,
                wh.span,
                "sidecars use this VirtualService for the host",
            );
        }
        out.push(d);
    }
}

/// The counterpart of each loss: a finding on the VirtualService sidecars use,
/// naming the ones they ignore because of it, so that a change to either file
/// shows the conflict. A VirtualService that itself loses for this host (in some
/// namespace) already has its finding and gets no second one.
fn report_winners(index: &Index, host: &str, losses: &[(Claim, Loss)], out: &mut Vec<Diagnostic>) {
    // Each winning claim, with the claims it hides and where.
    type Hidden<'a> = Vec<(Claim, &'a [String])>;
    let mut winners: Vec<(Claim, Hidden<'_>)> = Vec::new();
    for (loser, loss) in losses {
        if losses.iter().any(|(l, _)| l.id == loss.winner.id) {
            continue;
        }
        let entry = (*loser, loss.clients.as_slice());
        match winners.iter_mut().find(|(w, _)| w.id == loss.winner.id) {
            Some((_, ls)) => ls.push(entry),
            None => winners.push((loss.winner, vec![entry])),
        }
    }
    for (winner, lost) in winners {
        let object = index.object(winner.id);
        let Some(h) = vs_of(object).and_then(|vs| vs.hosts.get(winner.host)) else {
            continue;
        };
        let names: Vec<String> = lost
            .iter()
            .map(|(l, _)| plain(index.object(l.id)))
            .collect();
        let mut clients: BTreeSet<&str> = BTreeSet::new();
        for (_, cs) in &lost {
            clients.extend(cs.iter().map(String::as_str));
        }
        let scope = if clients.contains(ELSEWHERE) {
            String::new()
        } else {
            let names: Vec<&str> = clients.into_iter().collect();
            let word = if names.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            };
            format!(" in {word} {}", backtick_list(&names, "and"))
        };
        let (vs_word, their) = if names.len() == 1 {
            ("VirtualService", "its")
        } else {
            ("VirtualServices", "their")
        };
        let listed = backtick_list(&names, "and");
        let message = format!(
            "host {} is also routed by {vs_word} {listed} for sidecars, which use one VirtualService per host{scope}: they use this one, and {their} routes for that host are ignored",
            host_shown(&h.value, host),
        );
        let mut d = Diagnostic::new(&ConflictingVirtualServices::META, object.meta.file, h.span, message)
            .label("used by sidecars")
            .object(&object.meta)
            .path(object.meta.path(&format!("/spec/hosts/{}", winner.host)))
            .help(format!(
                "Keep the routes for `{host}` in one VirtualService (move those of {listed} here), or limit each with `exportTo` so that no namespace sees both. Istio uses the oldest VirtualService (the first by name, then namespace, when both were created in the same second); this finding assumes name order."
            ));
        for (l, _) in &lost {
            let o = index.object(l.id);
            if let Some(lh) = vs_of(o).and_then(|vs| vs.hosts.get(l.host)) {
                d = d.related(o.meta.file, lh.span, "ignored by sidecars for this host");
            }
        }
        out.push(d);
    }
}

/// "all 2 http routes and 1 tcp route of this VirtualService are" / "the http
/// route `name` of this VirtualService is"; `None` when it has no routes.
fn describe_routes(vs: &VirtualService) -> Option<String> {
    let total = vs.http.len() + vs.tcp.len() + vs.tls.len();
    if total == 0 {
        return None;
    }
    if total == 1 {
        let (kind, name) = match (vs.http.first(), vs.tcp.is_empty()) {
            (Some(r), _) => ("http", r.name.as_ref().map(|n| n.value.as_str())),
            (None, false) => ("tcp", None),
            (None, true) => ("tls", None),
        };
        let name = name.map(|n| format!(" `{n}`")).unwrap_or_default();
        return Some(format!("the {kind} route{name} of this VirtualService is"));
    }
    let kinds: Vec<(usize, &str)> = [
        (vs.http.len(), "http"),
        (vs.tcp.len(), "tcp"),
        (vs.tls.len(), "tls"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .collect();
    let all = if total == 2 {
        "both".to_owned()
    } else {
        format!("all {total}")
    };
    Some(match kinds.as_slice() {
        [(_, kind)] => format!("{all} {kind} routes of this VirtualService are"),
        _ => {
            let split: Vec<String> = kinds.iter().map(|(n, k)| format!("{n} {k}")).collect();
            format!(
                "{all} routes ({}) of this VirtualService are",
                split.join(", ")
            )
        }
    })
}

/// What the gateway keeps of one VirtualService's HTTP routes for one gateway.
struct Effective {
    claim: Claim,
    /// (index into `http`, is catch-all, match keys)
    routes: Vec<(usize, bool, Vec<String>)>,
}

fn check_gateway(index: &Index, gw: &str, host: &str, claims: &[Claim], out: &mut Vec<Diagnostic>) {
    let gateway = index.gateway(gw, "").map(|id| index.object(id));
    let gw_ns = match gateway {
        Some(g) => g.meta.namespace.clone(),
        None => gw.split_once('/').map_or("", |(n, _)| n).to_owned(),
    };
    let mut members: Vec<Claim> = claims
        .iter()
        .copied()
        .filter(|c| {
            let object = index.object(c.id);
            let ns = &object.meta.namespace;
            vs_of(object)
                .is_some_and(|vs| index.is_exported(&vs.export_to, "VirtualService", ns, &gw_ns))
                && gateway.is_none_or(|g| admits(g, ns, host))
        })
        .collect();
    members.sort_by(|a, b| {
        let (ma, mb) = (&index.object(a.id).meta, &index.object(b.id).meta);
        (ma.name(), &ma.namespace).cmp(&(mb.name(), &mb.namespace))
    });
    let effective: Vec<Effective> = members
        .iter()
        .filter_map(|c| {
            let object = index.object(c.id);
            let vs = vs_of(object)?;
            Some(Effective {
                claim: *c,
                routes: effective_routes(vs, &object.meta.namespace, gw),
            })
        })
        .collect();

    // For each VirtualService whose routes make another's unreachable: the
    // other, and the routes of this one that are used instead.
    let mut shadowing: Vec<(Claim, Claim, Vec<usize>)> = Vec::new();
    let mut reported: Vec<ObjId> = Vec::new();
    for (j, later) in effective.iter().enumerate() {
        let object = index.object(later.claim.id);
        let Some(vs) = vs_of(object) else {
            continue;
        };
        let earlier: Vec<&Effective> = effective[..j]
            .iter()
            .filter(|e| index.object(e.claim.id).meta.applied_with(&object.meta))
            .collect();
        if earlier.is_empty() {
            continue;
        }
        // A later catch-all: the first catch-all among earlier VirtualServices wins.
        let first_catch_all = earlier.iter().find_map(|e| {
            e.routes
                .iter()
                .find(|(_, catch_all, _)| *catch_all)
                .map(|(i, _, _)| (*e, *i))
        });
        let mut unreachable: Vec<(usize, String)> = Vec::new();
        let mut used: Vec<(Claim, usize)> = Vec::new();
        for (i, catch_all, keys) in &later.routes {
            if *catch_all {
                if let Some((e, wi)) = first_catch_all {
                    unreachable.push((
                        *i,
                        format!(
                            "is a catch-all, and the catch-all {} of {} comes first",
                            route_name(e_route(index, e, wi), wi),
                            shown(index.object(e.claim.id))
                        ),
                    ));
                    if !used.contains(&(e.claim, wi)) {
                        used.push((e.claim, wi));
                    }
                }
                continue;
            }
            if keys.is_empty() {
                continue;
            }
            let dup = earlier.iter().find_map(|e| {
                e.routes
                    .iter()
                    .find(|(_, c, ek)| !*c && keys.iter().all(|k| ek.contains(k)))
                    .map(|(wi, _, _)| (*e, *wi))
            });
            if let Some((e, wi)) = dup {
                unreachable.push((
                    *i,
                    format!(
                        "repeats the matches of {} of {}, and only one of the two is used",
                        route_name(e_route(index, e, wi), wi),
                        shown(index.object(e.claim.id))
                    ),
                ));
                if !used.contains(&(e.claim, wi)) {
                    used.push((e.claim, wi));
                }
            }
        }
        let Some(&(first_other, _)) = used.first() else {
            continue;
        };
        reported.push(later.claim.id);
        for (claim, wi) in &used {
            match shadowing
                .iter_mut()
                .find(|(c, l, _)| c.id == claim.id && l.id == later.claim.id)
            {
                Some((_, _, routes)) => routes.push(*wi),
                None => shadowing.push((*claim, later.claim, vec![*wi])),
            }
        }
        let Some(h) = vs.hosts.get(later.claim.host) else {
            continue;
        };
        let reasons: Vec<String> = unreachable
            .iter()
            .map(|(i, why)| format!("{} {why}", route_name(vs.http.get(*i), *i)))
            .collect();
        let message = format!(
            "host {} is also routed by VirtualService {} on gateway `{gw}`, where Istio merges their routes and some of this one's become unreachable: {}",
            host_shown(&h.value, host),
            shown(index.object(first_other.id)),
            reasons.join("; ")
        );
        let mut d = Diagnostic::new(&ConflictingVirtualServices::META, object.meta.file, h.span, message)
            .label(format!("merged on gateway `{gw}`"))
            .object(&object.meta)
            .path(object.meta.path(&format!("/spec/hosts/{}", later.claim.host)))
            .help(format!(
                "Give `{host}` a single catch-all and distinct matches across the VirtualServices bound to `{gw}` (Istio appends their routes in creation order, so which duplicate wins can change), or keep its routes in one VirtualService."
            ));
        let other_object = index.object(first_other.id);
        if let Some(eh) = vs_of(other_object).and_then(|v| v.hosts.get(first_other.host)) {
            d = d.related(
                other_object.meta.file,
                eh.span,
                "merged with this VirtualService on the gateway",
            );
        }
        for (claim, wi) in &used {
            let o = index.object(claim.id);
            if let Some(route) = vs_of(o).and_then(|v| v.http.get(*wi)) {
                d = d.related(o.meta.file, route_span(route), "this route is used");
            }
        }
        for (i, _) in &unreachable {
            if let Some(route) = vs.http.get(*i) {
                d = d.related(
                    object.meta.file,
                    route_span(route),
                    "unreachable after the merge",
                );
            }
        }
        out.push(d);
    }
    report_shadowing(index, gw, host, &shadowing, &reported, out);
}

/// The counterpart of each gateway finding: a finding on the VirtualService
/// whose routes are used, naming the VirtualServices whose routes become
/// unreachable because of them. One per VirtualService, and none for one that
/// already has a finding of its own for this host and gateway.
fn report_shadowing(
    index: &Index,
    gw: &str,
    host: &str,
    shadowing: &[(Claim, Claim, Vec<usize>)],
    reported: &[ObjId],
    out: &mut Vec<Diagnostic>,
) {
    let mut done: Vec<ObjId> = Vec::new();
    for (claim, _, _) in shadowing {
        if reported.contains(&claim.id) || done.contains(&claim.id) {
            continue;
        }
        done.push(claim.id);
        let object = index.object(claim.id);
        let Some(vs) = vs_of(object) else {
            continue;
        };
        let Some(h) = vs.hosts.get(claim.host) else {
            continue;
        };
        let mine: Vec<&(Claim, Claim, Vec<usize>)> = shadowing
            .iter()
            .filter(|(c, _, _)| c.id == claim.id)
            .collect();
        let others: Vec<String> = mine
            .iter()
            .map(|(_, later, _)| plain(index.object(later.id)))
            .collect();
        let mut routes: Vec<usize> = mine
            .iter()
            .flat_map(|(_, _, r)| r.iter().copied())
            .collect();
        routes.sort_unstable();
        routes.dedup();
        let route_names: Vec<String> = routes
            .iter()
            .map(|i| {
                vs.http
                    .get(*i)
                    .and_then(|r| r.name.as_ref())
                    .map_or_else(|| format!("http[{i}]"), |n| n.value.clone())
            })
            .collect();
        let (vs_word, their) = if others.len() == 1 {
            ("VirtualService", "its")
        } else {
            ("VirtualServices", "their")
        };
        let listed = backtick_list(&others, "and");
        let (routes_word, verb) = if route_names.len() == 1 {
            ("route", "is")
        } else {
            ("routes", "are")
        };
        let message = format!(
            "host {} is also routed by {vs_word} {listed} on gateway `{gw}`, where Istio merges their routes: {routes_word} {} of this one {verb} used, and {their} routes that repeat {} or add a second catch-all are unreachable",
            host_shown(&h.value, host),
            backtick_list(&route_names, "and"),
            if route_names.len() == 1 {
                "its matches"
            } else {
                "their matches"
            },
        );
        let mut d = Diagnostic::new(&ConflictingVirtualServices::META, object.meta.file, h.span, message)
            .label(format!("merged on gateway `{gw}`"))
            .object(&object.meta)
            .path(object.meta.path(&format!("/spec/hosts/{}", claim.host)))
            .help(format!(
                "Give `{host}` a single catch-all and distinct matches across the VirtualServices bound to `{gw}` (Istio appends their routes in creation order, so which duplicate wins can change), or keep its routes in one VirtualService."
            ));
        for i in &routes {
            if let Some(route) = vs.http.get(*i) {
                d = d.related(object.meta.file, route_span(route), "this route is used");
            }
        }
        for (_, later, _) in &mine {
            let o = index.object(later.id);
            if let Some(lh) = vs_of(o).and_then(|v| v.hosts.get(later.host)) {
                d = d.related(
                    o.meta.file,
                    lh.span,
                    "some of its routes are unreachable after the merge",
                );
            }
        }
        out.push(d);
    }
}

/// True when some server of Gateway `g` accepts `host` from a VirtualService in
/// `vs_ns`: a server host `[ns/]dnsName` whose namespace part is absent, `*`,
/// `.` (the Gateway's namespace) or `vs_ns`, and whose name covers the host.
fn admits(g: &Object, vs_ns: &str, host: &str) -> bool {
    let Spec::Gateway(gateway) = &g.spec else {
        return true;
    };
    gateway.servers.iter().flat_map(|s| &s.hosts).any(|entry| {
        let (ns, dns) = entry.value.split_once('/').unwrap_or(("*", &entry.value));
        let ns_ok = match ns {
            "*" => true,
            "." => g.meta.namespace == vs_ns,
            other => other == vs_ns,
        };
        ns_ok && (crate::host::matches(dns, host) || crate::host::matches(host, dns))
    })
}

fn e_route<'a>(index: &'a Index, e: &Effective, i: usize) -> Option<&'a HttpRoute> {
    vs_of(index.object(e.claim.id)).and_then(|vs| vs.http.get(i))
}

/// `` `name` `` for a named route, else `` `http[i]` ``; "route" prefixed.
fn route_name(route: Option<&HttpRoute>, i: usize) -> String {
    match route.and_then(|r| r.name.as_ref()) {
        Some(n) => format!("route `{}`", n.value),
        None => format!("route `http[{i}]`"),
    }
}

/// A one-line span for a route: its name, its `match` key, or its first destination.
fn route_span(route: &HttpRoute) -> Span {
    route
        .name
        .as_ref()
        .map(|n| n.span)
        .or(route.match_key)
        .or_else(|| route.route.first().map(|r| r.destination.span))
        .unwrap_or(route.span)
}

/// The HTTP routes a gateway builds from one VirtualService: routes whose matches
/// all name other gateways are left out, and nothing after the first catch-all
/// is built.
fn effective_routes(vs: &VirtualService, vs_ns: &str, gw: &str) -> Vec<(usize, bool, Vec<String>)> {
    let mut out = Vec::new();
    for (i, route) in vs.http.iter().enumerate() {
        if route.delegate.is_some() {
            continue;
        }
        let applicable: Vec<&HttpMatch> = route
            .matches
            .iter()
            .filter(|m| {
                m.gateways.is_empty()
                    || m.gateways
                        .iter()
                        .any(|g| g.value != "mesh" && gateway_key(&g.value, vs_ns) == gw)
            })
            .collect();
        if !route.matches.is_empty() && applicable.is_empty() {
            continue;
        }
        let catch_all = route.matches.is_empty() || applicable.iter().any(|m| is_catch_all(m));
        let keys = applicable.iter().map(|m| match_key(m)).collect();
        out.push((i, catch_all, keys));
        if catch_all {
            break;
        }
    }
    out
}

/// A match that Envoy sees as matching every request: no condition but
/// `uri: {prefix: /}` (or a `.*` regex).
fn is_catch_all(m: &HttpMatch) -> bool {
    let uri_all = match &m.uri {
        None => true,
        Some(u) => matches!(
            (u.kind, u.value.as_ref().map(|v| v.value.as_str())),
            (Some(crate::model::MatchKind::Prefix), Some("/"))
                | (Some(crate::model::MatchKind::Regex), Some(".*" | "/.*"))
        ),
    };
    uri_all
        && m.scheme.is_none()
        && m.method.is_none()
        && m.authority.is_none()
        && m.headers.is_empty()
        && m.without_headers.is_empty()
        && m.query_params.is_empty()
        && m.port.is_none()
        && m.source_labels.map.is_empty()
        && m.source_namespace.is_none()
}

/// A canonical text of a match's conditions (not its name or gateways).
fn match_key(m: &HttpMatch) -> String {
    fn sm(s: &Option<StringMatch>) -> String {
        s.as_ref()
            .map(|s| {
                format!(
                    "{:?}:{}",
                    s.kind,
                    s.value.as_ref().map_or("", |v| v.value.as_str())
                )
            })
            .unwrap_or_default()
    }
    fn named(list: &[NamedMatch]) -> String {
        let mut v: Vec<String> = list
            .iter()
            .map(|n| format!("{}={}", n.name.value, sm(&Some(n.matcher.clone()))))
            .collect();
        v.sort();
        v.join(",")
    }
    format!(
        "uri={}|scheme={}|method={}|authority={}|headers={}|without={}|query={}|port={:?}|labels={}|srcns={:?}|icase={:?}",
        sm(&m.uri),
        sm(&m.scheme),
        sm(&m.method),
        sm(&m.authority),
        named(&m.headers),
        named(&m.without_headers),
        named(&m.query_params),
        m.port.as_ref().map(|p| p.value),
        m.source_labels.render(),
        m.source_namespace.as_ref().map(|s| &s.value),
        m.ignore_uri_case.as_ref().map(|b| b.value),
    )
}
