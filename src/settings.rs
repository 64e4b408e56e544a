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
    /// The Istio version the config targets (`istio-version`), as (major, minor);
    /// `None` means a current release. Rules whose semantics changed consult it.
    pub istio_version: Option<(u32, u32)>,
    /// Hosts known to exist outside the analysed files (`external-hosts`): exact
    /// names or `*.suffix` wildcards. Host rules stay silent for them.
    pub external_hosts: Vec<String>,
    /// Fewest retry attempts `retry-storm` reports (`retry-storm-min-attempts`).
    pub retry_storm_min_attempts: i64,
}

impl Settings {
    /// True when `host` is covered by the configured external hosts.
    pub fn is_external(&self, host: &str) -> bool {
        self.external_hosts
            .iter()
            .any(|pattern| crate::host::matches(pattern, host))
    }

    /// True when the targeted Istio version is older than `major.minor`.
    pub fn istio_before(&self, major: u32, minor: u32) -> bool {
        self.istio_version.is_some_and(|v| v < (major, minor))
    }
}

/// Parses `1.22` or `1.22.3` into (1, 22).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_namespace: "default".to_owned(),
            cluster_domain: "cluster.local".to_owned(),
            root_namespace: "istio-system".to_owned(),
            istio_version: None,
            external_hosts: Vec::new(),
            retry_storm_min_attempts: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_external_hosts() {
        assert_eq!(parse_version("1.14"), Some((1, 14)));
        assert_eq!(parse_version("v1.22.3"), Some((1, 22)));
        assert_eq!(parse_version("one"), None);
        let s = Settings {
            istio_version: Some((1, 14)),
            external_hosts: vec!["*.googleapis.com".into(), "db.example.com".into()],
            ..Settings::default()
        };
        assert!(s.istio_before(1, 15));
        assert!(!Settings::default().istio_before(1, 15));
        assert!(s.is_external("storage.googleapis.com"));
        assert!(s.is_external("db.example.com"));
        assert!(!s.is_external("api.example.com"));
    }
}
