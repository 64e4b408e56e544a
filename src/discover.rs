//! Finding the YAML files to analyse.
//!
//! Directories are walked in parallel with the `ignore` crate, honouring
//! `.gitignore`, `.ignore` and `.meshvetignore` whether or not the tree is a git
//! checkout. Hidden entries are skipped and symlinks are never followed, so a
//! link cannot pull files from outside the tree into the analysis.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

/// Name of meshvet's own ignore file (gitignore syntax).
pub const IGNORE_FILE: &str = ".meshvetignore";

/// Why discovery could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// A path named on the command line does not exist.
    #[error("path not found: {0}")]
    NotFound(PathBuf),
}

/// A file found for analysis.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// The path as found.
    pub path: PathBuf,
    /// True when the file sits under a Helm chart's `templates/` folder.
    pub helm_template: bool,
}

/// True for the file names meshvet reads: `*.yaml` and `*.yml`.
pub fn is_yaml_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
    )
}

/// True when `path` lies under a `templates` folder whose parent holds a `Chart.yaml`.
pub fn is_under_helm_templates(path: &Path) -> bool {
    path.ancestors().skip(1).any(|dir| {
        dir.file_name().is_some_and(|n| n == "templates")
            && dir
                .parent()
                .is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}

/// Expands the given paths into the sorted, de-duplicated list of files to read.
///
/// A file named explicitly is taken whatever its extension (the user asked for it);
/// inside directories only `*.yaml`/`*.yml` are taken.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Candidate>, DiscoverError> {
    let mut found: Vec<PathBuf> = Vec::new();
    for path in paths {
        let meta =
            std::fs::symlink_metadata(path).map_err(|_| DiscoverError::NotFound(path.clone()))?;
        if meta.is_dir() || (meta.file_type().is_symlink() && path.is_dir()) {
            found.extend(walk(path));
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found
        .into_iter()
        .map(|path| Candidate {
            helm_template: is_under_helm_templates(&path),
            path,
        })
        .collect())
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let out = Mutex::new(Vec::new());
    WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .build_parallel()
        .run(|| {
            let out = &out;
            Box::new(move |entry| {
                if let Ok(entry) = entry
                    && entry.file_type().is_some_and(|t| t.is_file())
                    && is_yaml_name(entry.path())
                    && let Ok(mut v) = out.lock()
                {
                    v.push(entry.into_path());
                }
                WalkState::Continue
            })
        });
    out.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempdir::Dir {
        tempdir::Dir::new()
    }

    /// A throwaway directory under the target folder, removed on drop.
    mod tempdir {
        use std::path::PathBuf;
        use std::sync::atomic::{AtomicUsize, Ordering};

        pub struct Dir(pub PathBuf);
        static N: AtomicUsize = AtomicUsize::new(0);
        impl Dir {
            pub fn new() -> Dir {
                let n = N.fetch_add(1, Ordering::SeqCst);
                let p = std::env::temp_dir()
                    .join(format!("meshvet-discover-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).expect("temp dir");
                Dir(p)
            }
            pub fn write(&self, rel: &str, text: &str) {
                let p = self.0.join(rel);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).expect("mkdir");
                }
                std::fs::write(p, text).expect("write");
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn names(c: &[Candidate], root: &Path) -> Vec<String> {
        c.iter()
            .map(|c| {
                c.path
                    .strip_prefix(root)
                    .unwrap_or(&c.path)
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn walks_yaml_honouring_ignore_files_outside_git() {
        let t = tree();
        t.write("a.yaml", "");
        t.write("b.yml", "");
        t.write("c.json", "");
        t.write("vendor/v.yaml", "");
        t.write("skip/s.yaml", "");
        t.write(".hidden/h.yaml", "");
        t.write(".gitignore", "vendor/\n");
        t.write(".meshvetignore", "skip/\n");
        let found = discover(std::slice::from_ref(&t.0)).expect("discover");
        assert_eq!(names(&found, &t.0), vec!["a.yaml", "b.yml"]);
    }

    #[test]
    fn marks_helm_templates() {
        let t = tree();
        t.write("charts/x/Chart.yaml", "name: x\n");
        t.write("charts/x/templates/vs.yaml", "");
        t.write("apps/templates/vs.yaml", "");
        let found = discover(std::slice::from_ref(&t.0)).expect("discover");
        let helm: Vec<bool> = found.iter().map(|c| c.helm_template).collect();
        assert_eq!(
            names(&found, &t.0),
            vec![
                "apps/templates/vs.yaml",
                "charts/x/Chart.yaml",
                "charts/x/templates/vs.yaml"
            ]
        );
        assert_eq!(helm, vec![false, false, true]);
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = discover(&[PathBuf::from("/nonexistent/meshvet/x")]);
        assert!(matches!(err, Err(DiscoverError::NotFound(_))));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let t = tree();
        let outside = tree();
        outside.write("secret.yaml", "");
        t.write("real.yaml", "");
        let _ = std::os::unix::fs::symlink(outside.0.join("secret.yaml"), t.0.join("link.yaml"));
        let _ = std::os::unix::fs::symlink(&outside.0, t.0.join("linkdir"));
        let found = discover(std::slice::from_ref(&t.0)).expect("discover");
        assert_eq!(names(&found, &t.0), vec!["real.yaml"]);
    }
}
