use std::collections::{BTreeMap, BTreeSet};

use crate::declare_rule;
use crate::index::{Index, ObjId};
use crate::model::{Object, SStr, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags ServiceEntries that declare the same host and port number with
    /// different protocols, when some namespace sees both of them.
    ///
    /// Istio merges ServiceEntries for one host into one service: for each
    /// port number, the port of the oldest entry wins and the other entry's
    /// protocol is ignored, so its traffic is handled with the wrong protocol
    /// (TLS read as plain HTTP, HTTP proxied as opaque TCP). Hosts are
    /// compared after expanding short names in the entry's namespace;
    /// protocols are compared ignoring case, and a port without `protocol`
    /// counts as its own value (Istio detects its protocol per connection).
    /// Entries whose `exportTo` lists share no namespace, and entries that
    /// are never applied together (different kustomize overlays, or files
    /// without `metadata.namespace`), are not compared. Kiali reports the same
    /// pattern as KIA1212 (it compares entries whatever their `exportTo`).
    ///
    /// ## Why is this bad?
    /// Which protocol applies depends on which entry was created first,
    /// which nothing in the repository fixes: requests for one of the
    /// entries fail, and may start failing on a re-apply.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: api-http, namespace: shop}
    /// spec:
    ///   hosts: [api.example.com]
    ///   ports: [{number: 443, name: http, protocol: HTTP}]
    ///   resolution: DNS
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: api-tls, namespace: shop}
    /// spec:
    ///   hosts: [api.example.com]
    ///   ports: [{number: 443, name: tls, protocol: TLS}]
    ///   resolution: DNS
    /// ```
    /// Use instead: one protocol per host and port — keep one of the
    /// entries, or move one of them to another port.
    pub ConflictingServiceEntryProtocols {
        name: "conflicting-service-entry-protocols",
        severity: Warning,
        kinds: [ServiceEntry],
        upstream: ["IST0177", "KIA1212"],
    }
}

/// One port of one entry: the entry, the port's index, its protocol (upper
/// case, empty when unset).
type Declared = (ObjId, usize, String);

/// A conflicting port: the host and port number, and the rival entries' ports.
type Conflict = (String, i64, BTreeSet<(ObjId, usize)>);

impl Rule for ConflictingServiceEntryProtocols {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut by_key: BTreeMap<(String, i64), Vec<Declared>> = BTreeMap::new();
        for (id, object) in index.objects().iter().enumerate() {
            let Spec::ServiceEntry(se) = &object.spec else {
                continue;
            };
            let hosts: BTreeSet<String> = se
                .hosts
                .iter()
                .map(|h| index.resolve_host(&h.value, &object.meta.namespace))
                .collect();
            for (i, port) in se.ports.iter().enumerate() {
                let Some(number) = &port.number else {
                    continue;
                };
                let protocol = port
                    .protocol
                    .as_ref()
                    .map_or_else(String::new, |p| p.value.to_ascii_uppercase());
                for h in &hosts {
                    by_key.entry((h.clone(), number.value)).or_default().push((
                        id,
                        i,
                        protocol.clone(),
                    ));
                }
            }
        }
        // One finding per entry and port, naming every rival.
        let mut found: BTreeMap<(ObjId, usize), Conflict> = BTreeMap::new();
        for ((host, number), declared) in &by_key {
            if declared.len() < 2 {
                continue;
            }
            for (a, ia, pa) in declared {
                for (b, ib, pb) in declared {
                    if a == b || pa == pb || !compared(index.object(*a), index.object(*b)) {
                        continue;
                    }
                    let entry = found
                        .entry((*a, *ia))
                        .or_insert_with(|| (host.clone(), *number, BTreeSet::new()));
                    if entry.0 == *host {
                        entry.2.insert((*b, *ib));
                    }
                }
            }
        }
        for ((id, i), (host, number, rivals)) in found {
            out.extend(report(index, id, i, &host, number, &rivals));
        }
    }
}

