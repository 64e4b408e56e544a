//! Typed views of Istio networking objects (`networking.istio.io` v1, v1beta1,
//! v1alpha3: the three versions share one schema).

use super::node::Node;
use super::{
    Labels, ObjectMeta, SStr, Spanned, labels, spanned_bool, spanned_float, spanned_int,
    spanned_str, str_list,
};
use crate::source::Span;

/// A VirtualService's routing facts.
#[derive(Debug, Clone, Default)]
pub struct VirtualService {
    /// `spec.hosts`.
    pub hosts: Vec<SStr>,
    /// `spec.gateways`.
    pub gateways: Vec<SStr>,
    /// `spec.exportTo`.
    pub export_to: Vec<SStr>,
    /// `spec.http`.
    pub http: Vec<HttpRoute>,
    /// `spec.tcp`.
    pub tcp: Vec<L4Route>,
    /// `spec.tls`.
    pub tls: Vec<L4Route>,
}

/// Where a destination appears in a VirtualService.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationUse {
    /// An `http[].route[]` entry.
    HttpRoute,
    /// A `tcp[].route[]` entry.
    TcpRoute,
    /// A `tls[].route[]` entry.
    TlsRoute,
    /// `http[].mirror`.
    Mirror,
    /// `http[].mirrors[].destination`.
    Mirrors,
}

impl DestinationUse {
    /// A word for messages: "route" or "mirror".
    pub fn word(self) -> &'static str {
        match self {
            DestinationUse::HttpRoute | DestinationUse::TcpRoute | DestinationUse::TlsRoute => {
                "route"
            }
            DestinationUse::Mirror | DestinationUse::Mirrors => "mirror",
        }
    }
}

/// One destination of a VirtualService with its context.
#[derive(Debug, Clone, Copy)]
pub struct DestinationRef<'a> {
    /// The destination.
    pub destination: &'a Destination,
    /// Where it appears.
    pub usage: DestinationUse,
    /// Its weight, for route entries.
    pub weight: Option<&'a Spanned<i64>>,
    /// Index of the route (`http[i]`, `tcp[i]` or `tls[i]`) it belongs to.
    pub route_index: usize,
}

impl VirtualService {
    /// True for a delegate VirtualService (no hosts): never applied on its own.
    pub fn is_delegate(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Every destination (http, tcp and tls routes, mirror, mirrors), in document order.
    pub fn destinations(&self) -> Vec<DestinationRef<'_>> {
        let mut out = Vec::new();
        for (i, route) in self.http.iter().enumerate() {
            out.extend(route.route.iter().map(|r| DestinationRef {
                destination: &r.destination,
                usage: DestinationUse::HttpRoute,
                weight: r.weight.as_ref(),
                route_index: i,
            }));
            out.extend(route.mirror.iter().map(|m| DestinationRef {
                destination: m,
                usage: DestinationUse::Mirror,
                weight: None,
                route_index: i,
            }));
            out.extend(route.mirrors.iter().map(|m| DestinationRef {
                destination: &m.destination,
                usage: DestinationUse::Mirrors,
                weight: None,
                route_index: i,
            }));
        }
        for (routes, usage) in [
            (&self.tcp, DestinationUse::TcpRoute),
            (&self.tls, DestinationUse::TlsRoute),
        ] {
            for (i, route) in routes.iter().enumerate() {
                out.extend(route.route.iter().map(|r| DestinationRef {
                    destination: &r.destination,
                    usage,
                    weight: r.weight.as_ref(),
                    route_index: i,
                }));
            }
        }
        out
    }
}

/// How a string matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    /// `exact`.
    Exact,
    /// `prefix`.
    Prefix,
    /// `regex` (RE2).
    Regex,
}

/// An Istio `StringMatch` (`{exact|prefix|regex: value}`).
#[derive(Debug, Clone, PartialEq)]
pub struct StringMatch {
    /// The comparison; `None` for an empty matcher (`{}`), which matches presence only.
    pub kind: Option<MatchKind>,
    /// The value to compare with.
    pub value: Option<SStr>,
    /// The whole matcher.
    pub span: Span,
}

/// A named string matcher (a header or query parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMatch {
    /// The header or parameter name.
    pub name: SStr,
    /// Its matcher.
    pub matcher: StringMatch,
}

/// One `HTTPMatchRequest`: all its conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct HttpMatch {
    /// JSON pointer of the match request.
    pub path: String,
    /// The whole match request.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `uri`.
    pub uri: Option<StringMatch>,
    /// `scheme`.
    pub scheme: Option<StringMatch>,
    /// `method`.
    pub method: Option<StringMatch>,
    /// `authority`.
    pub authority: Option<StringMatch>,
    /// `headers`.
    pub headers: Vec<NamedMatch>,
    /// `withoutHeaders`.
    pub without_headers: Vec<NamedMatch>,
    /// `queryParams`.
    pub query_params: Vec<NamedMatch>,
    /// `port`.
    pub port: Option<Spanned<i64>>,
    /// `sourceLabels`.
    pub source_labels: Labels,
    /// `sourceNamespace`.
    pub source_namespace: Option<SStr>,
    /// `gateways`.
    pub gateways: Vec<SStr>,
    /// `ignoreUriCase`.
    pub ignore_uri_case: Option<Spanned<bool>>,
    /// `statPrefix`.
    pub stat_prefix: Option<SStr>,
}

