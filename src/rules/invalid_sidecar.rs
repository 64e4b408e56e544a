use std::collections::HashMap;

use crate::declare_rule;
use crate::model::NamespaceSource;
use crate::model::node::{Node, Shape};
use crate::report::{Diagnostic, Severity};
use crate::rules::listeners::{
    PROTOCOLS, UNIX_PREFIX, is_http, is_ip, is_istio, protocol, unix_address_problem,
};
use crate::rules::spec_walk::is_set;
use crate::rules::spec_walk::{dns_labels_problem, is_dns1123_label};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a Sidecar whose structure Istio's validation rejects: no
    /// `ingress`, `egress`, `outboundTrafficPolicy` or `inboundConnectionPool`
    /// at all; a listener port with a `targetPort`, an invalid `name`, an
    /// unknown `protocol`, or no `number` (egress listeners may go without one
    /// only when bound to a `unix://` socket); a `bind` that is not an IP
    /// address (or, for a port-less egress listener, not a `unix://` absolute
    /// path); a socket listener with a `captureMode` other than `DEFAULT` or
    /// `NONE`; an ingress `defaultEndpoint` that is not `127.0.0.1:<port>`,
    /// `0.0.0.0:<port>`, `[::1]:<port>`, `[::]:<port>`, `:<port>` or
    /// `unix://<path>`; an egress listener without `port` that is not the last
    /// one; an egress listener with an empty `hosts` list; a `connectionPool`
    /// with neither `http` nor `tcp`; and an `egressProxy` without mode
    /// `ALLOW_ANY`, without a valid host name or without a port.
    ///
    /// Warnings (accepted, but not what it says): an egress host listed twice
    /// (or already covered by `namespace/*`), `*/*` next to other hosts, and
    /// HTTP connection-pool settings on an ingress port that is not HTTP.
    ///
    /// Host syntax is `invalid-host`'s, port ranges `value-out-of-range`'s,
    /// duplicate ports `duplicate-port`'s, `tls` `server-tls-mismatch`'s and
    /// `invalid-server-tls`'s, and the selector `invalid-workload-selector`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole Sidecar, so its egress limits and
    /// ingress listeners never apply: the workloads keep receiving the whole
    /// mesh's configuration. A port-less egress listener before others
    /// catches every port, so the listeners after it would never be used.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: shop}
    /// spec:
    ///   egress:
    ///   - hosts: ["./*", "istio-system/*"]
    ///   - port: {number: 5432, name: tcp-postgres, protocol: TCP}
    ///     hosts: ["data/postgres.data.svc.cluster.local"]
    /// ```
    /// Use instead: put the listener without `port` last; it catches the
    /// ports the others do not.
    pub InvalidSidecar {
        name: "invalid-sidecar",
        severity: Error,
        kinds: [Sidecar],
        upstream: ["IST0106"],
    }
}

struct Out<'a> {
    meta: &'a crate::model::ObjectMeta,
    out: &'a mut Vec<Diagnostic>,
}

impl Out<'_> {
    fn error(&mut self, span: Span, pointer: &str, message: String, label: &str, help: &str) {
        self.out.push(
            Diagnostic::new(&InvalidSidecar::META, self.meta.file, span, message)
                .label(label)
                .help(help)
                .object(self.meta)
                .path(self.meta.path(&format!("/spec{pointer}"))),
        );
    }

    fn warn(&mut self, span: Span, pointer: &str, message: String, label: &str, help: &str) {
        let mut d = Diagnostic::new(&InvalidSidecar::META, self.meta.file, span, message)
            .label(label)
            .help(help)
            .severity(Severity::Warning)
            .object(self.meta)
            .path(self.meta.path(&format!("/spec{pointer}")));
        d.upstream = &["IST0133"];
        self.out.push(d);
    }
}

