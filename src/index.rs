//! The cross-namespace index: every object's facts, looked up by host, name,
//! namespace and label, and the graph of relations between objects.
//!
//! Lookups are hash maps keyed by resolved host or (namespace, label); label
//! selection intersects posting lists, so building and querying the index is
//! linear in the number of objects, never pairwise. Relations that rules walk
//! (Service → workloads it selects, autoscaler → workload, VirtualService →
//! Gateway) are edges of a petgraph graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::host;
use crate::model::{Labels, Object, ObjectKey, SStr, Spec, Subset};
use crate::settings::Settings;

/// Position of an object in [`Index::objects`].
pub type ObjId = usize;

/// How two objects are related in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// A Service selects the pods of a workload.
    Selects,
    /// An autoscaler scales a workload.
    Scales,
    /// A VirtualService is bound to a Gateway.
    BindsTo,
}

/// The pods behind a host (or one subset of it), as far as the manifests say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Workloads selected by the Service selector combined with the subset labels.
    pub workloads: Vec<ObjId>,
    /// Total pods: each workload's replicas, or its autoscaler's `minReplicas`
    /// (the fewest pods it can run with); `None` when some count is not fixed by
    /// the manifests (a DaemonSet, a Job).
    pub pods: Option<i64>,
}

/// Which step of Istio's DestinationRule lookup found the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LookupTier {
    /// The client's own namespace.
    Client,
    /// The namespace of the service the host belongs to.
    Service,
    /// The mesh root namespace.
    Root,
}

/// The DestinationRules Istio applies to traffic for one host from one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRuleLookup {
    /// The namespace they were found in.
    pub namespace: String,
    /// Which lookup step found them.
    pub tier: LookupTier,
    /// The host pattern they were written for (exact host, or the most specific wildcard).
    pub pattern: String,
    /// The rules, merged in this order (first definition of a subset wins).
    pub rules: Vec<ObjId>,
}

#[derive(Debug, Default)]
struct NamespaceRules {
    exact: HashMap<String, Vec<ObjId>>,
    wildcard: Vec<(String, ObjId)>,
}

/// The cross-namespace index over every object of the run.
#[derive(Debug)]
pub struct Index {
    settings: Settings,
    objects: Vec<Object>,
    by_key: HashMap<ObjectKey, Vec<ObjId>>,
    by_name: HashMap<(String, String), Vec<ObjId>>,
    services: HashMap<String, Vec<ObjId>>,
    services_by_name: HashMap<String, Vec<ObjId>>,
    entry_hosts: HashMap<String, Vec<ObjId>>,
    entry_wildcards: Vec<(String, ObjId)>,
    destination_rules: HashMap<String, NamespaceRules>,
    virtual_services: HashMap<String, Vec<ObjId>>,
    gateways: HashMap<(String, String), ObjId>,
    workload_labels: HashMap<(String, String, String), Vec<ObjId>>,
    workload_labels_anywhere: HashMap<(String, String), Vec<ObjId>>,
    namespaces: BTreeSet<String>,
    default_export_to: ExportDefaults,
    graph: DiGraph<ObjId, Relation>,
    nodes: Vec<NodeIndex>,
    default_sidecars: HashMap<String, ObjId>,
}

/// Mesh-wide `exportTo` defaults (MeshConfig `default*ExportTo`); empty means `*`.
#[derive(Debug, Clone, Default)]
struct ExportDefaults {
    virtual_service: Vec<String>,
    destination_rule: Vec<String>,
    service: Vec<String>,
}