/// A `Destination`: host, subset and port of a route, mirror or mirrors entry.
#[derive(Debug, Clone, Default)]
pub struct Destination {
    /// JSON pointer of the destination mapping.
    pub path: String,
    /// The destination mapping.
    pub span: Span,
    /// `host`.
    pub host: Option<SStr>,
    /// `subset`.
    pub subset: Option<SStr>,
    /// `port.number`.
    pub port: Option<Spanned<i64>>,
}

/// An HTTP, TCP or TLS route destination with its weight.
#[derive(Debug, Clone, Default)]
pub struct RouteDestination {
    /// JSON pointer of the route item.
    pub path: String,
    /// The route item.
    pub span: Span,
    /// `destination`.
    pub destination: Destination,
    /// `weight`.
    pub weight: Option<Spanned<i64>>,
}

/// `retries` of an HTTP route.
#[derive(Debug, Clone, Default)]
pub struct Retries {
    /// The `retries` mapping.
    pub span: Span,
    /// The `retries` key.
    pub key_span: Span,
    /// `attempts`.
    pub attempts: Option<Spanned<i64>>,
    /// `perTryTimeout`.
    pub per_try_timeout: Option<SStr>,
    /// `retryOn`.
    pub retry_on: Option<SStr>,
    /// `retryRemoteLocalities`.
    pub retry_remote_localities: Option<Spanned<bool>>,
}

/// One entry of `mirrors`.
#[derive(Debug, Clone, Default)]
pub struct MirrorPolicy {
    /// `destination`.
    pub destination: Destination,
    /// `percentage.value`.
    pub percentage: Option<Spanned<f64>>,
}

/// `fault` of an HTTP route.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// The `fault` mapping.
    pub span: Span,
    /// `delay.fixedDelay`.
    pub delay_fixed: Option<SStr>,
    /// `delay.percentage.value`.
    pub delay_percentage: Option<Spanned<f64>>,
    /// `delay.percent` (deprecated integer form).
    pub delay_percent: Option<Spanned<i64>>,
    /// `abort.httpStatus`.
    pub abort_status: Option<Spanned<i64>>,
    /// `abort.percentage.value`.
    pub abort_percentage: Option<Spanned<f64>>,
}

/// `delegate` of an HTTP route.
#[derive(Debug, Clone, Default)]
pub struct Delegate {
    /// The `delegate` mapping.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `namespace`.
    pub namespace: Option<SStr>,
}

/// One `HTTPRoute`.
#[derive(Debug, Clone, Default)]
pub struct HttpRoute {
    /// JSON pointer of the route.
    pub path: String,
    /// The route item.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `match`: the route applies when any one of them holds (none: always).
    pub matches: Vec<HttpMatch>,
    /// The `match` key, when present.
    pub match_key: Option<Span>,
    /// `route`.
    pub route: Vec<RouteDestination>,
    /// `redirect`, when present.
    pub redirect: Option<Span>,
    /// `directResponse`, when present.
    pub direct_response: Option<Span>,
    /// `delegate`.
    pub delegate: Option<Box<Delegate>>,
    /// `timeout`.
    pub timeout: Option<SStr>,
    /// `retries`.
    pub retries: Option<Box<Retries>>,
    /// `mirror`.
    pub mirror: Option<Box<Destination>>,
    /// `mirrors`.
    pub mirrors: Vec<MirrorPolicy>,
    /// `mirrorPercentage.value`.
    pub mirror_percentage: Option<Spanned<f64>>,
    /// `mirrorPercent` (deprecated).
    pub mirror_percent: Option<Spanned<i64>>,
    /// `fault`.
    pub fault: Option<Box<Fault>>,
}

/// One match of a TCP or TLS route (`L4MatchAttributes` / `TLSMatchAttributes`).
#[derive(Debug, Clone, Default)]
pub struct L4Match {
    /// JSON pointer of the match.
    pub path: String,
    /// The match item.
    pub span: Span,
    /// `destinationSubnets`.
    pub destination_subnets: Vec<SStr>,
    /// `port`.
    pub port: Option<Spanned<i64>>,
    /// `sourceLabels`.
    pub source_labels: Labels,
    /// `sourceNamespace`.
    pub source_namespace: Option<SStr>,
    /// `gateways`.
    pub gateways: Vec<SStr>,
    /// `sniHosts` (TLS only).
    pub sni_hosts: Vec<SStr>,
}