impl Rule for InvalidSidecar {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        if !is_istio(meta) {
            return;
        }
        let mut o = Out { meta, out };
        let spec_entry = ctx.tree.entry("spec");
        let spec = spec_entry.map(|(_, v)| v);
        let has = |k: &str| spec.is_some_and(|s| is_set(s.get(k)));
        if ![
            "ingress",
            "egress",
            "outboundTrafficPolicy",
            "inboundConnectionPool",
        ]
        .into_iter()
        .any(has)
        {
            // A `spec` that is not a mapping is `invalid-field-type`'s.
            if spec.is_some_and(|s| !matches!(s.shape(), Shape::Mapping | Shape::Null)) {
                return;
            }
            let span = spec_entry.map_or_else(|| meta.anchor(), |(k, _)| k.span());
            o.error(
                span,
                "",
                format!("Sidecar `{}` configures nothing: it has no `ingress`, `egress`, `outboundTrafficPolicy` or `inboundConnectionPool`, and Istio rejects it", meta.name()),
                "empty Sidecar",
                "Add an `egress` listener (for example `hosts: [\"./*\", \"istio-system/*\"]`) or delete the Sidecar.",
            );
            return;
        }
        let Some(spec) = spec else { return };

        for (i, item) in spec
            .get("ingress")
            .into_iter()
            .flat_map(|l| l.items())
            .enumerate()
        {
            let base = format!("/ingress/{i}");
            let port = item.get("port").filter(|p| p.shape() == Shape::Mapping);
            let proto = port.and_then(|p| p.get("protocol")).and_then(|p| p.str());
            if let Some(port) = port {
                check_port(&mut o, port, &base, "ingress");
                if port.get("number").is_none_or(|n| n.is_null()) {
                    o.error(
                        port_span(port),
                        &format!("{base}/port"),
                        "ingress port has no `number`: Istio requires one".to_owned(),
                        "no number",
                        "Set `number` to the port the sidecar listens on for this workload.",
                    );
                }
                check_ip_bind(&mut o, item, &base);
            }
            if let Some(e) = item.get("defaultEndpoint")
                && let Some(ep) = e.str()
                && !ep.is_empty()
                && let Some(problem) = default_endpoint_problem(ep)
            {
                o.error(
                    e.span(),
                    &format!("{base}/defaultEndpoint"),
                    format!("defaultEndpoint `{ep}` is not valid: {problem}"),
                    "invalid endpoint",
                    "Write `127.0.0.1:<port>` (or `0.0.0.0:<port>`, `[::1]:<port>`, `[::]:<port>`, `:<port>`) for the application's port, or `unix:///path` for a socket.",
                );
            }
            if let Some((k, pool)) = item.entry("connectionPool") {
                empty_pool(&mut o, k, pool, &format!("{base}/connectionPool"));
                if let Some((hk, h)) = pool.entry("http")
                    && !h.is_null()
                    && port.is_some()
                    && !proto.and_then(protocol).is_some_and(is_http)
                {
                    let what = proto
                        .map_or_else(|| "no protocol".to_owned(), |p| format!("protocol `{p}`"));
                    o.warn(
                        hk.span(),
                        &format!("{base}/connectionPool/http"),
                        format!("HTTP connection-pool settings on a port with {what}: only the `tcp` settings apply"),
                        "ignored on a non-HTTP port",
                        "Set the port's `protocol` to `HTTP` (or `HTTP2`, `GRPC`), or move the limits to `tcp`.",
                    );
                }
            }
        }
        if let Some((k, pool)) = spec.entry("inboundConnectionPool") {
            empty_pool(&mut o, k, pool, "/inboundConnectionPool");
        }

        let egress: Vec<Node<'_>> = spec
            .get("egress")
            .into_iter()
            .flat_map(|l| l.items())
            .collect();
        for (i, item) in egress.iter().enumerate() {
            let base = format!("/egress/{i}");
            let port = item.get("port").filter(|p| !p.is_null());
            match port {
                None if i + 1 < egress.len() => {
                    let span = item.entries().next().map_or(item.span(), |(k, _)| k.span());
                    o.error(
                        span,
                        &base,
                        format!("egress listener {i} has no `port`, but it is not the last listener: Istio requires the catch-all listener to come last"),
                        "catch-all not last",
                        "Move the listener without `port` to the end of `egress`, after the listeners for specific ports.",
                    );
                }
                None => {}
                Some(port) if port.shape() == Shape::Mapping => {
                    check_port(&mut o, port, &base, "egress");
                    check_egress_bind(&mut o, *item, port, &base);
                }
                Some(_) => {}
            }
            if let Some((k, hosts)) = item.entry("hosts") {
                if hosts.shape() == Shape::Sequence && hosts.items().next().is_none() {
                    o.error(
                        k.span(),
                        &format!("{base}/hosts"),
                        "egress listener has an empty `hosts` list: Istio requires at least one host".to_owned(),
                        "no hosts",
                        "List the services this listener imports, for example `./*` and `istio-system/*`.",
                    );
                }
                // `.` is the Sidecar's namespace; when the files do not say which
                // one that is, `.` is compared only with itself.
                let known = matches!(
                    meta.namespace_source,
                    NamespaceSource::Field | NamespaceSource::Kustomize
                );
                let namespace = if known { meta.namespace.as_str() } else { "." };
                egress_host_warnings(&mut o, hosts, namespace, &format!("{base}/hosts"));
            }
        }

