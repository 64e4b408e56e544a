//! Reading files, splitting YAML streams into documents, and parsing each
//! document with saphyr into a span-carrying tree.
//!
//! A stream is split at `---`/`...` marker lines *before* parsing, so a syntax
//! error costs only the document it is in: the parser stops at the first error
//! of its input, and every later document would otherwise be lost. Each
//! document gets its own loader, which also gives it its own alias budget.

use std::collections::HashMap;

use saphyr::{MarkedYaml, YamlLoader};
use saphyr_parser::{Event, Parser, ScanError, SpannedEventReceiver};

use crate::source::{SourceFile, Span};

/// Most nodes alias expansion may add to one document (billion-laughs guard).
pub const ALIAS_BUDGET: usize = 100_000;

/// Deepest collection nesting accepted. Real manifests stay under 30 levels;
/// the limit keeps recursive walks and tree drops far from the stack's end.
pub const MAX_DEPTH: usize = 256;

/// How a file's bytes turned into text, or why they did not.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// UTF-8 text (a byte-order mark removed); UTF-16 with a BOM is transcoded.
    Text(String),
    /// The file holds NUL bytes: not a text file at all.
    Binary,
    /// Not valid UTF-8; `offset` is the first bad byte.
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
}

/// Decodes file bytes as YAML text: UTF-8 (with or without BOM) or UTF-16 with a BOM.
pub fn decode(bytes: Vec<u8>) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return match std::str::from_utf8(rest) {
            Ok(s) => Decoded::Text(s.to_owned()),
            Err(e) => Decoded::NotUtf8 {
                offset: e.valid_up_to() + 3,
            },
        };
    }
    let utf16 = |le: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| {
                let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                if le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units)
    };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return match utf16(bytes[0] == 0xFF) {
            Ok(s) => Decoded::Text(s),
            Err(_) => Decoded::NotUtf8 { offset: 0 },
        };
    }
    if bytes.contains(&0) {
        return Decoded::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(s) => Decoded::Text(s),
        Err(e) => Decoded::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        },
    }
}

/// One document's slice of a stream, before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Byte offset of the segment in the file.
    pub start: usize,
    /// Byte offset one past the segment's end.
    pub end: usize,
    /// 1-based line of the segment's first line.
    pub first_line: usize,
}

/// Splits a YAML stream into per-document segments at `---` and `...` marker lines.
///
/// A marker is `---` or `...` at column 0 followed by whitespace or the line end;
/// YAML forbids these at column 0 inside content, so the split matches the
/// parser's own document boundaries. A `---` line starts its segment (content may
/// follow it on the same line); a `...` line ends the current one. Stretches with
/// nothing but comments, blank lines and directives are merged into the following
/// segment, so directives stay with their document and no empty documents appear.
pub fn split_documents(text: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut start = 0usize;
    let mut first_line = 1usize;
    let mut line_no = 1usize;
    let mut pos = 0usize;
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        let line_end = memchr_newline(bytes, pos);
        let next = line_end.map_or(bytes.len(), |e| e + 1);
        let line = &bytes[pos..line_end.unwrap_or(bytes.len())];
        if is_marker(line, b"---") && pos > start {
            segments.push(Segment {
                start,
                end: pos,
                first_line,
            });
            start = pos;
            first_line = line_no;
        } else if is_marker(line, b"...") {
            segments.push(Segment {
                start,
                end: next,
                first_line,
            });
            start = next;
            first_line = line_no + 1;
        }
        pos = next;
        line_no += 1;
    }
    if start < bytes.len() {
        segments.push(Segment {
            start,
            end: bytes.len(),
            first_line,
        });
    }
    // Merge content-less segments forward (directives, comments, blank lines).
    let mut merged: Vec<Segment> = Vec::with_capacity(segments.len());
    let mut pending: Option<Segment> = None;
    for seg in segments {
        let seg = match pending.take() {
            Some(p) => Segment {
                start: p.start,
                end: seg.end,
                first_line: p.first_line,
            },
            None => seg,
        };
        if has_content(&text[seg.start..seg.end]) {
            merged.push(seg);
        } else {
            pending = Some(seg);
        }
    }
    merged
}

