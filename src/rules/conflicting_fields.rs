use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, place};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::walk::Problem;
use crate::text::backtick_list;

declare_rule! {
    /// Flags two fields set together where Istio's schema allows only one of
    /// them: `exact`, `prefix` and `regex` in one string match (a `uri`,
    /// `authority`, header or query parameter match, an allowed CORS origin), and
    /// `string` with `bytes` in a `directResponse` body.
    ///
    /// The groups come from the `oneOf` constraints of the schema embedded from
    /// Istio's CRDs. Groups that have a rule of their own are left to it:
    /// load balancer choices (`invalid-load-balancer`), abort error types and
    /// delay kinds (`invalid-fault`), and a redirect's `port` with `derivePort`
    /// (`invalid-redirect`).
    ///
    /// ## Why is this bad?
    /// The API server rejects the object (`must validate one and only one
    /// schema (oneOf)`), so nothing in the change applies. Where it is applied
    /// without that validation, Istio decodes only one of the fields and drops
    /// the other: `{prefix: /api, exact: /api/v1}` silently becomes one of the
    /// two matches, and which one depends on the decoder, not on the author.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - match:
    ///     - uri: {prefix: /reviews, exact: /reviews/v2}
    ///     route:
    ///     - destination: {host: reviews}
    /// ```
    /// Use instead: one condition per string match (`uri: {prefix: /reviews}`),
    /// or two match requests when either should match.
    pub ConflictingFields {
        name: "conflicting-fields",
        severity: Error,
        kinds: [Any],
        upstream: ["IST0106"],
    }
}

/// `oneOf` groups whose violations a dedicated rule reports with more to say.
const REPORTED_ELSEWHERE: &[&str] = &[
    "simple",
    "httpHeaderName",
    "ringHash",
    "httpStatus",
    "fixedDelay",
    "port",
];

impl Rule for ConflictingFields {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for f in findings(ctx) {
            let Problem::Exclusive {
                earlier,
                group,
                first,
            } = &f.problem
            else {
                continue;
            };
            if group
                .first()
                .is_some_and(|g| REPORTED_ELSEWHERE.contains(&g.as_str()))
            {
                continue;
            }
            let earlier_refs: Vec<&str> = earlier.iter().map(String::as_str).collect();
            let all: Vec<&str> = group.iter().map(String::as_str).collect();
            let where_ = place(&f.parent_path, meta.kind.as_str());
            let message = format!(
                "`{}` is set together with {} in {where_}, which takes only one of {}",
                f.field,
                backtick_list(&earlier_refs, "and"),
                backtick_list(&all, "or")
            );
            let span = f.key.map_or_else(|| f.node.span(), |k| k.span());
            let d = Diagnostic::new(&ConflictingFields::META, meta.file, span, message)
                .label(format!("conflicts with `{}`", earlier[0]))
                .help(format!(
                    "Keep one of {}; the API server rejects the object with more than one.{}",
                    backtick_list(&all, "or"),
                    if all.contains(&"exact") {
                        " To match either of two values, write two match requests."
                    } else {
                        ""
                    }
                ))
                .object(meta)
                .path(f.pointer.clone());
            let d = d.related(meta.file, *first, format!("`{}` is set here", earlier[0]));
            out.push(d);
        }
    }
}
