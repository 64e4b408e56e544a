//! Typed views of the Kubernetes and Istio objects meshvet understands.
//!
//! Each view is extracted once from the YAML tree during the per-object pass and
//! keeps every field's [`Span`], so graph rules can point at exact values after
//! the tree is dropped. Fields hold what the manifest says, not defaults: a rule
//! that needs a default applies it and says so.

pub mod istio;
pub mod kube;
pub mod node;

use crate::source::{FileId, Span};
pub use istio::*;
pub use kube::*;
use node::{Node, Shape};

/// A value and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where the value is written (the scalar itself, not its key).
    pub span: Span,
}

/// A spanned string.
pub type SStr = Spanned<String>;

impl SStr {
    /// The string value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A small string-to-string map kept as a sorted vector: label maps hold a
/// handful of entries, and a vector costs a fraction of a tree map's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelMap(Vec<(String, String)>);

impl LabelMap {
    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, keeping keys sorted; returns the previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Keeps only the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a LabelMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for LabelMap {
    /// Later duplicates of a key win, as in a YAML mapping read by Kubernetes.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut map = LabelMap::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map.0.shrink_to_fit();
        map
    }
}

/// A label map (`key: value`) with its span; ordered for deterministic output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    /// The labels.
    pub map: LabelMap,
    /// Where the map is written (empty span when absent).
    pub span: Span,
}

impl Labels {
    /// True when every label of `self` is present with the same value in `other`:
    /// the Kubernetes meaning of "selector matches labels".
    pub fn is_subset_of(&self, other: &LabelMap) -> bool {
        self.map.iter().all(|(k, v)| other.get(k) == Some(v))
    }

    /// Renders the labels as `k=v,k=v`.
    pub fn render(&self) -> String {
        self.map
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The identity of an object: API group, kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group (`networking.istio.io`; empty for the core group).
    pub group: String,
    /// Kind (`VirtualService`).
    pub kind: String,
    /// Effective namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Identity and metadata common to every object.
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    /// The file the object is in.
    pub file: FileId,
    /// The whole document (or `List` item) the object is written as.
    pub span: Span,
    /// `apiVersion` as written.
    pub api_version: SStr,
    /// API group parsed from `apiVersion`.
    pub group: String,
    /// `kind` as written.
    pub kind: SStr,
    /// `metadata.name`, when given.
    pub name: Option<SStr>,
    /// `metadata.namespace`, when given.
    pub namespace_field: Option<SStr>,
    /// The namespace the object lives in: `metadata.namespace`, or the run's default
    /// namespace for namespaced kinds that name none; empty for cluster-scoped kinds.
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `metadata.annotations`.
    pub annotations: Labels,
    /// JSON pointer prefix of the object in its document (`/items/2` inside a List).
    pub pointer: String,
    /// Hash of the object's text without comments and blank lines: equal for
    /// identical copies.
    pub content_hash: u64,
    /// Where `namespace` came from.
    pub namespace_source: NamespaceSource,
    /// Top-level kustomizations that include the object's file; empty when none does.
    pub kustomize_roots: Vec<u32>,
}

impl ObjectMeta {
    /// False when two objects can never be applied together: kustomize builds
    /// them only from different top-level kustomizations (one per cluster or
    /// environment folder).
    pub fn applied_together(&self, other: &ObjectMeta) -> bool {
        self.kustomize_roots.is_empty()
            || other.kustomize_roots.is_empty()
            || self
                .kustomize_roots
                .iter()
                .any(|r| other.kustomize_roots.contains(r))
    }
}

/// Where an object's effective namespace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceSource {
    /// `metadata.namespace`.
    Field,
    /// A kustomization's `namespace:`.
    Kustomize,
    /// Not given: the run's default (or inferred) namespace.
    Default,
    /// A cluster-scoped kind: no namespace.
    ClusterScoped,
}

impl ObjectMeta {
    /// The object's name, or the empty string.
    pub fn name(&self) -> &str {
        self.name.as_ref().map_or("", |n| n.as_str())
    }

