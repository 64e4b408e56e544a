use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, subject};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::walk::Problem;
use crate::text::closest;

declare_rule! {
    /// Flags a value outside the set its field allows: `simple:
    /// LEAST_CONNECTION`, `mode: mutual`, `protocol: https2`, with the closest
    /// allowed value. Values are compared exactly, as the API server compares
    /// them: enums are case-sensitive.
    ///
    /// The allowed values come from the schema embedded from Istio's CRDs.
    /// Deprecated aliases Istio still accepts (`LEAST_CONN` for `LEAST_REQUEST`)
    /// are valid, but a suggestion never points at one: it names the value to
    /// use today.
    ///
    /// ## Why is this bad?
    /// The API server rejects the object (`Unsupported value`), so the change
    /// never applies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     loadBalancer:
    ///       simple: LEAST_CONNECTION
    /// ```
    /// Use instead: `simple: LEAST_REQUEST`.
    pub InvalidEnum {
        name: "invalid-enum",
        severity: Error,
        kinds: [Any],
        upstream: [],
    }
}

/// Values Istio keeps as deprecated aliases: (alias, value to use).
const ALIASES: &[(&str, &str)] = &[("LEAST_CONN", "LEAST_REQUEST")];

impl Rule for InvalidEnum {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let Some(schema) = crate::schema::embedded() else {
            return;
        };
        for f in findings(ctx) {
            if !matches!(f.problem, Problem::BadEnum) {
                continue;
            }
            let allowed = &schema.node(f.schema).enumeration;
            let value = f.node.scalar_text().unwrap_or("");
            let list = render_allowed(allowed);
            let message = format!(
                "`{value}` is not an allowed value of {}: expected {list}",
                subject(f)
            );
            let mut d = Diagnostic::new(&InvalidEnum::META, meta.file, f.node.span(), message)
                .label("not allowed")
                .object(meta)
                .path(f.pointer.clone());
            d = match suggest(value, allowed) {
                Some((s, Some(alias))) => d.help(format!(
                    "Did you mean `{s}`? (`{alias}` is a deprecated alias of it.)"
                )),
                Some((s, None)) => d.help(format!("Did you mean `{s}`?")),
                None => d.help(format!("Use one of {list}.")),
            };
            out.push(d);
        }
    }
}

/// "`A`, `B` or `LEAST_CONN` (deprecated alias of `LEAST_REQUEST`)".
fn render_allowed(allowed: &[String]) -> String {
    let shown: Vec<String> = allowed
        .iter()
        .map(|a| match ALIASES.iter().find(|(alias, _)| alias == a) {
            Some((_, to)) => format!("`{a}` (deprecated alias of `{to}`)"),
            None => format!("`{a}`"),
        })
        .collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The allowed value the author most likely meant, and the deprecated alias
/// that led to it, if any.
fn suggest<'a>(value: &str, allowed: &'a [String]) -> Option<(&'a str, Option<&'a str>)> {
    let upper = value.to_ascii_uppercase().replace('-', "_");
    let pick = allowed
        .iter()
        .find(|a| a.to_ascii_uppercase().replace('-', "_") == upper)
        .map(String::as_str)
        .or_else(|| {
            // A longer or shorter spelling of one value (`LEAST_CONNECTION`).
            let mut by_prefix = allowed.iter().filter(|a| {
                let a = a.to_ascii_uppercase();
                a.len().min(upper.len()) >= 4 && (upper.starts_with(&a) || a.starts_with(&upper))
            });
            match (by_prefix.next(), by_prefix.next()) {
                (Some(one), None) => Some(one.as_str()),
                _ => None,
            }
        })
        .or_else(|| closest(value, allowed.iter().map(String::as_str)))
        .or_else(|| closest(&upper, allowed.iter().map(String::as_str)))?;
    match ALIASES.iter().find(|(alias, _)| *alias == pick) {
        Some((alias, to)) => allowed
            .iter()
            .find(|a| a == to)
            .map(|t| (t.as_str(), Some(*alias))),
        None => Some((pick, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggestions() {
        let lb: Vec<String> = [
            "UNSPECIFIED",
            "RANDOM",
            "PASSTHROUGH",
            "ROUND_ROBIN",
            "LEAST_REQUEST",
            "LEAST_CONN",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            suggest("LEAST_CONNECTION", &lb),
            Some(("LEAST_REQUEST", Some("LEAST_CONN")))
        );
        assert_eq!(suggest("round_robin", &lb), Some(("ROUND_ROBIN", None)));
        assert_eq!(suggest("ROUNDROBIN", &lb), Some(("ROUND_ROBIN", None)));
        assert_eq!(suggest("WEIGHTED", &lb), None);
    }
}
