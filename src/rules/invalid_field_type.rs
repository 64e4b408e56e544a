use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, subject, value_span};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::Ty;
use crate::schema::walk::{Finding, Found, Problem};

declare_rule! {
    /// Flags a value of the wrong type for its field, as the API server sees it:
    /// a number or boolean where a string is expected (a label value
    /// `version: 2`, a header match `exact: true`), a quoted `"80"` where an
    /// integer is expected, a single value where a list is expected
    /// (`hosts: reviews`), a scalar where a mapping is expected.
    ///
    /// Values are read as Kubernetes reads them, with YAML 1.1: `2` is an
    /// integer and `"2"` a string, `true` a boolean. Istio kinds are checked
    /// against the schema embedded from Istio's CRDs; `metadata` (names, label
    /// and annotation values) of every object against Kubernetes' ObjectMeta.
    /// Plain `yes`, `on`, `0777` and the like, which YAML 1.1 and YAML 1.2 read
    /// differently, are left to `ambiguous-scalar`.
    ///
    /// ## Why is this bad?
    /// The API server rejects the object (`must be of type string`), so the
    /// whole change fails to apply; with a pipeline that only renders, the error
    /// surfaces at sync time, far from the pull request.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews}
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - name: v2
    ///     labels: {version: 2}
    /// ```
    /// Use instead: `labels: {version: "2"}`.
    pub InvalidFieldType {
        name: "invalid-field-type",
        severity: Error,
        kinds: [Any],
        upstream: [],
    }
}

impl Rule for InvalidFieldType {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let schema = crate::schema::embedded();
        for f in findings(ctx) {
            let Problem::WrongType(found) = f.problem else {
                continue;
            };
            let expected = if f.schema == u32::MAX {
                if f.field == "metadata" || f.field == "labels" || f.field == "annotations" {
                    Ty::Map
                } else {
                    Ty::String
                }
            } else {
                schema.map_or(Ty::Any, |s| s.node(f.schema).ty)
            };
            let what = subject(f);
            let duration = f.schema != u32::MAX
                && schema.is_some_and(|s| s.node(f.schema).format.as_deref() == Some("duration"));
            let expected_text = if duration {
                "a duration string such as `5s`"
            } else {
                expected.describe()
            };
            let message = format!("{what} must be {expected_text}, not {}", found.describe());
            out.push(
                Diagnostic::new(&InvalidFieldType::META, meta.file, value_span(f), message)
                    .label(format!("{} here", found.describe()))
                    .help(match duration {
                        true => format!(
                            "Write a duration with a unit, such as `\"{}s\"` or `\"250ms\"`.",
                            f.node.scalar_text().unwrap_or("5")
                        ),
                        _ => help(f, expected, found),
                    })
                    .object(meta)
                    .path(f.pointer.clone()),
            );
        }
    }
}

fn help(f: &Finding<'_>, expected: Ty, found: Found) -> String {
    let text = f.node.scalar_text().unwrap_or("");
    let key = if f.field.starts_with('[') || f.field.starts_with('{') {
        None
    } else {
        Some(f.field.as_str())
    };
    match (expected, found) {
        (Ty::String, Found::Int | Found::Float | Found::Bool) => {
            format!("Quote the value: `\"{text}\"`.")
        }
        (Ty::Integer | Ty::Number, Found::String) if text.trim().parse::<f64>().is_ok() => {
            format!("Write the number without quotes: `{}`.", text.trim())
        }
        (Ty::Boolean, Found::String)
            if matches!(text.to_ascii_lowercase().as_str(), "true" | "false") =>
        {
            format!(
                "Write the boolean without quotes: `{}`.",
                text.to_ascii_lowercase()
            )
        }
        (Ty::Array, Found::String | Found::Int | Found::Float | Found::Bool) => match key {
            Some(k) => format!("Write a list, even for one value: `{k}: [{text}]`."),
            None => format!("Write a list, even for one value: `[{text}]`."),
        },
        (Ty::String | Ty::IntOrString, Found::Mapping)
            if f.node.entries().count() == 1
                && f.node.entries().all(|(k, v)| {
                    v.is_null() && k.scalar_text().is_some_and(|t| t.ends_with(':'))
                }) =>
        {
            let k = f
                .node
                .entries()
                .next()
                .and_then(|(k, _)| k.scalar_text())
                .unwrap_or("");
            format!(
                "Quote the value (`\"{k}:\"`): YAML reads a `:` right before `]`, `}}` or `,` as a key separator, which makes this a mapping."
            )
        }
        (Ty::Array, Found::Mapping) => {
            "Write a list of mappings: start the mapping with `- `.".to_owned()
        }
        (Ty::Object | Ty::Map, Found::Sequence) => {
            "Write a mapping, not a list: remove the `- ` in front of its fields.".to_owned()
        }
        _ => format!("Write {} here.", expected.describe()),
    }
}