/// Finds the next line break; a lone `\r` also ends a line (YAML treats it so).
fn memchr_newline(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => return Some(i),
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_marker(line: &[u8], marker: &[u8; 3]) -> bool {
    line.starts_with(marker) && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// True when the text has something besides markers, comments, directives and blanks.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        let marker_only = t == "---" || t == "..." || t.starts_with("--- #");
        !(t.is_empty() || t.starts_with('#') || l.starts_with('%') || marker_only)
    })
}

/// A mapping key given twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key text.
    pub key: String,
    /// Where the key first appears.
    pub first: Span,
    /// Where it appears again.
    pub second: Span,
}

/// A YAML syntax error, positioned in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The parser's message, rephrased in plain words where we know a better one.
    pub message: String,
    /// Zero-width-or-one-character span at the parser's position.
    pub span: Span,
}

/// One parsed document: the tree (borrowing the file text) and what the parser found.
#[derive(Debug)]
pub struct ParsedDocument<'a> {
    /// The span of the whole segment in the file.
    pub segment: Segment,
    /// The tree, when the document parsed; `None` after a syntax error.
    pub root: Option<MarkedYaml<'a>>,
    /// Keys repeated within one mapping.
    pub duplicate_keys: Vec<DuplicateKey>,
    /// The syntax error that ended parsing, if any.
    pub error: Option<SyntaxError>,
}

/// Converts saphyr positions (relative to a segment) into byte spans of the file.
#[derive(Debug, Clone, Copy)]
pub struct SpanMapper<'f> {
    file: &'f SourceFile,
    first_line: usize,
}

impl<'f> SpanMapper<'f> {
    /// A mapper for positions produced by parsing the segment starting at `first_line`.
    pub fn new(file: &'f SourceFile, first_line: usize) -> SpanMapper<'f> {
        SpanMapper { file, first_line }
    }

    /// The file this mapper resolves into.
    pub fn file(&self) -> &'f SourceFile {
        self.file
    }

    /// Byte offset of a marker.
    pub fn offset(&self, m: saphyr_parser::Marker) -> usize {
        self.file
            .offset_of(self.first_line + m.line().saturating_sub(1), m.col())
    }

    /// Byte span of a saphyr span.
    pub fn span(&self, s: saphyr_parser::Span) -> Span {
        Span::new(self.offset(s.start), self.offset(s.end))
    }
}

/// Parses every document of `file`, in order.
pub fn parse_file(file: &SourceFile) -> Vec<ParsedDocument<'_>> {
    split_documents(&file.text)
        .into_iter()
        .flat_map(|seg| parse_segment(file, seg))
        .collect()
}

fn parse_segment(file: &SourceFile, segment: Segment) -> Vec<ParsedDocument<'_>> {
    let text = &file.text[segment.start..segment.end];
    let mapper = SpanMapper::new(file, segment.first_line);
    let mut loader: YamlLoader<MarkedYaml> = YamlLoader::default();
    loader.alias_limit(ALIAS_BUDGET);
    loader.allow_duplicate_keys(true);
    loader.early_parse(false);
    let mut recv = Receiver {
        loader,
        frames: Vec::new(),
        duplicates: Vec::new(),
        anchors: HashMap::new(),
        expanded: 0,
        refused: None,
    };
    // Pull events in a flat loop rather than `Parser::load`, which recurses once
    // per nesting level: the receiver can then stop a hostile document early.
    let mut parser = Parser::new_from_str(text);
    let mut parse_result = Ok(());
    for next in &mut parser {
        match next {
            Ok((ev, span)) => {
                let end = ev == Event::StreamEnd;
                recv.on_event(ev, span);
                if end || recv.refused.is_some() {
                    break;
                }
            }
            Err(e) => {
                parse_result = Err(e);
                break;
            }
        }
    }
    let Receiver {
        loader,
        duplicates,
        refused,
        ..
    } = recv;
    let error = match (refused, parse_result, loader.error()) {
        (Some((mark, why)), _, _) => Some(ScanError::new_str(mark, why)),
        (None, Err(e), _) => Some(e),
        (None, Ok(()), Some(e)) => Some(e.clone()),
        (None, Ok(()), None) => None,
    };
    let duplicate_keys = duplicates
        .into_iter()
        .map(|(key, first, second)| DuplicateKey {
            key,
            first: mapper.span(first),
            second: mapper.span(second),
        })
        .collect();
    if let Some(e) = error {
        let at = mapper.offset(*e.marker());
        let end = file.text[at..]
            .chars()
            .next()
            .filter(|c| *c != '\n' && *c != '\r')
            .map_or(at, |c| at + c.len_utf8());
        return vec![ParsedDocument {
            segment,
            root: None,
            duplicate_keys,
            error: Some(SyntaxError {
                message: plain_message(&e),
                span: Span::new(at, end),
            }),
        }];
    }
    let docs = loader.into_documents();
    let mut out: Vec<ParsedDocument> = Vec::with_capacity(docs.len());
    let mut duplicate_keys = Some(duplicate_keys);
    for root in docs {
        if root.data.is_badvalue() || root.data.is_null() {
            continue;
        }
        out.push(ParsedDocument {
            segment,
            root: Some(root),
            duplicate_keys: duplicate_keys.take().unwrap_or_default(),
            error: None,
        });
    }
    if let Some(dups) = duplicate_keys.filter(|d| !d.is_empty()) {
        out.push(ParsedDocument {
            segment,
            root: None,
            duplicate_keys: dups,
            error: None,
        });
    }
    out
}

