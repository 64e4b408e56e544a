use std::collections::HashMap;

use crate::declare_rule;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a ServiceEntry whose resolution, endpoints, addresses and ports
    /// contradict each other, as Istio's validation does: `workloadSelector`
    /// together with `endpoints`; `endpoints` with resolution `NONE` (the
    /// default); more than one endpoint with `DNS_ROUND_ROBIN`; CIDR
    /// `addresses` with a resolution other than `NONE` or `STATIC`; a wildcard
    /// host with `DNS` or `DNS_ROUND_ROBIN` and no endpoints; two ports with
    /// the same name or number; an endpoint port name that no port declares;
    /// and several hosts with a resolution other than `NONE` and a port that is
    /// neither HTTP nor TLS.
    ///
    /// With several hosts, Envoy can tell them apart only by the HTTP
    /// `Host`/authority or the TLS SNI name; on a plain TCP port (or a port
    /// without `protocol`) there is nothing to tell them apart, so Istio
    /// requires resolution `NONE` there. With `DNS` and no endpoints, each host
    /// is resolved by DNS, so it must be a name DNS can resolve, not a
    /// wildcard.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the ServiceEntry, so the external service is
    /// not added to the mesh (with `outboundTrafficPolicy: REGISTRY_ONLY`,
    /// calls to it fail with 502) and the previous version stays in force.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: payments, namespace: shop}
    /// spec:
    ///   hosts: [api.payments.example.com]
    ///   ports:
    ///   - {number: 443, name: tls, protocol: TLS}
    ///   endpoints:
    ///   - address: 203.0.113.10
    /// ```
    /// Use instead: `resolution: STATIC` for IP endpoints (or `DNS` for
    /// host-name endpoints); resolution `NONE` takes no endpoints.
    pub InvalidServiceEntry {
        name: "invalid-service-entry",
        severity: Error,
        kinds: [ServiceEntry],
        upstream: ["IST0106"],
    }
}

impl Rule for InvalidServiceEntry {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let report = |span: Span, path: &str, message: String, label: &str, help: &str| {
            Diagnostic::new(&InvalidServiceEntry::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(meta.path(&format!("/spec{path}")))
        };
        let resolution_entry = spec.entry("resolution");
        let resolution = resolution_entry
            .and_then(|(_, v)| v.str())
            .unwrap_or("NONE");
        let resolution_span = resolution_entry.map(|(_, v)| v.span());
        let endpoints_entry = spec.entry("endpoints");
        let endpoints: Vec<Node<'_>> = endpoints_entry
            .into_iter()
            .flat_map(|(_, v)| v.items())
            .collect();
        let endpoints_key = endpoints_entry.map(|(k, _)| k.span());

        // workloadSelector and endpoints.
        if let (Some((sel_key, sel)), Some(ep_key)) =
            (spec.entry("workloadSelector"), endpoints_key)
            && !sel.is_null()
            && !endpoints.is_empty()
        {
            out.push(
                report(
                    ep_key,
                    "/endpoints",
                    "`endpoints` and `workloadSelector` are both set: a ServiceEntry takes its endpoints from one or the other, and Istio rejects both".to_owned(),
                    "set together with `workloadSelector`",
                    "Keep `endpoints` (addresses listed here) or `workloadSelector` (pods and WorkloadEntries selected by labels), not both.",
                )
                .related(meta.file, sel_key.span(), "`workloadSelector` is set here"),
            );
        }

        // Endpoints and resolution.
        if let Some(ep_key) = endpoints_key {
            if resolution == "NONE" && !endpoints.is_empty() {
                let how = if resolution_span.is_some() {
                    "resolution `NONE`"
                } else {
                    "no `resolution` (which means `NONE`)"
                };
                let mut d = report(
                    ep_key,
                    "/endpoints",
                    format!(
                        "`endpoints` are set with {how}: Istio rejects endpoints when it does not resolve the hosts"
                    ),
                    "not used with `NONE`",
                    "Set `resolution: STATIC` for IP endpoints or `DNS` for host-name endpoints, or remove `endpoints`.",
                );
                if let Some(s) = resolution_span {
                    d = d.related(meta.file, s, "resolution is `NONE` here");
                }
                out.push(d);
            }
            if resolution == "DNS_ROUND_ROBIN" && endpoints.len() > 1 {
                let mut d = report(
                    ep_key,
                    "/endpoints",
                    format!(
                        "`DNS_ROUND_ROBIN` takes at most one endpoint, and this ServiceEntry has {}: Istio rejects it",
                        endpoints.len()
                    ),
                    "more than one endpoint",
                    "Use `resolution: DNS` for several endpoints, or keep one endpoint.",
                );
                if let Some(s) = resolution_span {
                    d = d.related(meta.file, s, "resolution is `DNS_ROUND_ROBIN` here");
                }
                out.push(d);
            }
        }

        // CIDR addresses.
        if resolution != "NONE" && resolution != "STATIC" {
            for (i, a) in spec
                .get("addresses")
                .into_iter()
                .flat_map(|a| a.items())
                .enumerate()
            {
                if let Some(text) = a.str().filter(|t| t.contains('/')) {
                    let mut d = report(
                        a.span(),
                        &format!("/addresses/{i}"),
                        format!(
                            "CIDR address `{text}` is allowed only with resolution `NONE` or `STATIC`, not `{resolution}`: Istio rejects it"
                        ),
                        "CIDR with DNS resolution",
                        "Use single IP addresses, or resolution `NONE`/`STATIC`.",
                    );
                    if let Some(s) = resolution_span {
                        d = d.related(meta.file, s, format!("resolution is `{resolution}` here"));
                    }
                    out.push(d);
                }
            }
        }

