use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::schema_findings::{findings, subject};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::Ty;
use crate::schema::walk::{Ambiguity, Problem};

declare_rule! {
    /// Flags an unquoted scalar that YAML 1.1 and YAML 1.2 read differently,
    /// in a field where the difference matters: `yes`, `no`, `on`, `off`, `y`,
    /// `n` (in any capitalisation YAML 1.1 allows) in a string, int-or-string or
    /// boolean field, and a leading-zero number such as `0777` in a string or
    /// number field.
    ///
    /// Kubernetes decodes manifests as YAML 1.1 (`kubectl`, client-go): there
    /// `on` is the boolean `true` and `0777` the octal number 511. Tools built
    /// on YAML 1.2 (kustomize, yq, most editors and formatters) read `on` as the
    /// string "on" and `0777` as 777. The same file then means different things
    /// depending on the tool that carries it to the cluster. Checked fields are
    /// those of the Istio schema and the label and annotation values of every
    /// object. `true` and `false` are booleans in both versions and are left to
    /// `invalid-field-type`.
    ///
    /// ## Why is this bad?
    /// With `kubectl apply`, a header match `exact: on` or a label
    /// `feature: off` is a boolean where a string is required, and the object
    /// is rejected; passed through kustomize, the same manifest applies with
    /// the string. An octal-looking number silently becomes another number.
    /// Either way the result depends on the toolchain, not on what was written.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: reviews}
    /// spec:
    ///   hosts: [reviews]
    ///   http:
    ///   - match:
    ///     - headers:
    ///         x-beta: {exact: yes}
    ///     route:
    ///     - destination: {host: reviews, subset: beta}
    /// ```
    /// Use instead: `exact: "yes"`.
    pub AmbiguousScalar {
        name: "ambiguous-scalar",
        severity: Warning,
        kinds: [Any],
        upstream: [],
    }
}

impl Rule for AmbiguousScalar {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let schema = crate::schema::embedded();
        for f in findings(ctx) {
            let Problem::Ambiguous(a) = f.problem else {
                continue;
            };
            let ty = if f.schema == u32::MAX {
                Ty::String
            } else {
                schema.map_or(Ty::Any, |s| s.node(f.schema).ty)
            };
            let text = f.node.scalar_text().unwrap_or("");
            let what = subject(f);
            let (message, help) = match a {
                Ambiguity::Bool(b) => {
                    let message = format!(
                        "unquoted `{text}` in {what} is the boolean `{b}` to Kubernetes (YAML 1.1) but the string \"{text}\" to YAML 1.2 tools such as kustomize"
                    );
                    let help = if ty == Ty::Boolean {
                        format!("Write `{b}`, which every YAML version reads as a boolean.")
                    } else {
                        format!(
                            "Quote it (`\"{text}\"`) so that every tool passes the string; as written, `kubectl apply` sends `{b}` and the API server rejects a boolean here."
                        )
                    };
                    (message, help)
                }
                Ambiguity::Octal { value } => {
                    let decimal = text.trim_start_matches(['-', '+']).trim_start_matches('0');
                    let message = format!(
                        "unquoted `{text}` in {what} is the octal number {value} to Kubernetes (YAML 1.1) but {decimal} to YAML 1.2 tools such as kustomize"
                    );
                    let help = if matches!(ty, Ty::String | Ty::IntOrString) {
                        format!(
                            "Quote it (`\"{text}\"`) if it is a string, or write the number without the leading zero."
                        )
                    } else {
                        format!(
                            "Write the number without the leading zero: `{value}` or `{decimal}`, whichever is meant."
                        )
                    };
                    (message, help)
                }
            };
            out.push(
                Diagnostic::new(&AmbiguousScalar::META, meta.file, f.node.span(), message)
                    .label("read differently by YAML 1.1 and 1.2")
                    .help(help)
                    .object(meta)
                    .path(f.pointer.clone()),
            );
        }
    }
}