/// Rephrases saphyr's scanner and parser messages for people who write manifests.
fn plain_message(e: &ScanError) -> String {
    let info = e.info();
    let plain = if info.contains("mapping values are not allowed") {
        "unexpected `: ` here: a plain value cannot contain `: ` (quote the value), or this key is indented wrongly"
    } else if info.contains("found character that cannot start any token") || info.contains("tab") {
        "a tab or a character that cannot start a YAML token; YAML indentation must use spaces"
    } else if info.contains("did not find expected key") {
        "expected a mapping key here: check the indentation of this line against the lines above"
    } else if info.contains("did not find expected node content") {
        "a value is missing here"
    } else if info.contains("while parsing a flow sequence")
        || info.contains("did not find expected ',' or ']'")
    {
        "a flow sequence `[` is not closed with `]`, or its items are not separated by `,`"
    } else if info.contains("while parsing a flow mapping")
        || info.contains("did not find expected ',' or '}'")
    {
        "a flow mapping `{` is not closed with `}`, or its entries are not separated by `,`"
    } else if info.contains("unclosed quoted scalar")
        || info.contains("while scanning a quoted scalar")
    {
        "a quoted string is not closed"
    } else if info.contains("nested more than") || info.contains("recursion limit") {
        "collections are nested more than 256 levels deep; refusing to go deeper"
    } else if info.contains("alias expansion exceeded") || info.contains("node budget") {
        "anchors and aliases expand to more than 100000 nodes; refusing to expand further"
    } else if info.contains("unknown anchor")
        || info.contains("while parsing node, found unknown anchor")
    {
        "an alias refers to an anchor that is not defined earlier in this document"
    } else {
        ""
    };
    if plain.is_empty() {
        info.to_owned()
    } else {
        format!("{plain} (parser: {info})")
    }
}

/// Feeds the saphyr loader and watches the event stream for repeated mapping keys.
///
/// saphyr's own duplicate check rejects the whole document and reports only the
/// second key; we let the loader keep the last value (as Kubernetes does) and
/// record both positions ourselves.
struct Receiver<'a> {
    loader: YamlLoader<'a, MarkedYaml<'a>>,
    frames: Vec<Frame<'a>>,
    duplicates: Vec<(String, saphyr_parser::Span, saphyr_parser::Span)>,
    /// Size (nodes, keys included) and height of each anchored node, by anchor id.
    anchors: HashMap<usize, (usize, usize)>,
    /// Nodes that alias expansion has added so far.
    expanded: usize,
    /// Set when the document is refused (too deep, or aliases expand too much);
    /// later events are dropped and parsing stops.
    refused: Option<(saphyr_parser::Marker, &'static str)>,
}

