use std::collections::{BTreeSet, HashMap};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{Gateway, LabelMap, SStr, Server, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a TLS-terminating Gateway server whose certificate another
    /// Gateway on the same gateway workloads also uses, on the same port, for
    /// other hosts.
    ///
    /// The certificate is the same when both servers name the same
    /// `credentialName`, or, without one, the same `serverCertificate` and
    /// `privateKey` files. Only servers that terminate TLS count (`mode`
    /// `SIMPLE`, `MUTUAL` or `OPTIONAL_MUTUAL`). The other Gateway is on the same
    /// workloads when every label of this Gateway's `selector` is in its selector
    /// (an empty selector covers every gateway): then every pod it applies to
    /// also runs this Gateway. As in `istioctl analyze`, the check is one-sided:
    /// a Gateway with a narrower selector is not reported against a broader
    /// one. Servers that share a host are `conflicting-gateways`' finding, and
    /// Gateways never applied together (different kustomize overlays, or files
    /// without `metadata.namespace`) are not compared.
    ///
    /// Differences from upstream: `istioctl analyze` (IST0138) compares servers
    /// on any port, in any TLS mode (a passthrough server never uses its
    /// certificate) and with the same hosts; meshvet only reports servers on the
    /// same port and `bind` address, where a browser can reuse the connection,
    /// that terminate TLS and serve different hosts.
    ///
    /// ## Why is this bad?
    /// Each Gateway server becomes its own filter chain with its own route
    /// table, chosen by SNI when the connection opens. Browsers reuse an open
    /// HTTP/2 connection for any host the certificate covers and that resolves
    /// to the same address: a request for a host of the other Gateway arrives on
    /// a connection whose route table does not know it, and gets `404`. It
    /// works with `curl` and fails in the browser, depending on what was opened
    /// first.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: shop, namespace: edge}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["*/shop.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: wildcard-example-com}
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: admin, namespace: edge}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["*/admin.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: wildcard-example-com}
    /// ```
    /// Use instead: one Gateway server with `hosts: ["*/shop.example.com",
    /// "*/admin.example.com"]` and the shared certificate, or one certificate per
    /// Gateway.
    pub DuplicateGatewayCertificate {
        name: "duplicate-gateway-certificate",
        severity: Warning,
        kinds: [Gateway],
        upstream: ["IST0138"],
    }
}

/// Which certificate a server presents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Certificate<'a> {
    /// `credentialName`.
    Credential(&'a str),
    /// `serverCertificate` and `privateKey`.
    Files(&'a str, &'a str),
}

fn non_empty(s: Option<&SStr>) -> Option<&SStr> {
    s.filter(|s| !s.value.is_empty())
}

/// The certificate a server terminates TLS with, and where it is written.
fn certificate(server: &Server) -> Option<(Certificate<'_>, &SStr)> {
    let mode = server.tls_mode.as_ref()?.value.as_str();
    if !matches!(mode, "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL") {
        return None;
    }
    if let Some(c) = non_empty(server.tls_credential_name.as_ref()) {
        return Some((Certificate::Credential(&c.value), c));
    }
    let cert = non_empty(server.tls_server_certificate.as_ref())?;
    let key = non_empty(server.tls_private_key.as_ref())?;
    Some((Certificate::Files(&cert.value, &key.value), cert))
}

fn dns_names(server: &Server) -> BTreeSet<&str> {
    server
        .hosts
        .iter()
        .map(|h| h.value.split_once('/').map_or(h.value.as_str(), |(_, d)| d))
        .collect()
}

/// One server: its Gateway and its position there.
type ServerRef = (ObjId, usize);

