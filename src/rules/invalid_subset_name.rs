use crate::declare_rule;
use crate::model::{SStr, Spec};
use crate::report::Diagnostic;
use crate::rules::spec_walk::is_dns1123_label;
use crate::rules::{ObjectContext, Rule, RuleMeta};

declare_rule! {
    /// Flags a subset name Istio's validation rejects: a DestinationRule
    /// `subsets[].name`, or the `subset` of a VirtualService route, mirror or
    /// mirrors destination, that is not a DNS-1123 label (`v1.2`,
    /// `Not_A_Label`), and a DestinationRule subset whose `name` is empty.
    ///
    /// A subset name is at most 63 letters, digits and `-`, starting and
    /// ending with a letter or digit; it is part of the Envoy cluster name
    /// (`outbound|9080|v1|reviews.shop.svc.cluster.local`). A destination that
    /// names a subset no DestinationRule declares is also reported by
    /// `undeclared-subset`: the two findings say different things, and fixing
    /// the name in both places fixes both.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole object, so none of its routes or
    /// policies change. Version numbers are the usual culprit: `v1.2` reads
    /// like a version but is not a subset name.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - name: v1.2
    ///     labels: {version: v1.2}
    /// ```
    /// Use instead: `name: v1-2` (label values may keep their dots:
    /// `labels: {version: v1.2}`).
    pub InvalidSubsetName {
        name: "invalid-subset-name",
        severity: Error,
        kinds: [VirtualService, DestinationRule],
        upstream: ["IST0106"],
    }
}

/// A subset name Istio would accept, close to `name`, if there is an obvious one.
fn suggestion(name: &str) -> Option<String> {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    (is_dns1123_label(&s) && s != name).then_some(s)
}

fn report(
    ctx: &ObjectContext<'_>,
    name: &SStr,
    path: String,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let meta = &ctx.object.meta;
    let written = name.value.as_str();
    let (message, help) = if written.is_empty() {
        (
            format!("{what} name is empty, which Istio rejects"),
            "Give the subset a name: letters, digits and `-`, such as `v1`.".to_owned(),
        )
    } else {
        let why = if written.len() > 63 {
            format!("it has {} characters, more than 63", written.len())
        } else if let Some(c) = written
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            format!("it contains `{c}`")
        } else {
            "it starts or ends with `-`".to_owned()
        };
        let help = match suggestion(written) {
            Some(s) => format!(
                "A subset name is letters, digits and `-`: write `{s}` (here and wherever the subset is named)."
            ),
            None => "A subset name is at most 63 letters, digits and `-`, starting and ending with a letter or digit.".to_owned(),
        };
        (
            format!("{what} `{written}` is not a valid subset name ({why}), which Istio rejects"),
            help,
        )
    };
    out.push(
        Diagnostic::new(&InvalidSubsetName::META, meta.file, name.span, message)
            .label("invalid subset name")
            .help(help)
            .object(meta)
            .path(path),
    );
}

impl Rule for InvalidSubsetName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        match &ctx.object.spec {
            Spec::VirtualService(vs) => {
                for d in vs.destinations() {
                    let dest = d.destination;
                    if let Some(subset) = &dest.subset
                        && !subset.value.is_empty()
                        && !is_dns1123_label(&subset.value)
                    {
                        let what = format!("{} destination subset", d.usage.word());
                        report(ctx, subset, format!("{}/subset", dest.path), &what, out);
                    }
                }
            }
            Spec::DestinationRule(dr) => {
                for s in &dr.subsets {
                    if let Some(name) = &s.name
                        && !is_dns1123_label(&name.value)
                    {
                        report(ctx, name, format!("{}/name", s.path), "subset", out);
                    }
                }
            }
            _ => {}
        }
    }
}
