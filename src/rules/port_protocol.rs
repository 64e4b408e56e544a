//! How Istio decides the protocol of a Kubernetes Service port: the `protocol`
//! field for UDP, else `appProtocol`, else the port name's `<protocol>[-suffix]`
//! prefix, else TCP for a few well-known ports; anything else is detected at
//! run time by inspecting the first bytes of each connection ("sniffing").

use crate::model::ServicePort;

/// Ports Istio treats as TCP when their protocol cannot be told otherwise,
/// because they usually carry protocols where the server speaks first
/// (SMTP, DNS, MySQL, MongoDB).
pub const WELL_KNOWN_TCP_PORTS: &[i64] = &[25, 53, 3306, 27017];

/// The protocol Istio derives for a port, and from what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortProtocol {
    /// Istio's name for the protocol; `None` when Istio cannot tell it and
    /// sniffs the connection.
    pub protocol: Option<&'static str>,
    /// Where the protocol was read.
    pub source: ProtocolSource,
}

/// Where Istio read a port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolSource {
    /// The Kubernetes `protocol` field (UDP, SCTP).
    Transport,
    /// `appProtocol`.
    AppProtocol,
    /// The port name.
    Name,
    /// The port number (one of [`WELL_KNOWN_TCP_PORTS`]).
    WellKnownPort,
    /// Nothing: the protocol is sniffed.
    None,
}

/// How a sidecar handles a port's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolClass {
    /// Parsed as HTTP (HTTP/1.1, HTTP/2, gRPC).
    Http,
    /// Proxied as a byte stream (TCP, TLS, HTTPS, and the database protocols
    /// whose filters Istio leaves off by default).
    Tcp,
    /// Not intercepted by the sidecar (UDP, SCTP).
    NotProxied,
    /// Detected per connection.
    Sniffed,
}

/// Parses a protocol name as Istio does (case-insensitive).
pub fn parse(name: &str) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "TCP",
        "UDP",
        "GRPC",
        "GRPC-Web",
        "HTTP",
        "HTTP_PROXY",
        "HTTP2",
        "HTTPS",
        "TLS",
        "Mongo",
        "Redis",
        "MySQL",
    ];
    KNOWN.iter().copied().find(|p| p.eq_ignore_ascii_case(name))
}

/// The protocol Istio derives for a Service port.
pub fn service_port(port: &ServicePort) -> PortProtocol {
    let transport = port.protocol.as_ref().map(|p| p.as_str());
    if let Some(t) = transport.filter(|t| matches!(*t, "UDP" | "SCTP")) {
        return PortProtocol {
            protocol: Some(if t == "UDP" { "UDP" } else { "SCTP" }),
            source: ProtocolSource::Transport,
        };
    }
    let (text, source) = match &port.app_protocol {
        Some(app) => (app.as_str(), ProtocolSource::AppProtocol),
        None => (
            port.name.as_ref().map_or("", |n| n.as_str()),
            ProtocolSource::Name,
        ),
    };
    let from_text = match text {
        "kubernetes.io/h2c" if source == ProtocolSource::AppProtocol => Some("HTTP2"),
        "kubernetes.io/ws" if source == ProtocolSource::AppProtocol => Some("HTTP"),
        "kubernetes.io/wss" if source == ProtocolSource::AppProtocol => Some("HTTPS"),
        _ if text
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("grpc-web")) =>
        {
            Some("GRPC-Web")
        }
        _ => parse(text.split('-').next().unwrap_or("")),
    };
    if let Some(p) = from_text {
        return PortProtocol {
            protocol: Some(p),
            source,
        };
    }
    match port.port.as_ref().map(|p| p.value) {
        Some(n) if WELL_KNOWN_TCP_PORTS.contains(&n) => PortProtocol {
            protocol: Some("TCP"),
            source: ProtocolSource::WellKnownPort,
        },
        _ => PortProtocol {
            protocol: None,
            source: ProtocolSource::None,
        },
    }
}

/// How a sidecar handles traffic of `protocol` (`None`: sniffed).
pub fn class(protocol: Option<&str>) -> ProtocolClass {
    match protocol {
        None => ProtocolClass::Sniffed,
        Some("HTTP" | "HTTP2" | "GRPC" | "GRPC-Web" | "HTTP_PROXY") => ProtocolClass::Http,
        Some("UDP" | "SCTP") => ProtocolClass::NotProxied,
        Some(_) => ProtocolClass::Tcp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Spanned;
    use crate::source::Span;

    fn port(
        name: Option<&str>,
        number: i64,
        app: Option<&str>,
        proto: Option<&str>,
    ) -> ServicePort {
        let s = |v: &str| Spanned {
            value: v.to_owned(),
            span: Span::default(),
        };
        ServicePort {
            name: name.map(s),
            port: Some(Spanned {
                value: number,
                span: Span::default(),
            }),
            app_protocol: app.map(s),
            protocol: proto.map(s),
            ..ServicePort::default()
        }
    }

    #[test]
    fn derives_protocols_like_istio() {
        let p = |name, number, app, proto| service_port(&port(name, number, app, proto)).protocol;
        assert_eq!(p(Some("http-web"), 80, None, None), Some("HTTP"));
        assert_eq!(p(Some("HTTP2"), 80, None, None), Some("HTTP2"));
        assert_eq!(p(Some("grpc-web-ui"), 80, None, None), Some("GRPC-Web"));
        assert_eq!(p(Some("web"), 80, None, None), None);
        assert_eq!(p(None, 8080, None, None), None);
        assert_eq!(p(None, 3306, None, None), Some("TCP"));
        assert_eq!(p(Some("web"), 80, Some("http"), None), Some("HTTP"));
        // appProtocol replaces the name, even when it names nothing Istio knows.
        assert_eq!(p(Some("http"), 80, Some("hbone"), None), None);
        assert_eq!(p(None, 80, Some("kubernetes.io/h2c"), None), Some("HTTP2"));
        assert_eq!(p(Some("dns"), 5353, None, Some("UDP")), Some("UDP"));
        assert_eq!(class(Some("GRPC")), ProtocolClass::Http);
        assert_eq!(class(Some("HTTPS")), ProtocolClass::Tcp);
        assert_eq!(class(None), ProtocolClass::Sniffed);
    }
}