impl Rule for DuplicateGatewayCertificate {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut buckets: HashMap<(i64, &str, Certificate<'_>), Vec<ServerRef>> = HashMap::new();
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::Gateway(g) = &object.spec else {
                continue;
            };
            for (i, server) in g.servers.iter().enumerate() {
                let (Some(port), Some((cert, _))) = (&server.port_number, certificate(server))
                else {
                    continue;
                };
                let bind = server.bind.as_ref().map_or("", |b| b.value.as_str());
                buckets
                    .entry((port.value, bind, cert))
                    .or_default()
                    .push((id, i));
            }
        }
        let mut keys: Vec<_> = buckets.iter().filter(|(_, v)| v.len() > 1).collect();
        keys.sort_by_key(|(_, v)| v[0]);
        for (_, servers) in keys {
            // Servers by their Gateway's selector: a server's rivals are only in
            // its own group or in groups with more labels that include its own, so
            // a certificate shared by thousands of Gateways stays near linear.
            let mut by_selector: HashMap<&LabelMap, Vec<ServerRef>> = HashMap::new();
            for s in servers {
                if let Some(g) = gateway(index, s.0) {
                    by_selector.entry(&g.selector.map).or_default().push(*s);
                }
            }
            let mut groups: Vec<(&LabelMap, &Vec<ServerRef>)> =
                by_selector.iter().map(|(m, g)| (*m, g)).collect();
            groups.sort_by_key(|(m, g)| (std::cmp::Reverse(m.len()), g[0]));
            for a in servers {
                let Some(ga) = gateway(index, a.0) else {
                    continue;
                };
                let own = &ga.selector.map;
                let wider = groups
                    .iter()
                    .take_while(|(m, _)| m.len() > own.len())
                    .filter(|(m, _)| ga.selector.is_subset_of(m))
                    .flat_map(|(_, g)| g.iter());
                let rivals: Vec<ServerRef> = by_selector
                    .get(own)
                    .into_iter()
                    .flatten()
                    .chain(wider)
                    .copied()
                    .filter(|b| shares_workloads(index, *a, *b))
                    .take(8)
                    .collect();
                if !rivals.is_empty() {
                    out.extend(report(index, *a, &rivals));
                }
            }
        }
    }
}

fn gateway(index: &Index, id: ObjId) -> Option<&Gateway> {
    match &index.object(id).spec {
        Spec::Gateway(g) => Some(g),
        _ => None,
    }
}

fn server(index: &Index, (id, i): ServerRef) -> Option<&Server> {
    gateway(index, id).and_then(|g| g.servers.get(i))
}

/// True when server `b` belongs to another Gateway, applied together with
/// `a`'s, whose pods all run `a`'s Gateway too, and serves other hosts.
fn shares_workloads(index: &Index, a: ServerRef, b: ServerRef) -> bool {
    let (ma, mb) = (&index.object(a.0).meta, &index.object(b.0).meta);
    if (ma.namespace == mb.namespace && ma.name() == mb.name())
        || !ma.applied_with(mb)
        || !ma.applied_together(mb)
    {
        return false;
    }
    let (Some(ga), Some(gb)) = (gateway(index, a.0), gateway(index, b.0)) else {
        return false;
    };
    if !ga.selector.is_subset_of(&gb.selector.map) {
        return false;
    }
    let (Some(sa), Some(sb)) = (server(index, a), server(index, b)) else {
        return false;
    };
    dns_names(sa).is_disjoint(&dns_names(sb))
}

fn report(index: &Index, a: ServerRef, rivals: &[ServerRef]) -> Option<Diagnostic> {
    let meta = &index.object(a.0).meta;
    let s = server(index, a)?;
    let port = s.port_number.as_ref()?;
    let (cert, at) = certificate(s)?;
    let number = port.value;
    let (what, path) = match cert {
        Certificate::Credential(c) => (format!("certificate `{c}`"), "tls/credentialName"),
        Certificate::Files(c, _) => (format!("certificate file `{c}`"), "tls/serverCertificate"),
    };
    let mine: Vec<&str> = dns_names(s).into_iter().collect();
    let mut others: Vec<String> = Vec::new();
    let mut related = Vec::new();
    for r in rivals {
        let om = &index.object(r.0).meta;
        let name = format!("{}/{}", om.namespace, om.name());
        let Some(rs) = server(index, *r) else {
            continue;
        };
        let hosts: Vec<&str> = dns_names(rs).into_iter().collect();
        others.push(format!(
            "Gateway `{name}` ({})",
            backtick_list(&hosts, "and")
        ));
        if let Some((_, rat)) = certificate(rs) {
            related.push((
                om.file,
                rat.span,
                format!("Gateway `{name}` uses the same certificate"),
            ));
        }
    }
    let mut d = Diagnostic::new(
        &DuplicateGatewayCertificate::META,
        meta.file,
        at.span,
        format!(
            "{what} also serves other hosts on port `{number}` of these gateway workloads, in {}: browsers reuse one HTTP/2 connection for every host the certificate covers, and requests for one Gateway's hosts sent on a connection opened for the other's get `404`",
            others.join(", ")
        ),
    )
    .label("certificate shared with another Gateway");
    for (file, span, msg) in related {
        d = d.related(file, span, msg);
    }
    Some(
        d.help(format!(
            "Serve {} and the other Gateway's hosts from one server that uses this certificate, or give each Gateway its own certificate.",
            backtick_list(&mine, "and")
        ))
        .object(meta)
        .path(format!("{}/{path}", s.path)),
    )
}
