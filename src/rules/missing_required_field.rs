use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, first_line, last_segment};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::walk::Problem;

declare_rule! {
    /// Flags a field Istio's schema requires that is absent (or `null`): a
    /// route `destination` without `host`, a subset without `name`, a
    /// DestinationRule without `host`, a ServiceEntry without `hosts`, a
    /// Gateway server port without `number`, `protocol` or `name`.
    ///
    /// Required fields come from the schema embedded from Istio's CRDs. A
    /// field written as `null` counts as absent: the API server prunes nulls
    /// before it validates.
    ///
    /// `istioctl analyze` reports a VirtualService route without a destination
    /// host as IST0101 (a reference to host `""` that is not found), so those
    /// findings carry that code.
    ///
    /// ## Why is this bad?
    /// The API server rejects the object (`Required value`), so nothing in
    /// the change applies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - route:
    ///     - destination: {subset: v2}
    /// ```
    /// Use instead: `destination: {host: reviews, subset: v2}`.
    pub MissingRequiredField {
        name: "missing-required-field",
        severity: Error,
        kinds: [Any],
        upstream: ["IST0101"],
    }
}

impl Rule for MissingRequiredField {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for f in findings(ctx) {
            if !matches!(f.problem, Problem::Missing) {
                continue;
            }
            let field = &f.field;
            let (span, holder) = if f.parent_path.is_empty() {
                (
                    meta.kind.span,
                    format!("{} `{}`", meta.kind.as_str(), meta.name()),
                )
            } else {
                let last = last_segment(&f.parent_path);
                let holder = if f.parent_path.ends_with("[]") {
                    format!("an item of `{last}`")
                } else {
                    format!("`{last}`")
                };
                let span = f.key.map_or_else(|| first_line(f.node), |k| k.span());
                (span, holder)
            };
            let message = format!("{holder} has no `{field}`, which is required");
            let place = if f.parent_path.is_empty() {
                "the object".to_owned()
            } else {
                format!("`{}`", f.parent_path)
            };
            let mut d = Diagnostic::new(&MissingRequiredField::META, meta.file, span, message)
                .label(format!("`{field}` missing"))
                .help(format!(
                    "Add `{field}` to {place}: the API server rejects the object without it."
                ))
                .object(meta)
                .path(format!("{}/{}", f.pointer, field));
            // istioctl analyze reads a route without a destination host as a
            // reference to host "" and reports it as not found.
            d.upstream = if names_no_destination_host(meta.kind.as_str(), &f.parent_path, field) {
                &["IST0101"]
            } else {
                &[]
            };
            out.push(d);
        }
    }
}

/// True for a VirtualService route item without `destination`, or a route or
/// mirror destination without `host`.
fn names_no_destination_host(kind: &str, parent: &str, field: &str) -> bool {
    kind == "VirtualService"
        && match field {
            "destination" => parent.ends_with(".route[]"),
            "host" => parent.ends_with(".destination") || parent.ends_with(".mirror"),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::names_no_destination_host;

    #[test]
    fn only_virtual_service_destinations_map_to_host_not_found() {
        assert!(names_no_destination_host(
            "VirtualService",
            "spec.http[].route[]",
            "destination"
        ));
        assert!(names_no_destination_host(
            "VirtualService",
            "spec.tcp[].route[].destination",
            "host"
        ));
        assert!(names_no_destination_host(
            "VirtualService",
            "spec.http[].mirror",
            "host"
        ));
        assert!(!names_no_destination_host(
            "DestinationRule",
            "spec",
            "host"
        ));
        assert!(!names_no_destination_host(
            "VirtualService",
            "spec.http[].route[].destination.port",
            "number"
        ));
    }
}
