use std::collections::{HashMap, HashSet};

use crate::declare_rule;
use crate::host;
use crate::index::{Index, ObjId};
use crate::model::{Object, SStr, Spec};
use crate::report::Diagnostic;
use crate::rules::host_refs::{is_builtin, is_mesh_bound, namespace_is_known, partial_fqdn};
use crate::rules::{Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags a Sidecar egress host `namespace/dnsName` that imports nothing:
    /// no Service, ServiceEntry or VirtualService of that namespace, visible to
    /// the Sidecar's namespace, has a host that `dnsName` covers.
    ///
    /// Istio reads an egress host as istiod's Sidecar scope does: the part
    /// before `/` is the namespace the configuration lives in (`*` any, `.` the
    /// Sidecar's own), not the namespace of the client; `dnsName` is compared
    /// literally with service hostnames, so `*.example.com` covers
    /// `api.example.com` and a wildcard ServiceEntry `*.example.com`, while
    /// `api.example.com` does not import a ServiceEntry for `*.example.com`.
    /// A VirtualService (bound to `mesh`) counts when one of its hosts and
    /// `dnsName` overlap, since the services it routes to are imported with it.
    /// Services and ServiceEntries count only when exported to the Sidecar's
    /// namespace, VirtualServices likewise.
    ///
    /// Not reported: `dnsName` `*`; hosts after `~` (which import nothing on
    /// purpose); hosts `invalid-host` rejects (short names, no `/`); hosts
    /// listed under `external-hosts` in `.meshvet.yaml`; the Kubernetes API and
    /// the Istio control plane. When nothing anywhere in the analysed files has
    /// the host, the rule stays silent unless the namespace looked in has
    /// Services or ServiceEntries in these files (for `*/` and an external
    /// name: unless the files declare ServiceEntries at all), since the host
    /// may be defined in another repository; a Service that names no namespace
    /// may be applied to any, so a service name it has is never reported.
    ///
    /// Differences from upstream: Kiali (KIA1004) ignores the namespace part,
    /// so it accepts `./wikipedia.org` when the ServiceEntry for
    /// `wikipedia.org` is in another namespace, and `bookinfo/www.myhost.com`
    /// for a ServiceEntry `*.myhost.com`; istiod imports nothing for either,
    /// and meshvet reports both. Kiali also suffix-matches ServiceEntry hosts
    /// (`wikipedia.org` covering `en.wikipedia.org`), ignores VirtualServices,
    /// resolves short names (which `invalid-host` reports here), reports hosts
    /// after `~`, and warns about hosts of namespaces it has no Service for.
    ///
    /// ## Why is this bad?
    /// The proxies the Sidecar applies to get no listener, route or cluster
    /// for the host. The author meant to allow the traffic; instead calls to
    /// it go through the passthrough cluster without any routing, retries or
    /// TLS settings, or fail with `502` when the outbound traffic policy is
    /// `REGISTRY_ONLY`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: ServiceEntry
    /// metadata: {name: stripe, namespace: egress}
    /// spec:
    ///   hosts: [api.stripe.com]
    ///   ports: [{number: 443, name: tls, protocol: TLS}]
    ///   resolution: DNS
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: payments}
    /// spec:
    ///   egress:
    ///   - hosts: ["./*", "./api.stripe.com"]
    /// ```
    /// Use instead: `egress/api.stripe.com` (or `*/api.stripe.com`): the part
    /// before `/` names the namespace of the ServiceEntry.
    pub UnknownEgressHost {
        name: "unknown-egress-host",
        severity: Warning,
        kinds: [Sidecar],
        upstream: ["KIA1004"],
    }
}

/// A host some object puts in the registry a Sidecar can import from.
struct Provider<'a> {
    id: ObjId,
    object: &'a Object,
    /// The host, resolved.
    host: String,
    /// A VirtualService host (matched both ways) rather than a service.
    route: bool,
    /// The object's namespace is not known (it can be applied to any).
    floating: bool,
}

