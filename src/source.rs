//! Source files and positions: the one place that knows about offsets.
//!
//! saphyr reports positions as (line, character column); miette wants byte
//! offsets; JSON and SARIF want 1-based character columns; editors speaking LSP
//! want UTF-16 code units. Every conversion between these lives here, built on
//! one [`LineIndex`] per file, so no other module does offset arithmetic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Identifies a file within one analysis run (an index into the run's file table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A half-open byte range `[start, end)` within one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// Builds a span from byte offsets, clamping `end` so it is never before `start`.
    pub fn new(start: usize, end: usize) -> Span {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { start, end }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// True for a zero-length span.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A span together with the file it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file.
    pub file: FileId,
    /// The byte range in that file.
    pub span: Span,
}

/// A resolved position, in every unit a consumer may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column counted in Unicode scalar values (JSON, SARIF `unicodeCodePoints`).
    pub column: u32,
    /// 0-based column counted in UTF-16 code units (LSP's default encoding).
    pub utf16_column: u32,
    /// Byte offset in the file.
    pub offset: u32,
}

/// Byte offsets of line starts, so positions convert in O(log lines + line length).
///
/// A line ends at `\n`, `\r\n` or a lone `\r`: the three breaks YAML recognises, so
/// line numbers agree with the parser's on CRLF and old-Mac files alike.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Lines holding a non-ASCII character; on the others a character column is a
    /// byte column, so conversions take O(1) instead of a walk along the line.
    non_ascii: Vec<bool>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        let mut non_ascii = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        let mut wide = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    starts.push(offset32(i + 1));
                    non_ascii.push(std::mem::take(&mut wide));
                }
                b'\r' => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(offset32(i + 1));
                    non_ascii.push(std::mem::take(&mut wide));
                }
                b if b >= 0x80 => wide = true,
                _ => {}
            }
            i += 1;
        }
        non_ascii.push(wide);
        LineIndex { starts, non_ascii }
    }

    /// Number of lines (a trailing line break opens one more, empty line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where the 1-based `line` starts; past the end gives the last line.
    pub fn line_start(&self, line: usize) -> usize {
        let i = line
            .saturating_sub(1)
            .min(self.starts.len().saturating_sub(1));
        self.starts.get(i).copied().unwrap_or(0) as usize
    }

    /// True when the 1-based `line` has only ASCII characters.
    pub fn is_ascii_line(&self, line: usize) -> bool {
        let i = line
            .saturating_sub(1)
            .min(self.non_ascii.len().saturating_sub(1));
        !self.non_ascii.get(i).copied().unwrap_or(true)
    }

    /// The 1-based line containing byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset32(offset);
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i.max(1),
        }
    }
}

fn offset32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One file of the analysed set: its name, its text and its line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file's identity within the run.
    pub id: FileId,
    /// The path as it was found on disk (or the stdin name).
    pub path: PathBuf,
    /// The path shown to users: relative to the working directory when inside it.
    pub display: String,
    /// The decoded text (a leading byte-order mark removed).
    pub text: Arc<str>,
    /// Line starts of `text`.
    pub lines: LineIndex,
}

impl SourceFile {
    /// Builds a source file and its line index.
    pub fn new(id: FileId, path: PathBuf, display: String, text: Arc<str>) -> SourceFile {
        let lines = LineIndex::new(&text);
        SourceFile {
            id,
            path,
            display,
            text,
            lines,
        }
    }

