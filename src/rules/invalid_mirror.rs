use crate::declare_rule;
use crate::model::node::Node;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags HTTP mirroring that Istio rejects: `mirror` and `mirrors` on the
    /// same route, or a mirror percentage outside 0–100 (`mirrorPercentage.value`,
    /// `mirrors[].percentage.value`, or the deprecated integer `mirrorPercent`).
    ///
    /// `mirror` (one destination, with `mirrorPercentage`) and `mirrors` (a list
    /// of destinations, each with its own `percentage`, Istio 1.20 and later) are
    /// two ways of saying the same thing, and a route may use only one. A
    /// percentage is a share of requests: an absent percentage means 100 %, an
    /// explicit `0` means no mirroring at all, and anything below 0 or above 100
    /// is invalid. The deprecated `mirrorPercent` is an unsigned integer, so a
    /// negative value cannot even be decoded. With `istio-version` below 1.20,
    /// `mirrors` itself is reported: older releases do not know the field.
    ///
    /// ## Why is this bad?
    /// Istio's validating webhook rejects the whole VirtualService, so none of its
    /// routes change. Where the webhook is not installed (or the config reaches
    /// istiod another way), istiod refuses the object and keeps serving the last
    /// accepted version, so what is in Git is not what runs.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: checkout, namespace: shop}
    /// spec:
    ///   hosts: [checkout]
    ///   http:
    ///   - route:
    ///     - destination: {host: checkout, subset: v1}
    ///     mirror: {host: checkout, subset: v2}
    ///     mirrorPercentage: {value: 150}
    ///     mirrors:
    ///     - destination: {host: checkout, subset: v3}
    /// ```
    /// Use instead: keep either `mirror` with a `mirrorPercentage` between 0 and
    /// 100, or `mirrors` with a `percentage` per entry.
    pub InvalidMirror {
        name: "invalid-mirror",
        severity: Error,
        kinds: [VirtualService],
        upstream: [],
    }
}

impl Rule for InvalidMirror {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, obj: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &obj.object.meta;
        let Some(spec) = obj.tree.get("spec") else {
            return;
        };
        let routes = spec.get("http").into_iter().flat_map(|h| h.items());
        for (i, route) in routes.enumerate() {
            let base = meta.path(&format!("/spec/http/{i}"));
            let report = |span, path: String, message: String, label: &str, help: &str| {
                Diagnostic::new(&InvalidMirror::META, meta.file, span, message)
                    .label(label)
                    .help(help)
                    .object(meta)
                    .path(path)
            };

            // `mirror` and `mirrors` together.
            let mirror = route.entry("mirror").filter(|(_, v)| !v.is_null());
            let mirrors = route
                .entry("mirrors")
                .filter(|(_, v)| v.items().next().is_some());
            if let (Some((mirror_key, _)), Some((mirrors_key, list))) = (mirror, mirrors) {
                let n = list.items().count();
                let entries = if n == 1 {
                    "1 entry".to_owned()
                } else {
                    format!("{n} entries")
                };
                out.push(
                    report(
                        mirrors_key.span(),
                        format!("{base}/mirrors"),
                        format!(
                            "`mirrors` ({entries}) and `mirror` are both set on this route: Istio rejects the VirtualService"
                        ),
                        "`mirror` is set too",
                        "Keep one of them: move the `mirror` destination into `mirrors` (with its `mirrorPercentage` as that entry's `percentage`), or drop `mirrors`.",
                    )
                    .related(meta.file, mirror_key.span(), "`mirror` is set here"),
                );
            }

            // `mirrors` before Istio 1.20: an unknown field.
            if obj.settings.istio_before(1, 20)
                && let Some((key, _)) = route.entry("mirrors").filter(|(_, v)| !v.is_null())
            {
                out.push(report(
                    key.span(),
                    format!("{base}/mirrors"),
                    "`mirrors` needs Istio 1.20 or later, and `istio-version` says the mesh runs an older release".to_owned(),
                    "unknown before Istio 1.20",
                    "Use `mirror` with `mirrorPercentage` (one destination), or raise `istio-version` if the mesh runs Istio 1.20 or later.",
                ));
            }

            // `mirrorPercentage.value`.
            if let Some(value) = route.get("mirrorPercentage").and_then(|p| p.get("value")) {
                check_percentage(
                    value,
                    &format!("{base}/mirrorPercentage/value"),
                    "`mirrorPercentage`",
                    &report,
                    out,
                );
            }
            // `mirrors[].percentage.value`.
            for (j, m) in route
                .get("mirrors")
                .into_iter()
                .flat_map(|m| m.items())
                .enumerate()
            {
                if let Some(value) = m.get("percentage").and_then(|p| p.get("value")) {
                    check_percentage(
                        value,
                        &format!("{base}/mirrors/{j}/percentage/value"),
                        "`mirrors` percentage",
                        &report,
                        out,
                    );
                }
            }
            // Deprecated `mirrorPercent` (an unsigned integer).
            if let Some(node) = route.get("mirrorPercent")
                && let Some(v) = node.int()
                && !(0..=100).contains(&v)
            {
                let why = if v < 0 {
                    "it is an unsigned integer, so Istio cannot even decode a negative value"
                } else {
                    "a share of requests cannot exceed 100 %"
                };
                out.push(report(
                    node.span(),
                    format!("{base}/mirrorPercent"),
                    format!("`mirrorPercent` is `{v}`, outside 0–100: {why}"),
                    "outside 0–100",
                    "Replace the deprecated `mirrorPercent` with `mirrorPercentage: {value: N}`, N between 0 and 100 (an absent percentage mirrors every request).",
                ));
            }
        }
    }
}