impl Index {
    /// Builds the index over `objects` (in analysis order: files sorted, documents in order).
    pub fn build(objects: Vec<Object>, settings: &Settings) -> Index {
        let mut settings = settings.clone();
        let mut defaults = ExportDefaults::default();
        if let Some(mesh) = objects.iter().find_map(|o| match &o.spec {
            Spec::MeshConfig(m) => Some(m),
            _ => None,
        }) {
            if let Some(root) = &mesh.root_namespace {
                settings.root_namespace = root.clone();
            }
            defaults.virtual_service = mesh.default_virtual_service_export_to.clone();
            defaults.destination_rule = mesh.default_destination_rule_export_to.clone();
            defaults.service = mesh.default_service_export_to.clone();
        }
        let mut index = Index {
            settings,
            objects: Vec::new(),
            by_key: HashMap::new(),
            by_name: HashMap::new(),
            services: HashMap::new(),
            services_by_name: HashMap::new(),
            entry_hosts: HashMap::new(),
            entry_wildcards: Vec::new(),
            destination_rules: HashMap::new(),
            virtual_services: HashMap::new(),
            gateways: HashMap::new(),
            workload_labels: HashMap::new(),
            workload_labels_anywhere: HashMap::new(),
            namespaces: BTreeSet::new(),
            default_export_to: defaults,
            graph: DiGraph::new(),
            nodes: Vec::new(),
            default_sidecars: HashMap::new(),
        };
        for (id, object) in objects.iter().enumerate() {
            index.add(id, object);
        }
        index.objects = objects;
        index.link();
        index
    }

    fn add(&mut self, id: ObjId, object: &Object) {
        let meta = &object.meta;
        let ns = meta.namespace.clone();
        let domain = self.settings.cluster_domain.clone();
        self.nodes.push(self.graph.add_node(id));
        self.by_key.entry(meta.key()).or_default().push(id);
        self.by_name
            .entry((ns.clone(), meta.name().to_owned()))
            .or_default()
            .push(id);
        if !ns.is_empty() {
            self.namespaces.insert(ns.clone());
        }
        match &object.spec {
            Spec::Namespace => {
                self.namespaces.insert(meta.name().to_owned());
            }
            Spec::Service(_) => {
                let fqdn = host::service_fqdn(meta.name(), &ns, &domain);
                self.services.entry(fqdn).or_default().push(id);
                self.services_by_name
                    .entry(meta.name().to_owned())
                    .or_default()
                    .push(id);
            }
            Spec::ServiceEntry(se) => {
                for h in &se.hosts {
                    let resolved = host::resolve(&h.value, &ns, &domain);
                    if host::is_wildcard(&resolved) {
                        self.entry_wildcards.push((resolved, id));
                    } else {
                        self.entry_hosts.entry(resolved).or_default().push(id);
                    }
                }
            }
            Spec::DestinationRule(dr) => {
                if let Some(h) = &dr.host {
                    let resolved = host::resolve(&h.value, &ns, &domain);
                    let rules = self.destination_rules.entry(ns).or_default();
                    if host::is_wildcard(&resolved) {
                        rules.wildcard.push((resolved, id));
                    } else {
                        rules.exact.entry(resolved).or_default().push(id);
                    }
                }
            }
            Spec::VirtualService(vs) => {
                for h in &vs.hosts {
                    let resolved = host::resolve(&h.value, &ns, &domain);
                    self.virtual_services.entry(resolved).or_default().push(id);
                }
            }
            Spec::Gateway(_) => {
                self.gateways.insert((ns, meta.name().to_owned()), id);
            }
            // A VirtualService may bind to a Gateway API Gateway by its name; an
            // Istio Gateway of the same name takes precedence.
            Spec::KubernetesGateway(_) => {
                self.gateways
                    .entry((ns, meta.name().to_owned()))
                    .or_insert(id);
            }
            Spec::Sidecar(sc) if sc.workload_selector.is_none() => {
                self.default_sidecars.entry(ns).or_insert(id);
            }
            Spec::Workload(w) => {
                for (k, v) in &w.pod_labels.map {
                    self.workload_labels_anywhere
                        .entry((k.clone(), v.clone()))
                        .or_default()
                        .push(id);
                    self.workload_labels
                        .entry((ns.clone(), k.clone(), v.clone()))
                        .or_default()
                        .push(id);
                }
            }
            _ => {}
        }
    }

