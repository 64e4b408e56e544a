use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::{Diagnostic, Severity};
use crate::rules::http_routes::http_routes;
use crate::rules::spec_walk::set_entry;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::{backtick_list, closest};

declare_rule! {
    /// Flags HTTP fault injection that Istio rejects or ignores: a `fault`
    /// with neither `abort` nor `delay`; an `abort` with two error types, with
    /// `http2Error` (not supported), or with a `grpcStatus` that is not a gRPC
    /// status name (`UNAVAILABLE`, not `14` or `Unavailable`); a `delay` with
    /// `exponentialDelay` (not supported); a percentage between 0 and 0.0001.
    /// As warnings: an `abort` with no error type, and a `delay` with no
    /// `fixedDelay`.
    ///
    /// Istio takes the gRPC status names of the gRPC specification, written
    /// in upper case. A fault percentage is 0 or at least 0.0001 (Envoy's
    /// resolution is one in a million); the 0–100 range itself is
    /// `value-out-of-range`'s, durations are `invalid-duration`'s. A `fault`
    /// next to a `redirect` or `directResponse` is `invalid-route-action`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the VirtualService for the errors ("HTTP fault
    /// injection must have an abort and/or a delay", "gRPC status ... is not
    /// supported", "exponentialDelay not supported yet"), so none of its
    /// changes apply. An `abort` without an error type is accepted with a
    /// warning ("abort configured, but error type not set"), and a `delay`
    /// without `fixedDelay` is dropped when Istio builds the Envoy route: the
    /// fault experiment silently never happens.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: ratings, namespace: shop}
    /// spec:
    ///   hosts: [ratings]
    ///   http:
    ///   - fault:
    ///       abort:
    ///         grpcStatus: "14"
    ///         percentage: {value: 10}
    ///     route: [{destination: {host: ratings}}]
    /// ```
    /// Use instead: `grpcStatus: UNAVAILABLE`.
    pub InvalidFault {
        name: "invalid-fault",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106", "IST0133"],
    }
}

/// The gRPC status names Istio accepts, by code.
const GRPC_STATUS: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

const ERROR: &[&str] = &["IST0106"];
const WARNING: &[&str] = &["IST0133"];

impl Rule for InvalidFault {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let report = |span, path: String, message: String, label: &str, help: &str| {
            let mut d = Diagnostic::new(&InvalidFault::META, meta.file, span, message)
                .label(label)
                .help(help)
                .object(meta)
                .path(path);
            d.upstream = ERROR;
            d
        };