        if let Some((key, policy)) = spec.entry("outboundTrafficPolicy") {
            egress_proxy(&mut o, key, policy);
        }
    }
}

/// The span of a port mapping's first key (its first line).
fn port_span(port: Node<'_>) -> Span {
    port.entries().next().map_or(port.span(), |(k, _)| k.span())
}

fn check_port(o: &mut Out<'_>, port: Node<'_>, base: &str, which: &str) {
    if let Some(t) = port.get("targetPort")
        && t.int().is_some_and(|v| v > 0)
    {
        o.error(
            t.span(),
            &format!("{base}/port/targetPort"),
            format!("`targetPort` has no effect on a Sidecar {which} port: Istio rejects it"),
            "not allowed on a Sidecar",
            "Remove `targetPort`; for ingress, point `defaultEndpoint` at the application's port instead.",
        );
    }
    if let Some(n) = port.get("name")
        && n.shape() == Shape::Scalar
        && let Some(name) = n.str()
        && !name.is_empty()
        && !is_dns1123_label(name)
    {
        o.error(
            n.span(),
            &format!("{base}/port/name"),
            format!("port name `{name}` is not a DNS-1123 label: Istio rejects it"),
            "invalid port name",
            "Use letters, digits and `-` only, starting and ending with a letter or digit, at most 63 characters (`http-web`).",
        );
    }
    if let Some(p) = port.get("protocol")
        && p.shape() == Shape::Scalar
        && let Some(text) = p.str()
        && !text.is_empty()
        && protocol(text).is_none()
    {
        let help = match crate::text::closest(&text.to_ascii_uppercase(), PROTOCOLS.iter().copied())
        {
            Some(h) => format!("Did you mean `{h}`?"),
            None => format!(
                "Use one of {}.",
                crate::text::backtick_list(PROTOCOLS, "or")
            ),
        };
        o.error(
            p.span(),
            &format!("{base}/port/protocol"),
            format!("port protocol `{text}` is not one Istio knows: Istio rejects the Sidecar"),
            "unknown protocol",
            &help,
        );
    }
}

/// An ingress listener's `bind` must be an IP address.
fn check_ip_bind(o: &mut Out<'_>, item: Node<'_>, base: &str) {
    if let Some(b) = item.get("bind")
        && let Some(bind) = b.str()
        && !bind.is_empty()
        && !is_ip(bind)
    {
        o.error(
            b.span(),
            &format!("{base}/bind"),
            format!("bind `{bind}` is not an IP address: Istio rejects it"),
            "not an IP address",
            "Bind to an IP address of the pod, or remove `bind`.",
        );
    }
}