/// One TCP or TLS route.
#[derive(Debug, Clone, Default)]
pub struct L4Route {
    /// JSON pointer of the route.
    pub path: String,
    /// The route item.
    pub span: Span,
    /// `match`.
    pub matches: Vec<L4Match>,
    /// `route`.
    pub route: Vec<RouteDestination>,
}

/// Reads a VirtualService spec.
pub fn virtual_service(spec: Node<'_>, meta: &ObjectMeta) -> VirtualService {
    let base = meta.path("/spec");
    let http = spec
        .get("http")
        .into_iter()
        .flat_map(|n| n.items())
        .enumerate()
        .map(|(i, r)| http_route(r, format!("{base}/http/{i}")))
        .collect();
    let l4 = |key: &str| -> Vec<L4Route> {
        spec.get(key)
            .into_iter()
            .flat_map(|n| n.items())
            .enumerate()
            .map(|(i, r)| l4_route(r, format!("{base}/{key}/{i}")))
            .collect()
    };
    VirtualService {
        hosts: str_list(spec.get("hosts")),
        gateways: str_list(spec.get("gateways")),
        export_to: str_list(spec.get("exportTo")),
        http,
        tcp: l4("tcp"),
        tls: l4("tls"),
    }
}

fn http_route(n: Node<'_>, path: String) -> HttpRoute {
    let matches = n
        .get("match")
        .into_iter()
        .flat_map(|m| m.items())
        .enumerate()
        .map(|(i, m)| http_match(m, format!("{path}/match/{i}")))
        .collect();
    let route = route_destinations(n.get("route"), &format!("{path}/route"));
    let retries = n.entry("retries").map(|(k, r)| Retries {
        span: r.span(),
        key_span: k.span(),
        attempts: spanned_int(r.get("attempts")),
        per_try_timeout: spanned_str(r.get("perTryTimeout")),
        retry_on: spanned_str(r.get("retryOn")),
        retry_remote_localities: spanned_bool(r.get("retryRemoteLocalities")),
    });
    let mirrors = n
        .get("mirrors")
        .into_iter()
        .flat_map(|m| m.items())
        .enumerate()
        .map(|(i, m)| MirrorPolicy {
            destination: destination(
                m.get("destination"),
                format!("{path}/mirrors/{i}/destination"),
            ),
            percentage: spanned_float(m.get("percentage").and_then(|p| p.get("value"))),
        })
        .collect();
    let fault = n.get("fault").map(|f| {
        let delay = f.get("delay");
        let abort = f.get("abort");
        Fault {
            span: f.span(),
            delay_fixed: spanned_str(delay.and_then(|d| d.get("fixedDelay"))),
            delay_percentage: spanned_float(
                delay
                    .and_then(|d| d.get("percentage"))
                    .and_then(|p| p.get("value")),
            ),
            delay_percent: spanned_int(delay.and_then(|d| d.get("percent"))),
            abort_status: spanned_int(abort.and_then(|a| a.get("httpStatus"))),
            abort_percentage: spanned_float(
                abort
                    .and_then(|a| a.get("percentage"))
                    .and_then(|p| p.get("value")),
            ),
        }
    });
    HttpRoute {
        span: n.span(),
        name: spanned_str(n.get("name")),
        matches,
        match_key: n.entry("match").map(|(k, _)| k.span()),
        route,
        redirect: n.get("redirect").map(|r| r.span()),
        direct_response: n.get("directResponse").map(|r| r.span()),
        delegate: n.get("delegate").map(|d| {
            Box::new(Delegate {
                span: d.span(),
                name: spanned_str(d.get("name")),
                namespace: spanned_str(d.get("namespace")),
            })
        }),
        timeout: spanned_str(n.get("timeout")),
        retries: retries.map(Box::new),
        mirror: n
            .get("mirror")
            .map(|m| Box::new(destination(Some(m), format!("{path}/mirror")))),
        mirrors,
        mirror_percentage: spanned_float(n.get("mirrorPercentage").and_then(|p| p.get("value"))),
        mirror_percent: spanned_int(n.get("mirrorPercent")),
        fault: fault.map(Box::new),
        path,
    }
}

fn string_match(n: Option<Node<'_>>) -> Option<StringMatch> {
    let n = n?;
    let (kind, value) = [
        ("exact", MatchKind::Exact),
        ("prefix", MatchKind::Prefix),
        ("regex", MatchKind::Regex),
    ]
    .into_iter()
    .find_map(|(key, kind)| n.get(key).map(|v| (Some(kind), spanned_str(Some(v)))))
    .unwrap_or((None, None));
    Some(StringMatch {
        kind,
        value,
        span: n.span(),
    })
}

fn named_matches(n: Option<Node<'_>>) -> Vec<NamedMatch> {
    n.into_iter()
        .flat_map(|m| m.entries())
        .filter_map(|(k, v)| {
            Some(NamedMatch {
                name: spanned_str(Some(k))?,
                matcher: string_match(Some(v))?,
            })
        })
        .collect()
}