    /// Byte offset of a parser position: 1-based `line` and 0-based character `col`.
    ///
    /// A column past the end of the line is clamped to the line end, so a bogus
    /// position never produces an offset outside the file or inside a character.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let start = self.lines.line_start(line);
        if self.lines.is_ascii_line(line) {
            let end = if line < self.lines.line_count() {
                self.lines.line_start(line + 1)
            } else {
                self.text.len()
            };
            let text_end = self
                .text
                .get(start..end)
                .map_or(start, |l| start + l.trim_end_matches(['\n', '\r']).len());
            return (start + col).min(text_end);
        }
        let rest = self.text.get(start..).unwrap_or("");
        let mut offset = start;
        for (n, (i, ch)) in rest.char_indices().enumerate() {
            if n == col || ch == '\n' || ch == '\r' {
                return start + i;
            }
            offset = start + i + ch.len_utf8();
        }
        offset
    }

    /// Resolves a byte offset to a position (line, character column, UTF-16 column).
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line = self.lines.line_of(offset);
        let start = self.lines.line_start(line);
        let (chars, utf16) = if self.lines.is_ascii_line(line) {
            (offset - start, offset - start)
        } else {
            let prefix = self.text.get(start..offset).unwrap_or("");
            (
                prefix.chars().count(),
                prefix.chars().map(char::len_utf16).sum(),
            )
        };
        Position {
            line: offset32(line),
            column: offset32(chars + 1),
            utf16_column: offset32(utf16),
            offset: offset32(offset),
        }
    }

    /// The start position and the position of the last character of `span`.
    ///
    /// The end is inclusive (the JSON contract); an empty span ends where it starts.
    pub fn range(&self, span: Span) -> (Position, Position) {
        let start = self.position(span.start as usize);
        if span.is_empty() {
            return (start, start);
        }
        // Step back from the exclusive end to the start of the last character, and
        // skip back over a trailing line break so a span never ends on the next line.
        let mut last = span.end as usize;
        let text = &self.text;
        loop {
            last = self.floor_char_boundary(last.saturating_sub(1));
            let is_break = matches!(text.as_bytes().get(last), Some(b'\n' | b'\r'));
            if !is_break || last <= span.start as usize {
                break;
            }
        }
        (start, self.position(last.max(span.start as usize)))
    }

    /// The text of the 1-based `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.lines.line_start(line);
        let end = if line < self.lines.line_count() {
            self.lines.line_start(line + 1)
        } else {
            self.text.len()
        };
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// Makes the path users see: relative to `cwd` when the file is inside it,
/// otherwise as given; always with `/` separators for stable output.
pub fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let shown = cwd
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(path);
    let s = shown.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new(FileId(0), "t.yaml".into(), "t.yaml".into(), text.into())
    }

    #[test]
    fn positions_count_characters_and_utf16() {
        let f = file("a: 1\nb: \"é😀x\"\n");
        let x = f.text.find('x').unwrap_or(0);
        let p = f.position(x);
        assert_eq!((p.line, p.column, p.utf16_column), (2, 7, 7));
        assert_eq!(f.offset_of(2, 6), x);
    }

    #[test]
    fn crlf_and_lone_cr_are_line_breaks() {
        let f = file("a: 1\r\nb: 2\rc: 3\n");
        assert_eq!(f.lines.line_count(), 4);
        let c = f.text.find('c').unwrap_or(0);
        assert_eq!(f.position(c).line, 3);
        assert_eq!(f.position(c).column, 1);
        assert_eq!(f.line_text(1), "a: 1");
        let b = f.text.find('b').unwrap_or(0);
        assert_eq!(f.offset_of(2, 0), b);
    }

    #[test]
    fn range_end_is_inclusive_and_stays_on_the_line() {
        let f = file("key: value\nnext\n");
        let (s, e) = f.range(Span::new(5, 11));
        assert_eq!((s.line, s.column, e.line, e.column), (1, 6, 1, 10));
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let f = file("ab\n");
        assert_eq!(f.offset_of(9, 9), 3);
        assert_eq!(f.offset_of(1, 99), 2);
        assert_eq!(f.position(999).line, 2);
    }

    #[test]
    fn display_paths_are_relative_inside_cwd() {
        let cwd = Path::new("/repo");
        assert_eq!(
            display_path(Path::new("/repo/a/b.yaml"), Some(cwd)),
            "a/b.yaml"
        );
        assert_eq!(
            display_path(Path::new("/other/b.yaml"), Some(cwd)),
            "/other/b.yaml"
        );
        assert_eq!(display_path(Path::new("./x.yaml"), None), "x.yaml");
    }
}
