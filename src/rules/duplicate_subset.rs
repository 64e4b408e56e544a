use std::collections::BTreeMap;

use crate::declare_rule;
use crate::model::{SStr, Spec};
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a subset name used twice in one DestinationRule.
    ///
    /// ## Why is this bad?
    /// Istio's validation rejects the whole DestinationRule (`duplicate subset
    /// names`): with the validating webhook installed, `kubectl apply` or the
    /// GitOps sync fails and none of the rule's subsets or policies exist. Where
    /// validation is bypassed, istiod builds one cluster per subset name and keeps
    /// the first: the second definition (its labels and traffic policy) is
    /// silently ignored, so routes to that subset reach the pods of the first.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - {name: v1, labels: {version: v1}}
    ///   - {name: v1, labels: {version: v2}}
    /// ```
    /// Use instead: give each subset its own name (`v2` here), or remove the copy.
    pub DuplicateSubset {
        name: "duplicate-subset",
        severity: Error,
        kinds: [DestinationRule],
        upstream: [],
    }
}

impl Rule for DuplicateSubset {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let Spec::DestinationRule(dr) = &ctx.object.spec else {
            return;
        };
        let meta = &ctx.object.meta;
        let mut first: BTreeMap<&str, (&SStr, u64)> = BTreeMap::new();
        for subset in &dr.subsets {
            let Some(name) = &subset.name else {
                continue;
            };
            match first.get(name.value.as_str()) {
                None => {
                    first.insert(name.value.as_str(), (name, subset.fingerprint));
                }
                Some((original, fingerprint)) => {
                    let same = *fingerprint == subset.fingerprint;
                    let what = if same {
                        "an identical copy"
                    } else {
                        "a second definition, whose labels and policy Istio would ignore"
                    };
                    out.push(
                        Diagnostic::new(
                            &Self::META,
                            meta.file,
                            name.span,
                            format!(
                                "subset `{}` is defined twice in this DestinationRule ({what}): Istio's validation rejects the whole rule with `duplicate subset names`",
                                name.value
                            ),
                        )
                        .label("defined again")
                        .object(meta)
                        .path(format!("{}/name", subset.path))
                        .related(meta.file, original.span, "first defined here")
                        .help(format!(
                            "Rename this subset or remove it: subset names must be unique within a DestinationRule. Where validation is bypassed, istiod keeps the first `{}` and ignores this one.",
                            name.value
                        )),
                    );
                }
            }
        }
    }
}
