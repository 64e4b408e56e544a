use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::declare_rule;
use crate::model::ObjectMeta;
use crate::model::node::{Node, Shape};
use crate::report::{Diagnostic, Severity};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags HTTP, TCP and TLS routes (and single match requests) that can never
    /// be used because an earlier route already takes every request they match.
    ///
    /// Istio tries a VirtualService's routes in order and uses the first that
    /// matches. Within one route the `match` entries are alternatives (OR); the
    /// conditions inside one entry must all hold (AND). The rule reports:
    ///
    /// - **error**: a route after a catch-all. A catch-all is a route without
    ///   `match`, or a match entry whose only request condition is `uri` prefix
    ///   `/` (or `""`, or a regex such as `.*` that matches every path). Istio
    ///   stops emitting routes after it, so every later route is dead. A catch-all
    ///   limited to some gateways, ports, source labels or source namespace only
    ///   kills later routes limited to the same (or narrower) scope.
    /// - **warning**: a route, or one match entry of a route, whose every request
    ///   is matched by an earlier route: the earlier entry has the same or fewer
    ///   conditions, each implied by the later one (an earlier prefix that is a
    ///   prefix of the later prefix or exact path, equal header, query,
    ///   `withoutHeaders`, method, authority, scheme, port, source labels and
    ///   namespace conditions).
    /// - **warning**: a match entry that repeats, or is covered by, another entry
    ///   of the same route: it has no effect.
    ///
    /// The rule only claims what it can prove. `ignoreUriCase` is honoured (a
    /// case-insensitive later match is covered only by an earlier match that
    /// ignores case too, or whose text has no letters). A regex is compared with a
    /// prefix or exact path only when it is a literal, or a literal followed by
    /// `.*`; otherwise a regex covers only an exact path it matches, or the same
    /// regex. An unknown field in an earlier match makes it cover nothing. Each
    /// gateway is judged on its own: match-level `gateways` replace the
    /// VirtualService's, and a later route bound to several gateways is dead only
    /// when it is shadowed on every one of them. An earlier route that
    /// `delegate`s shadows nothing (requests its delegate does not match fall
    /// through to later routes). Delegate VirtualServices are checked like any
    /// other; their gateways come from the root, so match-level `gateways` in them
    /// are compared only with each other.
    ///
    /// Compared with Istio's analyzer (IST0130 VirtualServiceUnreachableRule,
    /// IST0131 VirtualServiceIneffectiveMatch): Istio treats only a route without
    /// `match` as a catch-all, so an earlier `uri: {prefix: /}` does not make it
    /// flag a later header match; meshvet does. Istio's overlap check compares
    /// only prefix URIs and treats a match without `method` as `GET`; meshvet
    /// compares every condition and treats a missing condition as "any". An
    /// unreachable route is reported once (Istio adds one IST0130 per match of a
    /// route after a match-less one), as an error whatever covers it: Istio
    /// reports a route whose matches all repeat earlier ones as IST0130 and one
    /// covered by broader, not identical, matches as IST0131 (an info), although
    /// the route is just as unreachable; the finding carries the same code. A redundant
    /// entry within one route is reported whatever its kind of URI (Istio's
    /// overlap check looks at prefix URIs only, so it misses an exact `/` next
    /// to a prefix `/` in the same route).
    ///
    /// ## Why is this bad?
    /// The later route never receives traffic: the canary, the header-based test
    /// route or the special timeout written there has no effect, and nothing
    /// says so at runtime. The usual cause is a default route (no `match`, or
    /// `prefix: /`) written first.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviews, subset: v1}
    ///   - match:
    ///     - headers:
    ///         end-user: {exact: jason}
    ///     route:
    ///     - destination: {host: reviews, subset: v2}
    /// ```
    /// Use instead: put the specific route first and the default route last.
    pub UnreachableRoute {
        name: "unreachable-route",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0130", "IST0131"],
    }
}

impl Rule for UnreachableRoute {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, obj: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = obj.tree.get("spec") else {
            return;
        };
        let meta = &obj.object.meta;
        let hosts_empty = spec.get("hosts").is_none_or(|h| h.items().next().is_none());
        let vs_gateways: Vec<String> = spec
            .get("gateways")
            .into_iter()
            .flat_map(|g| g.items())
            .filter_map(|g| g.str().map(str::to_owned))
            .collect();
        let scope = Scope {
            namespace: &meta.namespace,
            vs_gateways: &vs_gateways,
            delegate: hosts_empty,
        };
        for section in ["http", "tcp", "tls"] {
            let Some(list) = spec.get(section) else {
                continue;
            };
            let routes: Vec<RouteFacts> = list
                .items()
                .enumerate()
                .map(|(i, n)| route_facts(n, section, i, meta, &scope))
                .collect();
            analyse(&routes, meta, out);
        }
    }
}