fn check_egress_bind(o: &mut Out<'_>, item: Node<'_>, port: Node<'_>, base: &str) {
    let number = port.get("number").filter(|n| !n.is_null());
    let bind_node = item.get("bind");
    let bind = bind_node.and_then(|b| b.str()).unwrap_or("");
    let is_socket_port = match number {
        None => true,
        Some(n) => n.int() == Some(0),
    };
    if !is_socket_port {
        check_ip_bind(o, item, base);
        return;
    }
    match bind.strip_prefix(UNIX_PREFIX) {
        None => {
            // An explicit `number: 0` without a socket is `value-out-of-range`'s.
            if number.is_none() {
                o.error(
                    port_span(port),
                    &format!("{base}/port"),
                    "egress port has no `number`: only a listener bound to a `unix://` socket may go without one, and Istio rejects it".to_owned(),
                    "no number",
                    "Set `number` to the port this listener captures, or bind it to `unix:///path/to/socket`.",
                );
            }
        }
        Some(path) => {
            if let (Some(b), Some(problem)) = (bind_node, unix_address_problem(path)) {
                o.error(
                    b.span(),
                    &format!("{base}/bind"),
                    format!("bind `{bind}` is not a valid Unix socket address: {problem}"),
                    "invalid socket path",
                    "Write `unix:///absolute/path/to/socket` (or `unix://@name` for an abstract socket).",
                );
            }
            if let Some(c) = item.get("captureMode")
                && let Some(mode @ "IPTABLES") = c.str()
            {
                o.error(
                    c.span(),
                    &format!("{base}/captureMode"),
                    format!("captureMode `{mode}` cannot be used on a listener bound to a Unix socket: Istio requires `DEFAULT` or `NONE` there"),
                    "not for a socket",
                    "Remove `captureMode` (or set `NONE`) for a Unix socket listener.",
                );
            }
        }
    }
}

fn empty_pool(o: &mut Out<'_>, key: Node<'_>, pool: Node<'_>, pointer: &str) {
    if pool.shape() == Shape::Mapping
        && pool.get("http").is_none_or(|h| h.is_null())
        && pool.get("tcp").is_none_or(|t| t.is_null())
    {
        o.error(
            key.span(),
            pointer,
            "connection pool sets neither `http` nor `tcp`: Istio requires at least one".to_owned(),
            "empty connection pool",
            "Set limits under `tcp` (connections) or `http` (requests), or remove the connection pool.",
        );
    }
}

/// Why an ingress `defaultEndpoint` is not one Istio accepts, or `None`.
fn default_endpoint_problem(ep: &str) -> Option<String> {
    if let Some(path) = ep.strip_prefix(UNIX_PREFIX) {
        return unix_address_problem(path);
    }
    let (host, port) = if let Some(rest) = ep.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Some("an IPv6 address opened with `[` is not closed with `]`".to_owned());
        };
        let Some(port) = after.strip_prefix(':') else {
            return Some("it has no port (`[::1]:8080`)".to_owned());
        };
        (host, port)
    } else {
        let Some((host, port)) = ep.rsplit_once(':') else {
            return Some("it has no port: write `127.0.0.1:<port>`".to_owned());
        };
        if host.contains(':') {
            return Some("an IPv6 address must be written in brackets (`[::1]:8080`)".to_owned());
        }
        (host, port)
    };
    if !matches!(host, "" | "127.0.0.1" | "0.0.0.0" | "::1" | "::") {
        return Some(format!(
            "the host `{host}` is not `127.0.0.1`, `0.0.0.0`, `::1` or `::`: a sidecar forwards only to its own pod"
        ));
    }
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => None,
        Ok(p) => Some(format!("port `{p}` is outside 1–65535")),
        Err(_) => Some(format!("port `{port}` is not a number")),
    }
}