        // Wildcard hosts resolved by DNS.
        let hosts: Vec<Node<'_>> = spec
            .get("hosts")
            .into_iter()
            .flat_map(|h| h.items())
            .collect();
        if matches!(resolution, "DNS" | "DNS_ROUND_ROBIN") && endpoints.is_empty() {
            for (i, h) in hosts.iter().enumerate() {
                if let Some(text) = h.str().filter(|t| t.starts_with('*') && *t != "*") {
                    out.push(report(
                        h.span(),
                        &format!("/hosts/{i}"),
                        format!("host `{text}` is a wildcard, but resolution `{resolution}` without endpoints resolves each host by DNS: Istio rejects it"),
                        "cannot be resolved by DNS",
                        "Name the hosts DNS should resolve, add `endpoints`, or use `resolution: DYNAMIC_DNS` (or `NONE`) for a wildcard.",
                    ));
                }
            }
        }

        // Ports: unique names and numbers.
        let ports: Vec<Node<'_>> = spec
            .get("ports")
            .into_iter()
            .flat_map(|p| p.items())
            .collect();
        let mut names: HashMap<&str, Span> = HashMap::new();
        let mut numbers: HashMap<i64, Span> = HashMap::new();
        for (i, p) in ports.iter().enumerate() {
            if let Some(n) = p.get("name")
                && let Some(name) = n.str()
            {
                if let Some(first) = names.get(name) {
                    out.push(
                        report(
                            n.span(),
                            &format!("/ports/{i}/name"),
                            format!(
                                "port name `{name}` is used twice: Istio rejects the ServiceEntry"
                            ),
                            "duplicate port name",
                            "Give every port its own name.",
                        )
                        .related(meta.file, *first, "first used here"),
                    );
                } else {
                    names.insert(name, n.span());
                }
            }
            if let Some(n) = p.get("number")
                && let Some(number) = n.int()
            {
                if let Some(first) = numbers.get(&number) {
                    out.push(
                        report(
                            n.span(),
                            &format!("/ports/{i}/number"),
                            format!(
                                "port `{number}` is declared twice: Istio rejects the ServiceEntry"
                            ),
                            "duplicate port number",
                            "Declare each port number once.",
                        )
                        .related(meta.file, *first, "first declared here"),
                    );
                } else {
                    numbers.insert(number, n.span());
                }
            }
        }

        // Endpoint port names must be declared ports.
        if matches!(resolution, "STATIC" | "DNS" | "DNS_ROUND_ROBIN") && !ports.is_empty() {
            for (i, ep) in endpoints.iter().enumerate() {
                for (k, _) in ep.get("ports").into_iter().flat_map(|p| p.entries()) {
                    let Some(name) = k.str() else {
                        continue;
                    };
                    if names.contains_key(name) {
                        continue;
                    }
                    let mut known: Vec<&str> = names.keys().copied().collect();
                    known.sort_unstable();
                    let hint = crate::text::closest(name, known.iter().copied())
                        .map_or(String::new(), |c| format!(" (did you mean `{c}`?)"));
                    out.push(report(
                        k.span(),
                        &format!("/endpoints/{i}/ports/{name}"),
                        format!("endpoint port `{name}` is not a port of this ServiceEntry{hint}: Istio rejects it"),
                        "no such port",
                        &format!(
                            "Endpoint `ports` map port names of `ports` ({}) to endpoint port numbers.",
                            crate::text::backtick_list(&known, "and")
                        ),
                    ));
                }
            }
        }

        // Several hosts on a port that cannot tell them apart.
        if resolution != "NONE" && hosts.len() > 1 {
            for (i, p) in ports.iter().enumerate() {
                let protocol = p.get("protocol").and_then(|v| v.str()).unwrap_or("");
                if tells_hosts_apart(protocol) {
                    continue;
                }
                let what = if protocol.is_empty() {
                    "a port without `protocol`".to_owned()
                } else {
                    format!("`{protocol}` port")
                };
                let span = p.get("protocol").map_or_else(|| p.span(), |v| v.span());
                let number = p
                    .get("number")
                    .and_then(|n| n.int())
                    .map_or(String::new(), |n| format!(" {n}"));
                let mut d = report(
                    span,
                    &format!("/ports/{i}"),
                    format!(
                        "{} hosts share {what}{number} with resolution `{resolution}`: only HTTP and TLS ports can tell hosts apart, and Istio rejects the ServiceEntry",
                        hosts.len()
                    ),
                    "cannot tell the hosts apart",
                    "Use one ServiceEntry per host, set an HTTP or TLS `protocol` on the port, or use `resolution: NONE`.",
                );
                if let Some(s) = resolution_span {
                    d = d.related(meta.file, s, format!("resolution is `{resolution}` here"));
                }
                out.push(d);
                break;
            }
        }
    }
}

/// Istio's `IsHTTP() || IsTLS()` for a port protocol (case-insensitive).
fn tells_hosts_apart(protocol: &str) -> bool {
    matches!(
        protocol.to_ascii_uppercase().as_str(),
        "HTTP" | "HTTP2" | "HTTP_PROXY" | "GRPC" | "GRPC-WEB" | "HTTPS" | "TLS"
    )
}