    /// Adds the graph's edges once every object is indexed.
    fn link(&mut self) {
        let mut edges = Vec::new();
        for (id, object) in self.objects.iter().enumerate() {
            let ns = &object.meta.namespace;
            match &object.spec {
                Spec::Service(svc) => {
                    if let Some(selector) = &svc.selector {
                        for w in self.workloads_matching(ns, selector) {
                            edges.push((id, w, Relation::Selects));
                        }
                    }
                }
                Spec::Autoscaler(hpa) => {
                    let target = hpa.target_name.as_ref().map(|n| n.value.as_str());
                    let kind = hpa.target_kind.as_ref().map(|k| k.value.as_str());
                    for w in self.objects_named(ns, target.unwrap_or("")) {
                        let o = &self.objects[w];
                        if matches!(o.spec, Spec::Workload(_)) && Some(o.meta.kind.as_str()) == kind
                        {
                            edges.push((id, w, Relation::Scales));
                        }
                    }
                }
                Spec::VirtualService(vs) => {
                    for g in &vs.gateways {
                        if let Some(gw) = self.gateway(&g.value, ns) {
                            edges.push((id, gw, Relation::BindsTo));
                        }
                    }
                }
                _ => {}
            }
        }
        for (from, to, rel) in edges {
            self.graph.add_edge(self.nodes[from], self.nodes[to], rel);
        }
    }

    /// The interpretation settings in force (root namespace from the mesh config, if any).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Every object, in analysis order.
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// One object.
    pub fn object(&self, id: ObjId) -> &Object {
        &self.objects[id]
    }