        for r in http_routes(ctx) {
            let Some((fault_key, fault)) = set_entry(r.node, "fault") else {
                continue;
            };
            if fault.shape() != Shape::Mapping {
                continue;
            }
            let base = format!("{}/fault", r.pointer);
            let abort = set_entry(fault, "abort").filter(|(_, v)| v.shape() == Shape::Mapping);
            let delay = set_entry(fault, "delay").filter(|(_, v)| v.shape() == Shape::Mapping);
            if set_entry(fault, "abort").is_none() && set_entry(fault, "delay").is_none() {
                out.push(report(
                    fault_key.span(),
                    base.clone(),
                    "`fault` has neither `abort` nor `delay`: it injects nothing, and Istio rejects the VirtualService".to_owned(),
                    "no `abort` or `delay`",
                    "Add an `abort` (with `httpStatus` or `grpcStatus`) or a `delay` (with `fixedDelay`), or remove `fault`.",
                ));
            }

            if let Some((abort_key, abort)) = abort {
                let abase = format!("{base}/abort");
                let types: Vec<(&str, Node<'_>, Node<'_>)> =
                    ["httpStatus", "grpcStatus", "http2Error"]
                        .into_iter()
                        .filter_map(|f| set_entry(abort, f).map(|(k, v)| (f, k, v)))
                        .collect();
                match types.as_slice() {
                    [] => {
                        let mut d = report(
                            abort_key.span(),
                            abase.clone(),
                            "`abort` sets no `httpStatus` or `grpcStatus`: Istio accepts it with a warning, and it has no error to answer with".to_owned(),
                            "no error type",
                            "Set `httpStatus` (such as 503) or `grpcStatus` (such as `UNAVAILABLE`).",
                        )
                        .severity(Severity::Warning);
                        d.upstream = WARNING;
                        out.push(d);
                    }
                    [_] => {}
                    [(first, fk, _), rest @ ..] => {
                        let names: Vec<&str> = types.iter().map(|(n, _, _)| *n).collect();
                        for (name, key, _) in rest {
                            out.push(
                                report(
                                    key.span(),
                                    format!("{abase}/{name}"),
                                    format!(
                                        "`abort` sets {}: an abort answers with one error, and the API server rejects the VirtualService",
                                        backtick_list(&names, "and")
                                    ),
                                    &format!("`{first}` is set too"),
                                    "Keep one error type.",
                                )
                                .related(meta.file, fk.span(), format!("`{first}` is set here")),
                            );
                        }
                    }
                }
                if let Some((_, key, _)) = types.iter().find(|(n, _, _)| *n == "http2Error") {
                    out.push(report(
                        key.span(),
                        format!("{abase}/http2Error"),
                        "`http2Error` aborts are not supported: Istio rejects the VirtualService"
                            .to_owned(),
                        "not supported",
                        "Abort with `httpStatus` or `grpcStatus` instead.",
                    ));
                }
                if let Some((_, _, value)) = types.iter().find(|(n, _, _)| *n == "grpcStatus")
                    // A number is a type error the schema rules report.
                    && value.int().is_none()
                    && value.shape() == Shape::Scalar
                    && let Some(text) = value.str()
                    && !GRPC_STATUS.contains(&text)
                {
                    let suggestion = grpc_suggestion(text);
                    let help = match suggestion {
                        Some(s) => format!("Write `grpcStatus: {s}`."),
                        None => format!(
                            "Use one of the {} gRPC status names, in upper case: {}.",
                            GRPC_STATUS.len(),
                            backtick_list(&GRPC_STATUS, "or")
                        ),
                    };
                    out.push(report(
                        value.span(),
                        format!("{abase}/grpcStatus"),
                        format!(
                            "`grpcStatus: {}` is not a gRPC status name Istio knows: Istio rejects the VirtualService",
                            if text.is_empty() { "\"\"" } else { text }
                        ),
                        &suggestion.map_or_else(
                            || "unknown gRPC status".to_owned(),
                            |s| format!("did you mean `{s}`?"),
                        ),
                        &help,
                    ));
                }
                check_percentage(abort, &abase, "abort", &report, out);
            }

            if let Some((delay_key, delay)) = delay {
                let dbase = format!("{base}/delay");
                if let Some((key, _)) = set_entry(delay, "exponentialDelay") {
                    out.push(report(
                        key.span(),
                        format!("{dbase}/exponentialDelay"),
                        "`exponentialDelay` is not supported: Istio rejects the VirtualService"
                            .to_owned(),
                        "not supported",
                        "Use `fixedDelay` instead.",
                    ));
                } else if set_entry(delay, "fixedDelay").is_none() {
                    let mut d = report(
                        delay_key.span(),
                        dbase.clone(),
                        "`delay` has no `fixedDelay`: Istio accepts it but drops the delay, so no request is delayed".to_owned(),
                        "no `fixedDelay`",
                        "Set `fixedDelay` (such as `5s`) to the delay to inject.",
                    )
                    .severity(Severity::Warning);
                    d.upstream = &[];
                    out.push(d);
                }
                check_percentage(delay, &dbase, "delay", &report, out);
            }
        }
    }
}

/// A `percentage.value` strictly between 0 and 0.0001.
fn check_percentage(
    node: Node<'_>,
    base: &str,
    what: &str,
    report: &dyn Fn(crate::source::Span, String, String, &str, &str) -> Diagnostic,
    out: &mut Vec<Diagnostic>,
) {
    let Some(value) = node.get("percentage").and_then(|p| p.get("value")) else {
        return;
    };
    let Some(v) = value.float() else { return };
    if v > 0.0 && v < 0.0001 {
        let text = value.scalar_text().unwrap_or_default();
        out.push(report(
            value.span(),
            format!("{base}/percentage/value"),
            format!(
                "{what} `percentage.value: {text}` is below 0.0001, the smallest share Istio accepts other than 0: Istio rejects the VirtualService"
            ),
            "below 0.0001",
            "Use 0 to turn the fault off, or a percentage of at least 0.0001 (one request in a million).",
        ));
    }
}

/// The status name meant by `text`: its code (`14`), its spelling in another
/// case or with `-`/spaces (`Unavailable`, `not-found`), or a close typo.
fn grpc_suggestion(text: &str) -> Option<&'static str> {
    if let Ok(code) = text.trim().parse::<usize>() {
        return GRPC_STATUS.get(code).copied();
    }
    let normal: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let normal = if normal == "CANCELED" {
        "CANCELLED".to_owned()
    } else {
        normal
    };
    if let Some(exact) = GRPC_STATUS.iter().find(|s| **s == normal) {
        return Some(exact);
    }
    closest(&normal, GRPC_STATUS)
}

#[cfg(test)]
mod tests {
    use super::grpc_suggestion;

    #[test]
    fn grpc_suggestions() {
        assert_eq!(grpc_suggestion("14"), Some("UNAVAILABLE"));
        assert_eq!(grpc_suggestion("Unavailable"), Some("UNAVAILABLE"));
        assert_eq!(grpc_suggestion("not-found"), Some("NOT_FOUND"));
        assert_eq!(grpc_suggestion("Canceled"), Some("CANCELLED"));
        assert_eq!(grpc_suggestion("UNAVAILIBLE"), Some("UNAVAILABLE"));
        assert_eq!(grpc_suggestion("99"), None);
        assert_eq!(grpc_suggestion("banana"), None);
    }
}