/// What gateway resolution needs to know about the VirtualService.
struct Scope<'a> {
    namespace: &'a str,
    vs_gateways: &'a [String],
    delegate: bool,
}

impl Scope<'_> {
    /// The gateways a match entry applies to: its own `gateways`, else the
    /// VirtualService's, else `mesh` (for a delegate: the root's, unknown here).
    fn effective(&self, own: &[String]) -> BTreeSet<String> {
        let list = if own.is_empty() {
            self.vs_gateways
        } else {
            own
        };
        if list.is_empty() {
            let default = if self.delegate {
                "<root gateways>"
            } else {
                "mesh"
            };
            return BTreeSet::from([default.to_owned()]);
        }
        list.iter()
            .map(|g| {
                if g == "mesh" || g.contains('/') {
                    g.clone()
                } else {
                    format!("{}/{g}", self.namespace)
                }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Normalised string matchers

/// What a string matcher accepts, normalised.
#[derive(Debug, Clone, PartialEq)]
enum Text {
    /// The value is present (an empty matcher on a header or query parameter).
    Present,
    /// Equal to the string.
    Exact(String),
    /// Starts with the string.
    Prefix(String),
    /// Fully matched by an RE2 regex we cannot reduce to the two above.
    Regex(String),
    /// Something we do not understand; equal only to itself.
    Opaque(String),
}

#[derive(Debug, Clone)]
struct Matcher {
    text: Text,
    /// Case-insensitive (`ignoreUriCase` on an exact or prefix URI).
    ignore_case: bool,
    /// Reduced from a regex (matched against the path without its query).
    from_regex: bool,
    /// The compiled regex, for `Text::Regex`.
    compiled: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.effective_ci() == other.effective_ci()
    }
}

impl Matcher {
    fn effective_ci(&self) -> bool {
        self.ignore_case
            && match &self.text {
                Text::Exact(s) | Text::Prefix(s) => s.bytes().any(|b| b.is_ascii_alphabetic()),
                _ => false,
            }
    }

    fn describe(&self) -> String {
        let ci = if self.effective_ci() {
            " (any case)"
        } else {
            ""
        };
        match &self.text {
            Text::Present => "present".to_owned(),
            Text::Exact(s) if self.from_regex => format!("regex `{s}`"),
            Text::Prefix(s) if self.from_regex => format!("regex `{s}.*`"),
            Text::Exact(s) => format!("exact `{s}`{ci}"),
            Text::Prefix(s) => format!("prefix `{s}`{ci}"),
            Text::Regex(s) => format!("regex `{s}`"),
            Text::Opaque(s) => format!("`{s}`"),
        }
    }

    /// True for a URI matcher that every request path satisfies.
    fn is_every_path(&self) -> bool {
        matches!(&self.text, Text::Prefix(p) if p.is_empty() || p == "/")
    }
}

/// True when every value `later` accepts is accepted by `earlier`.
fn covers(earlier: &Matcher, later: &Matcher) -> bool {
    if earlier == later && !matches!(earlier.text, Text::Opaque(_)) {
        return true;
    }
    let e_ci = earlier.ignore_case && !earlier.from_regex;
    let l_ci = later.effective_ci() && !later.from_regex;
    match (&earlier.text, &later.text) {
        (Text::Present, Text::Opaque(_)) => false,
        (Text::Present, _) => true,
        (Text::Exact(s), Text::Exact(t)) => {
            if l_ci && !e_ci {
                return false;
            }
            if e_ci || l_ci {
                s.eq_ignore_ascii_case(t)
            } else {
                s == t
            }
        }
        (Text::Prefix(p), Text::Exact(t) | Text::Prefix(t)) => {
            // A regex sees the path without its query; a true prefix sees it all.
            if earlier.from_regex
                && matches!(later.text, Text::Prefix(_))
                && !later.from_regex
                && t.contains('?')
            {
                return false;
            }
            if l_ci && !e_ci && p.bytes().any(|b| b.is_ascii_alphabetic()) {
                return false;
            }
            if e_ci || l_ci {
                t.len() >= p.len()
                    && t.is_char_boundary(p.len())
                    && t[..p.len()].eq_ignore_ascii_case(p)
            } else {
                t.starts_with(p.as_str())
            }
        }
        (Text::Regex(_), Text::Exact(t)) => {
            t.is_ascii()
                && !(l_ci && t.bytes().any(|b| b.is_ascii_alphabetic()))
                && earlier.compiled.as_ref().is_some_and(|re| re.is_match(t))
        }
        _ => false,
    }
}

/// Reads an Istio `StringMatch`; `named` is true for headers and query
/// parameters, where an empty matcher means "present".
fn matcher(node: Node<'_>, named: bool, ignore_case: bool) -> Matcher {
    let opaque = |s: &str| Matcher {
        text: Text::Opaque(s.to_owned()),
        ignore_case: false,
        from_regex: false,
        compiled: None,
    };
    if node.shape() != Shape::Mapping {
        return opaque(node.scalar_text().unwrap_or("?"));
    }
    let entries: Vec<(Node<'_>, Node<'_>)> = node.entries().collect();
    if entries.is_empty() {
        return if named {
            Matcher {
                text: Text::Present,
                ignore_case: false,
                from_regex: false,
                compiled: None,
            }
        } else {
            opaque("{}")
        };
    }
    let [(k, v)] = entries.as_slice() else {
        return opaque(&render(node));
    };
    let (Some(key), Some(value)) = (k.scalar_text(), v.str()) else {
        return opaque(&render(node));
    };
    match key {
        "exact" => Matcher {
            text: Text::Exact(value.to_owned()),
            ignore_case,
            from_regex: false,
            compiled: None,
        },
        "prefix" => Matcher {
            text: Text::Prefix(value.to_owned()),
            ignore_case,
            from_regex: false,
            compiled: None,
        },
        "regex" => match reduce_regex(value) {
            Some(text) => Matcher {
                text,
                ignore_case: false,
                from_regex: true,
                compiled: None,
            },
            None => Matcher {
                text: Text::Regex(value.to_owned()),
                ignore_case: false,
                from_regex: false,
                compiled: regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    .size_limit(1 << 20)
                    .build()
                    .ok(),
            },
        },
        _ => opaque(&render(node)),
    }
}

fn render(node: Node<'_>) -> String {
    node.entries()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                k.scalar_text().unwrap_or("?"),
                v.scalar_text().unwrap_or("…")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reduces a regex that is a literal (`/api`) or a literal followed by `.*`
/// (`/api/.*`), optionally anchored, to an exact or prefix match.
fn reduce_regex(pattern: &str) -> Option<Text> {
    use regex_syntax::hir::{HirKind, Look};
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let mut items: Vec<&regex_syntax::hir::Hir> = match hir.kind() {
        HirKind::Concat(items) => items.iter().collect(),
        _ => vec![&hir],
    };
    while let Some(first) = items.first() {
        match first.kind() {
            HirKind::Look(Look::Start | Look::StartLF) => {
                items.remove(0);
            }
            _ => break,
        }
    }
    while let Some(last) = items.last() {
        match last.kind() {
            HirKind::Look(Look::End | Look::EndLF) => {
                items.pop();
            }
            _ => break,
        }
    }
    let dot_star = items.last().is_some_and(|h| is_dot_star(h));
    if dot_star {
        items.pop();
    }
    let mut literal = Vec::new();
    for item in items {
        match item.kind() {
            HirKind::Literal(lit) => literal.extend_from_slice(&lit.0),
            HirKind::Empty => {}
            _ => return None,
        }
    }
    let literal = String::from_utf8(literal).ok()?;
    Some(if dot_star {
        Text::Prefix(literal)
    } else {
        Text::Exact(literal)
    })
}

/// `.*` (with or without `(?s)`): any run of characters other than, at most, a
/// line feed, which neither paths nor header values contain.
fn is_dot_star(h: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    let HirKind::Repetition(rep) = h.kind() else {
        return false;
    };
    if rep.min != 0 || rep.max.is_some() {
        return false;
    }
    let HirKind::Class(Class::Unicode(class)) = rep.sub.kind() else {
        return false;
    };
    // Every scalar value except at most '\n' must be in the class.
    let mut next: u32 = 0;
    for r in class.ranges() {
        let start = u32::from(r.start());
        if start > next && !(start == 0x0B && next == 0x0A) {
            return false;
        }
        next = next.max(u32::from(r.end()) + 1);
        if next == 0xD800 {
            next = 0xE000;
        }
    }
    next > 0x10FFFF
}

// ---------------------------------------------------------------------------
// Match entries

/// One match entry (or the implicit "everything" of a route without `match`).
#[derive(Debug, Default)]
struct Request {
    universal: bool,
    /// Something we do not understand: covers nothing.
    opaque: bool,
    uri: Option<Matcher>,
    scheme: Option<Matcher>,
    method: Option<Matcher>,
    authority: Option<Matcher>,
    headers: BTreeMap<String, Matcher>,
    without_headers: BTreeMap<String, Matcher>,
    query: BTreeMap<String, Matcher>,
    port: Option<i64>,
    source_labels: BTreeMap<String, String>,
    source_namespace: Option<String>,
    subnets: Vec<String>,
    sni_hosts: Vec<String>,
    /// The gateways it applies to (its own, else the VirtualService's).
    gateways: BTreeSet<String>,
    /// Its own `gateways`, as written.
    own_gateways: Vec<String>,
}

impl Request {
    /// True when every request `later` matches, `self` matches too (gateways aside).
    fn covers(&self, later: &Request) -> bool {
        if self.opaque {
            return false;
        }
        if self.universal {
            return true;
        }
        if later.universal {
            return self.is_catch_all()
                && self.port.is_none()
                && self.source_labels.is_empty()
                && self.source_namespace.is_none();
        }
        let uri_ok = match (&self.uri, &later.uri) {
            (None, _) => true,
            (Some(e), _) if e.is_every_path() => true,
            (Some(_), None) => false,
            (Some(e), Some(l)) => covers(e, l),
        };
        let opt = |e: &Option<Matcher>, l: &Option<Matcher>| match (e, l) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(e), Some(l)) => covers(e, l),
        };
        let named = |e: &BTreeMap<String, Matcher>, l: &BTreeMap<String, Matcher>| {
            e.iter()
                .all(|(k, em)| l.get(k).is_some_and(|lm| covers(em, lm)))
        };
        // `withoutHeaders`: the later entry must exclude at least what the earlier does.
        let without_ok = self.without_headers.iter().all(|(k, em)| {
            later
                .without_headers
                .get(k)
                .is_some_and(|lm| covers(lm, em))
        });
        let subnets_ok = self.subnets.is_empty()
            || (!later.subnets.is_empty()
                && later
                    .subnets
                    .iter()
                    .all(|l| self.subnets.iter().any(|e| subnet_contains(e, l))));
        let sni_ok = self.sni_hosts.is_empty()
            || (!later.sni_hosts.is_empty()
                && later
                    .sni_hosts
                    .iter()
                    .all(|l| self.sni_hosts.iter().any(|e| crate::host::matches(e, l))));
        uri_ok
            && opt(&self.scheme, &later.scheme)
            && opt(&self.method, &later.method)
            && opt(&self.authority, &later.authority)
            && named(&self.headers, &later.headers)
            && named(&self.query, &later.query)
            && without_ok
            && self.port.is_none_or(|p| later.port == Some(p))
            && self
                .source_labels
                .iter()
                .all(|(k, v)| later.source_labels.get(k) == Some(v))
            && self
                .source_namespace
                .as_ref()
                .is_none_or(|n| later.source_namespace.as_ref() == Some(n))
            && subnets_ok
            && sni_ok
    }

    /// A catch-all: matches every request within its gateways, port, source
    /// labels and source namespace.
    fn is_catch_all(&self) -> bool {
        !self.opaque
            && (self.universal
                || (self.uri.as_ref().is_none_or(Matcher::is_every_path)
                    && self.scheme.is_none()
                    && self.method.is_none()
                    && self.authority.is_none()
                    && self.headers.is_empty()
                    && self.without_headers.is_empty()
                    && self.query.is_empty()
                    && self.subnets.is_empty()
                    && self.sni_hosts.is_empty()))
    }

    /// A short description of the conditions, for messages.
    fn describe(&self) -> String {
        if self.universal {
            return "every request".to_owned();
        }
        let mut parts = Vec::new();
        for (what, m) in [
            ("uri", &self.uri),
            ("scheme", &self.scheme),
            ("method", &self.method),
            ("authority", &self.authority),
        ] {
            if let Some(m) = m {
                parts.push(format!("{what} {}", m.describe()));
            }
        }
        for (k, m) in &self.headers {
            parts.push(format!("header `{k}` {}", m.describe()));
        }
        for (k, m) in &self.query {
            parts.push(format!("query `{k}` {}", m.describe()));
        }
        for (k, m) in &self.without_headers {
            if m.text == Text::Present {
                parts.push(format!("without header `{k}`"));
            } else {
                parts.push(format!("without header `{k}` {}", m.describe()));
            }
        }
        if let Some(p) = self.port {
            parts.push(format!("port {p}"));
        }
        if !self.source_labels.is_empty() {
            let labels: Vec<String> = self
                .source_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("source labels `{}`", labels.join(",")));
        }
        if let Some(ns) = &self.source_namespace {
            parts.push(format!("source namespace `{ns}`"));
        }
        if !self.subnets.is_empty() {
            parts.push(format!("subnets `{}`", self.subnets.join("`, `")));
        }
        if !self.sni_hosts.is_empty() {
            parts.push(format!("SNI `{}`", self.sni_hosts.join("`, `")));
        }
        if !self.own_gateways.is_empty() {
            let word = if self.own_gateways.len() == 1 {
                "gateway"
            } else {
                "gateways"
            };
            parts.push(format!("{word} `{}`", self.own_gateways.join("`, `")));
        }
        if parts.is_empty() {
            return "any request".to_owned();
        }
        if parts.len() > 3 {
            let n = parts.len() - 3;
            parts.truncate(3);
            parts.push(format!("{n} more"));
        }
        parts.join(", ")
    }
}

