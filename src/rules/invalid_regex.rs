use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassSetItem, ClassUnicodeKind, Flag, FlagsItemKind, GroupKind,
    HexLiteralKind, LiteralKind, RepetitionKind, RepetitionRange,
};

use crate::declare_rule;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a regex in a VirtualService that is not valid RE2, the regex
    /// dialect Envoy and Istio use: `regex` matchers of `uri`, `scheme`, `method`,
    /// `authority`, `headers`, `withoutHeaders` and `queryParams`, the
    /// `match` of `rewrite.uriRegexRewrite`, and `corsPolicy.allowOrigins`.
    ///
    /// The check parses the regex with the Rust `regex` crate's parser after
    /// turning RE2-only spellings into their Rust equivalents, then rejects what
    /// the Rust parser accepts but RE2 does not. Where the two differ:
    ///
    /// - RE2 reads a `{` that does not start a valid `{n}`, `{n,}` or `{n,m}` as
    ///   a literal (`/users/{id}` is fine); Rust rejects it, and reads `{,n}`
    ///   as a repetition. RE2 reads `[` and `&&`, `--`, `~~` inside a character
    ///   class as literals; Rust reads nested classes and set operations. RE2
    ///   has `\Q…\E` quoting, `\C` and `\p{^Greek}`; Rust does not. RE2 accepts
    ///   octal escapes such as `\12`. meshvet accepts all of these.
    /// - Rust accepts, and RE2 rejects (so meshvet reports): the `x`, `u` and
    ///   `R` flags; the `\<` and `\>` word boundaries (RE2 reads `\b{start}`
    ///   as `\b` and the literal text `{start}`); `\u`/`\U`
    ///   escapes; `\1`–`\7` as a single digit (a backreference in RE2); Unicode
    ///   classes by loose or long name (`\p{greek}`, `\p{Letter}`,
    ///   `\p{sc=Greek}`, binary properties such as `\p{Alphabetic}`); capture
    ///   names with `.`, `[` or `]`; a repetition count above 1000, or nested
    ///   counts that multiply past 1000 (`(a{100}){100}`); a repetition
    ///   applied directly to another (`a**`, `a{2}+`).
    /// - Both reject lookaround (`(?=`, `(?<!`), backreferences, `\Z`, possessive
    ///   and atomic groups, and unbalanced parentheses or brackets.
    /// - Istio rejects any regex match (valid or not) in the `match` of a route
    ///   that `delegate`s and in a delegate VirtualService (one without `hosts`):
    ///   it merges root and delegate matches and supports only `exact` and
    ///   `prefix` there. meshvet reports those too.
    /// - `regex: "*"` under `withoutHeaders` is not a regex: Istio reads it as
    ///   "the header is present", so the route matches requests without the
    ///   header. meshvet accepts it there (and only there).
    /// - Istio's webhook also rejects an empty regex and one longer than 1024
    ///   characters (its stand-in for RE2's program-size limit; Istio raises
    ///   Envoy's own `re2.max_program_size` limits so that no shorter regex is
    ///   refused by the proxy). meshvet reports both.
    ///
    /// A Unicode script name is accepted when the Rust tables know it and it is
    /// written with capitalised words (`Old_Italic`); RE2 wants the exact
    /// canonical spelling, so an oddly capitalised name may slip through.
    ///
    /// ## Why is this bad?
    /// Istio's validating webhook rejects the VirtualService, so none of its
    /// changes take effect. If the object reaches istiod without the webhook,
    /// the proxies reject the route configuration that carries the regex (an
    /// xDS NACK) and keep serving stale routes for every host on that listener.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   hosts: [api]
    ///   http:
    ///   - match:
    ///     - uri:
    ///         regex: "/v1/(?!internal).*"
    ///     route:
    ///     - destination: {host: api}
    /// ```
    /// Use instead: a regex without lookaround, or an earlier route that takes
    /// `/v1/internal` first and a later one with `prefix: /v1/`.
    pub InvalidRegex {
        name: "invalid-regex",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0122"],
    }
}

