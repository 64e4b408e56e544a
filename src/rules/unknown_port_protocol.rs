use crate::declare_rule;
use crate::model::{ServicePort, Spec};
use crate::report::{Diagnostic, Severity};
use crate::rules::port_protocol::{self, ProtocolClass};
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a Service port whose protocol Istio cannot tell: no `appProtocol`,
    /// and a `name` that is absent or does not start with a protocol Istio
    /// knows (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`,
    /// `udp`, `mongo`, `mysql`, `redis`, `http_proxy`, alone or followed by
    /// `-suffix`), or an `appProtocol` Istio does not know (`appProtocol`
    /// replaces the name: `name: http` with `appProtocol: web` is unknown).
    ///
    /// Istio then detects the protocol of each connection by waiting for the
    /// client's first bytes ("protocol sniffing"): HTTP/1.1, HTTP/2 and gRPC
    /// are recognised and get full HTTP routing; anything else is proxied as
    /// plain TCP. For the usual HTTP and client-first TCP services that works,
    /// so the finding is only **info**: naming the port makes the protocol
    /// explicit and saves the detection step. UDP and SCTP ports are not
    /// proxied and are not reported, nor are ports 25, 53, 3306 and 27017,
    /// which Istio treats as TCP without a name.
    ///
    /// The finding is a **warning** when the port evidently carries a
    /// protocol in which the server speaks first (SMTP, FTP, POP3, IMAP,
    /// NATS, MariaDB, VNC: recognised by the port name or the customary port
    /// number): the sidecar waits for bytes the client never sends, and the
    /// detection timeout (`protocolDetectionTimeout`) is off by default, so
    /// every connection hangs.
    ///
    /// Not reported, as istioctl does not report them: Services labelled
    /// `istio` or `release: istio` (Istio's own), Services that Istio
    /// generates for Gateway API gateways and waypoints
    /// (`gateway.istio.io/managed`), and Services in `kube-system`,
    /// `kube-public`, `kube-node-lease` and `local-path-storage`, where no
    /// sidecars run.
    ///
    /// Difference from upstream: istioctl reports an `ExternalName` Service
    /// whose port is unnamed or named `tcp` (IST0150), because Istio used to
    /// send all TCP traffic on that port to the external name. Since Istio
    /// 1.21 an `ExternalName` Service is only an alias and its ports have no
    /// effect, so meshvet reports it only when `istio-version` is older than
    /// 1.21 (as a warning, and for every TCP port, not only one named `tcp`).
    ///
    /// ## Why is this bad?
    /// Istio's protocol for the port is a guess made per connection: a
    /// server-first protocol hangs, and reviewers cannot see from the Service
    /// which Istio features (HTTP routes, retries, L7 metrics) apply to it.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: mail, namespace: shop}
    /// spec:
    ///   selector: {app: mail}
    ///   ports:
    ///   - name: smtp
    ///     port: 1025
    /// ```
    /// Use instead: `name: tcp-smtp` (or `appProtocol: tcp`); for HTTP,
    /// `name: http-web` or `appProtocol: http`.
    pub UnknownPortProtocol {
        name: "unknown-port-protocol",
        severity: Info,
        kinds: [Service],
        upstream: ["IST0118", "IST0150"],
    }
}

/// Namespaces where Istio injects no sidecars (istioctl skips them too).
const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// Values of `gateway.istio.io/managed` on Services Istio generates.
const MANAGED: &[&str] = &[
    "istio.io-gateway-controller",
    "istio.io-mesh-controller",
    "istio.io-eastwest-controller",
];

/// Protocols in which the server speaks first, by port-name prefix.
const SERVER_FIRST_NAMES: &[(&str, &str)] = &[
    ("smtp", "SMTP"),
    ("smtps", "SMTP"),
    ("submission", "SMTP"),
    ("ftp", "FTP"),
    ("pop3", "POP3"),
    ("imap", "IMAP"),
    ("nats", "NATS"),
    ("mariadb", "MariaDB"),
    ("vnc", "VNC"),
];

/// Customary ports of protocols in which the server speaks first.
const SERVER_FIRST_PORTS: &[(i64, &str)] = &[
    (21, "FTP"),
    (110, "POP3"),
    (143, "IMAP"),
    (587, "SMTP"),
    (4222, "NATS"),
    (6222, "NATS"),
    (5900, "VNC"),
];