const HTTP_KEYS: &[&str] = &[
    "name",
    "uri",
    "scheme",
    "method",
    "authority",
    "headers",
    "port",
    "sourceLabels",
    "gateways",
    "queryParams",
    "ignoreUriCase",
    "withoutHeaders",
    "sourceNamespace",
    "statPrefix",
];
const L4_KEYS: &[&str] = &[
    "destinationSubnets",
    "port",
    "sourceLabels",
    "sourceNamespace",
    "gateways",
];

fn strings(node: Option<Node<'_>>) -> Vec<String> {
    node.into_iter()
        .flat_map(|n| n.items())
        .filter_map(|n| n.str().map(str::to_owned))
        .collect()
}

fn request(node: Node<'_>, section: &str, scope: &Scope<'_>) -> Request {
    let own_gateways = strings(node.get("gateways"));
    let mut r = Request {
        gateways: scope.effective(&own_gateways),
        own_gateways,
        ..Request::default()
    };
    if node.shape() != Shape::Mapping {
        r.opaque = true;
        return r;
    }
    let known = |k: &str| match section {
        "http" => HTTP_KEYS.contains(&k),
        "tls" => L4_KEYS.contains(&k) || k == "sniHosts",
        _ => L4_KEYS.contains(&k),
    };
    if node
        .entries()
        .any(|(k, v)| !k.scalar_text().is_some_and(known) || v.is_null())
    {
        r.opaque = true;
    }
    let named = |key: &str, lower: bool| -> BTreeMap<String, Matcher> {
        node.get(key)
            .into_iter()
            .flat_map(|m| m.entries())
            .filter_map(|(k, v)| {
                let name = k.scalar_text()?;
                let name = if lower {
                    name.to_ascii_lowercase()
                } else {
                    name.to_owned()
                };
                Some((name, matcher(v, true, false)))
            })
            .collect()
    };
    if section == "http" {
        let ignore_case = node
            .get("ignoreUriCase")
            .and_then(|n| n.bool())
            .unwrap_or(false);
        r.uri = node.get("uri").map(|n| matcher(n, false, ignore_case));
        r.scheme = node.get("scheme").map(|n| matcher(n, false, false));
        r.method = node.get("method").map(|n| matcher(n, false, false));
        r.authority = node.get("authority").map(|n| matcher(n, false, false));
        r.headers = named("headers", true);
        r.without_headers = named("withoutHeaders", true);
        r.query = named("queryParams", false);
    } else {
        r.subnets = strings(node.get("destinationSubnets"));
        r.sni_hosts = strings(node.get("sniHosts"));
    }
    if let Some(p) = node.get("port") {
        match p.int() {
            Some(v) => r.port = Some(v),
            None => r.opaque = true,
        }
    }
    if let Some(labels) = node.get("sourceLabels") {
        for (k, v) in labels.entries() {
            match (k.scalar_text(), v.str()) {
                (Some(k), Some(v)) => {
                    r.source_labels.insert(k.to_owned(), v.to_owned());
                }
                _ => r.opaque = true,
            }
        }
    }
    r.source_namespace = node
        .get("sourceNamespace")
        .and_then(|n| n.str())
        .map(str::to_owned);
    r
}