    /// The object's identity.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: self.group.clone(),
            kind: self.kind.value.clone(),
            namespace: self.namespace.clone(),
            name: self.name().to_owned(),
        }
    }

    /// A JSON pointer to `rest` inside this object (`rest` starts with `/`).
    pub fn path(&self, rest: &str) -> String {
        format!("{}{}", self.pointer, rest)
    }

    /// The span to point at for the object as a whole: its name, else its kind.
    pub fn anchor(&self) -> Span {
        self.name.as_ref().map_or(self.kind.span, |n| n.span)
    }

    /// True when this object and `other` are known to be applied to one cluster
    /// together: they are in the same file, or both name their namespace.
    ///
    /// An object without `metadata.namespace` is applied wherever its file is
    /// applied (`kubectl apply -n NS -f FILE`); two such files are often
    /// alternatives of one another (tutorial folders), so cross-object rules that
    /// report a clash between them would report alternatives as conflicts.
    pub fn applied_with(&self, other: &ObjectMeta) -> bool {
        self.file == other.file
            || (self.namespace_field.is_some() && other.namespace_field.is_some())
    }
}

/// The kind-specific part of an object meshvet understands.
#[derive(Debug, Clone)]
pub enum Spec {
    /// networking.istio.io VirtualService.
    VirtualService(Box<VirtualService>),
    /// networking.istio.io DestinationRule.
    DestinationRule(Box<DestinationRule>),
    /// networking.istio.io Gateway.
    Gateway(Box<Gateway>),
    /// networking.istio.io ServiceEntry.
    ServiceEntry(Box<ServiceEntry>),
    /// networking.istio.io Sidecar.
    Sidecar(Box<Sidecar>),
    /// core/v1 Service.
    Service(Box<Service>),
    /// A workload controller or bare Pod.
    Workload(Box<Workload>),
    /// autoscaling HorizontalPodAutoscaler.
    Autoscaler(Box<Autoscaler>),
    /// core/v1 Namespace.
    Namespace,
    /// The mesh configuration (ConfigMap `istio` in the root namespace).
    MeshConfig(Box<MeshConfig>),
    /// gateway.networking.k8s.io Gateway.
    KubernetesGateway(Box<KubernetesGateway>),
    /// Any other Kubernetes object: identity only.
    Other,
}

/// One Kubernetes object: its metadata and typed spec.
#[derive(Debug, Clone)]
pub struct Object {
    /// Identity and metadata.
    pub meta: ObjectMeta,
    /// Kind-specific facts.
    pub spec: Spec,
}

/// Settings that change how objects are read.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Namespace for namespaced objects that name none.
    pub default_namespace: String,
    /// Namespace a kustomization sets on every object of the file, overriding
    /// `metadata.namespace` as kustomize does.
    pub forced_namespace: Option<String>,
    /// Top-level kustomizations that include the file (see [`crate::kustomize::Layout`]).
    pub kustomize_roots: Vec<u32>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            default_namespace: "default".to_owned(),
            forced_namespace: None,
            kustomize_roots: Vec::new(),
        }
    }
}

/// What a document turned out to be.
#[derive(Debug)]
pub enum DocumentContent {
    /// One or more Kubernetes objects (several for `kind: List`).
    Objects(Vec<Object>),
    /// A kustomize `Kustomization` file: recognised, not an object.
    Kustomization(Kustomization),
    /// YAML without `apiVersion` and `kind`: not Kubernetes.
    NotKubernetes,
}

/// Kinds that live outside namespaces; every other kind is namespaced.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "IngressClass",
    "GatewayClass",
    "RuntimeClass",
];

/// Reads the objects of one document.
pub fn read_document(root: Node<'_>, file: FileId, opts: &ModelOptions) -> DocumentContent {
    let api_version = root.get("apiVersion").and_then(|n| n.str());
    let kind = root.get("kind").and_then(|n| n.str());
    match (api_version, kind) {
        (Some(api), Some("Kustomization" | "Component"))
            if api.starts_with("kustomize.config.k8s.io") =>
        {
            DocumentContent::Kustomization(kustomization(root))
        }
        (Some(_), Some(k)) if k.ends_with("List") && root.get("items").is_some() => {
            let objects = root
                .get("items")
                .into_iter()
                .flat_map(|items| items.items())
                .enumerate()
                .filter_map(|(i, item)| read_object(item, file, opts, format!("/items/{i}")))
                .collect();
            DocumentContent::Objects(objects)
        }
        (Some(_), Some(_)) => DocumentContent::Objects(
            read_object(root, file, opts, String::new())
                .into_iter()
                .collect(),
        ),
        _ if root.get("resources").is_some() && root.get("apiVersion").is_none() => {
            // Kustomization files may omit apiVersion/kind entirely.
            DocumentContent::Kustomization(kustomization(root))
        }
        _ => DocumentContent::NotKubernetes,
    }
}

