use crate::declare_rule;
use crate::model::node::Node;
use crate::model::{ObjectMeta, RouteDestination};
use crate::report::{Diagnostic, Severity};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags route weights that do not do what they seem to: weights that do not
    /// total 100, a weight on a single destination, the same destination twice in
    /// one route, a negative weight, and several destinations whose weights total 0.
    ///
    /// Since Istio 1.15 weights are relative: each destination of an HTTP, TCP or
    /// TLS route receives `weight / (sum of the weights)` of the traffic. Istio
    /// rejects a negative weight, and a route with several destinations whose
    /// weights total 0; nothing else. The rule reports:
    ///
    /// - **error**: a negative weight; several destinations whose weights total 0
    ///   (an absent weight counts as 0, so two destinations without weights are
    ///   rejected); with `istio-version` below 1.15, a total other than 100 or a
    ///   weight above 100 (those releases rejected both).
    /// - **warning**: several destinations whose weights do not total 100. The
    ///   route works, but authors who write `90` and `20` usually mean
    ///   percentages; the message says what each destination really receives
    ///   ("weights total 110: `v1` gets 81.8 %, `v2` gets 18.2 %").
    ///   Destinations with weight 0, or with no weight next to weighted ones, get
    ///   nothing: Istio drops them from the weighted clusters. A `weight` indented
    ///   one level too deep (inside `destination`) is pointed out.
    /// - **warning**: a single destination with a weight other than 100. Istio
    ///   ignores the weight of a lone destination (even `0`): it gets all the
    ///   traffic.
    /// - **warning**: the same host, subset and port twice in one route; the two
    ///   entries are one destination with the summed weight.
    ///
    /// Kiali's KIA1104 covers single destinations with a weight of 1–99 and
    /// KIA1105 duplicate host+subset pairs. Kiali flags every entry of a duplicate
    /// group; meshvet reports each repeated entry once, pointing at the entry it
    /// repeats, and does not treat two entries that name different ports as
    /// duplicates (they are different Envoy clusters).
    ///
    /// ## Why is this bad?
    /// Weights decide where production traffic goes. A canary written as `v1: 90`,
    /// `v2: 20` sends 18.2 % to `v2`, not 20 %; a lone `weight: 10` meant as "10 %
    /// canary" sends everything to that destination; a route whose destinations
    /// carry no weights is rejected by Istio's webhook, so none of the
    /// VirtualService changes take effect.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {host: reviews, subset: v1}
    ///       weight: 90
    ///     - destination: {host: reviews, subset: v2}
    ///       weight: 20
    /// ```
    /// Use instead: weights that total 100 (`90` and `10`), so that each weight is
    /// the percentage it looks like.
    pub WeightSum {
        name: "weight-sum",
        severity: Warning,
        kinds: [VirtualService],
        upstream: ["KIA1104", "KIA1105"],
    }
}

impl Rule for WeightSum {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, obj: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let crate::model::Spec::VirtualService(vs) = &obj.object.spec else {
            return;
        };
        let spec = obj.tree.get("spec");
        let sections: [(&str, Vec<&[RouteDestination]>); 3] = [
            ("http", vs.http.iter().map(|r| r.route.as_slice()).collect()),
            ("tcp", vs.tcp.iter().map(|r| r.route.as_slice()).collect()),
            ("tls", vs.tls.iter().map(|r| r.route.as_slice()).collect()),
        ];
        for (section, routes) in sections {
            for (i, dests) in routes.into_iter().enumerate() {
                let node = spec
                    .and_then(|s| s.get(section))
                    .and_then(|l| l.items().nth(i));
                let ctx = RouteCtx {
                    obj,
                    meta: &obj.object.meta,
                    node,
                    path: obj.object.meta.path(&format!("/spec/{section}/{i}")),
                    old_istio: obj.settings.istio_before(1, 15),
                };
                check_route(&ctx, dests, out);
            }
        }
    }
}