/// True when CIDR (or address) `outer` contains `inner`.
fn subnet_contains(outer: &str, inner: &str) -> bool {
    if outer == inner {
        return true;
    }
    let (Some((oa, ol)), Some((ia, il))) = (cidr(outer), cidr(inner)) else {
        return false;
    };
    let (oa, ia, bits) = match (oa, ia) {
        (IpAddr::V4(o), IpAddr::V4(i)) => (u128::from(u32::from(o)), u128::from(u32::from(i)), 32),
        (IpAddr::V6(o), IpAddr::V6(i)) => (u128::from(o), u128::from(i), 128),
        _ => return false,
    };
    if ol > il || ol > bits {
        return false;
    }
    if ol == 0 {
        return true;
    }
    let shift = bits - ol;
    (oa >> shift) == (ia >> shift)
}

fn cidr(s: &str) -> Option<(IpAddr, u32)> {
    match s.split_once('/') {
        Some((a, l)) => Some((a.parse().ok()?, l.parse().ok()?)),
        None => {
            let a: IpAddr = s.parse().ok()?;
            Some((a, if a.is_ipv4() { 32 } else { 128 }))
        }
    }
}

// ---------------------------------------------------------------------------
// Routes

struct MatchFacts {
    request: Request,
    span: Span,
    path: String,
}

