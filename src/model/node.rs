//! A read-only view over a saphyr tree that speaks in byte spans and
//! Kubernetes scalar types.
//!
//! Documents are loaded without saphyr's scalar typing (`early_parse(false)`),
//! so every scalar keeps its raw text and quoting style. This view decides what
//! a scalar means the way Kubernetes' decoder does, and converts every position
//! into a file byte span through the document's [`SpanMapper`].

use saphyr::{MarkedYaml, YamlData};
use saphyr_parser::ScalarStyle;

use crate::load::SpanMapper;
use crate::source::Span;

/// A node of a parsed document together with the means to locate it in its file.
#[derive(Clone, Copy)]
pub struct Node<'t> {
    raw: &'t MarkedYaml<'t>,
    /// The span of the node as written, kept from an enclosing tag when there is one.
    outer: &'t MarkedYaml<'t>,
    map: SpanMapper<'t>,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({:?})", self.span())
    }
}

/// The shape of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A mapping.
    Mapping,
    /// A sequence.
    Sequence,
    /// A scalar that is not null.
    Scalar,
    /// A null scalar (`~`, `null`, empty) or an alias that could not be resolved.
    Null,
}

impl<'t> Node<'t> {
    /// Wraps the root of a document.
    pub fn root(raw: &'t MarkedYaml<'t>, map: SpanMapper<'t>) -> Node<'t> {
        Node::wrap(raw, map)
    }

    fn wrap(outer: &'t MarkedYaml<'t>, map: SpanMapper<'t>) -> Node<'t> {
        // A tagged node's inner node has no position: keep the outer one for spans.
        let mut raw = outer;
        while let YamlData::Tagged(_, inner) = &raw.data {
            raw = inner;
        }
        Node { raw, outer, map }
    }

    /// The span mapper of the document this node is in.
    pub fn mapper(&self) -> SpanMapper<'t> {
        self.map
    }

    /// What kind of node this is.
    pub fn shape(&self) -> Shape {
        match &self.raw.data {
            YamlData::Mapping(_) => Shape::Mapping,
            YamlData::Sequence(_) => Shape::Sequence,
            _ if self.is_null() => Shape::Null,
            YamlData::Representation(..) | YamlData::Value(_) => Shape::Scalar,
            _ => Shape::Null,
        }
    }

    /// The node's byte span. For collections it runs from the first token to the end
    /// of the last item, so it never swallows the next line's indentation.
    pub fn span(&self) -> Span {
        let start = self.map.offset(self.outer.span.start);
        let end = self.end_offset().max(start);
        Span::new(start, end)
    }

    fn end_offset(&self) -> usize {
        match &self.raw.data {
            YamlData::Mapping(m) if !m.is_empty() && !self.is_flow() => m
                .iter()
                .next_back()
                .map_or(0, |(_, v)| Node::wrap(v, self.map).end_offset()),
            YamlData::Sequence(s) if !s.is_empty() && !self.is_flow() => {
                s.last().map_or(0, |v| Node::wrap(v, self.map).end_offset())
            }
            _ if self.is_null() && self.scalar_text().is_none_or(str::is_empty) => {
                self.map.offset(self.outer.span.start)
            }
            YamlData::Mapping(_) | YamlData::Sequence(_) => {
                // The end event of a flow collection sits on its closing bracket.
                let end = self.map.offset(self.outer.span.end);
                match self.map.file().text.as_bytes().get(end) {
                    Some(b']' | b'}') => end + 1,
                    _ => end,
                }
            }
            _ => self.map.offset(self.outer.span.end),
        }
    }

    /// True when the collection is written in flow style (`{...}` / `[...]`).
    fn is_flow(&self) -> bool {
        let start = self.map.offset(self.outer.span.start);
        matches!(
            self.map.file().text.as_bytes().get(start),
            Some(b'{' | b'[')
        )
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<Node<'t>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(Node<'t>, Node<'t>)> {
        self.entries().find(|(k, _)| k.scalar_text() == Some(key))
    }

    /// Key/value pairs of a mapping, in document order; empty for other shapes.
    pub fn entries(self) -> impl Iterator<Item = (Node<'t>, Node<'t>)> + use<'t> {
        let map = self.map;
        let iter = match &self.raw.data {
            YamlData::Mapping(m) => Some(m.iter()),
            _ => None,
        };
        iter.into_iter()
            .flatten()
            .map(move |(k, v)| (Node::wrap(k, map), Node::wrap(v, map)))
    }

    /// Items of a sequence, in order; empty for other shapes.
    pub fn items(self) -> impl Iterator<Item = Node<'t>> + use<'t> {
        let map = self.map;
        let iter = match &self.raw.data {
            YamlData::Sequence(s) => Some(s.iter()),
            _ => None,
        };
        iter.into_iter().flatten().map(move |v| Node::wrap(v, map))
    }