impl Rule for InvalidRegex {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, obj: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &obj.object.meta;
        let Some(http) = obj.tree.get("spec").and_then(|s| s.get("http")) else {
            return;
        };
        let delegate_vs = obj
            .tree
            .get("spec")
            .and_then(|s| s.get("hosts"))
            .is_none_or(|h| h.items().next().is_none());
        // (regex node, what, JSON pointer, in a delegating route's match)
        let mut found: Vec<(Node<'_>, String, String, bool)> = Vec::new();
        for (i, route) in http.items().enumerate() {
            let base = meta.path(&format!("/spec/http/{i}"));
            let delegating = delegate_vs || route.get("delegate").is_some_and(|d| !d.is_null());
            for (j, m) in route
                .get("match")
                .into_iter()
                .flat_map(|m| m.items())
                .enumerate()
            {
                let mpath = format!("{base}/match/{j}");
                for field in ["uri", "scheme", "method", "authority"] {
                    if let Some(re) = m.get(field).and_then(|f| f.get("regex")) {
                        found.push((
                            re,
                            format!("`{field}` regex"),
                            format!("{mpath}/{field}/regex"),
                            delegating,
                        ));
                    }
                }
                for (field, what) in [
                    ("headers", "header"),
                    ("withoutHeaders", "`withoutHeaders` header"),
                    ("queryParams", "query parameter"),
                ] {
                    for (k, v) in m.get(field).into_iter().flat_map(|h| h.entries()) {
                        let name = k.scalar_text().unwrap_or("?");
                        if let Some(re) = v.get("regex") {
                            // Istio reads `withoutHeaders` `regex: "*"` as a
                            // presence match, not as a regex.
                            if field == "withoutHeaders" && re.str() == Some("*") {
                                continue;
                            }
                            found.push((
                                re,
                                format!("{what} `{name}` regex"),
                                format!(
                                    "{mpath}/{field}/{}/regex",
                                    crate::model::pointer_segment(name)
                                ),
                                delegating,
                            ));
                        }
                    }
                }
            }
            if let Some(re) = route
                .get("rewrite")
                .and_then(|r| r.get("uriRegexRewrite"))
                .and_then(|r| r.get("match"))
            {
                found.push((
                    re,
                    "`uriRegexRewrite` match regex".to_owned(),
                    format!("{base}/rewrite/uriRegexRewrite/match"),
                    false,
                ));
            }
            for (j, o) in route
                .get("corsPolicy")
                .and_then(|c| c.get("allowOrigins"))
                .into_iter()
                .flat_map(|a| a.items())
                .enumerate()
            {
                if let Some(re) = o.get("regex") {
                    found.push((
                        re,
                        "`allowOrigins` regex".to_owned(),
                        format!("{base}/corsPolicy/allowOrigins/{j}/regex"),
                        false,
                    ));
                }
            }
        }
        for (node, what, path, delegating) in found {
            // A null or non-string value is a schema problem, not a regex one.
            if node.is_null() {
                continue;
            }
            let Some(pattern) = node.str() else {
                continue;
            };
            if delegating {
                let whose = if delegate_vs {
                    "a delegate VirtualService"
                } else {
                    "a route that delegates"
                };
                out.push(
                    Diagnostic::new(
                        &InvalidRegex::META,
                        meta.file,
                        node.span(),
                        format!("{what} in {whose}: Istio rejects regex matches in delegation"),
                    )
                    .label("regex not allowed here")
                    .object(meta)
                    .path(path)
                    .help("Use `exact` or `prefix` here: Istio merges the matches of the root and delegate routes and supports regex matches in neither."),
                );
                continue;
            }
            if pattern.is_empty() {
                out.push(
                    Diagnostic::new(&InvalidRegex::META, meta.file, node.span(), format!("{what} is empty, which Istio rejects"))
                        .label("empty regex")
                        .object(meta)
                        .path(path)
                        .help("Give the matcher a regex (`.*` matches every value), or remove the matcher."),
                );
                continue;
            }
            let Err(problem) = check_re2(pattern) else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    &InvalidRegex::META,
                    meta.file,
                    node.span(),
                    format!("{what} `{}` is not valid RE2: {problem}", shorten(pattern)),
                )
                .label("not valid RE2")
                .object(meta)
                .path(path)
                .help("Rewrite the regex in RE2 syntax (https://github.com/google/re2/wiki/Syntax): Istio rejects the VirtualService otherwise. RE2 has no lookaround and no backreferences; use an earlier route for the exceptions instead."),
            );
        }
    }
}