struct RouteFacts {
    /// `http[2]` or the route's `name`, for messages.
    label: String,
    /// Where to point for the route as a whole.
    anchor: Span,
    /// The `match` key, when the route has matches.
    match_key: Option<Span>,
    path: String,
    delegates: bool,
    /// The route's match entries; one universal entry when it has none.
    matches: Vec<MatchFacts>,
    has_matches: bool,
}

fn route_facts(
    node: Node<'_>,
    section: &str,
    i: usize,
    meta: &ObjectMeta,
    scope: &Scope<'_>,
) -> RouteFacts {
    let path = meta.path(&format!("/spec/{section}/{i}"));
    let name = node.get("name").and_then(|n| n.str());
    let label = match name {
        Some(n) => format!("`{n}` (`{section}[{i}]`)"),
        None => format!("`{section}[{i}]`"),
    };
    let anchor = node
        .get("name")
        .map(|n| n.span())
        .or_else(|| node.entries().next().map(|(k, _)| k.span()))
        .unwrap_or(node.span());
    let match_entry = node.entry("match");
    let items: Vec<Node<'_>> = match_entry
        .map(|(_, m)| m.items().collect())
        .unwrap_or_default();
    let has_matches = !items.is_empty();
    let matches = if has_matches {
        items
            .into_iter()
            .enumerate()
            .map(|(j, m)| MatchFacts {
                request: request(m, section, scope),
                span: m.span(),
                path: format!("{path}/match/{j}"),
            })
            .collect()
    } else {
        let mut request = Request {
            universal: true,
            gateways: scope.effective(&[]),
            ..Request::default()
        };
        // A `match` that is not a list is a schema error: claim nothing.
        if match_entry.is_some_and(|(_, m)| !m.is_null() && m.shape() != Shape::Sequence) {
            request.opaque = true;
        }
        vec![MatchFacts {
            request,
            span: anchor,
            path: path.clone(),
        }]
    };
    RouteFacts {
        label,
        anchor,
        match_key: match_entry.map(|(k, _)| k.span()),
        path,
        delegates: node.get("delegate").is_some_and(|d| !d.is_null()),
        matches,
        has_matches,
    }
}