fn http_match(n: Node<'_>, path: String) -> HttpMatch {
    HttpMatch {
        span: n.span(),
        name: spanned_str(n.get("name")),
        uri: string_match(n.get("uri")),
        scheme: string_match(n.get("scheme")),
        method: string_match(n.get("method")),
        authority: string_match(n.get("authority")),
        headers: named_matches(n.get("headers")),
        without_headers: named_matches(n.get("withoutHeaders")),
        query_params: named_matches(n.get("queryParams")),
        port: spanned_int(n.get("port")),
        source_labels: labels(n.get("sourceLabels")),
        source_namespace: spanned_str(n.get("sourceNamespace")),
        gateways: str_list(n.get("gateways")),
        ignore_uri_case: spanned_bool(n.get("ignoreUriCase")),
        stat_prefix: spanned_str(n.get("statPrefix")),
        path,
    }
}

fn destination(n: Option<Node<'_>>, path: String) -> Destination {
    let Some(n) = n else {
        return Destination {
            path,
            ..Destination::default()
        };
    };
    Destination {
        span: n.span(),
        host: spanned_str(n.get("host")),
        subset: spanned_str(n.get("subset")),
        port: spanned_int(n.get("port").and_then(|p| p.get("number"))),
        path,
    }
}

fn route_destinations(n: Option<Node<'_>>, path: &str) -> Vec<RouteDestination> {
    n.into_iter()
        .flat_map(|r| r.items())
        .enumerate()
        .map(|(i, r)| RouteDestination {
            span: r.span(),
            destination: destination(r.get("destination"), format!("{path}/{i}/destination")),
            weight: spanned_int(r.get("weight")),
            path: format!("{path}/{i}"),
        })
        .collect()
}

fn l4_route(n: Node<'_>, path: String) -> L4Route {
    let matches = n
        .get("match")
        .into_iter()
        .flat_map(|m| m.items())
        .enumerate()
        .map(|(i, m)| L4Match {
            path: format!("{path}/match/{i}"),
            span: m.span(),
            destination_subnets: str_list(m.get("destinationSubnets")),
            port: spanned_int(m.get("port")),
            source_labels: labels(m.get("sourceLabels")),
            source_namespace: spanned_str(m.get("sourceNamespace")),
            gateways: str_list(m.get("gateways")),
            sni_hosts: str_list(m.get("sniHosts")),
        })
        .collect();
    L4Route {
        span: n.span(),
        matches,
        route: route_destinations(n.get("route"), &format!("{path}/route")),
        path,
    }
}

/// A DestinationRule's facts.
#[derive(Debug, Clone, Default)]
pub struct DestinationRule {
    /// `spec.host`.
    pub host: Option<SStr>,
    /// `spec.exportTo`.
    pub export_to: Vec<SStr>,
    /// `spec.workloadSelector.matchLabels`, when a selector is given.
    pub workload_selector: Option<Labels>,
    /// `spec.trafficPolicy`.
    pub traffic_policy: Option<Box<TrafficPolicy>>,
    /// `spec.subsets`.
    pub subsets: Vec<Subset>,
    /// The `subsets` key, when present.
    pub subsets_key: Option<Span>,
    /// The `trafficPolicy` key, when present.
    pub traffic_policy_key: Option<Span>,
}

/// One DestinationRule subset.
#[derive(Debug, Clone, Default)]
pub struct Subset {
    /// JSON pointer of the subset.
    pub path: String,
    /// The subset item.
    pub span: Span,
    /// `name`.
    pub name: Option<SStr>,
    /// `labels`.
    pub labels: Labels,
    /// `trafficPolicy`.
    pub traffic_policy: Option<Box<TrafficPolicy>>,
    /// Digest of the whole subset as written (see [`super::fingerprint`]): two
    /// subsets with equal digests define the same thing.
    pub fingerprint: u64,
}

/// A `TrafficPolicy` (top level, per subset, or per port).
#[derive(Debug, Clone, Default)]
pub struct TrafficPolicy {
    /// JSON pointer of the policy.
    pub path: String,
    /// The policy mapping.
    pub span: Span,
    /// `loadBalancer`.
    pub load_balancer: Option<Box<LoadBalancer>>,
    /// `connectionPool`.
    pub connection_pool: Option<Box<ConnectionPool>>,
    /// `outlierDetection`.
    pub outlier_detection: Option<Box<OutlierDetection>>,
    /// `tls`.
    pub tls: Option<Box<ClientTls>>,
    /// `portLevelSettings`.
    pub port_level: Vec<PortTrafficPolicy>,
    /// Digest of the whole policy as written (see [`super::fingerprint`]).
    pub fingerprint: u64,
}