fn shorten(pattern: &str) -> String {
    if pattern.chars().count() > 60 {
        let head: String = pattern.chars().take(57).collect();
        format!("{head}…")
    } else {
        pattern.to_owned()
    }
}

/// Istio's maximum regex length (its stand-in for RE2's program size).
const MAX_LENGTH: usize = 1024;
/// RE2's maximum repetition count.
const MAX_REPEAT: u32 = 1000;

/// Checks that `pattern` is a regex RE2 (and Istio's validation) accepts;
/// the error says why not, in plain words.
pub fn check_re2(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("the regex is empty, which Istio rejects".to_owned());
    }
    if pattern.len() > MAX_LENGTH {
        return Err(format!(
            "it is {} characters long, and Istio accepts at most {MAX_LENGTH}",
            pattern.len()
        ));
    }
    let rust = to_rust_syntax(pattern)?;
    let parsed = ast::parse::ParserBuilder::new()
        .octal(true)
        .nest_limit(1000)
        .build()
        .parse(&rust);
    let tree = match parsed {
        Ok(tree) => tree,
        Err(e) => {
            let at = fragment(&rust, e.span().start.offset, e.span().end.offset);
            return Err(format!("{}{at}", e.kind()));
        }
    };
    ast::visit(
        &tree,
        Re2Only {
            text: &rust,
            repeats: Vec::new(),
        },
    )?;
    if let Err(e) = regex_syntax::hir::translate::TranslatorBuilder::new()
        .build()
        .translate(&rust, &tree)
    {
        let at = fragment(&rust, e.span().start.offset, e.span().end.offset);
        return Err(format!("{}{at}", e.kind()));
    }
    Ok(())
}

/// ` (at `…`)` for a span of the pattern, or nothing when it is empty.
fn fragment(text: &str, start: usize, end: usize) -> String {
    let end = end.max(start).min(text.len());
    let start = start.min(end);
    match text.get(start..end) {
        Some(f) if !f.is_empty() => format!(" (at `{f}`)"),
        _ => String::new(),
    }
}

/// True when `chars[i..]` is an RE2 repetition `{n}`, `{n,}` or `{n,m}`.
fn is_repeat(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let digits = |j: &mut usize| {
        let s = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        *j > s
    };
    if !digits(&mut j) {
        return None;
    }
    if chars.get(j) == Some(&',') {
        j += 1;
        digits(&mut j);
    }
    (chars.get(j) == Some(&'}')).then_some(j)
}