/// The earlier match entry that takes a later entry's requests on one gateway.
#[derive(Clone, Copy, PartialEq)]
struct Shadow {
    route: usize,
    entry: usize,
}

fn analyse(routes: &[RouteFacts], meta: &ObjectMeta, out: &mut Vec<Diagnostic>) {
    for (i, route) in routes.iter().enumerate() {
        // For each entry: the shadows per gateway, or None when it is live somewhere.
        let dead: Vec<Option<Vec<Shadow>>> = route
            .matches
            .iter()
            .map(|m| shadows(routes, i, &m.request))
            .collect();
        if dead.iter().all(Option::is_some) {
            let all: Vec<Shadow> = dedup(dead.iter().flatten().flatten().copied());
            // Every entry repeats an earlier one exactly (not merely covered by it).
            let repeats = route.has_matches
                && route.matches.iter().zip(&dead).all(|(m, d)| {
                    d.iter().flatten().all(|s| {
                        let (_, sm) = shadow_request(routes, *s);
                        m.request.covers(&sm.request) && sm.request.covers(&m.request)
                    })
                });
            out.push(route_finding(routes, i, &all, repeats, meta));
            continue;
        }
        for (j, d) in dead.iter().enumerate() {
            if let Some(s) = d {
                out.push(match_finding(routes, i, j, &dedup(s.iter().copied()), meta));
            }
        }
        // Entries of the same route that repeat or cover each other.
        for (j, m) in route.matches.iter().enumerate() {
            if dead[j].is_some() || !route.has_matches {
                continue;
            }
            let other = route.matches.iter().enumerate().find(|(k, o)| {
                *k != j
                    && dead[*k].is_none()
                    && m.request.gateways.is_subset(&o.request.gateways)
                    && o.request.covers(&m.request)
                    && (*k < j || !m.request.covers(&o.request))
            });
            if let Some((k, o)) = other {
                out.push(redundant_finding(route, j, k, &o.request, meta));
            }
        }
    }
}