/// `loadBalancer` settings.
#[derive(Debug, Clone, Default)]
pub struct LoadBalancer {
    /// The mapping.
    pub span: Span,
    /// `simple`.
    pub simple: Option<SStr>,
    /// `consistentHash`, when present.
    pub consistent_hash: Option<Span>,
    /// `localityLbSetting`, when present.
    pub locality: Option<Span>,
}

/// `connectionPool` settings (the fields rules reason about).
#[derive(Debug, Clone, Default)]
pub struct ConnectionPool {
    /// The mapping.
    pub span: Span,
    /// `tcp.maxConnections`.
    pub max_connections: Option<Spanned<i64>>,
    /// `tcp.connectTimeout`.
    pub connect_timeout: Option<SStr>,
    /// `http.http1MaxPendingRequests`.
    pub http1_max_pending_requests: Option<Spanned<i64>>,
    /// `http.http2MaxRequests`.
    pub http2_max_requests: Option<Spanned<i64>>,
    /// `http.maxRequestsPerConnection`.
    pub max_requests_per_connection: Option<Spanned<i64>>,
    /// `http.maxRetries`.
    pub max_retries: Option<Spanned<i64>>,
    /// `http.idleTimeout`.
    pub idle_timeout: Option<SStr>,
    /// `http.h2UpgradePolicy`.
    pub h2_upgrade_policy: Option<SStr>,
    /// `http.useClientProtocol`.
    pub use_client_protocol: Option<Spanned<bool>>,
}

/// `outlierDetection` settings.
#[derive(Debug, Clone, Default)]
pub struct OutlierDetection {
    /// JSON pointer of the mapping.
    pub path: String,
    /// The mapping.
    pub span: Span,
    /// The `outlierDetection` key.
    pub key_span: Span,
    /// `consecutiveErrors` (deprecated; ignored by Istio).
    pub consecutive_errors: Option<Spanned<i64>>,
    /// `consecutive5xxErrors`.
    pub consecutive_5xx_errors: Option<Spanned<i64>>,
    /// `consecutiveGatewayErrors`.
    pub consecutive_gateway_errors: Option<Spanned<i64>>,
    /// `consecutiveLocalOriginFailures`.
    pub consecutive_local_origin_failures: Option<Spanned<i64>>,
    /// `splitExternalLocalOriginErrors`.
    pub split_external_local_origin_errors: Option<Spanned<bool>>,
    /// `interval`.
    pub interval: Option<SStr>,
    /// `baseEjectionTime`.
    pub base_ejection_time: Option<SStr>,
    /// `maxEjectionPercent`.
    pub max_ejection_percent: Option<Spanned<i64>>,
    /// `minHealthPercent`.
    pub min_health_percent: Option<Spanned<i64>>,
}

/// Client-side `tls` settings.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// The mapping.
    pub span: Span,
    /// `mode`.
    pub mode: Option<SStr>,
    /// `sni`.
    pub sni: Option<SStr>,
    /// `credentialName`.
    pub credential_name: Option<SStr>,
    /// `caCertificates`.
    pub ca_certificates: Option<SStr>,
    /// `insecureSkipVerify`.
    pub insecure_skip_verify: Option<Spanned<bool>>,
    /// `subjectAltNames`.
    pub subject_alt_names: Vec<SStr>,
}

/// One entry of `portLevelSettings`.
#[derive(Debug, Clone, Default)]
pub struct PortTrafficPolicy {
    /// `port.number`.
    pub port: Option<Spanned<i64>>,
    /// The settings for that port.
    pub policy: TrafficPolicy,
}

/// Reads a DestinationRule spec.
pub fn destination_rule(spec: Node<'_>, meta: &ObjectMeta) -> DestinationRule {
    let base = meta.path("/spec");
    let subsets = spec
        .get("subsets")
        .into_iter()
        .flat_map(|s| s.items())
        .enumerate()
        .map(|(i, s)| {
            let path = format!("{base}/subsets/{i}");
            Subset {
                span: s.span(),
                name: spanned_str(s.get("name")),
                labels: labels(s.get("labels")),
                traffic_policy: s
                    .get("trafficPolicy")
                    .map(|p| Box::new(traffic_policy(p, format!("{path}/trafficPolicy")))),
                fingerprint: super::fingerprint(s),
                path,
            }
        })
        .collect();
    DestinationRule {
        host: spanned_str(spec.get("host")),
        export_to: str_list(spec.get("exportTo")),
        workload_selector: spec
            .get("workloadSelector")
            .map(|w| labels(w.get("matchLabels"))),
        traffic_policy: spec
            .get("trafficPolicy")
            .map(|p| Box::new(traffic_policy(p, format!("{base}/trafficPolicy")))),
        subsets,
        subsets_key: spec.entry("subsets").map(|(k, _)| k.span()),
        traffic_policy_key: spec.entry("trafficPolicy").map(|(k, _)| k.span()),
    }
}