/// An open collection.
struct Frame<'a> {
    kind: FrameKind<'a>,
    /// Anchor id of the collection (0: none).
    anchor: usize,
    /// Nodes inside it so far, keys and expanded aliases included.
    nodes: usize,
    /// Height of its deepest child so far.
    height: usize,
}

enum FrameKind<'a> {
    Sequence,
    Mapping { expect_key: bool, keys: Keys<'a> },
}

/// The keys seen so far in one mapping. Most mappings have a handful of keys, for
/// which a linear scan beats hashing; large ones switch to a hash map.
enum Keys<'a> {
    Few(Vec<(std::borrow::Cow<'a, str>, saphyr_parser::Span)>),
    Many(HashMap<std::borrow::Cow<'a, str>, saphyr_parser::Span>),
}

impl<'a> Keys<'a> {
    const FEW: usize = 16;

    /// Records `key`; returns where it was first seen when it is a repeat.
    fn insert(
        &mut self,
        key: std::borrow::Cow<'a, str>,
        span: saphyr_parser::Span,
    ) -> Option<saphyr_parser::Span> {
        match self {
            Keys::Few(list) => {
                if let Some((_, first)) = list.iter().find(|(k, _)| *k == key) {
                    return Some(*first);
                }
                if list.len() < Self::FEW {
                    list.push((key, span));
                } else {
                    let mut map: HashMap<_, _> = list.drain(..).collect();
                    map.insert(key, span);
                    *self = Keys::Many(map);
                }
                None
            }
            Keys::Many(map) => match map.get(key.as_ref()) {
                Some(first) => Some(*first),
                None => {
                    map.insert(key, span);
                    None
                }
            },
        }
    }
}

impl<'a> Receiver<'a> {
    /// A complete node of `nodes` nodes and `height` levels joined the current
    /// collection: count it, and in a mapping flip between key and value.
    fn node_done(&mut self, nodes: usize, height: usize) {
        if let Some(frame) = self.frames.last_mut() {
            frame.nodes = frame.nodes.saturating_add(nodes);
            frame.height = frame.height.max(height);
            if let FrameKind::Mapping { expect_key, .. } = &mut frame.kind {
                *expect_key = !*expect_key;
            }
        }
    }

    fn refuse(&mut self, at: saphyr_parser::Marker, why: &'static str) {
        self.refused.get_or_insert((at, why));
    }
}

impl<'a> SpannedEventReceiver<'a> for Receiver<'a> {
    fn on_event(&mut self, ev: Event<'a>, span: saphyr_parser::Span) {
        if self.refused.is_some() {
            return;
        }
        match &ev {
            Event::DocumentStart(_) => {
                self.frames.clear();
                self.anchors.clear();
                self.expanded = 0;
            }
            Event::Scalar(value, _, anchor, _) => {
                if let Some(Frame {
                    kind:
                        FrameKind::Mapping {
                            expect_key: true,
                            keys,
                        },
                    ..
                }) = self.frames.last_mut()
                    && let Some(first) = keys.insert(value.clone(), span)
                {
                    self.duplicates.push((value.to_string(), first, span));
                }
                if *anchor > 0 {
                    self.anchors.insert(*anchor, (1, 0));
                }
                self.node_done(1, 0);
            }
            Event::Alias(id) => {
                // saphyr clones the anchored subtree: account for its size and depth
                // here, keys included (saphyr's own budget does not look into keys).
                let (nodes, height) = self.anchors.get(id).copied().unwrap_or((1, 0));
                self.expanded = self.expanded.saturating_add(nodes);
                if self.expanded > ALIAS_BUDGET {
                    self.refuse(span.start, "alias expansion exceeded the node budget");
                    return;
                }
                if self.frames.len() + height > MAX_DEPTH {
                    self.refuse(span.start, "collections nested more than 256 levels deep");
                    return;
                }
                self.node_done(nodes, height);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.frames.len() >= MAX_DEPTH {
                    self.refuse(span.start, "collections nested more than 256 levels deep");
                    return;
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    FrameKind::Sequence
                } else {
                    FrameKind::Mapping {
                        expect_key: true,
                        keys: Keys::Few(Vec::new()),
                    }
                };
                self.frames.push(Frame {
                    kind,
                    anchor: *anchor,
                    nodes: 0,
                    height: 0,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.frames.pop() {
                    let nodes = frame.nodes.saturating_add(1);
                    let height = frame.height + 1;
                    if frame.anchor > 0 {
                        self.anchors.insert(frame.anchor, (nodes, height));
                    }
                    self.node_done(nodes, height);
                }
            }
            _ => {}
        }
        self.loader.on_event(ev, span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn file(text: &str) -> SourceFile {
        SourceFile::new(FileId(0), "t.yaml".into(), "t.yaml".into(), text.into())
    }

    #[test]
    fn splits_at_markers_and_merges_comment_only_stretches() {
        let text = "# header\n---\na: 1\n---\n# only a comment\n---\nb: 2\n...\nc: 3\n";
        let segs = split_documents(text);
        let firsts: Vec<usize> = segs.iter().map(|s| s.first_line).collect();
        assert_eq!(firsts, vec![1, 4, 9]);
        assert!(text[segs[1].start..segs[1].end].contains("b: 2"));
    }

    #[test]
    fn marker_needs_whitespace_after_it() {
        assert_eq!(split_documents("a: |\n  x\n---x: 1\n").len(), 1);
        assert_eq!(split_documents("a: 1\n--- \nb: 2\n").len(), 2);
    }

    #[test]
    fn a_syntax_error_costs_one_document() {
        let f = file("a: 1\n---\nb: [1, 2\n---\nc: 3\n");
        let docs = parse_file(&f);
        assert_eq!(docs.len(), 3);
        assert!(docs[0].root.is_some());
        assert!(docs[1].error.is_some());
        assert!(docs[2].root.is_some());
    }

    #[test]
    fn duplicate_keys_report_both_positions() {
        let f = file("a: 1\nb:\n  c: 1\n  c: 2\n");
        let docs = parse_file(&f);
        let dup = &docs[0].duplicate_keys[0];
        assert_eq!(dup.key, "c");
        assert_eq!(f.position(dup.first.start as usize).line, 3);
        assert_eq!(f.position(dup.second.start as usize).line, 4);
        assert_eq!(f.position(dup.second.start as usize).column, 3);
    }

    #[test]
    fn duplicates_are_found_in_large_mappings_too() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k7: again\nk39: again\n");
        let f = file(&text);
        let keys: Vec<String> = parse_file(&f)[0]
            .duplicate_keys
            .iter()
            .map(|d| d.key.clone())
            .collect();
        assert_eq!(keys, vec!["k7", "k39"]);
    }

    #[test]
    fn same_key_in_sibling_mappings_is_fine() {
        let f = file("- name: a\n  port: 1\n- name: b\n  port: 2\n");
        assert!(parse_file(&f)[0].duplicate_keys.is_empty());
    }

    #[test]
    fn decode_handles_boms_binary_and_bad_utf8() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFa: 1".to_vec()),
            Decoded::Text("a: 1".into())
        );
        assert_eq!(decode(vec![0xFF, 0xFE, b'a', 0]), Decoded::Text("a".into()));
        assert_eq!(decode(b"a\0b".to_vec()), Decoded::Binary);
        assert_eq!(decode(b"ab\xFF".to_vec()), Decoded::NotUtf8 { offset: 2 });
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h'] {
            s.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let f = file(&s);
        let docs = parse_file(&f);
        assert!(
            docs[0]
                .error
                .as_ref()
                .is_some_and(|e| e.message.contains("100000"))
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let f = file(&deep);
        let docs = parse_file(&f);
        assert!(
            docs[0]
                .error
                .as_ref()
                .is_some_and(|e| e.message.contains("nested")),
            "{:?}",
            docs[0].error
        );
        let ok = format!("a: {}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_file(&file(&ok))[0].error.is_none());
    }

    #[test]
    fn crlf_positions_are_exact() {
        let f = file("a: 1\r\n---\r\nb:\r\n  c: 1\r\n  c: 2\r\n");
        let docs = parse_file(&f);
        let dup = &docs[1].duplicate_keys[0];
        let p = f.position(dup.second.start as usize);
        assert_eq!((p.line, p.column), (5, 3));
    }
}