/// Every provider host of the run, indexed for egress host lookups.
struct Registry<'a> {
    providers: Vec<Provider<'a>>,
    /// Non-wildcard hosts.
    exact: HashMap<String, Vec<usize>>,
    /// Every host (wildcard or not) under each of its proper domain suffixes:
    /// `a.b.c` and `*.b.c` are both under `b.c` and `c`.
    under: HashMap<String, Vec<usize>>,
    /// Wildcard VirtualService hosts `*.s`, by `s`.
    route_wildcards: HashMap<String, Vec<usize>>,
    /// Every wildcard host `*.s`, by `s`.
    wildcards: HashMap<String, Vec<usize>>,
    /// Namespaces (known) holding at least one Service or ServiceEntry.
    populated: HashSet<&'a str>,
    /// Names of Services that name no namespace (applied to any).
    floating_services: HashSet<&'a str>,
    /// True when the files declare any ServiceEntry.
    any_entry: bool,
}

impl<'a> Registry<'a> {
    fn new(index: &'a Index) -> Registry<'a> {
        let mut r = Registry {
            providers: Vec::new(),
            exact: HashMap::new(),
            under: HashMap::new(),
            route_wildcards: HashMap::new(),
            wildcards: HashMap::new(),
            populated: HashSet::new(),
            floating_services: HashSet::new(),
            any_entry: false,
        };
        let domain = index.settings().cluster_domain.as_str();
        for (id, object) in index.objects().iter().enumerate() {
            let ns = object.meta.namespace.as_str();
            let floating = !namespace_is_known(index, &object.meta);
            let (hosts, route): (Vec<String>, bool) = match &object.spec {
                Spec::Service(_) => (
                    vec![host::service_fqdn(object.meta.name(), ns, domain)],
                    false,
                ),
                Spec::ServiceEntry(se) => {
                    r.any_entry = true;
                    (
                        se.hosts
                            .iter()
                            .map(|h| index.resolve_host(&h.value, ns))
                            .collect(),
                        false,
                    )
                }
                Spec::VirtualService(vs) if is_mesh_bound(vs) => (
                    vs.hosts
                        .iter()
                        .map(|h| index.resolve_host(&h.value, ns))
                        .collect(),
                    true,
                ),
                _ => continue,
            };
            if floating {
                if matches!(object.spec, Spec::Service(_)) {
                    r.floating_services.insert(object.meta.name());
                }
            } else if !route {
                r.populated.insert(ns);
            }
            for h in hosts {
                if h == "*" || h.is_empty() {
                    continue;
                }
                let n = r.providers.len();
                let body = h.strip_prefix("*.");
                match body {
                    Some(rest) => {
                        r.under.entry(rest.to_owned()).or_default().push(n);
                        r.wildcards.entry(rest.to_owned()).or_default().push(n);
                        if route {
                            r.route_wildcards
                                .entry(rest.to_owned())
                                .or_default()
                                .push(n);
                        }
                    }
                    None => r.exact.entry(h.clone()).or_default().push(n),
                }
                for s in suffixes(body.unwrap_or(&h)) {
                    r.under.entry(s.to_owned()).or_default().push(n);
                }
                r.providers.push(Provider {
                    id,
                    object,
                    host: h,
                    route,
                    floating,
                });
            }
        }
        r
    }

    /// Providers whose host `pattern` (an egress `dnsName`) covers, in any
    /// namespace.
    fn covered_by(&self, pattern: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        match pattern.strip_prefix("*.") {
            Some(rest) => {
                out.extend(self.under.get(rest).into_iter().flatten());
                // A broader wildcard VirtualService host overlaps too.
                for s in std::iter::once(rest).chain(suffixes(rest)) {
                    out.extend(self.route_wildcards.get(s).into_iter().flatten());
                }
            }
            None => {
                out.extend(self.exact.get(pattern).into_iter().flatten());
                for s in suffixes(pattern) {
                    out.extend(self.route_wildcards.get(s).into_iter().flatten());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Wildcard service hosts that cover the concrete name `dns` (which an
    /// egress host naming `dns` does not import).
    fn wildcards_over(&self, dns: &str) -> Vec<usize> {
        if host::is_wildcard(dns) {
            return Vec::new();
        }
        let mut out: Vec<usize> = suffixes(dns)
            .flat_map(|s| self.wildcards.get(s).into_iter().flatten().copied())
            .filter(|n| !self.providers[*n].route)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The proper domain suffixes of `h`: `a.b.c` → `b.c`, `c`.
fn suffixes(h: &str) -> impl Iterator<Item = &str> {
    h.match_indices('.').map(move |(i, _)| &h[i + 1..])
}

impl Rule for UnknownEgressHost {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_graph(&self, index: &Index, out: &mut Vec<Diagnostic>) {
        let mut registry: Option<Registry<'_>> = None;
        for object in index.objects() {
            let Spec::Sidecar(sc) = &object.spec else {
                continue;
            };
            for (i, listener) in sc.egress.iter().enumerate() {
                for (j, h) in listener.hosts.iter().enumerate() {
                    let Some((import_ns, dns)) = checked(index, h) else {
                        continue;
                    };
                    let registry = registry.get_or_insert_with(|| Registry::new(index));
                    let path = object.meta.path(&format!("/spec/egress/{i}/hosts/{j}"));
                    if let Some(d) = check(index, registry, object, h, import_ns, dns) {
                        out.push(d.path(path));
                    }
                }
            }
        }
    }
}

/// The namespace part and name of an egress host this rule checks.
fn checked<'h>(index: &Index, h: &'h SStr) -> Option<(&'h str, &'h str)> {
    let (ns, dns) = h.value.split_once('/')?;
    let settings = index.settings();
    let skip = ns.is_empty()
        || ns.starts_with('~')
        || dns == "*"
        || !dns.contains('.')
        || dns.contains('/')
        || settings.is_external(dns)
        || is_builtin(dns, &settings.cluster_domain, &settings.root_namespace)
        || dns.ends_with(".svc.clusterset.local");
    (!skip).then_some((ns, dns))
}

fn check(
    index: &Index,
    registry: &Registry<'_>,
    sidecar: &Object,
    h: &SStr,
    import_ns: &str,
    dns: &str,
) -> Option<Diagnostic> {
    let meta = &sidecar.meta;
    let client = meta.namespace.as_str();
    let client_known = namespace_is_known(index, meta);
    let target: Option<&str> = match import_ns {
        "*" => None,
        "." => client_known.then_some(client),
        other => Some(other),
    };
    let candidates = registry.covered_by(dns);
    let in_ns =
        |p: &Provider<'_>| p.floating || target.is_none_or(|t| p.object.meta.namespace == t);
    let visible = |p: &Provider<'_>| {
        !client_known
            || match &p.object.spec {
                Spec::VirtualService(vs) => index.is_exported(
                    &vs.export_to,
                    "VirtualService",
                    &p.object.meta.namespace,
                    client,
                ),
                _ => index.is_visible_to(p.id, client),
            }
    };
    let mut elsewhere: Vec<&Provider<'_>> = Vec::new();
    let mut hidden: Vec<&Provider<'_>> = Vec::new();
    for p in candidates.iter().map(|n| &registry.providers[*n]) {
        match (in_ns(p), visible(p)) {
            (true, true) => return None,
            (true, false) => hidden.push(p),
            (false, _) => elsewhere.push(p),
        }
    }
    let shown_ns = match target {
        Some(t) => format!("namespace `{t}`"),
        None => "any namespace".to_owned(),
    };
    let mut d;
    if let (Some(t), false) = (target, elsewhere.is_empty()) {
        let mut namespaces: Vec<&str> = elsewhere
            .iter()
            .map(|p| p.object.meta.namespace.as_str())
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let first = elsewhere[0];
        d = Diagnostic::new(
            &UnknownEgressHost::META,
            meta.file,
            h.span,
            format!(
                "egress host `{}` imports only from namespace `{t}`, but {} for `{dns}` {} in {}",
                h.value,
                provider_noun(first),
                if elsewhere.len() == 1 {
                    "is"
                } else {
                    "and others are"
                },
                plural_ns(&namespaces)
            ),
        )
        .label(format!("nothing in `{t}` has this host"));
        for p in elsewhere.iter().take(3) {
            d = d.related(
                p.object.meta.file,
                p.object.meta.anchor(),
                format!("{} has host `{}`", provider_noun(p), p.host),
            );
        }
        let fixed: Vec<String> = namespaces.iter().map(|n| format!("{n}/{dns}")).collect();
        d = d.help(format!(
            "The part before `/` names the namespace of the Service, ServiceEntry or VirtualService, not of the client: write {} (or `*/{dns}`).",
            backtick_list(&fixed, "or")
        ));
    } else if let Some(p) = registry
        .wildcards_over(dns)
        .into_iter()
        .map(|n| &registry.providers[n])
        .find(|p| in_ns(p) && visible(p))
    {
        d = Diagnostic::new(
            &UnknownEgressHost::META,
            meta.file,
            h.span,
            format!(
                "egress host `{}` imports nothing: {} declares the wildcard `{}`, and istiod imports a wildcard host only through an egress host at least as wide",
                h.value,
                provider_noun(p),
                p.host
            ),
        )
        .label("narrower than the wildcard host")
        .related(
            p.object.meta.file,
            p.object.meta.anchor(),
            format!("{} has host `{}`", provider_noun(p), p.host),
        )
        .help(format!(
            "Write `{import_ns}/{}` to import the wildcard ServiceEntry.",
            p.host
        ));
    } else if let Some(full) = partial_fqdn(dns, &index.settings().cluster_domain).filter(|f| {
        registry
            .covered_by(f)
            .iter()
            .any(|n| in_ns(&registry.providers[*n]))
    }) {
        d = Diagnostic::new(
            &UnknownEgressHost::META,
            meta.file,
            h.span,
            format!(
                "egress host `{}` imports nothing: istiod compares `{dns}` literally with service names, and the service is `{full}`",
                h.value
            ),
        )
        .label("not a full service name")
        .help(format!("Write `{import_ns}/{full}`."));
    } else if !hidden.is_empty() {
        let first = hidden[0];
        d = Diagnostic::new(
            &UnknownEgressHost::META,
            meta.file,
            h.span,
            format!(
                "egress host `{}` matches only {}, which is not exported to namespace `{client}`",
                h.value,
                provider_noun(first)
            ),
        )
        .label(format!("not exported to `{client}`"));
        for p in hidden.iter().take(3) {
            d = d.related(
                p.object.meta.file,
                p.object.meta.anchor(),
                format!("{} has host `{}`", provider_noun(p), p.host),
            );
        }
        d = d.help(format!(
            "Export it to namespace `{client}` (`exportTo`, or the `networking.istio.io/exportTo` annotation of a Service), or remove the egress host."
        ));
    } else {
        // Nothing anywhere: only worth saying where the files hold the namespace's registry.
        let looked_in: Option<&str> = match target {
            Some(t) => Some(t),
            None => cluster_namespace(dns, &index.settings().cluster_domain),
        };
        let known = match looked_in {
            Some(ns) => registry.populated.contains(ns),
            None => registry.any_entry,
        };
        let floating = host::service_parts(dns, &index.settings().cluster_domain)
            .is_some_and(|(name, _)| registry.floating_services.contains(name));
        if !known || floating || (import_ns == "." && !client_known) {
            return None;
        }
        d = Diagnostic::new(
            &UnknownEgressHost::META,
            meta.file,
            h.span,
            format!(
                "egress host `{}` matches no Service, ServiceEntry or VirtualService in {shown_ns}, so it imports nothing",
                h.value
            ),
        )
        .label("imports nothing")
        .help(format!(
            "Fix the host, or declare `{dns}` with a ServiceEntry; if it is defined in another repository, list it under `external-hosts` in `.meshvet.yaml`."
        ));
    }
    Some(d.object(meta))
}

/// The namespace of a cluster-local name: `name.ns.svc.<domain>` or `*.ns.svc.<domain>`.
fn cluster_namespace<'h>(dns: &'h str, domain: &str) -> Option<&'h str> {
    let rest = dns.strip_suffix(domain)?.strip_suffix(".svc.")?;
    let (_, ns) = rest.rsplit_once('.')?;
    (!ns.is_empty() && ns != "*").then_some(ns)
}

fn provider_noun(p: &Provider<'_>) -> String {
    let kind = if p.route {
        "VirtualService"
    } else {
        p.object.meta.kind.as_str()
    };
    format!(
        "{kind} `{}/{}`",
        p.object.meta.namespace,
        p.object.meta.name()
    )
}

fn plural_ns(namespaces: &[&str]) -> String {
    match namespaces {
        [one] => format!("namespace `{one}`"),
        many => format!("namespaces {}", backtick_list(many, "and")),
    }
}
