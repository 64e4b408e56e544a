//! Paths as CI systems want them: relative to the repository root, as URIs, and
//! the identity of a finding that survives unrelated edits.
//!
//! GitHub (SARIF and annotations) and GitLab (Code Quality) resolve a finding's
//! file against the repository root, not the directory meshvet ran in; SARIF wants
//! URIs. These helpers are shared by the CI renderers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::kustomize::normalize;

use super::{Diagnostic, Report};
use crate::source::SourceFile;

/// Where the repository root is and where meshvet runs.
#[derive(Debug, Clone)]
pub struct RepoPaths {
    /// The repository root (absolute, symlinks resolved when possible).
    pub root: PathBuf,
    /// The directory relative paths are taken from (absolute).
    pub cwd: PathBuf,
}

impl RepoPaths {
    /// The root of the git repository holding `first` (the nearest ancestor with a
    /// `.git` folder or file), else `cwd`.
    pub fn discover(first: Option<&Path>, cwd: &Path) -> RepoPaths {
        let cwd = canonical(cwd);
        let start = first.map_or_else(|| cwd.clone(), |p| canonical(&cwd.join(p)));
        let root = start
            .ancestors()
            .find(|d| d.join(".git").exists())
            .map_or_else(|| cwd.clone(), Path::to_path_buf);
        RepoPaths { root, cwd }
    }

    /// The file's path relative to the root with `/` separators, or `None` when it
    /// lies outside the root.
    pub fn relative(&self, file: &SourceFile) -> Option<String> {
        let abs = canonical(&self.cwd.join(&file.path));
        let rel = abs.strip_prefix(&self.root).ok()?;
        if rel.as_os_str().is_empty() {
            return None;
        }
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// The path CI systems should show: relative to the root when inside it, else
    /// as meshvet displays it.
    pub fn shown(&self, file: &SourceFile) -> String {
        self.relative(file).unwrap_or_else(|| file.display.clone())
    }

    /// A `file://` URI of the root, ending in `/` (SARIF `originalUriBaseIds`).
    pub fn root_uri(&self) -> String {
        file_uri(&self.root, true)
    }
}

/// `path` made absolute with symlinks resolved, or cleaned lexically when it does
/// not exist.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
}

/// A `file://` URI for an absolute path.
pub fn file_uri(path: &Path, dir: bool) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !s.starts_with('/') {
        // Windows: file:///C:/...
        uri.push('/');
    }
    uri.push_str(&encode_uri_path(&s));
    if dir && !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Percent-encodes a `/`-separated path for use in a URI reference.
pub fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Stable identities of the report's diagnostics, in report order.
///
/// A finding is identified by its rule, the object it is in (kind, namespace,
/// name) and the JSON pointer of the offending value; findings outside any object
/// (syntax errors) by rule, file and message. None of these move when unrelated
/// lines are added or removed. When two findings share an identity, the second
/// gets `:2`, the third `:3`, and so on, so every identity is unique in a run.
pub fn fingerprints(report: &Report, paths: &RepoPaths) -> Vec<String> {
    let mut seen: HashMap<u128, u32> = HashMap::new();
    report
        .diagnostics
        .iter()
        .map(|d| {
            let hash = fnv1a_128(identity(report, paths, d).as_bytes());
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            if *n == 1 {
                format!("{hash:032x}")
            } else {
                format!("{hash:032x}:{n}")
            }
        })
        .collect()
}

fn identity(report: &Report, paths: &RepoPaths, d: &Diagnostic) -> String {
    let path = d.path.as_deref().unwrap_or("");
    match &d.object {
        Some(o) => format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            d.rule, o.kind, o.namespace, o.name, path
        ),
        None => {
            let file = report
                .file(d.location.file)
                .map(|f| paths.shown(f))
                .unwrap_or_default();
            format!("{}\u{0}{}\u{0}{}\u{0}{}", d.rule, file, path, d.message)
        }
    }
}

/// 128-bit FNV-1a: stable across platforms and releases, unlike `std`'s hasher.
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for b in bytes {
        h ^= u128::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(encode_uri_path("a b/ü#x.yaml"), "a%20b/%C3%BC%23x.yaml");
        assert_eq!(encode_uri_path("<stdin>"), "%3Cstdin%3E");
        assert_eq!(file_uri(Path::new("/r/x y"), true), "file:///r/x%20y/");
    }

    #[test]
    fn non_existing_paths_are_cleaned_lexically() {
        assert_eq!(
            normalize(Path::new("/a/./b/../c.yaml")),
            PathBuf::from("/a/c.yaml")
        );
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 128 of the empty string is the offset basis; of "a", the published value.
        assert_eq!(
            format!("{:032x}", fnv1a_128(b"")),
            "6c62272e07bb014262b821756295c58d"
        );
        assert_eq!(
            format!("{:032x}", fnv1a_128(b"a")),
            "d228cb696f1a8caf78912b704e4a8964"
        );
    }
}