/// What meshvet uses of a kustomization. Paths are relative to its folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kustomization {
    /// `namespace`: kustomize sets it on every object the kustomization produces.
    pub namespace: Option<String>,
    /// `resources` (and the older `bases`): files or folders with kustomizations.
    pub resources: Vec<String>,
    /// Patch files (`patches`, `patchesStrategicMerge`, `patchesJson6902`): partial
    /// objects, not objects of their own.
    pub patches: Vec<String>,
}

fn kustomization(root: Node<'_>) -> Kustomization {
    let mut out = Kustomization {
        namespace: root
            .get("namespace")
            .and_then(|n| n.str())
            .map(str::to_owned),
        ..Kustomization::default()
    };
    for key in ["resources", "bases", "components"] {
        out.resources.extend(
            root.get(key)
                .into_iter()
                .flat_map(|n| n.items())
                .filter_map(|i| i.str())
                .filter(|p| !p.contains("://") && !p.contains('\n'))
                .map(str::to_owned),
        );
    }
    for key in ["patches", "patchesJson6902"] {
        for item in root.get(key).into_iter().flat_map(|n| n.items()) {
            if let Some(path) = item.get("path").and_then(|p| p.str()) {
                out.patches.push(path.to_owned());
            }
        }
    }
    for item in root
        .get("patchesStrategicMerge")
        .into_iter()
        .flat_map(|n| n.items())
    {
        if let Some(path) = item.str().filter(|p| !p.contains('\n')) {
            out.patches.push(path.to_owned());
        }
    }
    out
}

/// Reads one object (a document root or a `List` item).
pub fn read_object(
    node: Node<'_>,
    file: FileId,
    opts: &ModelOptions,
    pointer: String,
) -> Option<Object> {
    let api_version = spanned_str(node.get("apiVersion"))?;
    let kind = spanned_str(node.get("kind"))?;
    let group = match api_version.value.split_once('/') {
        Some((g, _)) => g.to_owned(),
        None => String::new(),
    };
    let metadata = node.get("metadata");
    let name = spanned_str(metadata.and_then(|m| m.get("name")));
    let namespace_field = spanned_str(metadata.and_then(|m| m.get("namespace")));
    let (namespace, namespace_source) = if CLUSTER_SCOPED.contains(&kind.value.as_str()) {
        (String::new(), NamespaceSource::ClusterScoped)
    } else if let Some(forced) = &opts.forced_namespace {
        (forced.clone(), NamespaceSource::Kustomize)
    } else {
        match &namespace_field {
            Some(n) => (n.value.clone(), NamespaceSource::Field),
            None => (opts.default_namespace.clone(), NamespaceSource::Default),
        }
    };
    let span = node.span();
    let content_hash = {
        use std::hash::{Hash, Hasher};
        let text = node
            .mapper()
            .file()
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let mut h = std::collections::hash_map::DefaultHasher::new();
        // Compare content, not layout: comments and blank lines do not count.
        for line in text.lines() {
            let code = line.split(" #").next().unwrap_or("").trim_end();
            if !code.trim().is_empty() && !code.trim_start().starts_with('#') {
                code.hash(&mut h);
            }
        }
        h.finish()
    };
    let meta = ObjectMeta {
        file,
        span,
        content_hash,
        namespace_source,
        kustomize_roots: opts.kustomize_roots.clone(),
        group,
        labels: labels(metadata.and_then(|m| m.get("labels"))),
        annotations: labels(metadata.and_then(|m| m.get("annotations"))),
        api_version,
        kind,
        name,
        namespace_field,
        namespace,
        pointer,
    };
    let spec = node.get("spec");
    let s = spec.unwrap_or(node);
    let spec = match (meta.group.as_str(), meta.kind.as_str()) {
        ("networking.istio.io", "VirtualService") => {
            Spec::VirtualService(Box::new(istio::virtual_service(s, &meta)))
        }
        ("networking.istio.io", "DestinationRule") => {
            Spec::DestinationRule(Box::new(istio::destination_rule(s, &meta)))
        }
        ("networking.istio.io", "Gateway") => Spec::Gateway(Box::new(istio::gateway(s, &meta))),
        ("networking.istio.io", "ServiceEntry") => {
            let mut se = istio::service_entry(s, &meta);
            se.status_addresses = node
                .get("status")
                .and_then(|st| st.get("addresses"))
                .is_some_and(|a| a.items().next().is_some());
            Spec::ServiceEntry(Box::new(se))
        }
        ("gateway.networking.k8s.io", "Gateway") => {
            Spec::KubernetesGateway(Box::new(kube::kubernetes_gateway(s, &meta)))
        }
        ("networking.istio.io", "Sidecar") => Spec::Sidecar(Box::new(istio::sidecar(s, &meta))),
        ("", "Service") => Spec::Service(Box::new(kube::service(s, &meta))),
        ("", "Namespace") => Spec::Namespace,
        ("", "ConfigMap") => {
            kube::mesh_config(node, &meta).map_or(Spec::Other, |m| Spec::MeshConfig(Box::new(m)))
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            Spec::Autoscaler(Box::new(kube::autoscaler(s)))
        }
        (group, kind) => match kube::workload(node, group, kind) {
            Some(w) => Spec::Workload(Box::new(w)),
            None => Spec::Other,
        },
    };
    Some(Object { meta, spec })
}

