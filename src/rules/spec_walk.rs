//! Shared by the rules that re-check Istio's Go validation layer
//! (`invalid-duration`, `invalid-host`, `value-out-of-range`, ...): walking a
//! spec by field path while keeping the JSON pointer, and the name syntaxes
//! Istio's validation uses (DNS-1123 labels, wildcard domains), and what "set"
//! means once Istio has decoded the YAML into a protobuf message.

use crate::model::node::{Node, Shape};
use crate::source::Span;

/// True when Istio's decoded proto has the field: present, not `null`, not an
/// empty list (an empty repeated field decodes to nothing) and not an empty
/// string (proto3 cannot tell `""` from absent).
pub fn is_set(node: Option<Node<'_>>) -> bool {
    match node {
        None => false,
        Some(n) => match n.shape() {
            Shape::Null => false,
            Shape::Sequence => n.items().next().is_some(),
            Shape::Scalar => n.str().is_none_or(|s| !s.is_empty()),
            Shape::Mapping => true,
        },
    }
}

/// The key and value of field `key` of `node` when it is set (see [`is_set`]).
pub fn set_entry<'t>(node: Node<'t>, key: &str) -> Option<(Node<'t>, Node<'t>)> {
    node.entry(key).filter(|(_, v)| is_set(Some(*v)))
}

/// The key, value and text of a non-empty string field (Go's `!= ""`).
pub fn non_empty_str<'t>(node: Node<'t>, key: &str) -> Option<(Node<'t>, Node<'t>, &'t str)> {
    let (k, v) = node.entry(key)?;
    let s = v.str().filter(|s| !s.is_empty())?;
    Some((k, v, s))
}

/// The text of a non-empty string value.
pub fn text<'t>(node: Option<Node<'t>>) -> Option<&'t str> {
    node.and_then(|n| n.str()).filter(|s| !s.is_empty())
}

/// One field found by [`visit`]: its value node and its JSON
/// pointer (relative to the object).
#[derive(Clone, Copy)]
pub struct Field<'t, 'p> {
    /// The value.
    pub value: Node<'t>,
    /// JSON pointer of the value.
    pub pointer: &'p str,
}

/// Calls `f` for every field at `pattern` under `node`. The pattern is a dotted
/// path of keys; a key ending in `[]` is a list whose every item is visited
/// (`http[].retries.perTryTimeout`). `pointer` is the JSON pointer of `node`.
pub fn visit<'t>(node: Node<'t>, pointer: &str, pattern: &str, f: &mut dyn FnMut(Field<'t, '_>)) {
    let (segment, rest) = match pattern.split_once('.') {
        Some((s, r)) => (s, Some(r)),
        None => (pattern, None),
    };
    let (key, list) = match segment.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (segment, false),
    };
    let Some(value) = node.get(key) else {
        return;
    };
    let here = format!("{pointer}/{key}");
    match (list, rest) {
        (false, None) => f(Field {
            value,
            pointer: &here,
        }),
        (false, Some(rest)) => visit(value, &here, rest, f),
        (true, rest) => {
            for (i, item) in value.items().enumerate() {
                let item_ptr = format!("{here}/{i}");
                match rest {
                    Some(rest) => visit(item, &item_ptr, rest, f),
                    None => f(Field {
                        value: item,
                        pointer: &item_ptr,
                    }),
                }
            }
        }
    }
}

/// True for a DNS-1123 label as Istio checks it: 1–63 characters, letters,
/// digits and `-`, starting and ending with a letter or digit. Istio's check
/// accepts upper-case letters.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Why a host is not a valid (wildcard) domain for Istio, or `None` when it is.
///
/// This is Istio's `ValidateWildcardDomain`: at most 255 characters; the first
/// label may be `*`, or a label prefixed by `*` or `*-`; every other label a
/// DNS-1123 label; the last label may be empty (a trailing dot) but not all
/// digits. Short names (`reviews`) are valid.
pub fn wildcard_domain_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("it is empty".to_owned());
    }
    if host.len() > 255 {
        return Some(format!(
            "it has {} characters, more than DNS allows (255)",
            host.len()
        ));
    }
    if let Some(p) = shape_problem(host) {
        return Some(p);
    }
    let (first, rest) = match host.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (host, None),
    };
    let first_ok = first == "*"
        || first
            .strip_prefix("*-")
            .or_else(|| first.strip_prefix('*'))
            .is_some_and(|l| is_dns1123_label(l) && first.len() <= 63)
        || is_dns1123_label(first);
    if !first_ok {
        return Some(label_problem(first, true));
    }
    rest.and_then(dns_labels_problem)
}