impl Rule for UnknownPortProtocol {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Spec::Service(svc) = &ctx.object.spec else {
            return;
        };
        let meta = &ctx.object.meta;
        let labels = &meta.labels.map;
        if labels.contains_key("istio")
            || labels.get("release").is_some_and(|r| r == "istio")
            || labels
                .get("gateway.istio.io/managed")
                .is_some_and(|m| MANAGED.contains(&m.as_str()))
            || SYSTEM_NAMESPACES.contains(&meta.namespace.as_str())
        {
            return;
        }
        let external_name = svc
            .service_type
            .as_ref()
            .is_some_and(|t| t.as_str() == "ExternalName");
        if external_name && !ctx.settings.istio_before(1, 21) {
            return;
        }
        for port in &svc.ports {
            let derived = port_protocol::service_port(port);
            let class = port_protocol::class(derived.protocol);
            if external_name {
                if matches!(class, ProtocolClass::Sniffed | ProtocolClass::Tcp) {
                    out.push(external_name_port(ctx, port, derived.protocol));
                }
            } else if derived.protocol.is_none() {
                out.push(unknown(ctx, port));
            }
        }
    }
}

/// Where to point at a port: its `appProtocol`, else its `name`, else its
/// `port`, else the item; with the JSON pointer of that value.
fn place(port: &ServicePort) -> (crate::source::Span, String) {
    if let Some(app) = &port.app_protocol {
        (app.span, format!("{}/appProtocol", port.path))
    } else if let Some(name) = &port.name {
        (name.span, format!("{}/name", port.path))
    } else if let Some(number) = &port.port {
        (number.span, format!("{}/port", port.path))
    } else {
        (port.span, port.path.clone())
    }
}

/// The port as the message names it.
fn describe(port: &ServicePort) -> String {
    let number = port
        .port
        .as_ref()
        .map_or_else(|| "?".to_owned(), |p| p.value.to_string());
    match (&port.app_protocol, &port.name) {
        (Some(app), _) => format!("port `{number}` (`appProtocol: {}`)", app.as_str()),
        (None, Some(name)) => format!("port `{number}` (named `{}`)", name.as_str()),
        (None, None) => format!("port `{number}` (unnamed)"),
    }
}

/// The server-first protocol the port evidently carries, if any.
fn server_first(port: &ServicePort) -> Option<&'static str> {
    let by_name = port.name.as_ref().and_then(|n| {
        let prefix = n
            .as_str()
            .split('-')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        SERVER_FIRST_NAMES
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, proto)| *proto)
    });
    by_name.or_else(|| {
        let number = port.port.as_ref()?.value;
        SERVER_FIRST_PORTS
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, proto)| *proto)
    })
}

fn unknown(ctx: &ObjectContext<'_>, port: &ServicePort) -> Diagnostic {
    let meta = &ctx.object.meta;
    let (span, path) = place(port);
    let what = describe(port);
    let d = match server_first(port) {
        Some(proto) => Diagnostic::new(
            &UnknownPortProtocol::META,
            meta.file,
            span,
            format!(
                "{what} looks like {proto} but declares no protocol Istio knows: the sidecar waits for the client's first bytes to detect it, but in {proto} the server speaks first, so connections hang"
            ),
        )
        .severity(Severity::Warning)
        .label(format!("{proto} without a declared protocol"))
        .help(
            "Name the port `tcp` or `tcp-<suffix>` (or set `appProtocol: tcp`) so that Istio proxies it as TCP without waiting for the client.",
        ),
        None => Diagnostic::new(
            &UnknownPortProtocol::META,
            meta.file,
            span,
            format!(
                "{what} declares no protocol Istio knows: Istio detects HTTP, HTTP/2 and gRPC from each connection's first bytes and proxies anything else as plain TCP"
            ),
        )
        .label("no protocol Istio knows")
        .help(
            "Name the port `<protocol>` or `<protocol>-<suffix>` (`http-web`, `grpc`, `tcp-db`) or set `appProtocol` to one of Istio's protocols, so that Istio does not have to detect it.",
        ),
    };
    let mut d = d.object(meta).path(path);
    d.upstream = &["IST0118"];
    d
}

fn external_name_port(
    ctx: &ObjectContext<'_>,
    port: &ServicePort,
    protocol: Option<&str>,
) -> Diagnostic {
    let meta = &ctx.object.meta;
    let (span, path) = place(port);
    let what = describe(port);
    let how = match protocol {
        Some(p) => format!("is {p}"),
        None => "cannot be told".to_owned(),
    };
    let mut d = Diagnostic::new(
        &UnknownPortProtocol::META,
        meta.file,
        span,
        format!(
            "the protocol of {what} of this `ExternalName` Service {how}: Istio before 1.21 sends every TCP connection on that port that no other service claims to the external name"
        ),
    )
    .severity(Severity::Warning)
    .label("TCP port on an ExternalName Service")
    .help("Declare the port as `http-<suffix>`, `https-<suffix>` or `tls-<suffix>` (matched by host or SNI), or use a ServiceEntry with `addresses` for TCP.")
    .object(meta)
    .path(path);
    d.upstream = &["IST0150"];
    d
}