fn traffic_policy(n: Node<'_>, path: String) -> TrafficPolicy {
    let port_level = n
        .get("portLevelSettings")
        .into_iter()
        .flat_map(|p| p.items())
        .enumerate()
        .map(|(i, p)| PortTrafficPolicy {
            port: spanned_int(p.get("port").and_then(|p| p.get("number"))),
            policy: traffic_policy(p, format!("{path}/portLevelSettings/{i}")),
        })
        .collect();
    let outlier_detection = n.entry("outlierDetection").map(|(k, o)| OutlierDetection {
        path: format!("{path}/outlierDetection"),
        span: o.span(),
        key_span: k.span(),
        consecutive_errors: spanned_int(o.get("consecutiveErrors")),
        consecutive_5xx_errors: spanned_int(o.get("consecutive5xxErrors")),
        consecutive_gateway_errors: spanned_int(o.get("consecutiveGatewayErrors")),
        consecutive_local_origin_failures: spanned_int(o.get("consecutiveLocalOriginFailures")),
        split_external_local_origin_errors: spanned_bool(o.get("splitExternalLocalOriginErrors")),
        interval: spanned_str(o.get("interval")),
        base_ejection_time: spanned_str(o.get("baseEjectionTime")),
        max_ejection_percent: spanned_int(o.get("maxEjectionPercent")),
        min_health_percent: spanned_int(o.get("minHealthPercent")),
    });
    let connection_pool = n.get("connectionPool").map(|c| {
        let tcp = c.get("tcp");
        let http = c.get("http");
        ConnectionPool {
            span: c.span(),
            max_connections: spanned_int(tcp.and_then(|t| t.get("maxConnections"))),
            connect_timeout: spanned_str(tcp.and_then(|t| t.get("connectTimeout"))),
            http1_max_pending_requests: spanned_int(
                http.and_then(|h| h.get("http1MaxPendingRequests")),
            ),
            http2_max_requests: spanned_int(http.and_then(|h| h.get("http2MaxRequests"))),
            max_requests_per_connection: spanned_int(
                http.and_then(|h| h.get("maxRequestsPerConnection")),
            ),
            max_retries: spanned_int(http.and_then(|h| h.get("maxRetries"))),
            idle_timeout: spanned_str(http.and_then(|h| h.get("idleTimeout"))),
            h2_upgrade_policy: spanned_str(http.and_then(|h| h.get("h2UpgradePolicy"))),
            use_client_protocol: spanned_bool(http.and_then(|h| h.get("useClientProtocol"))),
        }
    });
    TrafficPolicy {
        span: n.span(),
        load_balancer: n.get("loadBalancer").map(|l| {
            Box::new(LoadBalancer {
                span: l.span(),
                simple: spanned_str(l.get("simple")),
                consistent_hash: l.get("consistentHash").map(|c| c.span()),
                locality: l.get("localityLbSetting").map(|c| c.span()),
            })
        }),
        connection_pool: connection_pool.map(Box::new),
        outlier_detection: outlier_detection.map(Box::new),
        tls: n.get("tls").map(|t| Box::new(client_tls(t))),
        port_level,
        fingerprint: super::fingerprint(n),
        path,
    }
}

fn client_tls(t: Node<'_>) -> ClientTls {
    ClientTls {
        span: t.span(),
        mode: spanned_str(t.get("mode")),
        sni: spanned_str(t.get("sni")),
        credential_name: spanned_str(t.get("credentialName")),
        ca_certificates: spanned_str(t.get("caCertificates")),
        insecure_skip_verify: spanned_bool(t.get("insecureSkipVerify")),
        subject_alt_names: str_list(t.get("subjectAltNames")),
    }
}

/// A Gateway's facts.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    /// `spec.selector`.
    pub selector: Labels,
    /// `spec.servers`.
    pub servers: Vec<Server>,
}

/// One Gateway server.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// JSON pointer of the server.
    pub path: String,
    /// The server item.
    pub span: Span,
    /// `port.number`.
    pub port_number: Option<Spanned<i64>>,
    /// `port.name`.
    pub port_name: Option<SStr>,
    /// `port.protocol`.
    pub port_protocol: Option<SStr>,
    /// `hosts` (`[namespace/]dnsName`).
    pub hosts: Vec<SStr>,
    /// `tls.mode`.
    pub tls_mode: Option<SStr>,
    /// `tls.credentialName`.
    pub tls_credential_name: Option<SStr>,
    /// `tls.serverCertificate`.
    pub tls_server_certificate: Option<SStr>,
    /// True when the server has a `tls` block.
    pub has_tls: bool,
    /// `tls.privateKey`.
    pub tls_private_key: Option<SStr>,
    /// `bind`.
    pub bind: Option<SStr>,
}

