//! Small text helpers for messages: edit distance, "did you mean", lists.

/// Levenshtein distance between two strings, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, when it is close enough to be a plausible typo
/// (at most a third of its length, and at least one edit, away).
///
/// Two equally close candidates (`v3` against `v1` and `v2`) give no suggestion:
/// picking one would be a guess.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (word.chars().count().max(c.chars().count()) / 3).max(1))
        .collect();
    scored.sort();
    match scored.as_slice() {
        [(d1, _), (d2, _), ..] if d1 == d2 => None,
        [(_, best), ..] => Some(best),
        [] => None,
    }
}

/// Renders items as "`a`, `b` and `c`" (or "`a` or `b`" with `or`).
pub fn backtick_list<S: AsRef<str>>(items: &[S], conjunction: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// "1 error" / "2 errors".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("v2", "v3"), 1);
    }

    #[test]
    fn closest_needs_a_plausible_typo() {
        assert_eq!(closest("v3", ["v1", "v2"]), None);
        assert_eq!(closest("v3", ["v1", "canary"]), Some("v1"));
        assert_eq!(closest("canary", ["stable", "v1"]), None);
        assert_eq!(closest("stabel", ["stable", "canary"]), Some("stable"));
    }

    #[test]
    fn lists() {
        assert_eq!(backtick_list(&["a", "b", "c"], "and"), "`a`, `b` and `c`");
        assert_eq!(backtick_list(&["a"], "or"), "`a`");
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(2, "warning"), "2 warnings");
    }
}