struct RouteCtx<'c, 'a> {
    obj: &'c ObjectContext<'a>,
    meta: &'c ObjectMeta,
    node: Option<Node<'a>>,
    path: String,
    old_istio: bool,
}

impl RouteCtx<'_, '_> {
    /// The `route` key of this route, or the route item, for findings about the
    /// route's weights as a whole.
    fn route_span(&self) -> Span {
        self.node
            .and_then(|n| n.entry("route"))
            .map(|(k, _)| k.span())
            .or(self.node.map(|n| n.span()))
            .unwrap_or(self.meta.anchor())
    }

    /// True when the route item `j` has a `weight` key that is not an integer:
    /// a schema problem, not a weight problem.
    fn weight_unreadable(&self, j: usize) -> bool {
        self.node
            .and_then(|n| n.get("route"))
            .and_then(|r| r.items().nth(j))
            .and_then(|d| d.get("weight"))
            .is_some_and(|w| !w.is_null() && w.int().is_none())
    }

    /// A `weight` written inside `destination` of route item `j` (one level too
    /// deep, where it is not a weight at all).
    fn misplaced_weight(&self, j: usize) -> Option<Span> {
        self.node
            .and_then(|n| n.get("route"))
            .and_then(|r| r.items().nth(j))
            .and_then(|d| d.get("destination"))
            .and_then(|d| d.entry("weight"))
            .map(|(k, _)| k.span())
    }

    /// Adds a related note for every unweighted entry whose `weight` sits
    /// inside its `destination`.
    fn note_misplaced(&self, mut d: Diagnostic, dests: &[RouteDestination]) -> Diagnostic {
        for (j, dest) in dests.iter().enumerate() {
            if dest.weight.is_none()
                && let Some(span) = self.misplaced_weight(j)
            {
                d = d.related(
                    self.meta.file,
                    span,
                    "this `weight` is inside `destination`, so the entry has none: move it one level up",
                );
            }
        }
        d
    }

    fn diagnostic(&self, span: Span, path: String, message: String) -> Diagnostic {
        let mut d = Diagnostic::new(&WeightSum::META, self.meta.file, span, message)
            .object(self.meta)
            .path(path);
        // Only single-destination weights (KIA1104) and repeated destinations
        // (KIA1105) have an upstream counterpart; those set it themselves.
        d.upstream = &[];
        d
    }
}

