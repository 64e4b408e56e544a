//! HTTP header syntax as Istio's validation reads it, shared by the rules on
//! VirtualService header matches, header operations and CORS policies:
//! RFC 7230 tokens, the HTTP/2 pseudo-headers, JWT claim keys, and Envoy's
//! `%VARIABLE%` header value format.

/// The HTTP/2 pseudo-headers Istio accepts as header match names.
pub const PSEUDO_HEADERS: &[&str] = &[":method", ":scheme", ":authority", ":path", ":status"];

/// The prefix of a header name that routes on a JWT claim.
pub const JWT_CLAIM_PREFIX: &str = "@request.auth.claims";

/// True for an RFC 7230 `tchar`.
pub fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// True for a header name that Istio reads as a JWT claim
/// (`@request.auth.claims.groups`, `@request.auth.claims[nested][key]`): the
/// prefix in any case, then `.` and at least one character, or `[...]`.
pub fn is_jwt_claim_key(name: &str) -> bool {
    let Some(head) = name.get(..JWT_CLAIM_PREFIX.len()) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(JWT_CLAIM_PREFIX) {
        return false;
    }
    let rest = &name[JWT_CLAIM_PREFIX.len()..];
    (rest.starts_with('.') && rest.len() > 1)
        || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2)
}

/// Why `name` is not a header name Istio accepts in a match (`headers`,
/// `withoutHeaders`), or `None` when it is: a token, a pseudo-header or a JWT
/// claim key.
pub fn match_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if is_jwt_claim_key(name) || PSEUDO_HEADERS.contains(&name) {
        return None;
    }
    if let Some(rest) = name.strip_prefix(':') {
        let lower = format!(":{}", rest.to_ascii_lowercase());
        if PSEUDO_HEADERS.contains(&lower.as_str()) {
            return Some(format!(
                "pseudo-header names are lower-case: write `{lower}`"
            ));
        }
        if rest.eq_ignore_ascii_case("host") {
            return Some(
                "there is no `:host` pseudo-header: match `:authority` (or `host`)".to_owned(),
            );
        }
        return Some(format!(
            "`{name}` is not a pseudo-header; the pseudo-headers are {}",
            crate::text::backtick_list(PSEUDO_HEADERS, "and")
        ));
    }
    if let Some(rest) = name
        .get(..JWT_CLAIM_PREFIX.len() - 1)
        .filter(|h| h.eq_ignore_ascii_case("@request.auth.claim"))
        .and_then(|_| name.get(JWT_CLAIM_PREFIX.len() - 1..))
        && !rest.starts_with(['s', 'S'])
    {
        return Some(format!(
            "JWT claims are written `{JWT_CLAIM_PREFIX}.<claim>`, with `claims`: `{JWT_CLAIM_PREFIX}{rest}`"
        ));
    }
    if name.starts_with('@') {
        return Some(format!(
            "only JWT claims can start with `@`, written `{JWT_CLAIM_PREFIX}.<claim>` or `{JWT_CLAIM_PREFIX}[<claim>]`"
        ));
    }
    token_problem(name)
}

/// Why `name` is not an RFC 7230 token, or `None`.
pub fn token_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    let c = name.chars().find(|c| !is_tchar(*c))?;
    Some(format!(
        "it contains {}, which a header name cannot contain",
        describe_char(c)
    ))
}

/// A character named for a message: `` `:` ``, "a space", "U+000A".
pub fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' => "a line break".to_owned(),
        '`' => "a backtick".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// Why a header value Istio would send to Envoy is invalid, or `None`.
///
/// Istio rejects control characters other than tab, and checks Envoy's
/// custom-header format: `%%` is a literal `%`, and any other `%` opens a
/// variable that must be closed by `%` (`%DOWNSTREAM_REMOTE_ADDRESS%`,
/// `%REQ(x-id)%`, `%PER_REQUEST_STATE(["a","b"])%`). What is between the
/// `%`s is not checked against Envoy's variable list.
pub fn header_value_problem(value: &str) -> Option<String> {
    if let Some(c) = value
        .chars()
        .find(|c| matches!(*c as u32, 0..=8 | 0x0A..=0x1F | 0x7F))
    {
        return Some(format!(
            "it contains {}, which a header value cannot contain",
            describe_char(c)
        ));
    }
    percent_problem(value)
}

/// The states of Envoy's header value format parser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Literal,
    VariableName,
    ExpectArray,
    ExpectString,
    InString,
    ExpectDelimiterOrEnd,
    ExpectArgsEnd,
    ExpectVariableEnd,
}

