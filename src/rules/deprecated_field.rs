use crate::declare_rule;
use crate::model::node::Node;
use crate::report::{Diagnostic, Severity};
use crate::rules::schema_findings::findings;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::deprecated::Entry;
use crate::schema::walk::Problem;

declare_rule! {
    /// Flags fields Istio deprecated or removed, with what to write instead:
    /// `fault.delay.percent` (use `percentage`), `mirrorPercent` (use
    /// `mirrorPercentage`), `corsPolicy.allowOrigin` (use `allowOrigins`),
    /// `outlierDetection.consecutiveErrors` (use `consecutive5xxErrors` or
    /// `consecutiveGatewayErrors`), `consistentHash.minimumRingSize` (use
    /// `ringHash.minimumRingSize`), `warmupDurationSecs` (use `warmup`),
    /// Sidecar `outboundTrafficPolicy.egressProxy`, and the removed HTTP route
    /// fields `websocketUpgrade`, `appendHeaders`, `appendRequestHeaders`,
    /// `removeRequestHeaders`, `appendResponseHeaders` and
    /// `removeResponseHeaders` (now under `headers`). Fields the embedded CRD
    /// schema describes as deprecated are reported too.
    ///
    /// A deprecated field is a warning. A removed field is an error: it is no
    /// longer in the schema, so the API server rejects it (or prunes it).
    /// `consecutiveErrors` as the only threshold of its block is left to
    /// `ineffective-outlier-detection`, which says what Envoy does instead; this
    /// rule reports it when a replacement is already written beside it and the
    /// leftover only misleads.
    ///
    /// ## Why is this bad?
    /// Deprecated fields are undocumented and may be ignored or dropped by the
    /// next release; some are ignored already (`consecutiveErrors`, and
    /// `mirrorPercent` whenever `mirrorPercentage` is set). Readers take them
    /// at face value.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: ratings}
    /// spec:
    ///   hosts: [ratings]
    ///   http:
    ///   - fault:
    ///       delay: {percent: 10, fixedDelay: 5s}
    ///     route:
    ///     - destination: {host: ratings}
    /// ```
    /// Use instead: `delay: {percentage: {value: 10}, fixedDelay: 5s}`.
    pub DeprecatedField {
        name: "deprecated-field",
        severity: Warning,
        kinds: [Any],
        upstream: ["IST0002"],
    }
}

impl Rule for DeprecatedField {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let all = findings(ctx);
        for f in all {
            let Problem::Deprecated(entry) = f.problem else {
                continue;
            };
            let Some(key) = f.key else { continue };
            let holder = parent_of(ctx.tree, &f.pointer);
            let (message, help, severity) = match entry {
                Some(e) => {
                    if e.field == "consecutiveErrors"
                        && !holder.is_some_and(|h| {
                            h.get("consecutive5xxErrors").is_some()
                                || h.get("consecutiveGatewayErrors").is_some()
                        })
                    {
                        // The sole threshold: ineffective-outlier-detection reports it.
                        continue;
                    }
                    describe(e, f.node, holder)
                }
                None => (
                    format!(
                        "`{}` is deprecated in Istio's API ({})",
                        f.field,
                        crate::schema::describe_source()
                    ),
                    format!("Check Istio's reference for what replaces `{}`.", f.field),
                    Severity::Warning,
                ),
            };
            out.push(
                Diagnostic::new(&DeprecatedField::META, meta.file, key.span(), message)
                    .severity(severity)
                    .label(if severity == Severity::Error {
                        "removed"
                    } else {
                        "deprecated"
                    })
                    .help(help)
                    .object(meta)
                    .path(f.pointer.clone()),
            );
        }
    }
}

/// The mapping that holds the field at `pointer`.
fn parent_of<'t>(tree: Node<'t>, pointer: &str) -> Option<Node<'t>> {
    let parent = pointer.rsplit_once('/')?.0;
    let mut node = tree;
    // The tree is the object; its own pointer prefix (`/items/3`) is not in it.
    let segments: Vec<&str> = parent.split('/').skip(1).collect();
    let start = segments.iter().position(|s| *s == "spec")?;
    for seg in &segments[start..] {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = match seg.parse::<usize>() {
            Ok(i) if node.shape() == crate::model::node::Shape::Sequence => node.items().nth(i)?,
            _ => node.get(&seg)?,
        };
    }
    Some(node)
}

fn describe(e: &Entry, value: Node<'_>, holder: Option<Node<'_>>) -> (String, String, Severity) {
    let field = e.field;
    let text = value.scalar_text().unwrap_or("");
    if e.removed {
        let message = format!("`{field}` was removed from Istio's API: {}", e.note);
        let help = match e.replacement {
            Some(r) if r.ends_with("percentage") || r == "percentage" => {
                format!("Write `{r}: {{value: {text}}}` instead.")
            }
            Some(r) => format!("Move these headers to `{r}`."),
            None => format!("Remove `{field}`."),
        };
        return (message, help, Severity::Error);
    }
    let message = match e.replacement {
        Some(r) => format!("`{field}` is deprecated in favour of `{r}`: {}", e.note),
        None => format!("`{field}` is deprecated: {}", e.note),
    };
    let has = |k: &str| holder.is_some_and(|h| h.get(k).is_some());
    let help = match (field, e.replacement) {
        ("consecutiveErrors", _) => {
            let set: Vec<&str> = ["consecutive5xxErrors", "consecutiveGatewayErrors"]
                .into_iter()
                .filter(|k| has(k))
                .collect();
            format!(
                "Remove `consecutiveErrors`: `{}` already sets the ejection threshold.",
                set.first().copied().unwrap_or("consecutive5xxErrors")
            )
        }
        (_, Some(r)) if has(r) => format!("Remove `{field}`: `{r}` is already set."),
        (_, Some(r)) if r.to_ascii_lowercase().ends_with("percentage") => {
            format!("Write `{r}: {{value: {text}}}` instead.")
        }
        ("allowOrigin", _) => {
            "Write each origin as a match under `allowOrigins`, e.g. `allowOrigins: [{exact: https://example.com}]`."
                .to_owned()
        }
        ("minimumRingSize", _) => format!("Write `ringHash: {{minimumRingSize: {text}}}` instead."),
        ("warmupDurationSecs", _) => format!("Write `warmup: {{duration: {text}}}` instead."),
        (_, Some(r)) => format!("Write `{r}` instead."),
        (_, None) => format!("Remove `{field}`."),
    };
    (message, help, Severity::Warning)
}