type Report<'r> = dyn Fn(crate::source::Span, String, String, &str, &str) -> Diagnostic + 'r;

fn check_percentage(
    value: Node<'_>,
    path: &str,
    what: &str,
    report: &Report<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(v) = value.float() else {
        return;
    };
    if (0.0..=100.0).contains(&v) {
        return;
    }
    let text = value.scalar_text().unwrap_or_default();
    let why = if v < 0.0 {
        "a share of requests cannot be negative"
    } else {
        "a share of requests cannot exceed 100 %"
    };
    out.push(report(
        value.span(),
        path.to_owned(),
        format!("{what} is `{text}`, outside 0–100: {why}"),
        "outside 0–100",
        "Set a percentage between 0 and 100: 100 (or no percentage at all) mirrors every request, 0 mirrors none.",
    ));
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;
    use crate::{Inputs, Options, check};

    const MIRRORS: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: checkout, namespace: shop}
spec:
  hosts: [checkout]
  http:
    - route:
        - destination: {host: checkout, subset: v1}
      mirrors:
        - destination: {host: checkout, subset: v2}
";

    fn messages(version: Option<(u32, u32)>) -> Vec<String> {
        let opts = Options {
            settings: Settings {
                istio_version: version,
                ..Settings::default()
            },
            select: Some(vec!["invalid-mirror".to_owned()]),
            ..Options::default()
        };
        let inputs = Inputs {
            paths: Vec::new(),
            stdin: Some(("mirrors.yaml".to_owned(), MIRRORS.as_bytes().to_vec())),
        };
        check(&inputs, &opts)
            .map(|r| r.diagnostics.into_iter().map(|d| d.message).collect())
            .unwrap_or_else(|e| vec![e.to_string()])
    }

    /// `mirrors` is reported only when the configured Istio predates it.
    #[test]
    fn mirrors_needs_istio_1_20() {
        assert!(messages(None).is_empty());
        assert!(messages(Some((1, 20))).is_empty());
        let old = messages(Some((1, 19)));
        assert_eq!(old.len(), 1);
        assert!(old[0].starts_with("`mirrors` needs Istio 1.20"));
    }
}
