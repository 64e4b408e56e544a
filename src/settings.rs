//! Settings that shape how manifests are interpreted, shared by every phase.

/// Interpretation settings: where unnamed objects live and how hosts resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Namespace of namespaced objects that name none (`--namespace`).
    pub default_namespace: String,
    /// Cluster DNS domain short hosts expand into (`--cluster-domain`).
    pub cluster_domain: String,
    /// Istio's root namespace, whose DestinationRules apply mesh-wide.
    pub root_namespace: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_namespace: "default".to_owned(),
            cluster_domain: "cluster.local".to_owned(),
            root_namespace: "istio-system".to_owned(),
        }
    }
}