/// True when two entries can be in force together and some namespace sees
/// both.
fn compared(a: &Object, b: &Object) -> bool {
    let (Spec::ServiceEntry(sa), Spec::ServiceEntry(sb)) = (&a.spec, &b.spec) else {
        return false;
    };
    let copies = a.meta.name() == b.meta.name() && a.meta.namespace == b.meta.namespace;
    !copies
        && overlap(
            &sa.export_to,
            &a.meta.namespace,
            &sb.export_to,
            &b.meta.namespace,
        )
        && a.meta.applied_with(&b.meta)
        && a.meta.applied_together(&b.meta)
}

/// The namespaces an `exportTo` list names; `None` means every namespace.
fn scope(export_to: &[SStr], ns: &str) -> Option<BTreeSet<String>> {
    if export_to.is_empty() || export_to.iter().any(|e| e.value == "*") {
        return None;
    }
    Some(
        export_to
            .iter()
            .filter(|e| e.value != "~")
            .map(|e| {
                if e.value == "." {
                    ns.to_owned()
                } else {
                    e.value.clone()
                }
            })
            .collect(),
    )
}

/// True when some namespace sees both entries.
fn overlap(a: &[SStr], ns_a: &str, b: &[SStr], ns_b: &str) -> bool {
    match (scope(a, ns_a), scope(b, ns_b)) {
        (None, None) => true,
        (None, Some(s)) | (Some(s), None) => !s.is_empty(),
        (Some(x), Some(y)) => !x.is_disjoint(&y),
    }
}

fn shown(protocol: Option<&SStr>) -> String {
    match protocol {
        Some(p) if !p.value.is_empty() => format!("`{}`", p.as_str()),
        _ => "no protocol".to_owned(),
    }
}

fn report(
    index: &Index,
    id: ObjId,
    i: usize,
    host: &str,
    number: i64,
    rivals: &BTreeSet<(ObjId, usize)>,
) -> Option<Diagnostic> {
    let object = index.object(id);
    let meta = &object.meta;
    let Spec::ServiceEntry(se) = &object.spec else {
        return None;
    };
    let port = se.ports.get(i)?;
    let (span, path) = match (&port.protocol, &port.number) {
        (Some(p), _) => (p.span, format!("/spec/ports/{i}/protocol")),
        (None, Some(n)) => (n.span, format!("/spec/ports/{i}/number")),
        (None, None) => (meta.anchor(), "/metadata/name".to_owned()),
    };
    let mut others: Vec<String> = Vec::new();
    let mut d_related = Vec::new();
    for (o, oi) in rivals {
        let other = index.object(*o);
        if let Spec::ServiceEntry(ose) = &other.spec {
            let Some(op) = ose.ports.get(*oi) else {
                continue;
            };
            let text = format!(
                "{} in ServiceEntry `{}/{}`",
                shown(op.protocol.as_ref()),
                other.meta.namespace,
                other.meta.name()
            );
            let span = op
                .protocol
                .as_ref()
                .map(|p| p.span)
                .or(op.number.as_ref().map(|n| n.span))
                .unwrap_or_else(|| other.meta.anchor());
            d_related.push((other.meta.file, span, format!("declared with {text}")));
            others.push(text);
        }
    }
    let mut d = Diagnostic::new(
        &ConflictingServiceEntryProtocols::META,
        meta.file,
        span,
        format!(
            "port `{number}` of host `{host}` is declared with {} here and with {}: Istio keeps the protocol of the oldest entry and handles the other's traffic with it",
            shown(port.protocol.as_ref()),
            others.join(", ")
        ),
    )
    .label("conflicting protocol");
    for (file, span, msg) in d_related {
        d = d.related(file, span, msg);
    }
    Some(
        d.help(format!(
            "Declare port `{number}` of `{host}` with one protocol in every ServiceEntry, or keep a single ServiceEntry for the host."
        ))
        .object(meta)
        .path(meta.path(&path)),
    )
}