/// Envoy's `%VAR%` / `%VAR(args)%` / `%%` syntax, as Istio's
/// `validateHeaderValue` checks it.
fn percent_problem(value: &str) -> Option<String> {
    let b = value.as_bytes();
    let mut state = State::Literal;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let has_next = i + 1 < b.len();
        match state {
            State::Literal => {
                if c == b'%' {
                    if !has_next {
                        return Some(
                            "it ends with a lone `%`: write `%%` for a literal percent sign"
                                .to_owned(),
                        );
                    }
                    if b[i + 1] == b'%' {
                        i += 1;
                    } else {
                        state = State::VariableName;
                        start = i;
                    }
                }
            }
            State::VariableName => {
                if c == b'%' {
                    state = State::Literal;
                } else if c == b'(' {
                    state = State::ExpectArray;
                }
            }
            State::ExpectArray => {
                if c == b'[' {
                    state = State::ExpectString;
                } else if c != b' ' {
                    state = State::InString;
                }
            }
            State::ExpectDelimiterOrEnd => match c {
                b',' => state = State::ExpectString,
                b']' => state = State::ExpectArgsEnd,
                b' ' => {}
                _ => {
                    return Some(format!(
                        "in `{}`, the argument list expects `,` or `]` after a string",
                        fragment(value, start)
                    ));
                }
            },
            State::ExpectString => {
                if c == b'"' {
                    state = State::InString;
                } else if c != b' ' {
                    return Some(format!(
                        "in `{}`, the argument list expects a quoted string",
                        fragment(value, start)
                    ));
                }
            }
            State::InString => {
                if c == b'\\' {
                    if !has_next {
                        return Some("it ends inside an escape (`\\`)".to_owned());
                    }
                    i += 1;
                } else if c == b')' {
                    state = State::ExpectVariableEnd;
                } else if c == b'"' {
                    state = State::ExpectDelimiterOrEnd;
                }
            }
            State::ExpectArgsEnd => {
                if c == b')' {
                    state = State::ExpectVariableEnd;
                } else if c != b' ' {
                    return Some(format!(
                        "in `{}`, `)` must follow the argument list",
                        fragment(value, start)
                    ));
                }
            }
            State::ExpectVariableEnd => {
                if c == b'%' {
                    state = State::Literal;
                } else if c != b' ' {
                    return Some(format!(
                        "in `{}`, `%` must follow the variable's `)`",
                        fragment(value, start)
                    ));
                }
            }
        }
        i += 1;
    }
    (state != State::Literal).then(|| {
        format!(
            "the `%` that starts `{}` is never closed: Envoy reads `%NAME%` as a variable, and a literal percent sign is written `%%`",
            fragment(value, start)
        )
    })
}

/// At most 40 characters of `value` from byte `start`.
fn fragment(value: &str, start: usize) -> String {
    let rest = value.get(start..).unwrap_or(value);
    if rest.chars().count() > 40 {
        let head: String = rest.chars().take(39).collect();
        format!("{head}…")
    } else {
        rest.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_as_istio_reads_them() {
        for ok in [
            "",
            "foo",
            "%HOSTNAME%",
            "100%%",
            "prefix %HOSTNAME% suffix",
            "%DOWNSTREAM_REMOTE_ADDRESS%",
            "%REQ(x-request-id)%",
            "%PER_REQUEST_STATE(some.key)%",
            r#"%UPSTREAM_METADATA(["istio", "canonical_service"])%"#,
            "%START_TIME(%s.%3f)%",
            "a\tb",
            "%%%HOSTNAME%%%",
        ] {
            assert_eq!(header_value_problem(ok), None, "{ok}");
        }
        for bad in [
            "abc%123",
            "%START_TIME%%",
            "100%",
            "%",
            "50% off",
            "line\nbreak",
            "bell\u{7}",
            r#"%UPSTREAM_METADATA(["istio" x])%"#,
            r#"%UPSTREAM_METADATA([istio])%"#,
            r#"%UPSTREAM_METADATA(["istio"] x)%"#,
            "%REQ(x)x%",
        ] {
            assert!(header_value_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn match_names() {
        for ok in [
            "x-user",
            "end-user",
            "X-Custom_Header",
            ":authority",
            ":method",
            "@request.auth.claims.groups",
            "@request.auth.claims[nested][key]",
            "@REQUEST.AUTH.CLAIMS.sub",
            "a!#$%&'*+-.^_`|~z",
        ] {
            assert_eq!(match_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "bad header",
            "x:y",
            ":host",
            ":Authority",
            ":foo",
            "@request.auth.claims",
            "@request.auth.claims.",
            "@request.auth.claim.groups",
            "x-é",
            "a/b",
        ] {
            assert!(match_name_problem(bad).is_some(), "{bad}");
        }
    }
}
