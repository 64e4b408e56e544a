//! What kustomization files say about the other files: which are patches (partial
//! objects), and which namespace kustomize puts each resource file's objects in.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use crate::model::Kustomization;

/// The effect of every kustomization found, keyed by normalised file path.
#[derive(Debug, Default)]
pub struct Layout {
    /// Files named as patches.
    pub patches: HashSet<PathBuf>,
    /// Files whose objects kustomize moves into a namespace (`namespace:` of the
    /// outermost kustomization that includes them).
    pub namespaces: HashMap<PathBuf, String>,
    /// For each file a kustomization includes, the top-level kustomizations (by
    /// index in sorted order) that reach it. Files reached only from different
    /// top-level kustomizations go to different clusters or namespaces.
    pub roots: HashMap<PathBuf, Vec<u32>>,
}

/// Removes `.` and resolves `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Works out the layout from `(folder, kustomization)` pairs.
///
/// A folder named in `resources` stands for the kustomization inside it. The
/// namespace transformer of an including kustomization overrides the included
/// one's, so the walk starts at kustomizations no other includes and carries the
/// outermost namespace down. Cycles are cut.
pub fn layout(kustomizations: &[(PathBuf, Kustomization)]) -> Layout {
    let by_dir: HashMap<PathBuf, &Kustomization> = kustomizations
        .iter()
        .map(|(dir, k)| (normalize(dir), k))
        .collect();
    let mut out = Layout::default();
    let mut included: HashSet<PathBuf> = HashSet::new();
    for (dir, k) in &by_dir {
        out.patches
            .extend(k.patches.iter().map(|p| normalize(&dir.join(p))));
        for r in &k.resources {
            let target = normalize(&dir.join(r));
            if by_dir.contains_key(&target) {
                included.insert(target);
            }
        }
    }
    let mut roots: Vec<&PathBuf> = by_dir.keys().filter(|d| !included.contains(*d)).collect();
    roots.sort();
    for (i, root) in roots.into_iter().enumerate() {
        let mut seen = HashSet::new();
        let id = u32::try_from(i).unwrap_or(u32::MAX);
        walk(root, id, &by_dir, &mut seen, &mut out);
    }
    out
}

fn walk(
    root: &Path,
    root_id: u32,
    by_dir: &HashMap<PathBuf, &Kustomization>,
    seen: &mut HashSet<PathBuf>,
    out: &mut Layout,
) {
    // An explicit stack: a chain of thousands of kustomizations must not
    // exhaust the thread's stack.
    let mut stack: Vec<(PathBuf, Option<String>)> = vec![(root.to_path_buf(), None)];
    while let Some((dir, outer)) = stack.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let Some(k) = by_dir.get(&dir) else { continue };
        let ns = outer.or_else(|| k.namespace.clone());
        for r in &k.resources {
            let target = normalize(&dir.join(r));
            if by_dir.contains_key(&target) {
                stack.push((target, ns.clone()));
            } else {
                if let Some(ns) = &ns {
                    out.namespaces
                        .entry(target.clone())
                        .or_insert_with(|| ns.clone());
                }
                let roots = out.roots.entry(target).or_default();
                if !roots.contains(&root_id) {
                    roots.push(root_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(ns: Option<&str>, resources: &[&str], patches: &[&str]) -> Kustomization {
        Kustomization {
            namespace: ns.map(str::to_owned),
            resources: resources.iter().map(|s| (*s).to_owned()).collect(),
            patches: patches.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn outer_namespace_wins_and_patches_are_collected() {
        let l = layout(&[
            (
                PathBuf::from("overlays/prod"),
                k(Some("prod"), &["../../base", "extra.yaml"], &["patch.yaml"]),
            ),
            (
                PathBuf::from("base"),
                k(Some("base-ns"), &["vs.yaml", "sub"], &[]),
            ),
            (PathBuf::from("base/sub"), k(None, &["dr.yaml"], &[])),
            (PathBuf::from("loop"), k(Some("l"), &["."], &[])),
        ]);
        assert_eq!(
            l.namespaces
                .get(Path::new("base/vs.yaml"))
                .map(String::as_str),
            Some("prod")
        );
        assert_eq!(
            l.namespaces
                .get(Path::new("base/sub/dr.yaml"))
                .map(String::as_str),
            Some("prod")
        );
        assert_eq!(
            l.namespaces
                .get(Path::new("overlays/prod/extra.yaml"))
                .map(String::as_str),
            Some("prod")
        );
        assert!(l.patches.contains(Path::new("overlays/prod/patch.yaml")));
        assert_eq!(
            l.roots.get(Path::new("base/vs.yaml")).map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn separate_top_level_kustomizations_are_separate_roots() {
        let l = layout(&[
            (
                PathBuf::from("clusters/dev"),
                k(None, &["flux.yaml", "../../apps"], &[]),
            ),
            (
                PathBuf::from("clusters/prod"),
                k(None, &["flux.yaml", "../../apps"], &[]),
            ),
            (PathBuf::from("apps"), k(None, &["vs.yaml"], &[])),
        ]);
        assert_eq!(
            l.roots.get(Path::new("clusters/dev/flux.yaml")),
            Some(&vec![0])
        );
        assert_eq!(
            l.roots.get(Path::new("clusters/prod/flux.yaml")),
            Some(&vec![1])
        );
        assert_eq!(
            l.roots.get(Path::new("apps/vs.yaml")).map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn normalizes_dots() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }
}