fn check_route(ctx: &RouteCtx<'_, '_>, dests: &[RouteDestination], out: &mut Vec<Diagnostic>) {
    if dests.is_empty() || (0..dests.len()).any(|j| ctx.weight_unreadable(j)) {
        return;
    }
    let names = display_names(dests);
    check_duplicates(ctx, dests, out);

    let mut negative = false;
    for d in dests {
        if let Some(w) = d.weight.as_ref().filter(|w| w.value < 0) {
            negative = true;
            out.push(
                ctx.diagnostic(
                    w.span,
                    format!("{}/weight", d.path),
                    format!(
                        "weight `{}` is negative: Istio rejects the VirtualService",
                        w.value
                    ),
                )
                .severity(Severity::Error)
                .label("negative weight")
                .help("Use a weight of 0 or more; 0 sends this destination no traffic."),
            );
        }
    }
    if negative {
        return;
    }

    if ctx.old_istio
        && let Some((d, w)) = dests
            .iter()
            .find_map(|d| d.weight.as_ref().filter(|w| w.value > 100).map(|w| (d, w)))
    {
        out.push(
            ctx.diagnostic(w.span, format!("{}/weight", d.path), format!("weight `{}` is above 100: Istio before 1.15 rejects the VirtualService", w.value))
                .severity(Severity::Error)
                .label("above 100")
                .help("Before Istio 1.15 each weight is a percentage between 0 and 100; lower it, or set `istio-version` if the mesh runs 1.15 or later."),
        );
        return;
    }

    if let [only] = dests {
        check_single(ctx, only, out);
        return;
    }

    let weights: Vec<i64> = dests
        .iter()
        .map(|d| d.weight.as_ref().map_or(0, |w| w.value))
        .collect();
    // Saturating: a hostile weight must not overflow (Istio's are int32 anyway).
    let total: i64 = weights.iter().fold(0i64, |a, w| a.saturating_add(*w));
    if total == 0 {
        let unset = dests.iter().filter(|d| d.weight.is_none()).count();
        let what = if unset == dests.len() {
            format!(
                "none of the {} destinations of this route has a weight",
                dests.len()
            )
        } else {
            format!(
                "the weights of the {} destinations of this route total 0",
                dests.len()
            )
        };
        let mut d = ctx
            .diagnostic(
                ctx.route_span(),
                format!("{}/route", ctx.path),
                format!("{what}: with several destinations an absent weight counts as 0, and Istio rejects a total of 0"),
            )
            .severity(Severity::Error)
            .label("weights total 0")
            .help(format!(
                "Give each destination the share of traffic it should get, for example {}.",
                example_split(&names)
            ));
        for dest in dests {
            if let Some(w) = &dest.weight {
                d = d.related(ctx.meta.file, w.span, "weight 0");
            }
        }
        out.push(ctx.note_misplaced(d, dests));
        return;
    }
    if total == 100 {
        return;
    }

    let shares = shares(&names, &weights, dests, total);
    let rounded = largest_remainder(&weights, total);
    let suggestion: Vec<String> = names
        .iter()
        .zip(&rounded)
        .zip(&weights)
        .filter(|(_, w)| **w > 0)
        .map(|((n, r), _)| format!("{n} {r}"))
        .collect();
    let mut d = if ctx.old_istio {
        ctx.diagnostic(
            ctx.route_span(),
            format!("{}/route", ctx.path),
            format!("weights total `{total}`, not 100: Istio before 1.15 rejects the VirtualService"),
        )
        .severity(Severity::Error)
        .label(format!("weights total {total}"))
        .help(format!(
            "Make the weights total exactly 100, for example {}; Istio 1.15 and later accept any total (set `istio-version` if the mesh runs one).",
            suggestion.join(", ")
        ))
    } else {
        // Point at the first weight: the value the author wrote thinking of percent.
        let (span, path) = dests
            .iter()
            .enumerate()
            .find_map(|(i, d)| {
                d.weight
                    .as_ref()
                    .map(|w| (w.span, format!("{}/route/{i}/weight", ctx.path)))
            })
            .unwrap_or_else(|| (ctx.route_span(), format!("{}/route", ctx.path)));
        ctx.diagnostic(span, path, format!("weights total `{total}`: {shares}"))
            .label(format!("weights total {total}"))
            .help(relative_help(dests, &names, &suggestion))
    };
    for (dest, name) in dests.iter().zip(&names) {
        if let Some(w) = &dest.weight {
            let got = if total > 0 {
                w.value as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            d = d.related(
                ctx.meta.file,
                w.span,
                format!("{name} gets {}", percent(got)),
            );
        }
    }
    out.push(ctx.note_misplaced(d, dests));
}

/// The fix for a total other than 100 (Istio 1.15 and later).
fn relative_help(dests: &[RouteDestination], names: &[String], suggestion: &[String]) -> String {
    let unweighted: Vec<&str> = dests
        .iter()
        .zip(names)
        .filter(|(d, _)| d.weight.is_none())
        .map(|(_, n)| n.as_str())
        .collect();
    if unweighted.is_empty() {
        format!(
            "Istio treats weights as relative shares, so this split works as stated above. If the weights were meant as percentages, make them total 100: {}.",
            suggestion.join(", ")
        )
    } else {
        format!(
            "Give {} a weight: next to weighted destinations an absent weight counts as 0. Weights that total 100 read as percentages.",
            join_and(
                &unweighted
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
            )
        )
    }
}

/// What each destination receives, in words.
fn shares(names: &[String], weights: &[i64], dests: &[RouteDestination], total: i64) -> String {
    let mut parts = Vec::new();
    let mut dropped = Vec::new();
    for ((name, w), d) in names.iter().zip(weights).zip(dests) {
        if *w > 0 {
            parts.push(format!(
                "{name} gets {}",
                percent(*w as f64 * 100.0 / total as f64)
            ));
        } else if d.weight.is_none() {
            dropped.push(format!(
                "{name} gets nothing (no weight, which counts as 0)"
            ));
        } else {
            dropped.push(format!("{name} gets nothing (weight 0)"));
        }
    }
    parts.extend(dropped);
    join_and(&parts)
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A percentage with one decimal, without a trailing `.0`: `81.8 %`, `50 %`.
fn percent(p: f64) -> String {
    let s = format!("{p:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    format!("{s} %")
}

/// Whole percentages that keep the current proportions and total exactly 100.
fn largest_remainder(weights: &[i64], total: i64) -> Vec<i64> {
    if total <= 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| (*w).max(0) as f64 * 100.0 / total as f64)
        .collect();
    let mut out: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let mut left = 100i64.saturating_sub(out.iter().fold(0i64, |a, v| a.saturating_add(*v)));
    let mut order: Vec<usize> = (0..weights.len()).filter(|i| weights[*i] > 0).collect();
    order.sort_by(|a, b| {
        let ra = exact[*a] - exact[*a].floor();
        let rb = exact[*b] - exact[*b].floor();
        rb.total_cmp(&ra).then(a.cmp(b))
    });
    for i in order.iter().cycle().take(order.len().max(1) * 2) {
        if left <= 0 {
            break;
        }
        out[*i] += 1;
        left -= 1;
    }
    out
}

/// An even split that totals 100, as an example.
fn example_split(names: &[String]) -> String {
    let n = names.len() as i64;
    if n == 0 {
        return String::new();
    }
    let base = 100 / n;
    let extra = 100 - base * n;
    let parts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{name} {}", base + i64::from((i as i64) < extra)))
        .collect();
    parts.join(", ")
}

fn check_single(ctx: &RouteCtx<'_, '_>, only: &RouteDestination, out: &mut Vec<Diagnostic>) {
    let Some(w) = only.weight.as_ref().filter(|w| w.value != 100) else {
        return;
    };
    let mut d = ctx
        .diagnostic(
            w.span,
            format!("{}/weight", only.path),
            format!(
                "weight `{}` is ignored: the only destination of a route receives all of its traffic",
                w.value
            ),
        )
        .label("ignored")
        .help(if w.value == 0 {
            "Remove the weight. To send this route no traffic, remove the route or point it elsewhere; to split traffic, add the other destination with its own weight."
        } else {
            "Remove the weight, or add the other destination(s) with weights that total 100 to split the traffic."
        });
    // Kiali's KIA1104 covers weights 1 to 99 only.
    if !(1..=99).contains(&w.value) {
        d.upstream = &[];
    } else {
        d.upstream = &["KIA1104"];
    }
    out.push(d);
}

/// Names to show for each destination: the subset when every destination names
/// the same host, else host and subset; `#j` added when two names collide.
fn display_names(dests: &[RouteDestination]) -> Vec<String> {
    let host = |d: &RouteDestination| d.destination.host.as_ref().map(|h| h.value.clone());
    let same_host = dests.iter().all(|d| host(d) == host(&dests[0]));
    let base: Vec<String> = dests
        .iter()
        .enumerate()
        .map(|(j, d)| {
            let Some(h) = host(d) else {
                // No host to name it by (missing-required-field reports that).
                return format!("entry {j}");
            };
            let port = d
                .destination
                .port
                .as_ref()
                .map(|p| format!(":{}", p.value))
                .unwrap_or_default();
            match &d.destination.subset {
                Some(s) if same_host => format!("`{}`", s.value),
                Some(s) => format!("`{h}{port}` subset `{}`", s.value),
                None => format!("`{h}{port}`"),
            }
        })
        .collect();
    base.iter()
        .enumerate()
        .map(|(j, n)| {
            if base.iter().filter(|m| *m == n).count() > 1 {
                format!("{n} (entry {j})")
            } else {
                n.clone()
            }
        })
        .collect()
}

fn check_duplicates(ctx: &RouteCtx<'_, '_>, dests: &[RouteDestination], out: &mut Vec<Diagnostic>) {
    let domain = &ctx.obj.settings.cluster_domain;
    let ns = &ctx.meta.namespace;
    let key = |d: &RouteDestination| {
        let host = d.destination.host.as_ref()?;
        Some((
            crate::host::resolve(&host.value, ns, domain),
            d.destination.subset.as_ref().map(|s| s.value.clone()),
            d.destination.port.as_ref().map(|p| p.value),
        ))
    };
    let keys: Vec<_> = dests.iter().map(key).collect();
    for (j, d) in dests.iter().enumerate() {
        let Some(k) = &keys[j] else { continue };
        let Some(first) = (0..j).find(|i| keys[*i].as_ref() == Some(k)) else {
            continue;
        };
        let Some(host) = &d.destination.host else {
            continue;
        };
        let what = match &k.1 {
            Some(s) => format!("host `{}` subset `{s}`", host.value),
            None => format!("host `{}` (no subset)", host.value),
        };
        let w = |x: &RouteDestination| x.weight.as_ref().map_or(0, |w| w.value);
        let summed: i64 = (0..=j)
            .filter(|i| keys[*i].as_ref() == Some(k))
            .map(|i| w(&dests[i]))
            .fold(0i64, i64::saturating_add);
        let first_span = dests[first]
            .destination
            .host
            .as_ref()
            .map_or(dests[first].span, |h| h.span);
        let mut diag = ctx
            .diagnostic(
                host.span,
                format!("{}/destination/host", d.path),
                format!(
                    "route entry {j} repeats entry {first}: both send to {what}, so they are one destination"
                ),
            )
            .label("repeated destination")
            .related(ctx.meta.file, first_span, format!("entry {first} already sends there"))
            .help(format!(
                "Merge the entries into one with their summed weight ({summed}), or point one of them at another subset."
            ));
        diag.upstream = &["KIA1105"];
        out.push(diag);
    }
}

#[cfg(test)]
mod tests {
    use crate::report::human::{self, HumanOptions};
    use crate::settings::Settings;
    use crate::{Inputs, Options, check};

    const OLD_ISTIO: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
    - match:
        - headers:
            x-canary: {exact: a}
      route:
        - destination: {host: reviews, subset: v1}
          weight: 90
        - destination: {host: reviews, subset: v2}
          weight: 20
    - route:
        - destination: {host: reviews, subset: v1}
          weight: 150
        - destination: {host: reviews, subset: v2}
          weight: 0
";

    /// With `istio-version` below 1.15 a total other than 100, and a weight
    /// above 100, are errors: those releases rejected them.
    #[test]
    fn istio_before_1_15_requires_a_total_of_100() {
        let run = |version| {
            let opts = Options {
                settings: Settings {
                    istio_version: version,
                    ..Settings::default()
                },
                select: Some(vec!["weight-sum".to_owned()]),
                ..Options::default()
            };
            let inputs = Inputs {
                paths: Vec::new(),
                stdin: Some(("old-istio.yaml".to_owned(), OLD_ISTIO.as_bytes().to_vec())),
            };
            check(&inputs, &opts).map_err(|e| e.to_string())
        };
        let Ok(old) = run(Some((1, 14))) else {
            panic!("check failed");
        };
        let severities: Vec<&str> = old
            .diagnostics
            .iter()
            .map(|d| d.severity.as_str())
            .collect();
        assert_eq!(severities, ["error", "error"]);
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/weight-sum/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("istio-1.14", human::render(&old, &HumanOptions::default()));
        });
        let Ok(current) = run(None) else {
            panic!("check failed");
        };
        let severities: Vec<&str> = current
            .diagnostics
            .iter()
            .map(|d| d.severity.as_str())
            .collect();
        assert_eq!(severities, ["warning", "warning"]);
    }
}