/// Rewrites RE2 spellings the Rust parser reads differently into equivalent
/// Rust syntax: literal braces, literal `[`, `&`, `~` in classes, `\Q…\E`,
/// `\C`, `\p{^X}`, `\_`.
fn to_rust_syntax(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut class_start = false;
    let mut i = 0;
    let push_lit = |out: &mut String, c: char, in_class: bool| {
        if in_class {
            if matches!(c, '[' | ']' | '\\' | '-' | '^' | '&' | '~') {
                out.push('\\');
            }
            out.push(c);
        } else {
            out.push_str(&regex_syntax::escape(&c.to_string()));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&d) = chars.get(i + 1) else {
                return Err("it ends with a lone `\\`".to_owned());
            };
            match d {
                'Q' => {
                    let mut j = i + 2;
                    while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                        push_lit(&mut out, chars[j], in_class);
                        j += 1;
                    }
                    i = if j < chars.len() { j + 2 } else { j };
                    class_start = false;
                    continue;
                }
                'E' => {
                    // A stray `\E` is ignored by RE2.
                    i += 2;
                    continue;
                }
                'C' if !in_class => {
                    out.push_str("(?s:.)");
                    i += 2;
                    continue;
                }
                '_' => {
                    out.push('_');
                    i += 2;
                    class_start = false;
                    continue;
                }
                'p' | 'P' | 'x' if chars.get(i + 2) == Some(&'{') => {
                    let close = chars[i + 2..]
                        .iter()
                        .position(|c| *c == '}')
                        .map(|p| p + i + 2);
                    let Some(close) = close else {
                        return Err(format!("the escape `\\{d}{{` is not closed"));
                    };
                    let inner: String = chars[i + 3..close].iter().collect();
                    match inner.strip_prefix('^') {
                        Some(rest) if d != 'x' => {
                            let flipped = if d == 'p' { 'P' } else { 'p' };
                            out.push('\\');
                            out.push(flipped);
                            out.push('{');
                            out.push_str(rest);
                            out.push('}');
                        }
                        _ => out.extend(&chars[i..=close]),
                    }
                    i = close + 1;
                    class_start = false;
                    continue;
                }
                _ => {
                    out.push('\\');
                    out.push(d);
                    i += 2;
                    class_start = false;
                    continue;
                }
            }
        }
        if in_class {
            if c == '[' && chars.get(i + 1) == Some(&':') {
                // A POSIX class `[:alpha:]` inside a bracket.
                if let Some(end) = (i + 2..chars.len().saturating_sub(1))
                    .find(|j| chars[*j] == ':' && chars[*j + 1] == ']')
                {
                    let name: String = chars[i + 2..end].iter().collect();
                    if !POSIX_CLASSES.contains(&name.trim_start_matches('^')) {
                        return Err(format!("`[:{name}:]` is not a POSIX class RE2 knows"));
                    }
                    out.extend(&chars[i..=end + 1]);
                    i = end + 2;
                    class_start = false;
                    continue;
                }
            }
            match c {
                ']' if !class_start => {
                    in_class = false;
                    out.push(']');
                }
                '[' | '&' | '~' | ']' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
            class_start = false;
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '{' => match is_repeat(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end;
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// POSIX classes RE2 knows (`[[:alpha:]]`).
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Rejects what the Rust parser accepts and RE2 does not.
struct Re2Only<'a> {
    text: &'a str,
    /// Counts of the `{n,m}` repetitions enclosing the node being visited:
    /// RE2 rejects nesting whose counts multiply past 1000.
    repeats: Vec<u32>,
}

/// Unicode general categories RE2 knows (`\pL`, `\p{Lu}`).
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

fn unicode_class_ok(kind: &ClassUnicodeKind) -> Result<(), String> {
    match kind {
        ClassUnicodeKind::OneLetter(c) => {
            if CATEGORIES.contains(&c.to_string().as_str()) {
                Ok(())
            } else {
                Err(format!("`\\p{c}` is not a Unicode class RE2 knows"))
            }
        }
        ClassUnicodeKind::Named(name) => {
            if name == "Any" || CATEGORIES.contains(&name.as_str()) || is_script(name) {
                Ok(())
            } else {
                Err(format!(
                    "`\\p{{{name}}}` is not a Unicode class RE2 knows (RE2 takes general categories such as `Lu` and script names such as `Greek`, spelled exactly)"
                ))
            }
        }
        ClassUnicodeKind::NamedValue { name, value, .. } => Err(format!(
            "RE2 does not support the `\\p{{{name}={value}}}` form; write the category or script name alone"
        )),
    }
}

/// A script name in canonical spelling (`Greek`, `Old_Italic`) that the Unicode
/// tables know.
fn is_script(name: &str) -> bool {
    let canonical = name.split('_').all(|w| {
        w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && w.chars().all(|c| c.is_ascii_alphanumeric())
    });
    canonical
        && regex_syntax::ParserBuilder::new()
            .build()
            .parse(&format!("\\p{{Script={name}}}"))
            .is_ok()
}

impl Re2Only<'_> {
    fn literal(&self, lit: &ast::Literal) -> Result<(), String> {
        let text = self
            .text
            .get(lit.span.start.offset..lit.span.end.offset)
            .unwrap_or("");
        match &lit.kind {
            LiteralKind::HexFixed(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong)
            | LiteralKind::HexBrace(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong) => {
                Err(format!(
                    "RE2 has no `\\u`/`\\U` escapes (at `{text}`); write `\\x{{…}}` instead"
                ))
            }
            LiteralKind::Octal if text.len() == 2 && !text.ends_with('0') => {
                Err(format!("backreferences are not supported (at `{text}`)"))
            }
            _ => Ok(()),
        }
    }

    fn flags(&self, flags: &ast::Flags) -> Result<(), String> {
        for item in &flags.items {
            if let FlagsItemKind::Flag(f) = &item.kind {
                let name = match f {
                    Flag::CaseInsensitive
                    | Flag::MultiLine
                    | Flag::DotMatchesNewLine
                    | Flag::SwapGreed => continue,
                    Flag::Unicode => 'u',
                    Flag::CRLF => 'R',
                    Flag::IgnoreWhitespace => 'x',
                };
                return Err(format!(
                    "RE2 does not support the `{name}` flag (only `i`, `m`, `s` and `U`)"
                ));
            }
        }
        Ok(())
    }
}

impl ast::Visitor for Re2Only<'_> {
    type Output = ();
    type Err = String;

    fn finish(self) -> Result<(), String> {
        Ok(())
    }

    fn visit_pre(&mut self, node: &Ast) -> Result<(), String> {
        match node {
            Ast::Flags(set) => self.flags(&set.flags),
            Ast::Literal(lit) => self.literal(lit),
            Ast::Assertion(a) => match a.kind {
                AssertionKind::WordBoundaryStart
                | AssertionKind::WordBoundaryEnd
                | AssertionKind::WordBoundaryStartAngle
                | AssertionKind::WordBoundaryEndAngle
                | AssertionKind::WordBoundaryStartHalf
                | AssertionKind::WordBoundaryEndHalf => {
                    let text = self
                        .text
                        .get(a.span.start.offset..a.span.end.offset)
                        .unwrap_or("");
                    Err(format!(
                        "RE2 does not support the word-boundary assertion `{text}` (only `\\b` and `\\B`)"
                    ))
                }
                _ => Ok(()),
            },
            Ast::ClassUnicode(c) => unicode_class_ok(&c.kind),
            Ast::Group(g) => match &g.kind {
                GroupKind::CaptureName { name, .. } => {
                    if name.name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        Ok(())
                    } else {
                        Err(format!(
                            "the capture name `{}` is not valid in RE2 (letters, digits and `_` only)",
                            name.name
                        ))
                    }
                }
                GroupKind::NonCapturing(flags) => self.flags(flags),
                GroupKind::CaptureIndex(_) => Ok(()),
            },
            Ast::Repetition(rep) => {
                if matches!(*rep.ast, Ast::Repetition(_)) {
                    let text = self
                        .text
                        .get(rep.span.start.offset..rep.span.end.offset)
                        .unwrap_or("");
                    return Err(format!(
                        "a repetition operator cannot directly follow another (at `{text}`); wrap the inner one in `(?:…)`"
                    ));
                }
                let count = match rep.op.kind {
                    RepetitionKind::Range(
                        RepetitionRange::Exactly(n) | RepetitionRange::AtLeast(n),
                    ) => n,
                    RepetitionKind::Range(RepetitionRange::Bounded(a, b)) => a.max(b),
                    _ => 0,
                };
                if count > MAX_REPEAT {
                    return Err(format!(
                        "the repetition count {count} is above RE2's limit of {MAX_REPEAT}"
                    ));
                }
                if let RepetitionKind::Range(_) = rep.op.kind {
                    let product = self
                        .repeats
                        .iter()
                        .chain(std::iter::once(&count))
                        .filter(|c| **c > 0)
                        .fold(1u64, |a, c| a.saturating_mul(u64::from(*c)));
                    if product > u64::from(MAX_REPEAT) {
                        return Err(format!(
                            "nested repetition counts multiply to {product}, above RE2's limit of {MAX_REPEAT}"
                        ));
                    }
                    self.repeats.push(count);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn visit_post(&mut self, node: &Ast) -> Result<(), String> {
        if let Ast::Repetition(rep) = node
            && let RepetitionKind::Range(_) = rep.op.kind
        {
            self.repeats.pop();
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Literal(lit) => self.literal(lit),
            ClassSetItem::Range(r) => {
                self.literal(&r.start)?;
                self.literal(&r.end)
            }
            ClassSetItem::Unicode(c) => unicode_class_ok(&c.kind),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_re2;

    #[test]
    fn accepts_re2() {
        for ok in [
            ".*",
            "/api/v[0-9]+/.*",
            "/users/{id}",
            "a{2,5}",
            "a{,5}",
            "{",
            "x{1000}",
            "[[:alpha:]_-]+",
            "[a[b]",
            "[&&~~]",
            r"\Qa.b{c}\E.*",
            r"\C",
            r"\p{^Greek}",
            r"\pL\p{Lu}\p{Greek}\p{Old_Italic}\p{Any}",
            r"(?i)abc(?s:.)(?U)x*",
            r"(?P<name>a)(?<other>b)",
            r"\12\0",
            r"\_",
            r"\z\A^$\b\B",
            r"\b{start}",
            "a*?b+?c??",
            r"^(?:https?://)?[\w.-]+\.example\.com(:\d+)?$",
            r"^/api/(v1|v2)/users/[0-9]+$",
            r"\d{3}-\d{4}",
            "(?i:abc)",
            "a{0}",
            ".{1,1000}",
            r"[\d\s]",
            "[a-z&&[^aeiou]]",
            r"\pN+\p{Han}\p{Latin}",
            r"(?P<year>\d{4})",
            "^$",
            "[]a]",
            "[^]a]",
            "()",
            "(|a)",
            r"\01\08\10",
            r"\Qabc",
            "a}",
            "(a{10}){100}",
            "(a{2})*(b{500}){2}",
        ] {
            assert_eq!(check_re2(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_re2_rejects() {
        for bad in [
            "",
            "(a",
            "a)",
            "[a",
            "(?=a)",
            "(?<!a)b",
            r"(a)\1",
            r"\Z",
            "a**",
            "a{2}{3}",
            "a{1001}",
            "(?x) a",
            r"\<word\>",
            r"\u0041",
            r"\p{greek}",
            r"\p{Letter}",
            r"\p{sc=Greek}",
            r"\p{Alphabetic}",
            r"(?P<a.b>x)",
            "*a",
            r"a\",
            r"\e",
            ".{1001}",
            "x*+",
            r"\k<name>",
            r"\x{110000}",
            "[z-a]",
            "a{2,1}",
            "(?i",
            "[[:foo:]]",
            "a|*",
            r"\8",
            "(a{100}){100}",
            "((a{10}){10}){11}",
        ] {
            assert!(check_re2(bad).is_err(), "{bad}");
        }
        assert!(check_re2(&"a".repeat(1025)).is_err());
    }
}
