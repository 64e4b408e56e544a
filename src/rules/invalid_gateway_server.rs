use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::listeners::{
    PROTOCOLS, UNIX_PREFIX, is_ip, is_istio, protocol, unix_address_problem,
};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a Gateway server Istio's validation rejects: a Gateway with no
    /// `servers`; a server with an empty `hosts` list; a port `protocol` Istio
    /// does not know; an empty port `name`; a port `targetPort`; and a `bind`
    /// that is neither an IP address nor a `unix://` absolute path, or a
    /// `unix://` bind on a port number other than `0`.
    ///
    /// Protocols are compared without regard to case, as Istio does:
    /// `HTTP`, `HTTPS`, `GRPC`, `GRPC-WEB`, `HTTP2`, `HTTP_PROXY`, `TCP`,
    /// `TLS`, `UDP`, `MONGO`, `REDIS`, `MYSQL`. Host syntax is
    /// `invalid-host`'s, port numbers `value-out-of-range`'s, missing fields
    /// `missing-required-field`'s, the Gateway's name `invalid-name`'s, and the
    /// server's `tls` `server-tls-mismatch`'s and `invalid-server-tls`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole Gateway, so none of its servers are
    /// programmed on the gateway proxies: every VirtualService bound to it stops
    /// receiving traffic from that gateway when it is new, or keeps the old
    /// listeners when it is an update.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: public, namespace: edge}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}
    ///     hosts: ["*/shop.example.com"]
    /// ```
    /// Use instead: drop `targetPort`; the gateway's Service maps its port to the
    /// pod's port.
    pub InvalidGatewayServer {
        name: "invalid-gateway-server",
        severity: Error,
        kinds: [Gateway],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidGatewayServer {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        if !is_istio(meta) {
            return;
        }
        let report = |span: Span, pointer: &str, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidGatewayServer::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(meta.path(&format!("/spec{pointer}")))
        };
        let spec = ctx.tree.get("spec");
        let servers_entry = spec.and_then(|s| s.entry("servers"));
        let servers: Vec<Node<'_>> = servers_entry
            .into_iter()
            .flat_map(|(_, v)| v.items())
            .collect();
        if servers.is_empty() {
            // A `servers` that is not a list is `invalid-field-type`'s.
            if let Some((_, v)) = servers_entry
                && !matches!(v.shape(), Shape::Sequence | Shape::Null)
            {
                return;
            }
            let span = servers_entry.map_or_else(|| meta.anchor(), |(k, _)| k.span());
            out.push(report(
                span,
                "/servers",
                format!(
                    "Gateway `{}` has no servers: Istio rejects a Gateway without at least one",
                    meta.name()
                ),
                "no servers",
                "Add a server with a `port` and the `hosts` it serves, or delete the Gateway.",
            ));
            return;
        }
        for (i, server) in servers.iter().enumerate() {
            let base = format!("/servers/{i}");
            if let Some((key, hosts)) = server.entry("hosts")
                && hosts.shape() == Shape::Sequence
                && hosts.items().next().is_none()
            {
                out.push(report(
                    key.span(),
                    &format!("{base}/hosts"),
                    "server has an empty `hosts` list: Istio requires at least one host".to_owned(),
                    "no hosts",
                    "List the hosts the server accepts, for example `*/shop.example.com` (or `*/*` for any).",
                ));
            }
            let port = server.get("port").filter(|p| p.shape() == Shape::Mapping);
            let number = port.and_then(|p| p.get("number")).and_then(|n| n.int());
            if let Some(port) = port {
                if let Some(p) = port.get("protocol")
                    && p.shape() == Shape::Scalar
                    && let Some(text) = p.str()
                    && protocol(text).is_none()
                {
                    let hint =
                        crate::text::closest(&text.to_ascii_uppercase(), PROTOCOLS.iter().copied());
                    let help = match hint {
                        Some(h) => format!("Did you mean `{h}`?"),
                        None => format!(
                            "Use one of {}.",
                            crate::text::backtick_list(PROTOCOLS, "or")
                        ),
                    };
                    out.push(report(
                        p.span(),
                        &format!("{base}/port/protocol"),
                        format!("port protocol `{text}` is not one Istio knows: Istio rejects the Gateway"),
                        "unknown protocol",
                        &help,
                    ));
                }
                if let Some(n) = port.get("name")
                    && n.scalar_text() == Some("")
                    && !n.is_null()
                {
                    out.push(report(
                        n.span(),
                        &format!("{base}/port/name"),
                        "port name is empty: Istio requires every Gateway server port to have a name".to_owned(),
                        "empty name",
                        "Name the port after its protocol, for example `http` or `https-shop`.",
                    ));
                }
                if let Some(t) = port.get("targetPort")
                    && t.int().is_some_and(|v| v > 0)
                {
                    out.push(report(
                        t.span(),
                        &format!("{base}/port/targetPort"),
                        "`targetPort` has no effect on a Gateway server: Istio rejects it".to_owned(),
                        "not allowed on a Gateway",
                        "Remove `targetPort`; the gateway's Service maps its port to the container port.",
                    ));
                }
            }
            if let Some(b) = server.get("bind")
                && b.shape() == Shape::Scalar
                && let Some(bind) = b.str()
                && !bind.is_empty()
            {
                let pointer = format!("{base}/bind");
                if let Some(path) = bind.strip_prefix(UNIX_PREFIX) {
                    if let Some(problem) = unix_address_problem(path) {
                        out.push(report(
                            b.span(),
                            &pointer,
                            format!("bind `{bind}` is not a valid Unix socket address: {problem}"),
                            "invalid socket path",
                            "Write `unix:///absolute/path/to/socket` (or `unix://@name` for an abstract socket).",
                        ));
                    }
                    if let Some(n) = number.filter(|n| *n != 0) {
                        out.push(report(
                            b.span(),
                            &pointer,
                            format!("bind `{bind}` is a Unix socket, but the port number is `{n}`: Istio requires port `0` for a socket"),
                            "socket bind with a port number",
                            "Set `port.number: 0` for a Unix socket, or bind to an IP address.",
                        ));
                    }
                } else if !is_ip(bind) {
                    out.push(report(
                        b.span(),
                        &pointer,
                        format!("bind `{bind}` is not an IP address or a `unix://` socket path: Istio rejects it"),
                        "not an IP address",
                        "Bind to an IP address of the gateway pod (`0.0.0.0` for all), to `unix:///path`, or remove `bind`.",
                    ));
                }
            }
        }
    }
}
