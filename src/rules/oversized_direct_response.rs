use crate::declare_rule;
use crate::report::{Diagnostic, Severity};
use crate::rules::http_routes::http_routes;
use crate::rules::spec_walk::set_entry;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a `directResponse` body larger than Istio allows: over 1 MiB
    /// (1,048,576 bytes) is an error, over 100 KiB (102,400 bytes) a warning.
    ///
    /// The size is that of the body Envoy sends: the UTF-8 bytes of
    /// `body.string`, and the decoded bytes of `body.bytes` (which is written
    /// in base64, four characters for three bytes).
    ///
    /// ## Why is this bad?
    /// The body is part of the route configuration istiod pushes to every
    /// proxy the VirtualService applies to, each time that configuration
    /// changes. Istio's webhook rejects a body over 1 MiB ("large
    /// direct_responses may impact control plane performance, must be less
    /// than 1MB") and warns above 100 KiB.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: maintenance, namespace: shop}
    /// spec:
    ///   hosts: [shop.example.com]
    ///   gateways: [shop/public]
    ///   http:
    ///   - directResponse:
    ///       status: 503
    ///       body:
    ///         string: |
    ///           <html>... 300 KB of inlined images ...</html>
    /// ```
    /// Use instead: a small page that links its images, or a route to a
    /// service that serves the maintenance page.
    pub OversizedDirectResponse {
        name: "oversized-direct-response",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106", "IST0133"],
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

impl Rule for OversizedDirectResponse {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        for r in http_routes(ctx) {
            let Some(body) = set_entry(r.node, "directResponse").and_then(|(_, d)| d.get("body"))
            else {
                continue;
            };
            for field in ["string", "bytes"] {
                let Some((key, value)) = set_entry(body, field) else {
                    continue;
                };
                let Some(text) = value.str() else { continue };
                let size = if field == "string" {
                    Some(text.len())
                } else {
                    base64_decoded_len(text)
                };
                let Some(size) = size else { continue };
                let (severity, limit, upstream, verdict): (_, _, &'static [&'static str], _) =
                    if size > MIB {
                        (
                            Severity::Error,
                            "1 MiB (1,048,576 bytes)",
                            &["IST0106"],
                            "Istio rejects the VirtualService",
                        )
                    } else if size > 100 * KIB {
                        (
                            Severity::Warning,
                            "100 KiB (102,400 bytes)",
                            &["IST0133"],
                            "Istio accepts it with a warning, as every proxy it applies to receives the body with each configuration push",
                        )
                    } else {
                        continue;
                    };
                let decoded = if field == "bytes" {
                    " once decoded"
                } else {
                    ""
                };
                let mut d = Diagnostic::new(
                    &OversizedDirectResponse::META,
                    meta.file,
                    key.span(),
                    format!(
                        "the direct response body is {} bytes{decoded}, over {limit}: {verdict}",
                        thousands(size)
                    ),
                )
                .label(format!("{} bytes", thousands(size)))
                .help("Keep the body small (an error message or a short page that links its assets), or route to a service that serves the content.")
                .object(meta)
                .path(format!("{}/directResponse/body/{field}", r.pointer))
                .severity(severity);
                d.upstream = upstream;
                out.push(d);
            }
        }
    }
}

/// The number of bytes `text` decodes to as base64 (standard or URL-safe,
/// padded or not; line breaks ignored, as Go's decoder does), or `None` when
/// it is not base64.
fn base64_decoded_len(text: &str) -> Option<usize> {
    let mut chars = 0usize;
    let mut padding = false;
    for c in text.bytes() {
        match c {
            b'\r' | b'\n' => {}
            b'=' => padding = true,
            c if !padding
                && (c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')) =>
            {
                chars += 1;
            }
            _ => return None,
        }
    }
    Some(chars * 3 / 4)
}

/// `123456` as `123,456`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Severity;
    use crate::{Inputs, Options, check};

    /// (severity, message) of each finding on a body of `field` holding `text`.
    fn findings(field: &str, text: &str) -> Vec<(Severity, String)> {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: big, namespace: shop}}\nspec:\n  hosts: [big]\n  http:\n  - directResponse:\n      status: 200\n      body:\n        {field}: {text}\n"
        );
        let opts = Options {
            select: Some(vec!["oversized-direct-response".to_owned()]),
            ..Options::default()
        };
        let inputs = Inputs {
            paths: Vec::new(),
            stdin: Some(("big.yaml".to_owned(), yaml.into_bytes())),
        };
        check(&inputs, &opts)
            .map(|r| {
                r.diagnostics
                    .into_iter()
                    .map(|d| (d.severity, d.message))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn thresholds_of_string_and_bytes_bodies() {
        assert!(findings("string", &"a".repeat(100 * KIB)).is_empty());
        let warn = findings("string", &"a".repeat(100 * KIB + 1));
        assert_eq!(warn.len(), 1);
        assert_eq!(warn[0].0, Severity::Warning);
        assert!(findings("string", &"a".repeat(MIB)).len() == 1);
        let err = findings("string", &"a".repeat(MIB + 1));
        assert_eq!(err[0].0, Severity::Error);
        assert!(err[0].1.contains("1,048,577 bytes"), "{}", err[0].1);
        // 1,048,577 bytes as base64 (padded): more than 1 MiB once decoded.
        let b64 = format!("{}QUI=", "QUJD".repeat(MIB / 3));
        let err = findings("bytes", &b64);
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].0, Severity::Error);
        assert!(err[0].1.contains("once decoded"), "{}", err[0].1);
        // The same text as a string is larger, but bytes are measured decoded.
        assert!(findings("bytes", &"QUJD".repeat(34_000)).is_empty());
    }

    #[test]
    fn base64_sizes() {
        assert_eq!(base64_decoded_len("aGVsbG8="), Some(5));
        assert_eq!(base64_decoded_len("aGVsbG8"), Some(5));
        assert_eq!(base64_decoded_len("aGVs\nbG8h"), Some(6));
        assert_eq!(base64_decoded_len("not base64!"), None);
        assert_eq!(base64_decoded_len(&"QUJD".repeat(400_000)), Some(1_200_000));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(5), "5");
        assert_eq!(thousands(102_400), "102,400");
        assert_eq!(thousands(1_048_577), "1,048,577");
    }
}
