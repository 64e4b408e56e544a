//! Shared by the Gateway and Sidecar validation rules (`invalid-gateway-server`,
//! `duplicate-port`, `server-tls-mismatch`, `invalid-server-tls`,
//! `invalid-sidecar`): Istio's port protocols, bind addresses and Unix socket
//! paths, and a JSON-pointer-carrying walk over servers and ingress listeners.

use std::net::IpAddr;

use crate::model::ObjectMeta;
use crate::model::node::{Node, Shape};
use crate::rules::spec_walk::text;

/// The protocols Istio's `protocol.Parse` knows, by their canonical name. Istio
/// compares them without regard to case.
pub const PROTOCOLS: &[&str] = &[
    "HTTP",
    "HTTPS",
    "GRPC",
    "GRPC-WEB",
    "HTTP2",
    "HTTP_PROXY",
    "TCP",
    "TLS",
    "UDP",
    "MONGO",
    "REDIS",
    "MYSQL",
];

/// The canonical name of a protocol Istio knows, or `None`.
pub fn protocol(text: &str) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(text))
}

/// True for protocols carried over HTTP (Istio's `IsHTTP`).
pub fn is_http(canonical: &str) -> bool {
    matches!(
        canonical,
        "HTTP" | "HTTP2" | "HTTP_PROXY" | "GRPC" | "GRPC-WEB"
    )
}

/// True for protocols on top of TLS (Istio's `IsTLS`).
pub fn is_tls(canonical: &str) -> bool {
    matches!(canonical, "HTTPS" | "TLS")
}

/// True for an IP address as Go's `net.ParseIP` reads one.
pub fn is_ip(text: &str) -> bool {
    text.parse::<IpAddr>().is_ok()
}

/// Prefix of a Unix domain socket address.
pub const UNIX_PREFIX: &str = "unix://";

/// Why `path` (after `unix://`) is not a Unix socket address Istio accepts, or
/// `None`: an absolute path not ending in `/`, or an abstract socket (`@name`).
pub fn unix_address_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("the socket path after `unix://` is empty".to_owned());
    }
    if path.starts_with('@') {
        return None;
    }
    if !path.starts_with('/') || path.ends_with('/') {
        return Some(format!(
            "`{path}` is not an absolute path to a file (or an abstract socket `@name`)"
        ));
    }
    None
}

/// True for an object of Istio's networking API group (a Kubernetes Gateway API
/// `Gateway` has the same kind and another group).
pub fn is_istio(meta: &ObjectMeta) -> bool {
    meta.group == "networking.istio.io"
}

/// A server-side TLS block with what it is attached to.
pub struct TlsBlock<'t> {
    /// The `tls` key.
    pub key: Node<'t>,
    /// The `tls` mapping.
    pub tls: Node<'t>,
    /// JSON pointer of the `tls` value.
    pub pointer: String,
    /// True for a Sidecar ingress listener, false for a Gateway server.
    pub sidecar: bool,
    /// The port's protocol, when it is one Istio knows.
    pub protocol: Option<&'static str>,
}

/// Every `tls` of a Gateway's servers or a Sidecar's ingress listeners.
pub fn tls_blocks<'t>(meta: &ObjectMeta, spec: Node<'t>) -> Vec<TlsBlock<'t>> {
    let (list, sidecar) = match meta.kind.as_str() {
        "Gateway" => ("servers", false),
        "Sidecar" => ("ingress", true),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for (i, item) in spec
        .get(list)
        .into_iter()
        .flat_map(|l| l.items())
        .enumerate()
    {
        if let Some((key, tls)) = item.entry("tls")
            && tls.shape() == Shape::Mapping
        {
            out.push(TlsBlock {
                key,
                tls,
                pointer: meta.path(&format!("/spec/{list}/{i}/tls")),
                sidecar,
                protocol: text(item.get("port").and_then(|p| p.get("protocol"))).and_then(protocol),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_ignore_case() {
        assert_eq!(protocol("grpc-web"), Some("GRPC-WEB"));
        assert_eq!(protocol("Https"), Some("HTTPS"));
        assert_eq!(protocol("HTTP/2"), None);
        assert_eq!(protocol(""), None);
    }

    #[test]
    fn unix_addresses() {
        assert_eq!(unix_address_problem("/var/run/x.sock"), None);
        assert_eq!(unix_address_problem("@abstract"), None);
        assert!(unix_address_problem("relative.sock").is_some());
        assert!(unix_address_problem("/var/run/").is_some());
        assert!(unix_address_problem("").is_some());
    }
}