/// A string scalar with its span.
pub fn spanned_str(node: Option<Node<'_>>) -> Option<SStr> {
    let node = node?;
    Some(Spanned {
        value: node.str()?.to_owned(),
        span: node.span(),
    })
}

/// An integer scalar with its span.
pub fn spanned_int(node: Option<Node<'_>>) -> Option<Spanned<i64>> {
    let node = node?;
    Some(Spanned {
        value: node.int()?,
        span: node.span(),
    })
}

/// A number scalar with its span.
pub fn spanned_float(node: Option<Node<'_>>) -> Option<Spanned<f64>> {
    let node = node?;
    Some(Spanned {
        value: node.float()?,
        span: node.span(),
    })
}

/// A boolean scalar with its span.
pub fn spanned_bool(node: Option<Node<'_>>) -> Option<Spanned<bool>> {
    let node = node?;
    Some(Spanned {
        value: node.bool()?,
        span: node.span(),
    })
}

/// A list of string scalars; non-string items are skipped.
pub fn str_list(node: Option<Node<'_>>) -> Vec<SStr> {
    node.into_iter()
        .flat_map(|n| n.items())
        .filter_map(|n| spanned_str(Some(n)))
        .collect()
}

/// A string-to-string map (labels, selectors); non-scalar values are skipped.
pub fn labels(node: Option<Node<'_>>) -> Labels {
    let Some(node) = node else {
        return Labels::default();
    };
    let map = node
        .entries()
        .filter_map(|(k, v)| Some((k.str()?.to_owned(), v.str().unwrap_or("").to_owned())))
        .collect();
    Labels {
        map,
        span: node.span(),
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// True when the node is present and a mapping.
pub fn is_mapping(node: Option<Node<'_>>) -> bool {
    node.is_some_and(|n| n.shape() == Shape::Mapping)
}

/// A digest of a subtree as written, insensitive to mapping key order, spans and
/// quoting: two subtrees with the same digest hold the same data. Depth is bounded
/// by the loader's nesting limit.
pub fn fingerprint(node: Node<'_>) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    match node.shape() {
        Shape::Mapping => {
            let mut entries: Vec<u64> = node
                .entries()
                .map(|(k, v)| {
                    let mut e = DefaultHasher::new();
                    k.scalar_text().hash(&mut e);
                    fingerprint(v).hash(&mut e);
                    e.finish()
                })
                .collect();
            entries.sort_unstable();
            (0u8, entries).hash(&mut h);
        }
        Shape::Sequence => {
            let items: Vec<u64> = node.items().map(fingerprint).collect();
            (1u8, items).hash(&mut h);
        }
        Shape::Scalar => (2u8, node.scalar_text()).hash(&mut h),
        Shape::Null => 3u8.hash(&mut h),
    }
    h.finish()
}