fn egress_host_warnings(o: &mut Out<'_>, hosts: Node<'_>, namespace: &str, base: &str) {
    let mut seen: HashMap<String, HashMap<&str, Span>> = HashMap::new();
    let mut all: Option<(usize, Node<'_>)> = None;
    for (i, h) in hosts.items().enumerate() {
        let Some(text) = h.str() else { continue };
        let Some((ns, svc)) = text.split_once('/') else {
            continue;
        };
        let ns = if ns == "." { namespace } else { ns };
        let set = seen.entry(ns.to_owned()).or_default();
        let earlier = if svc == "*" {
            set.values().next().copied()
        } else {
            set.get(svc).or_else(|| set.get("*")).copied()
        };
        if let Some(first) = earlier {
            let mut d = Diagnostic::new(
                &InvalidSidecar::META,
                o.meta.file,
                h.span(),
                format!("egress host `{text}` repeats or overlaps a host listed before it in this listener"),
            )
            .label("duplicated host")
            .help("List each namespace/host once; `ns/*` already imports every host of `ns`.")
            .severity(Severity::Warning)
            .related(o.meta.file, first, "already covered here")
            .object(o.meta)
            .path(o.meta.path(&format!("/spec{base}/{i}")));
            d.upstream = &["IST0133"];
            o.out.push(d);
        }
        set.entry(svc).or_insert(h.span());
        if ns == "*" && svc == "*" && all.is_none() {
            all = Some((i, h));
        }
    }
    if let Some((i, h)) = all
        && seen.len() != 1
    {
        o.warn(
            h.span(),
            &format!("{base}/{i}"),
            "`*/*` imports every host of every namespace, so the other hosts of this listener add nothing".to_owned(),
            "selects everything",
            "Keep `*/*` alone, or drop it and list the namespaces this workload calls.",
        );
    }
}

/// `egressProxy` problems. The `egressProxy` key itself is left to
/// `deprecated-field`; findings point at the mode, the policy key or the
/// proxy's fields.
fn egress_proxy(o: &mut Out<'_>, policy_key: Node<'_>, policy: Node<'_>) {
    let Some(proxy) = policy.get("egressProxy") else {
        return;
    };
    if proxy.is_null() {
        return;
    }
    let mode_node = policy.get("mode").filter(|m| !m.is_null());
    let mode = mode_node.and_then(|m| m.str()).unwrap_or("REGISTRY_ONLY");
    if mode != "ALLOW_ANY" {
        // An unknown mode is `invalid-enum`'s.
        if mode != "REGISTRY_ONLY" {
            return;
        }
        let (span, pointer, how) = match mode_node {
            Some(m) => (
                m.span(),
                "/outboundTrafficPolicy/mode",
                "is `REGISTRY_ONLY`",
            ),
            None => (
                policy_key.span(),
                "/outboundTrafficPolicy",
                "is not set (so it is `REGISTRY_ONLY`)",
            ),
        };
        o.error(
            span,
            pointer,
            format!("`egressProxy` is set, but the outbound traffic policy mode {how}: Istio accepts `egressProxy` only with `ALLOW_ANY`"),
            "needs `ALLOW_ANY`",
            "Set `mode: ALLOW_ANY` (unknown destinations then go to the egress proxy), or remove `egressProxy`.",
        );
        return;
    }
    if let Some(h) = proxy.get("host")
        && let Some(host) = h.str()
        && let Some(problem) = if host.is_empty() {
            Some("it is empty".to_owned())
        } else {
            dns_labels_problem(host)
        }
    {
        o.error(
            h.span(),
            "/outboundTrafficPolicy/egressProxy/host",
            format!("egressProxy host `{host}` is not a valid host name: {problem}"),
            "invalid host",
            "Name the proxy's Service by its full name, for example `egress-proxy.egress.svc.cluster.local`.",
        );
    }
    if proxy.get("port").is_none_or(|p| p.is_null()) {
        let span = proxy
            .entries()
            .next()
            .map_or(policy_key.span(), |(k, _)| k.span());
        o.error(
            span,
            "/outboundTrafficPolicy/egressProxy",
            "`egressProxy` has no `port`: Istio requires the port of the proxy".to_owned(),
            "no port",
            "Add `port: {number: <proxy port>}`.",
        );
    } else if let Some(n) = proxy.get("port").and_then(|p| p.get("number"))
        && let Some(number) = n.int()
        && !(1..=65535).contains(&number)
    {
        o.error(
            n.span(),
            "/outboundTrafficPolicy/egressProxy/port/number",
            format!("egressProxy port `{number}` is outside 1–65535: Istio rejects it"),
            "out of range",
            "Use the port the egress proxy listens on.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::default_endpoint_problem;

    #[test]
    fn default_endpoints() {
        for ok in [
            "127.0.0.1:8080",
            "0.0.0.0:80",
            "[::1]:8080",
            "[::]:9000",
            ":8080",
            "unix:///var/run/app.sock",
        ] {
            assert_eq!(default_endpoint_problem(ok), None, "{ok}");
        }
        for bad in [
            "10.0.0.1:8080",
            "localhost:8080",
            "127.0.0.1",
            "::1:8080",
            "127.0.0.1:http",
            "127.0.0.1:0",
            "unix://relative",
        ] {
            assert!(default_endpoint_problem(bad).is_some(), "{bad}");
        }
    }
}