    /// The scalar's text as written (after unescaping), for any scalar style.
    pub fn scalar_text(&self) -> Option<&'t str> {
        match &self.raw.data {
            YamlData::Representation(text, _, _) => Some(text.as_ref()),
            YamlData::Value(saphyr::Scalar::String(s)) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// The quoting style of a scalar.
    pub fn style(&self) -> Option<ScalarStyle> {
        match &self.raw.data {
            YamlData::Representation(_, style, _) => Some(*style),
            _ => None,
        }
    }

    fn is_plain(&self) -> bool {
        matches!(self.style(), Some(ScalarStyle::Plain) | None)
    }

    /// True for null: a plain `~`, `null` (any case variant YAML allows) or empty scalar.
    pub fn is_null(&self) -> bool {
        match &self.raw.data {
            YamlData::Representation(text, ScalarStyle::Plain, _) => {
                matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
            }
            YamlData::Value(saphyr::Scalar::Null) | YamlData::BadValue => true,
            YamlData::Alias(_) => true,
            _ => false,
        }
    }

    /// The scalar as a string, whatever its type (`80` reads as "80"); `None` for null
    /// and collections. Use for fields that Kubernetes decodes as strings.
    pub fn str(&self) -> Option<&'t str> {
        if self.is_null() {
            return None;
        }
        self.scalar_text()
    }

    /// The scalar as an integer, when it is written as one (plain decimal, `0x`, `0o`).
    pub fn int(&self) -> Option<i64> {
        if !self.is_plain() || self.is_null() {
            return None;
        }
        parse_int(self.scalar_text()?)
    }

    /// The scalar as a number (integers included), when written as one.
    pub fn float(&self) -> Option<f64> {
        if !self.is_plain() || self.is_null() {
            return None;
        }
        let text = self.scalar_text()?;
        if let Some(i) = parse_int(text) {
            return Some(i as f64);
        }
        let t = text.trim_start_matches('+');
        let looks_numeric = t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
        if looks_numeric && t.chars().any(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    }

    /// The scalar as a boolean under YAML 1.1 rules, which Kubernetes' decoder uses
    /// (`yes`, `on`, `true` and their opposites, in the usual capitalisations).
    pub fn bool(&self) -> Option<bool> {
        if !self.is_plain() {
            return None;
        }
        match self.scalar_text()? {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "y" | "Y" | "on" | "On" | "ON" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "n" | "N" | "off" | "Off"
            | "OFF" => Some(false),
            _ => None,
        }
    }
}

/// Parses a YAML integer: optional sign, decimal digits, or `0x`/`0o` prefixed.
fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    // from_str_radix accepts a sign of its own; only bare digits are YAML integers.
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let value = i64::from_str_radix(body, radix).ok()?;
    if neg {
        value.checked_neg()
    } else {
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_file;
    use crate::source::{FileId, SourceFile};

    fn with_root(text: &str, f: impl FnOnce(Node<'_>, &SourceFile)) {
        let file = SourceFile::new(FileId(0), "t.yaml".into(), "t.yaml".into(), text.into());
        let docs = parse_file(&file);
        let doc = &docs[0];
        let root = doc.root.as_ref().expect("document parses");
        f(
            Node::root(root, SpanMapper::new(&file, doc.segment.first_line)),
            &file,
        );
    }

    #[test]
    fn scalars_read_as_kubernetes_reads_them() {
        with_root(
            "a: 80\nb: \"80\"\nc: ~\nd: yes\ne: 2.5\nf: 0x1F\ng: on\nh: '5'\n",
            |n, _| {
                assert_eq!(n.get("a").and_then(|v| v.int()), Some(80));
                assert_eq!(n.get("b").and_then(|v| v.int()), None);
                assert_eq!(n.get("b").and_then(|v| v.str()), Some("80"));
                assert!(n.get("c").is_some_and(|v| v.is_null()));
                assert_eq!(n.get("d").and_then(|v| v.bool()), Some(true));
                assert_eq!(n.get("e").and_then(|v| v.float()), Some(2.5));
                assert_eq!(n.get("f").and_then(|v| v.int()), Some(31));
                assert_eq!(n.get("g").and_then(|v| v.bool()), Some(true));
                assert_eq!(n.get("h").and_then(|v| v.float()), None);
            },
        );
    }

    #[test]
    fn integers_never_overflow() {
        assert_eq!(parse_int("0x-8000000000000000"), None);
        assert_eq!(parse_int("-9223372036854775808"), None);
        assert_eq!(parse_int("-0x10"), Some(-16));
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_int("+"), None);
    }

    #[test]
    fn collection_spans_end_at_their_last_item() {
        with_root("spec:\n  a: 1\n  b: [x, y]\nnext: 2\n", |n, file| {
            let spec = n.get("spec").expect("spec");
            let (s, e) = file.range(spec.span());
            assert_eq!((s.line, s.column, e.line, e.column), (2, 3, 3, 11));
        });
    }

    #[test]
    fn tagged_nodes_keep_their_position() {
        with_root("a: !custom\n  b: 1\n", |n, file| {
            let a = n.get("a").expect("a");
            assert_eq!(a.get("b").and_then(|v| v.int()), Some(1));
            assert_eq!(file.position(a.span().start as usize).line, 1);
        });
    }
}