/// Why a dotted name's labels are not DNS-1123 labels (Istio's
/// `validateDNS1123Labels`), or `None`.
pub fn dns_labels_problem(domain: &str) -> Option<String> {
    let parts: Vec<&str> = domain.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|c| c.is_ascii_digit()) {
        return Some(format!("its top-level label `{last}` is all digits"));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() {
            return None;
        }
        if !is_dns1123_label(label) {
            return Some(label_problem(label, false));
        }
    }
    None
}

/// Problems that are easier to explain than "label invalid": a scheme, a port,
/// a path, spaces.
fn shape_problem(host: &str) -> Option<String> {
    if let Some((scheme, _)) = host.split_once("://") {
        return Some(format!(
            "it has a URL scheme (`{scheme}://`): a host is a name only"
        ));
    }
    if host.contains('/') {
        return Some("it has a `/`: a host is a name only, without a path".to_owned());
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|c| c.is_ascii_digit())
        && !host.contains("::")
    {
        return Some(format!(
            "it has a port (`:{port}`): ports are set in `port`, not in the host"
        ));
    }
    if host.chars().any(char::is_whitespace) {
        return Some("it contains whitespace".to_owned());
    }
    None
}

fn label_problem(label: &str, first: bool) -> String {
    if label.is_empty() {
        return "it has an empty label (two dots in a row, or a leading dot)".to_owned();
    }
    if label.contains('*') {
        return if first {
            format!(
                "its first label `{label}` has a `*` that is not at its start: a wildcard is `*` or a leading `*` only"
            )
        } else {
            format!(
                "label `{label}` has a `*`: a wildcard is allowed only in the first label (`*.example.com`)"
            )
        };
    }
    if label.len() > 63 {
        return format!(
            "label `{}…` has {} characters, more than DNS allows (63)",
            &label[..label.char_indices().nth(20).map_or(label.len(), |(i, _)| i)],
            label.len()
        );
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return format!("label `{label}` contains `{c}`: only letters, digits and `-` are allowed");
    }
    format!("label `{label}` starts or ends with `-`")
}

/// The span of `text[start..end]` inside a scalar, when the scalar is written
/// without escapes (plain, or quoted with nothing to unescape); otherwise the
/// whole scalar.
pub fn sub_span(value: Node<'_>, start: usize, end: usize) -> Span {
    let whole = value.span();
    let Some(text) = value.scalar_text() else {
        return whole;
    };
    let offset = if whole.len() == text.len() {
        0
    } else if whole.len() == text.len() + 2 {
        1
    } else {
        return whole;
    };
    let base = whole.start as usize + offset;
    Span::new(
        base + start,
        base + end.max(start + 1).min(text.len().max(1)),
    )
}

/// A DestinationRule traffic policy with its JSON pointer.
pub struct Policy<'t> {
    /// The policy mapping (a `portLevelSettings` item for port-level ones).
    pub node: Node<'t>,
    /// Its JSON pointer.
    pub pointer: String,
    /// True for a `portLevelSettings` item.
    pub port_level: bool,
}

/// Every traffic policy of a DestinationRule spec: the top-level one, each
/// subset's, and the port-level items inside each of those.
pub fn destination_rule_policies<'t>(spec: Node<'t>, base: &str) -> Vec<Policy<'t>> {
    let mut top: Vec<(Node<'t>, String)> = Vec::new();
    if let Some(tp) = spec.get("trafficPolicy") {
        top.push((tp, format!("{base}/trafficPolicy")));
    }
    for (i, s) in spec
        .get("subsets")
        .into_iter()
        .flat_map(|s| s.items())
        .enumerate()
    {
        if let Some(tp) = s.get("trafficPolicy") {
            top.push((tp, format!("{base}/subsets/{i}/trafficPolicy")));
        }
    }
    let mut out = Vec::new();
    for (node, pointer) in top {
        for (i, pl) in node
            .get("portLevelSettings")
            .into_iter()
            .flat_map(|p| p.items())
            .enumerate()
        {
            out.push(Policy {
                node: pl,
                pointer: format!("{pointer}/portLevelSettings/{i}"),
                port_level: true,
            });
        }
        out.push(Policy {
            node,
            pointer,
            port_level: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_domains_as_istio_reads_them() {
        for ok in [
            "reviews",
            "reviews.shop.svc.cluster.local",
            "*",
            "*.example.com",
            "*foo.example.com",
            "*-foo.example.com",
            "Example.COM",
            "istio.io.",
            "10.0.0.1.nip.io",
        ] {
            assert_eq!(wildcard_domain_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "http://example.com",
            "example.com:8080",
            "example.com/path",
            "a.*.example.com",
            "foo*.example.com",
            "a..b",
            "under_score.example.com",
            "-a.example.com",
            "example.123",
            "a b",
        ] {
            assert!(wildcard_domain_problem(bad).is_some(), "{bad}");
        }
    }
}
