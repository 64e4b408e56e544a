//! Host names as Istio reads them: short-name expansion, wildcard matching,
//! and the parts of a Kubernetes service FQDN.

/// Expands a host the way istiod does for VirtualService and DestinationRule hosts.
///
/// Only a name with no dot is short: it becomes `<name>.<namespace>.svc.<domain>`,
/// where the namespace is that of the object containing the host (not the
/// Service's). Dotted names are literal (`reviews.prod` stays `reviews.prod` and
/// never matches a Service); `*` and wildcards are left alone.
pub fn resolve(host: &str, namespace: &str, domain: &str) -> String {
    if is_short(host) {
        format!("{host}.{namespace}.svc.{domain}")
    } else {
        host.to_owned()
    }
}

/// True for a short host: no dot, not a wildcard, not empty.
pub fn is_short(host: &str) -> bool {
    !host.is_empty() && !host.contains('.') && !host.starts_with('*')
}

/// True when `pattern` (a host, `*`, or `*.suffix`) covers `host`.
///
/// `*.example.com` covers `a.example.com` and `a.b.example.com` but not
/// `example.com`. A wildcard `host` is covered only by a pattern at least as wide.
pub fn matches(pattern: &str, host: &str) -> bool {
    if pattern == "*" || pattern == host {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => match host.strip_prefix('*') {
            Some(host_suffix) => host_suffix.ends_with(suffix),
            None => host.len() > suffix.len() && host.ends_with(suffix),
        },
        None => false,
    }
}

/// True when the host is a wildcard (`*` or `*.suffix`).
pub fn is_wildcard(host: &str) -> bool {
    host.starts_with('*')
}

/// Splits `name.namespace.svc.<domain>` into (name, namespace).
pub fn service_parts<'h>(host: &'h str, domain: &str) -> Option<(&'h str, &'h str)> {
    let rest = host.strip_suffix(domain)?.strip_suffix(".svc.")?;
    let (name, namespace) = rest.split_once('.')?;
    (!name.is_empty() && !namespace.is_empty() && !namespace.contains('.'))
        .then_some((name, namespace))
}

/// The FQDN of a Kubernetes Service.
pub fn service_fqdn(name: &str, namespace: &str, domain: &str) -> String {
    format!("{name}.{namespace}.svc.{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dotless_names_expand() {
        assert_eq!(
            resolve("reviews", "shop", "cluster.local"),
            "reviews.shop.svc.cluster.local"
        );
        assert_eq!(
            resolve("reviews.prod", "shop", "cluster.local"),
            "reviews.prod"
        );
        assert_eq!(resolve("*", "shop", "cluster.local"), "*");
        assert_eq!(
            resolve("*.example.com", "shop", "cluster.local"),
            "*.example.com"
        );
    }

    #[test]
    fn wildcard_matching() {
        assert!(matches("*", "anything.example.com"));
        assert!(matches(
            "*.shop.svc.cluster.local",
            "reviews.shop.svc.cluster.local"
        ));
        assert!(!matches(
            "*.shop.svc.cluster.local",
            "shop.svc.cluster.local"
        ));
        assert!(!matches(
            "reviews.shop.svc.cluster.local",
            "ratings.shop.svc.cluster.local"
        ));
        assert!(matches("*.cluster.local", "*.shop.svc.cluster.local"));
        assert!(!matches("*.shop.svc.cluster.local", "*.cluster.local"));
    }

    #[test]
    fn fqdn_parts() {
        assert_eq!(
            service_parts("reviews.shop.svc.cluster.local", "cluster.local"),
            Some(("reviews", "shop"))
        );
        assert_eq!(service_parts("reviews.shop", "cluster.local"), None);
        assert_eq!(
            service_parts("a.b.c.svc.cluster.local", "cluster.local"),
            None
        );
    }
}