/// Reads a Gateway spec.
pub fn gateway(spec: Node<'_>, meta: &ObjectMeta) -> Gateway {
    let base = meta.path("/spec");
    Gateway {
        selector: labels(spec.get("selector")),
        servers: spec
            .get("servers")
            .into_iter()
            .flat_map(|s| s.items())
            .enumerate()
            .map(|(i, s)| {
                let port = s.get("port");
                let tls = s.get("tls");
                Server {
                    path: format!("{base}/servers/{i}"),
                    span: s.span(),
                    port_number: spanned_int(port.and_then(|p| p.get("number"))),
                    port_name: spanned_str(port.and_then(|p| p.get("name"))),
                    port_protocol: spanned_str(port.and_then(|p| p.get("protocol"))),
                    hosts: str_list(s.get("hosts")),
                    tls_mode: spanned_str(tls.and_then(|t| t.get("mode"))),
                    tls_credential_name: spanned_str(tls.and_then(|t| t.get("credentialName"))),
                    tls_server_certificate: spanned_str(
                        tls.and_then(|t| t.get("serverCertificate")),
                    ),
                    has_tls: tls.is_some(),
                    tls_private_key: spanned_str(tls.and_then(|t| t.get("privateKey"))),
                    bind: spanned_str(s.get("bind")),
                }
            })
            .collect(),
    }
}

/// A ServiceEntry's facts.
#[derive(Debug, Clone, Default)]
pub struct ServiceEntry {
    /// `spec.hosts`.
    pub hosts: Vec<SStr>,
    /// `spec.addresses`.
    pub addresses: Vec<SStr>,
    /// `spec.ports`.
    pub ports: Vec<ServiceEntryPort>,
    /// `spec.location`.
    pub location: Option<SStr>,
    /// `spec.resolution`.
    pub resolution: Option<SStr>,
    /// `spec.exportTo`.
    pub export_to: Vec<SStr>,
    /// `spec.workloadSelector.labels`.
    pub workload_selector: Option<Labels>,
    /// Labels of `spec.endpoints[]`.
    pub endpoint_labels: Vec<Labels>,
    /// Number of `spec.endpoints`.
    pub endpoint_count: usize,
    /// True when `status.addresses` lists addresses Istio allocated (set by
    /// [`crate::model::read_object`], which sees the whole object).
    pub status_addresses: bool,
}

/// One ServiceEntry port.
#[derive(Debug, Clone, Default)]
pub struct ServiceEntryPort {
    /// `number`.
    pub number: Option<Spanned<i64>>,
    /// `name`.
    pub name: Option<SStr>,
    /// `protocol`.
    pub protocol: Option<SStr>,
    /// `targetPort`.
    pub target_port: Option<Spanned<i64>>,
}

/// Reads a ServiceEntry spec.
pub fn service_entry(spec: Node<'_>, _meta: &ObjectMeta) -> ServiceEntry {
    let endpoints: Vec<Node<'_>> = spec
        .get("endpoints")
        .into_iter()
        .flat_map(|e| e.items())
        .collect();
    ServiceEntry {
        hosts: str_list(spec.get("hosts")),
        addresses: str_list(spec.get("addresses")),
        ports: spec
            .get("ports")
            .into_iter()
            .flat_map(|p| p.items())
            .map(|p| ServiceEntryPort {
                number: spanned_int(p.get("number")),
                name: spanned_str(p.get("name")),
                protocol: spanned_str(p.get("protocol")),
                target_port: spanned_int(p.get("targetPort")),
            })
            .collect(),
        location: spanned_str(spec.get("location")),
        resolution: spanned_str(spec.get("resolution")),
        export_to: str_list(spec.get("exportTo")),
        workload_selector: spec
            .get("workloadSelector")
            .map(|w| labels(w.get("labels"))),
        endpoint_labels: endpoints.iter().map(|e| labels(e.get("labels"))).collect(),
        endpoint_count: endpoints.len(),
        status_addresses: false,
    }
}

/// A Sidecar's facts.
#[derive(Debug, Clone, Default)]
pub struct Sidecar {
    /// `spec.workloadSelector.labels`, when a selector is given.
    pub workload_selector: Option<Labels>,
    /// `spec.egress`.
    pub egress: Vec<SidecarEgress>,
    /// Number of `spec.ingress` listeners.
    pub ingress_count: usize,
    /// `spec.outboundTrafficPolicy.mode`.
    pub outbound_mode: Option<SStr>,
}

/// One Sidecar egress listener.
#[derive(Debug, Clone, Default)]
pub struct SidecarEgress {
    /// `port.number`.
    pub port: Option<Spanned<i64>>,
    /// `hosts` (`namespace/dnsName`).
    pub hosts: Vec<SStr>,
}

/// Reads a Sidecar spec.
pub fn sidecar(spec: Node<'_>, _meta: &ObjectMeta) -> Sidecar {
    Sidecar {
        workload_selector: spec
            .get("workloadSelector")
            .map(|w| labels(w.get("labels"))),
        egress: spec
            .get("egress")
            .into_iter()
            .flat_map(|e| e.items())
            .map(|e| SidecarEgress {
                port: spanned_int(e.get("port").and_then(|p| p.get("number"))),
                hosts: str_list(e.get("hosts")),
            })
            .collect(),
        ingress_count: spec.get("ingress").map_or(0, |i| i.items().count()),
        outbound_mode: spanned_str(
            spec.get("outboundTrafficPolicy")
                .and_then(|o| o.get("mode")),
        ),
    }
}