    /// Objects sharing one identity (group, kind, namespace, name), in analysis order.
    pub fn by_identity(&self) -> impl Iterator<Item = (&ObjectKey, &[ObjId])> {
        self.by_key.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// Every namespace seen: declared by a Namespace object or used by an object.
    pub fn namespaces(&self) -> &BTreeSet<String> {
        &self.namespaces
    }

    /// Expands a host written in an object of namespace `ns`.
    pub fn resolve_host(&self, h: &str, ns: &str) -> String {
        host::resolve(h, ns, &self.settings.cluster_domain)
    }

    /// Services whose FQDN is `fqdn`.
    pub fn services(&self, fqdn: &str) -> &[ObjId] {
        self.services.get(fqdn).map_or(&[], Vec::as_slice)
    }

    /// Services named `name`, in any namespace.
    pub fn services_named(&self, name: &str) -> &[ObjId] {
        self.services_by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// ServiceEntries declaring `h` (exactly, or through a wildcard host).
    pub fn service_entries(&self, h: &str) -> Vec<ObjId> {
        let mut out: Vec<ObjId> = self.entry_hosts.get(h).cloned().unwrap_or_default();
        out.extend(
            self.entry_wildcards
                .iter()
                .filter(|(pattern, _)| host::matches(pattern, h))
                .map(|(_, id)| *id),
        );
        out.sort_unstable();
        out.dedup();
        out
    }

    /// VirtualServices whose hosts include `h` (resolved).
    pub fn virtual_services(&self, h: &str) -> &[ObjId] {
        self.virtual_services.get(h).map_or(&[], Vec::as_slice)
    }

    /// The Gateway a VirtualService in `ns` means by `reference` (see [`gateway_reference`]).
    pub fn gateway(&self, reference: &str, ns: &str) -> Option<ObjId> {
        self.gateways
            .get(&gateway_reference(reference, ns))
            .copied()
    }

    /// Objects of any kind named `name` in `ns`, in analysis order.
    pub fn objects_named(&self, ns: &str, name: &str) -> Vec<ObjId> {
        self.by_name
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Workloads in any namespace whose pod labels include every label of `selector`
    /// (how a Gateway's selector finds its pods); empty selectors select nothing.
    pub fn workloads_matching_anywhere(&self, selector: &Labels) -> Vec<ObjId> {
        let mut lists: Vec<&Vec<ObjId>> = Vec::with_capacity(selector.map.len());
        for (k, v) in &selector.map {
            match self.workload_labels_anywhere.get(&(k.clone(), v.clone())) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        intersect(lists)
    }

    /// Workloads in `ns` whose pod labels include every label of `selector`.
    ///
    /// An empty selector selects nothing (a Service with `selector: {}` gets no endpoints).
    pub fn workloads_matching(&self, ns: &str, selector: &Labels) -> Vec<ObjId> {
        let mut lists: Vec<&Vec<ObjId>> = Vec::with_capacity(selector.map.len());
        for (k, v) in &selector.map {
            match self
                .workload_labels
                .get(&(ns.to_owned(), k.clone(), v.clone()))
            {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        intersect(lists)
    }

    /// The pods behind Kubernetes service host `h`, optionally narrowed to a subset's
    /// labels: workloads whose pod labels satisfy the Service selector and the
    /// subset labels together. `None` when no Service with a selector has that host.
    pub fn endpoints(&self, h: &str, subset_labels: Option<&Labels>) -> Option<Endpoints> {
        let mut workloads = Vec::new();
        let mut any_service = false;
        for id in self.services(h) {
            let object = &self.objects[*id];
            let Spec::Service(svc) = &object.spec else {
                continue;
            };
            let Some(selector) = &svc.selector else {
                continue;
            };
            any_service = true;
            let mut combined = selector.clone();
            let mut conflict = false;
            for (k, v) in subset_labels.map(|l| &l.map).into_iter().flatten() {
                match combined.map.get(k) {
                    Some(existing) if existing != v => conflict = true,
                    _ => {
                        combined.map.insert(k.clone(), v.clone());
                    }
                }
            }
            if !conflict {
                workloads.extend(self.workloads_matching(&object.meta.namespace, &combined));
            }
        }
        if !any_service {
            return None;
        }
        workloads.sort_unstable();
        workloads.dedup();
        let pods = workloads
            .iter()
            .try_fold(0i64, |sum, w| Some(sum.saturating_add(self.pods_of(*w)?)));
        Some(Endpoints { workloads, pods })
    }

    /// The fewest pods a workload runs with: its autoscaler's `minReplicas` (default
    /// 1) when one targets it, else its declared replicas.
    pub fn pods_of(&self, workload: ObjId) -> Option<i64> {
        let scalers = self.related_to(workload, Relation::Scales);
        if let Some(hpa) = scalers.first()
            && let Spec::Autoscaler(a) = &self.objects[*hpa].spec
        {
            return Some(a.min_replicas.as_ref().map_or(1, |m| m.value));
        }
        match &self.objects[workload].spec {
            Spec::Workload(w) => w.replicas.as_ref().map(|r| r.value),
            _ => None,
        }
    }

    /// Targets of `relation` edges leaving `from`, in analysis order.
    pub fn related(&self, from: ObjId, relation: Relation) -> Vec<ObjId> {
        let mut out: Vec<ObjId> = self
            .graph
            .edges(self.nodes[from])
            .filter(|e| *e.weight() == relation)
            .map(|e| self.graph[e.target()])
            .collect();
        out.sort_unstable();
        out
    }

    /// Sources of `relation` edges arriving at `to`, in analysis order.
    pub fn related_to(&self, to: ObjId, relation: Relation) -> Vec<ObjId> {
        let mut out: Vec<ObjId> = self
            .graph
            .edges_directed(self.nodes[to], petgraph::Direction::Incoming)
            .filter(|e| *e.weight() == relation)
            .map(|e| self.graph[e.source()])
            .collect();
        out.sort_unstable();
        out
    }

    /// True when an object exported with `export_to` from `owner_ns` is visible in `client_ns`.
    ///
    /// `*` exports everywhere, `.` to the owner's namespace, `~` nowhere; an empty
    /// list means the mesh default for the kind (itself `*` unless configured).
    pub fn is_exported(
        &self,
        export_to: &[SStr],
        kind: &str,
        owner_ns: &str,
        client_ns: &str,
    ) -> bool {
        let defaults = match kind {
            "VirtualService" => &self.default_export_to.virtual_service,
            "DestinationRule" => &self.default_export_to.destination_rule,
            _ => &self.default_export_to.service,
        };
        let entries: Vec<&str> = if export_to.is_empty() {
            defaults.iter().map(String::as_str).collect()
        } else {
            export_to.iter().map(|e| e.value.as_str()).collect()
        };
        if entries.is_empty() {
            return true;
        }
        entries.iter().any(|e| match *e {
            "*" => true,
            "." => owner_ns == client_ns,
            "~" => false,
            ns => ns == client_ns,
        })
    }

    /// Namespaces of the services behind `h`, as Istio's lookup uses them: the
    /// namespace of a Kubernetes service FQDN, and of ServiceEntries declaring the host.
    pub fn service_namespaces(&self, h: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((_, ns)) = host::service_parts(h, &self.settings.cluster_domain) {
            out.push(ns.to_owned());
        }
        for id in self.service_entries(h) {
            let ns = &self.objects[id].meta.namespace;
            if !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }

    /// The DestinationRules Istio applies to traffic for host `h` from a proxy in
    /// `client_ns`: the first of the client's namespace, the service's namespace and
    /// the root namespace that has a rule for the host (exact host before the most
    /// specific wildcard). Rules outside the client's namespace count only when
    /// exported to it; a rule with a workload selector only in its own namespace.
    pub fn destination_rules_for(&self, h: &str, client_ns: &str) -> Option<DestinationRuleLookup> {
        let mut tiers: Vec<(LookupTier, String)> = vec![(LookupTier::Client, client_ns.to_owned())];
        for ns in self.service_namespaces(h) {
            tiers.push((LookupTier::Service, ns));
        }
        tiers.push((LookupTier::Root, self.settings.root_namespace.clone()));
        let mut seen = BTreeSet::new();
        for (tier, ns) in tiers {
            if !seen.insert(ns.clone()) {
                continue;
            }
            if let Some((pattern, rules)) = self.rules_in_namespace(&ns, h, client_ns) {
                return Some(DestinationRuleLookup {
                    namespace: ns,
                    tier,
                    pattern,
                    rules,
                });
            }
        }
        None
    }

    fn rules_in_namespace(
        &self,
        ns: &str,
        h: &str,
        client_ns: &str,
    ) -> Option<(String, Vec<ObjId>)> {
        let rules = self.destination_rules.get(ns)?;
        // semantics.md §6: the client namespace's rules count when visible there
        // (a rule exported only to other namespaces is not); a rule with a workload
        // selector is private to its own namespace.
        let applies = |id: &ObjId| match &self.objects[*id].spec {
            Spec::DestinationRule(dr) => {
                (ns == client_ns || dr.workload_selector.is_none())
                    && self.is_exported(&dr.export_to, "DestinationRule", ns, client_ns)
            }
            _ => false,
        };
        if let Some(ids) = rules.exact.get(h) {
            let ids: Vec<ObjId> = ids.iter().copied().filter(applies).collect();
            if !ids.is_empty() {
                return Some((h.to_owned(), ids));
            }
        }
        let best = rules
            .wildcard
            .iter()
            .filter(|(pattern, id)| host::matches(pattern, h) && applies(id))
            .map(|(pattern, _)| pattern.len())
            .max()?;
        let mut pattern = String::new();
        let ids = rules
            .wildcard
            .iter()
            .filter(|(p, id)| p.len() == best && host::matches(p, h) && applies(id))
            .map(|(p, id)| {
                pattern.clone_from(p);
                *id
            })
            .collect();
        Some((pattern, ids))
    }

    /// Every DestinationRule, in any namespace, whose host covers `h`, in analysis order.
    pub fn destination_rules_covering(&self, h: &str) -> Vec<ObjId> {
        let mut out: Vec<ObjId> = self
            .destination_rules
            .values()
            .flat_map(|rules| {
                rules.exact.get(h).into_iter().flatten().copied().chain(
                    rules
                        .wildcard
                        .iter()
                        .filter(|(p, _)| host::matches(p, h))
                        .map(|(_, id)| *id),
                )
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The subsets the given rules declare once merged: by name, first definition wins.
    pub fn merged_subsets<'a>(&'a self, rules: &[ObjId]) -> BTreeMap<&'a str, (ObjId, &'a Subset)> {
        let mut out = BTreeMap::new();
        for id in rules {
            if let Spec::DestinationRule(dr) = &self.objects[*id].spec {
                for subset in &dr.subsets {
                    if let Some(name) = &subset.name {
                        out.entry(name.value.as_str()).or_insert((*id, subset));
                    }
                }
            }
        }
        out
    }

    /// True when proxies in `client_ns` import configuration for `h` that lives in
    /// (or, for services, belongs to) namespace `owner_ns`, as far as the Sidecar
    /// resource of the namespace says: the selector-less Sidecar of `client_ns`,
    /// else that of the root namespace. Without one, or without egress hosts,
    /// everything is imported. An egress host `ns/dnsName` imports `h` when `ns` is
    /// `*`, `.` (the client's namespace) or `owner_ns`, and `dnsName` covers `h`.
    pub fn sidecar_imports(&self, client_ns: &str, owner_ns: &str, h: &str) -> bool {
        let id = self
            .default_sidecars
            .get(client_ns)
            .or_else(|| self.default_sidecars.get(&self.settings.root_namespace));
        let Some(Spec::Sidecar(sc)) = id.map(|id| &self.objects[*id].spec) else {
            return true;
        };
        let hosts: Vec<&str> = sc
            .egress
            .iter()
            .flat_map(|e| e.hosts.iter().map(|h| h.value.as_str()))
            .collect();
        if hosts.is_empty() {
            return true;
        }
        hosts.iter().any(|entry| {
            let Some((ns, dns)) = entry.split_once('/') else {
                return false;
            };
            let ns_ok = match ns {
                "*" => true,
                "." => owner_ns == client_ns,
                "~" => false,
                other => other == owner_ns,
            };
            ns_ok && (host::matches(dns, h) || host::matches(h, dns))
        })
    }

    /// True when Service or ServiceEntry `id` is visible to proxies in `client_ns`:
    /// its `exportTo` (a Service's `networking.istio.io/exportTo` annotation, or the
    /// mesh's `defaultServiceExportTo` when it gives none) includes that namespace.
    /// Objects of other kinds are always visible.
    pub fn is_visible_to(&self, id: ObjId, client_ns: &str) -> bool {
        let object = &self.objects[id];
        let owner = object.meta.namespace.as_str();
        let mut entries: Vec<&str> = match &object.spec {
            Spec::Service(svc) => svc.export_to.iter().map(String::as_str).collect(),
            Spec::ServiceEntry(se) => se.export_to.iter().map(|e| e.value.as_str()).collect(),
            _ => return true,
        };
        if entries.is_empty() {
            entries = self
                .default_export_to
                .service
                .iter()
                .map(String::as_str)
                .collect();
        }
        entries.is_empty()
            || entries.iter().any(|e| match *e {
                "*" => true,
                "." => owner == client_ns,
                "~" => false,
                ns => ns == client_ns,
            })
    }
}

/// The (namespace, name) a VirtualService in `ns` means by a gateway `reference`,
/// read the way istiod reads it: `ns/name`; `./name` (own namespace); a bare
/// `name` (own namespace); or the legacy dotted form `name.ns[.svc.cluster.local]`,
/// whose second label is the namespace.
pub fn gateway_reference(reference: &str, ns: &str) -> (String, String) {
    if let Some((gw_ns, name)) = reference.split_once('/') {
        let gw_ns = if gw_ns == "." { ns } else { gw_ns };
        return (gw_ns.to_owned(), name.to_owned());
    }
    match reference.split_once('.') {
        Some((name, rest)) => {
            let gw_ns = rest.split('.').next().unwrap_or(rest);
            (gw_ns.to_owned(), name.to_owned())
        }
        None => (ns.to_owned(), reference.to_owned()),
    }
}

/// Ids present in every list (posting-list intersection, shortest list first).
fn intersect(mut lists: Vec<&Vec<ObjId>>) -> Vec<ObjId> {
    lists.sort_by_key(|l| l.len());
    let Some((first, rest)) = lists.split_first() else {
        return Vec::new();
    };
    let rest: Vec<std::collections::HashSet<ObjId>> =
        rest.iter().map(|l| l.iter().copied().collect()).collect();
    let mut out: Vec<ObjId> = first
        .iter()
        .copied()
        .filter(|id| rest.iter().all(|l| l.contains(id)))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{SpanMapper, parse_file};
    use crate::model::node::Node;
    use crate::model::{DocumentContent, ModelOptions, read_document};
    use crate::source::{FileId, SourceFile};

    fn index(text: &str) -> Index {
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
        Index::build(objects, &Settings::default())
    }

    const DRS: &str = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: b}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-private, namespace: c}
spec:
  host: reviews.b.svc.cluster.local
  exportTo: [.]
  subsets: [{name: v9}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all, namespace: istio-system}
spec:
  host: '*.cluster.local'
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: b}
spec:
  replicas: 3
  template: {metadata: {labels: {app: reviews, version: v1}}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: b}
spec:
  selector: {app: reviews}
";

    #[test]
    fn lookup_goes_client_then_service_then_root() {
        let idx = index(DRS);
        let h = "reviews.b.svc.cluster.local";
        let from_a = idx
            .destination_rules_for(h, "a")
            .expect("service namespace rule");
        assert_eq!(
            (from_a.namespace.as_str(), from_a.tier),
            ("b", LookupTier::Service)
        );
        let from_c = idx
            .destination_rules_for(h, "c")
            .expect("client namespace rule");
        assert_eq!(from_c.tier, LookupTier::Client);
        let other = idx
            .destination_rules_for("ratings.d.svc.cluster.local", "a")
            .expect("root wildcard");
        assert_eq!(
            (other.tier, other.pattern.as_str()),
            (LookupTier::Root, "*.cluster.local")
        );
        assert_eq!(idx.destination_rules_covering(h).len(), 3);
    }

    #[test]
    fn endpoints_combine_selector_and_subset_labels_and_respect_autoscalers() {
        let extra = "
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: b}
spec:
  replicas: 2
  template: {metadata: {labels: {app: reviews, version: v2}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reviews-v2, namespace: b}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reviews-v2}
  minReplicas: 4
  maxReplicas: 10
";
        let idx = index(&format!("{DRS}{extra}"));
        let h = "reviews.b.svc.cluster.local";
        assert_eq!(idx.endpoints(h, None).and_then(|e| e.pods), Some(7));
        let mut v1 = Labels::default();
        v1.map.insert("version".into(), "v1".into());
        assert_eq!(
            idx.endpoints(h, Some(&v1))
                .map(|e| (e.workloads.len(), e.pods)),
            Some((1, Some(3)))
        );
        let mut none = Labels::default();
        none.map.insert("version".into(), "v9".into());
        assert_eq!(idx.endpoints(h, Some(&none)).and_then(|e| e.pods), Some(0));
        assert_eq!(idx.endpoints("unknown.b.svc.cluster.local", None), None);
    }

    #[test]
    fn a_rule_exported_only_elsewhere_does_not_apply_in_its_own_namespace() {
        let idx = index(
            "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r, namespace: c}
spec: {host: reviews.b.svc.cluster.local, exportTo: [d]}
",
        );
        let h = "reviews.b.svc.cluster.local";
        assert_eq!(idx.destination_rules_for(h, "c"), None);
        assert!(
            idx.destination_rules_for(h, "d").is_none(),
            "third-namespace rules never apply"
        );
    }

    #[test]
    fn services_select_workloads_through_the_graph() {
        let idx = index(DRS);
        let svc = idx.services("reviews.b.svc.cluster.local")[0];
        let selected = idx.related(svc, Relation::Selects);
        assert_eq!(selected.len(), 1);
        assert_eq!(idx.object(selected[0]).meta.name(), "reviews-v1");
        assert_eq!(idx.related_to(selected[0], Relation::Selects), vec![svc]);
    }

    #[test]
    fn gateway_references_read_like_istiod() {
        let r = |g: &str| gateway_reference(g, "shop");
        assert_eq!(r("public"), ("shop".into(), "public".into()));
        assert_eq!(r("./public"), ("shop".into(), "public".into()));
        assert_eq!(r("edge/public"), ("edge".into(), "public".into()));
        assert_eq!(r("public.edge"), ("edge".into(), "public".into()));
        assert_eq!(
            r("public.edge.svc.cluster.local"),
            ("edge".into(), "public".into())
        );
    }

    #[test]
    fn sidecars_limit_what_a_namespace_imports() {
        let idx = index(
            "
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: jobs}
spec:
  egress:
    - hosts: [\"./*\", \"istio-system/*\", \"*/api.example.com\"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: narrow, namespace: jobs}
spec:
  workloadSelector: {labels: {app: x}}
  egress:
    - hosts: [\"~/*\"]
",
        );
        assert!(idx.sidecar_imports("jobs", "jobs", "reviews.jobs.svc.cluster.local"));
        assert!(!idx.sidecar_imports("jobs", "shop", "reviews.shop.svc.cluster.local"));
        assert!(idx.sidecar_imports("jobs", "shop", "api.example.com"));
        assert!(idx.sidecar_imports("shop", "jobs", "anything.example.com"));
    }
}