fn dedup(items: impl Iterator<Item = Shadow>) -> Vec<Shadow> {
    let mut out: Vec<Shadow> = Vec::new();
    for s in items {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// For each gateway of `later`, the first earlier entry covering it; `None`
/// when some gateway has none.
fn shadows(routes: &[RouteFacts], i: usize, later: &Request) -> Option<Vec<Shadow>> {
    let mut found = Vec::new();
    for g in &later.gateways {
        let s = routes[..i]
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.delegates)
            .find_map(|(k, r)| {
                r.matches.iter().enumerate().find_map(|(e, m)| {
                    (m.request.gateways.contains(g) && m.request.covers(later))
                        .then_some(Shadow { route: k, entry: e })
                })
            })?;
        found.push(s);
    }
    (!found.is_empty()).then_some(found)
}

fn shadow_request(routes: &[RouteFacts], s: Shadow) -> (&RouteFacts, &MatchFacts) {
    let r = &routes[s.route];
    (r, &r.matches[s.entry])
}

fn add_related(
    mut d: Diagnostic,
    routes: &[RouteFacts],
    shadows: &[Shadow],
    meta: &ObjectMeta,
) -> Diagnostic {
    for s in shadows {
        let (r, m) = shadow_request(routes, *s);
        let text = if !r.has_matches {
            format!("route {} has no `match`: it takes every request", r.label)
        } else if m.request.is_catch_all() {
            format!("route {} takes every request here", r.label)
        } else {
            format!("route {} takes these requests first", r.label)
        };
        d = d.related(meta.file, m.span, text);
    }
    d
}

/// For a catch-all entry holding only scope fields (`gateways`, `port`, source
/// labels or namespace) in a route with several entries: the usual cause is a
/// `-` too many, which splits one entry into alternatives.
fn split_entry_hint(route: &RouteFacts, entry: usize) -> Option<&'static str> {
    let m = &route.matches.get(entry)?.request;
    (route.matches.len() > 1 && !m.universal && m.uri.is_none() && m.is_catch_all()).then_some(
        " Match entries are alternatives: `- gateways: [...]` followed by `- uri: {...}` is two entries, the first matching every request; to require both conditions, write them in one entry (no `-` before the second).",
    )
}

/// What the first shadow does, in words, for the message.
fn shadow_words(routes: &[RouteFacts], s: Shadow) -> String {
    let (r, m) = shadow_request(routes, s);
    if !r.has_matches {
        format!(
            "route {} before it has no `match` and takes every request",
            r.label
        )
    } else if m.request.is_catch_all() {
        let desc = m.request.describe();
        if desc == "any request" {
            format!("route {} before it takes every request", r.label)
        } else {
            format!("route {} before it takes every request ({desc})", r.label)
        }
    } else {
        format!(
            "route {} before it matches {}, which includes all of these requests",
            r.label,
            m.request.describe()
        )
    }
}

fn route_finding(
    routes: &[RouteFacts],
    i: usize,
    shadows: &[Shadow],
    repeats: bool,
    meta: &ObjectMeta,
) -> Diagnostic {
    let route = &routes[i];
    let catch_all = shadows
        .iter()
        .all(|s| shadow_request(routes, *s).1.request.is_catch_all());
    let first = shadows
        .first()
        .copied()
        .unwrap_or(Shadow { route: 0, entry: 0 });
    let what = if !route.has_matches {
        String::new()
    } else if route.matches.len() == 1 {
        format!("it matches {}, but ", route.matches[0].request.describe())
    } else {
        format!(
            "each of its {} matches is covered by an earlier route; ",
            route.matches.len()
        )
    };
    let span = route
        .match_key
        .filter(|_| route.has_matches)
        .unwrap_or(route.anchor);
    let shadow_label = routes[first.route].label.clone();
    let mut d = Diagnostic::new(
        &UnreachableRoute::META,
        meta.file,
        span,
        format!(
            "route {} is unreachable: {what}{}",
            route.label,
            shadow_words(routes, first)
        ),
    )
    .label("never used")
    .object(meta)
    .path(if route.has_matches {
        format!("{}/match", route.path)
    } else {
        route.path.clone()
    });
    if catch_all {
        d = d.help(format!(
            "Istio uses the first route that matches and drops every route after a catch-all: move route {shadow_label} to the end of the list, or give it a narrower `match`."
        ));
    } else {
        d = d
            .severity(Severity::Warning)
            .help(format!(
                "Istio uses the first route that matches: if route {} is meant to win for these requests, move it above route {shadow_label}; otherwise remove it.",
                route.label
            ));
    }
    if let Some(hint) = split_entry_hint(&routes[first.route], first.entry) {
        let help = d.help.take().unwrap_or_default();
        d = d.help(format!("{help}{hint}"));
    }
    // Istio's codes: IST0130 (unreachable rule) for a route after one without
    // `match` or whose matches all repeat earlier ones, plus IST0131 (ineffective
    // match) for each repeat; a route covered by broader (not identical) matches
    // gets IST0131 only.
    let by_matches = route.has_matches && shadows.iter().all(|s| routes[s.route].has_matches);
    d.upstream = match (by_matches, repeats) {
        (false, _) => &["IST0130"],
        (true, true) => &["IST0130", "IST0131"],
        (true, false) => &["IST0131"],
    };
    add_related(d, routes, shadows, meta)
}