/// The traffic policy Istio applies to one port of a destination: the
/// `portLevelSettings` entry for that port when there is one (which replaces the
/// whole policy: fields it omits get Envoy's defaults, not the outer values),
/// else the policy itself. The flag says whether a port-level entry was used.
pub fn policy_for_port(policy: &TrafficPolicy, port: Option<i64>) -> (&TrafficPolicy, bool) {
    let entry = port.and_then(|p| {
        policy
            .port_level
            .iter()
            .find(|e| e.port.as_ref().is_some_and(|n| n.value == p))
    });
    match entry {
        Some(e) => (&e.policy, true),
        None => (policy, false),
    }
}

/// One setting (`field`) of the Envoy cluster `outbound|port|subset|host`, merged
/// as istiod merges it (`MergeSubsetTrafficPolicy` in istio/istio
/// `pilot/pkg/networking/util/util.go`).
///
/// `top` is the DestinationRule's top-level policy, `subset` the policy of the
/// subset routed to (none for the host's own cluster), `port` the service port
/// (none when unknown: port-level entries are then not consulted). Each policy
/// is first narrowed to its port-level entry for the port; then a subset value
/// replaces the top-level value of the same field as a whole (no field-by-field
/// merge inside `outlierDetection` or `connectionPool`), and a subset port-level
/// entry replaces it even where it leaves the field unset.
pub fn cluster_field<'a, T>(
    top: Option<&'a TrafficPolicy>,
    subset: Option<&'a TrafficPolicy>,
    port: Option<i64>,
    field: impl Fn(&'a TrafficPolicy) -> Option<&'a T>,
) -> Option<&'a T> {
    let top = top.map(|t| policy_for_port(t, port).0);
    let Some(subset) = subset else {
        return top.and_then(&field);
    };
    let (subset, subset_port_level) = policy_for_port(subset, port);
    match top {
        None => field(subset),
        Some(top) => match field(subset) {
            Some(value) => Some(value),
            None if subset_port_level => None,
            None => field(top),
        },
    }
}

#[cfg(test)]
mod cluster_policy_tests {
    use super::*;

    fn od(mep: i64) -> OutlierDetection {
        OutlierDetection {
            max_ejection_percent: Some(Spanned {
                value: mep,
                span: Span::default(),
            }),
            ..OutlierDetection::default()
        }
    }

    fn port_entry(port: i64, policy: TrafficPolicy) -> PortTrafficPolicy {
        PortTrafficPolicy {
            port: Some(Spanned {
                value: port,
                span: Span::default(),
            }),
            policy,
        }
    }

    fn mep(
        top: Option<&TrafficPolicy>,
        sub: Option<&TrafficPolicy>,
        port: Option<i64>,
    ) -> Option<i64> {
        cluster_field(top, sub, port, |p| p.outlier_detection.as_deref())
            .and_then(|o| o.max_ejection_percent.as_ref())
            .map(|m| m.value)
    }

    #[test]
    fn subset_and_port_level_policies_replace_whole_fields() {
        let top = TrafficPolicy {
            outlier_detection: Some(Box::new(od(50))),
            port_level: vec![
                port_entry(9090, TrafficPolicy::default()),
                port_entry(
                    8443,
                    TrafficPolicy {
                        outlier_detection: Some(Box::new(od(30))),
                        ..TrafficPolicy::default()
                    },
                ),
            ],
            ..TrafficPolicy::default()
        };
        // The host's cluster: top level, or the port-level entry as a whole.
        assert_eq!(mep(Some(&top), None, None), Some(50));
        assert_eq!(mep(Some(&top), None, Some(80)), Some(50));
        assert_eq!(mep(Some(&top), None, Some(9090)), None);
        assert_eq!(mep(Some(&top), None, Some(8443)), Some(30));
        // A subset policy without outlier detection inherits the top level's.
        let lb_only = TrafficPolicy {
            load_balancer: Some(Box::default()),
            ..TrafficPolicy::default()
        };
        assert_eq!(mep(Some(&top), Some(&lb_only), Some(80)), Some(50));
        // A subset's own block wins; a subset port-level entry wins even when empty.
        let own = TrafficPolicy {
            outlier_detection: Some(Box::new(od(20))),
            port_level: vec![port_entry(80, TrafficPolicy::default())],
            ..TrafficPolicy::default()
        };
        assert_eq!(mep(Some(&top), Some(&own), Some(443)), Some(20));
        assert_eq!(mep(Some(&top), Some(&own), Some(80)), None);
        assert_eq!(mep(None, Some(&own), None), Some(20));
    }
}
