use crate::declare_rule;
use crate::report::Diagnostic;
use crate::rules::spec_walk::visit;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::text::backtick_list;

declare_rule! {
    /// Flags `retries` that set `retryOn`, `perTryTimeout` or
    /// `retryRemoteLocalities` while `attempts` is `0` or absent.
    ///
    /// `attempts` is a plain integer in Istio's API, so an absent `attempts`
    /// reads as `0`, and `0` means "retries disabled". Istio's webhook
    /// (`ValidateHTTPRetry`) rejects a retry policy that disables retries and
    /// configures them at the same time: "http retry policy configured when
    /// attempts are set to 0 (disabled)". An empty `retryOn: ""` does not count.
    /// `retries: {attempts: 0}` alone is valid: it turns off Istio's default
    /// retries.
    ///
    /// ## Why is this bad?
    /// The webhook rejects the whole VirtualService, so none of its changes
    /// apply. Where no webhook runs, istiod builds no retry policy at all for
    /// the route (not even Istio's default of 2 attempts), so the `retryOn`
    /// and `perTryTimeout` the author wrote do nothing.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: search, namespace: shop}
    /// spec:
    ///   hosts: [search]
    ///   http:
    ///   - route:
    ///     - destination: {host: search}
    ///     retries:
    ///       perTryTimeout: 2s
    ///       retryOn: connect-failure,refused-stream
    /// ```
    /// Use instead: set `attempts` (for example `attempts: 2`), or keep only
    /// `attempts: 0` to disable retries.
    pub RetriesWithoutAttempts {
        name: "retries-without-attempts",
        severity: Error,
        kinds: [VirtualService],
        upstream: ["IST0106"],
    }
}

const CONFIGURING: &[&str] = &["retryOn", "perTryTimeout", "retryRemoteLocalities"];

impl Rule for RetriesWithoutAttempts {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let meta = &ctx.object.meta;
        let base = meta.path("/spec");
        visit(spec, &base, "http[].retries", &mut |f| {
            let retries = f.value;
            let attempts = retries.entry("attempts").filter(|(_, v)| !v.is_null());
            let explicit_zero = match attempts {
                None => false,
                Some((_, v)) => match v.int() {
                    Some(0) => true,
                    _ => return,
                },
            };
            let set: Vec<_> = CONFIGURING
                .iter()
                .filter_map(|name| {
                    let (k, v) = retries.entry(name)?;
                    if v.is_null() || (*name == "retryOn" && v.str().is_some_and(str::is_empty)) {
                        return None;
                    }
                    Some((*name, k))
                })
                .collect();
            let Some((first_name, first_key)) = set.first().copied() else {
                return;
            };
            let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
            let fields = backtick_list(&names, "and");
            let verb = if names.len() == 1 { "is" } else { "are" };
            let diagnostic = if explicit_zero {
                let (_, value) = attempts.unwrap_or((first_key, first_key));
                let mut d = Diagnostic::new(
                    &RetriesWithoutAttempts::META,
                    meta.file,
                    value.span(),
                    format!(
                        "`attempts: 0` disables retries, yet {fields} {verb} set: Istio rejects a retry policy that is both disabled and configured"
                    ),
                )
                .label("retries disabled")
                .path(format!("{}/attempts", f.pointer));
                for (name, key) in &set {
                    d = d.related(
                        meta.file,
                        key.span(),
                        format!("`{name}` configures retries"),
                    );
                }
                d
            } else {
                let mut d = Diagnostic::new(
                    &RetriesWithoutAttempts::META,
                    meta.file,
                    first_key.span(),
                    format!(
                        "{fields} {verb} set but `attempts` is not: a missing `attempts` is `0` (retries disabled), and Istio rejects a retry policy that is both disabled and configured"
                    ),
                )
                .label("`attempts` missing")
                .path(format!("{}/{first_name}", f.pointer));
                for (name, key) in set.iter().skip(1) {
                    d = d.related(
                        meta.file,
                        key.span(),
                        format!("`{name}` configures retries too"),
                    );
                }
                d
            };
            out.push(
                diagnostic
                    .help(format!(
                        "Set `attempts` to the number of retries you want (for example `attempts: 2`), or remove {fields} and keep `attempts: 0` to disable retries."
                    ))
                    .object(meta),
            );
        });
    }
}