fn match_finding(
    routes: &[RouteFacts],
    i: usize,
    j: usize,
    shadows: &[Shadow],
    meta: &ObjectMeta,
) -> Diagnostic {
    let route = &routes[i];
    let m = &route.matches[j];
    let first = shadows
        .first()
        .copied()
        .unwrap_or(Shadow { route: 0, entry: 0 });
    let repeats = {
        let (_, sm) = shadow_request(routes, first);
        m.request.covers(&sm.request) && shadows.len() == 1
    };
    let message = if repeats {
        format!(
            "match {j} of route {} ({}) is never used: it repeats a match of route {} before it",
            route.label,
            m.request.describe(),
            routes[first.route].label
        )
    } else {
        format!(
            "match {j} of route {} ({}) is never used: {}",
            route.label,
            m.request.describe(),
            shadow_words(routes, first)
        )
    };
    let mut d = Diagnostic::new(&UnreachableRoute::META, meta.file, m.span, message)
        .severity(Severity::Warning)
        .label("never used")
        .object(meta)
        .path(m.path.clone())
        .help(format!(
            "Istio uses the first route that matches: move this match to a route above {}, or remove it.{}",
            routes[first.route].label,
            split_entry_hint(&routes[first.route], first.entry).unwrap_or_default()
        ));
    d.upstream = &["IST0131"];
    add_related(d, routes, shadows, meta)
}

fn redundant_finding(
    route: &RouteFacts,
    j: usize,
    k: usize,
    other: &Request,
    meta: &ObjectMeta,
) -> Diagnostic {
    let m = &route.matches[j];
    let how = if m.request.covers(other) {
        "repeats"
    } else {
        "is covered by"
    };
    let mut d = Diagnostic::new(
        &UnreachableRoute::META,
        meta.file,
        m.span,
        format!(
            "match {j} of route {} ({}) has no effect: it {how} match {k} of the same route ({})",
            route.label,
            m.request.describe(),
            other.describe()
        ),
    )
    .severity(Severity::Warning)
    .label("redundant")
    .object(meta)
    .path(m.path.clone())
    .help(match split_entry_hint(route, k) {
        Some(hint) => format!("Remove this match, or merge the two.{hint}"),
        None => "Remove this match: match entries of one route are alternatives, and the other one already sends these requests to the same place.".to_owned(),
    })
    .related(meta.file, route.matches[k].span, format!("match {k} already matches these requests"));
    d.upstream = &["IST0131"];
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: Text) -> Matcher {
        Matcher {
            text,
            ignore_case: false,
            from_regex: false,
            compiled: None,
        }
    }

    #[test]
    fn regexes_reduce_to_prefixes_only_when_literal() {
        assert_eq!(reduce_regex(".*"), Some(Text::Prefix(String::new())));
        assert_eq!(
            reduce_regex("^/api/.*$"),
            Some(Text::Prefix("/api/".into()))
        );
        assert_eq!(reduce_regex("/api"), Some(Text::Exact("/api".into())));
        assert_eq!(reduce_regex("(?s).*"), Some(Text::Prefix(String::new())));
        assert_eq!(reduce_regex("/api/.+"), None);
        assert_eq!(reduce_regex("/a.i/.*"), None);
        assert_eq!(reduce_regex("(?i)/api.*"), None);
        assert_eq!(reduce_regex("/api|/b.*"), None);
    }

    #[test]
    fn prefixes_and_case() {
        let p = |s: &str| m(Text::Prefix(s.into()));
        let e = |s: &str| m(Text::Exact(s.into()));
        assert!(covers(&p("/api"), &p("/api/v1")));
        assert!(covers(&p("/api"), &e("/api")));
        assert!(!covers(&p("/api/v1"), &p("/api")));
        assert!(!covers(&e("/api"), &p("/api")));
        let mut ci = p("/API");
        ci.ignore_case = true;
        assert!(covers(&ci, &p("/api/x")));
        assert!(!covers(&p("/api"), &ci));
        let mut slash = p("/");
        slash.ignore_case = true;
        assert!(covers(&p("/"), &slash));
    }

    #[test]
    fn subnets() {
        assert!(subnet_contains("10.0.0.0/8", "10.1.2.0/24"));
        assert!(subnet_contains("10.0.0.0/8", "10.1.2.3"));
        assert!(!subnet_contains("10.1.2.0/24", "10.0.0.0/8"));
        assert!(!subnet_contains("10.0.0.0/8", "11.0.0.1"));
        assert!(subnet_contains("0.0.0.0/0", "11.0.0.1"));
        assert!(!subnet_contains("::/0", "11.0.0.1"));
    }
}
