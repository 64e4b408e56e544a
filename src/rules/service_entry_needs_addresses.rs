use crate::declare_rule;
use crate::index::Index;
use crate::model::{MeshConfig, Object, ServiceEntry, Spec};
use crate::report::Diagnostic;
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// Flags a ServiceEntry port that serves TCP (`protocol: TCP`, or no
    /// `protocol`) when the entry has no `addresses` and sidecars will not
    /// get an address for it either.
    ///
    /// A sidecar tells TCP connections apart only by destination address and
    /// port. Without an address, Istio builds a listener on `0.0.0.0:<port>`
    /// for the entry: every outbound connection on that port that no more
    /// specific listener claims is taken as traffic to this entry — with
    /// resolution `DNS` or `STATIC` it is sent to the entry's endpoints, with
    /// `NONE` it goes to its original destination but under this entry's
    /// policies. Two such entries on one port conflict, and one of them is
    /// dropped.
    ///
    /// Istio allocates an address itself (istiod's
    /// `PILOT_ENABLE_IP_AUTOALLOCATE`, on by default in current releases;
    /// `ISTIO_META_DNS_AUTO_ALLOCATE` in older ones), but a sidecar only uses
    /// it when DNS capture is on (`ISTIO_META_DNS_CAPTURE: "true"` in the mesh
    /// config's `defaultConfig.proxyMetadata`, off by default), and only for
    /// entries with a resolution other than `NONE`, no wildcard host, and no
    /// label `networking.istio.io/enable-autoallocate-ip: "false"`. meshvet
    /// reads the mesh config from the `istio` ConfigMap when the analysed
    /// files contain it; entries whose `status.addresses` lists allocated
    /// addresses are not reported.
    ///
    /// Difference from upstream: istioctl (IST0134) skips every entry when
    /// the mesh config enables DNS capture and auto-allocation, even entries
    /// with resolution `NONE` or a wildcard host, which get no address;
    /// meshvet still reports those.
    ///
    /// ## Why is this bad?
    /// Connections meant for other destinations on the same port are
    /// captured by this entry: sent to the wrong host, or given the wrong
    /// TLS and connection-pool settings.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: orders-db, namespace: shop}
    /// spec:
    ///   hosts: [orders-db.example.com]
    ///   location: MESH_EXTERNAL
    ///   resolution: DNS
    ///   ports:
    ///   - {number: 5432, name: tcp-postgres, protocol: TCP}
    /// ```
    /// Use instead: give the entry the service's `addresses` (an IP or CIDR),
    /// or enable DNS capture (`ISTIO_META_DNS_CAPTURE: "true"`) so that
    /// sidecars use the address Istio allocates.
    pub ServiceEntryNeedsAddresses {
        name: "service-entry-needs-addresses",
        severity: Warning,
        kinds: [ServiceEntry],
        upstream: ["IST0134"],
    }
}

impl Rule for ServiceEntryNeedsAddresses {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mesh = index.objects().iter().find_map(|o| match &o.spec {
            Spec::MeshConfig(m) => Some(m.as_ref()),
            _ => None,
        });
        for object in index.objects() {
            let Spec::ServiceEntry(se) = &object.spec else {
                continue;
            };
            if !se.addresses.is_empty() || se.status_addresses || gets_address(object, se, mesh) {
                continue;
            }
            for (i, port) in se.ports.iter().enumerate() {
                let tcp = port
                    .protocol
                    .as_ref()
                    .is_none_or(|p| p.value.is_empty() || p.value.eq_ignore_ascii_case("TCP"));
                if tcp {
                    out.push(report(object, se, i));
                }
            }
        }
    }
}

/// True when sidecars use an address Istio allocates for the entry.
fn gets_address(object: &Object, se: &ServiceEntry, mesh: Option<&MeshConfig>) -> bool {
    let dns_capture = mesh.is_some_and(|m| m.dns_capture);
    let resolution = se.resolution.as_ref().map_or("NONE", |r| r.as_str());
    let wildcard = se.hosts.iter().any(|h| h.value.starts_with('*'));
    dns_capture && resolution != "NONE" && !opted_out(object) && !wildcard
}

/// True when the entry opts out of address allocation by label.
fn opted_out(object: &Object) -> bool {
    object
        .meta
        .labels
        .map
        .get("networking.istio.io/enable-autoallocate-ip")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

fn report(object: &Object, se: &ServiceEntry, i: usize) -> Diagnostic {
    let meta = &object.meta;
    let port = &se.ports[i];
    let number = port
        .number
        .as_ref()
        .map_or_else(|| "?".to_owned(), |n| n.value.to_string());
    let declared = port.protocol.as_ref().filter(|p| !p.value.is_empty());
    let (span, path, what) = match (declared, &port.protocol, &port.number) {
        (Some(p), _, _) => (
            p.span,
            format!("/spec/ports/{i}/protocol"),
            format!("port `{number}` serves `{}`", p.as_str()),
        ),
        (None, Some(p), _) => (
            p.span,
            format!("/spec/ports/{i}/protocol"),
            format!("port `{number}` has an empty `protocol`"),
        ),
        (None, None, Some(n)) => (
            n.span,
            format!("/spec/ports/{i}/number"),
            format!("port `{number}` has no `protocol`"),
        ),
        (None, None, None) => (
            meta.anchor(),
            "/metadata/name".to_owned(),
            "a port has no `protocol`".to_owned(),
        ),
    };
    // Without a protocol Istio detects HTTP per connection and routes it by
    // host; only the rest is matched by port alone.
    let which = if declared.is_some() {
        "every connection"
    } else {
        "every connection that is not HTTP"
    };
    let resolution = se.resolution.as_ref().map_or("NONE", |r| r.as_str());
    let effect = if resolution == "NONE" {
        "passes through under this entry's policies".to_owned()
    } else {
        let hosts: Vec<&str> = se.hosts.iter().map(|h| h.as_str()).collect();
        format!("is sent to {}", crate::text::backtick_list(&hosts, "and"))
    };
    let reason = if opted_out(object) {
        "auto-allocation is turned off by its label"
    } else if resolution == "NONE" {
        "Istio allocates none for resolution `NONE`"
    } else if se.hosts.iter().any(|h| h.value.starts_with('*')) {
        "Istio allocates none for wildcard hosts"
    } else {
        "sidecars use allocated addresses only with DNS capture, which is off"
    };
    Diagnostic::new(
        &ServiceEntryNeedsAddresses::META,
        meta.file,
        span,
        format!(
            "{what} but the entry has no `addresses` ({reason}): {which} on port `{number}` that no other service claims {effect}"
        ),
    )
    .label("TCP port without an address")
    .help("Add the service's IP addresses under `addresses`, or enable DNS capture (`ISTIO_META_DNS_CAPTURE: \"true\"` in the mesh config) with a resolution other than `NONE` so that sidecars use the address Istio allocates.")
    .object(meta)
    .path(meta.path(&path))
}
