use crate::declare_rule;
use crate::model::Spec;
use crate::model::node::Shape;
use crate::report::Diagnostic;
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::schema::walk::{Found, classify};

declare_rule! {
    /// Flags an object without `metadata.name`, and a `metadata.name` or
    /// `metadata.namespace` the API server would refuse.
    ///
    /// Names follow the rules of the kind: a Namespace name and every
    /// `metadata.namespace` must be a DNS-1123 label (lowercase letters,
    /// digits and `-`, at most 63 characters, starting and ending with a letter
    /// or digit); a Service name a DNS-1035 label (the same, starting with a
    /// letter); an Istio Gateway name a DNS-1123 label too (Istio's webhook
    /// rejects dots there); RBAC names may hold any character but `/` and `%`;
    /// every other name must be a DNS-1123 subdomain (labels as above joined by
    /// dots, at most 253 characters; as Kubernetes checks it, a part between
    /// dots may be longer than 63 characters). Values with template placeholders (`$`,
    /// `{{`, `<...>`) are left alone, and so are objects without `metadata` of
    /// kinds meshvet does not know (client-side configuration files such as a
    /// kind or kubeadm config).
    ///
    /// ## Why is this bad?
    /// The API server rejects the object (`Invalid value: ... a lowercase RFC
    /// 1123 subdomain must consist of ...`, or `name or generateName is
    /// required`), so nothing in the change applies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata:
    ///   name: Reviews_DR
    ///   namespace: Shop
    /// spec:
    ///   host: reviews
    /// ```
    /// Use instead: `name: reviews-dr` and `namespace: shop`.
    pub InvalidName {
        name: "invalid-name",
        severity: Error,
        kinds: [Any],
        upstream: [],
    }
}

/// Which naming rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// DNS-1123 subdomain.
    Subdomain,
    /// DNS-1123 label.
    Label,
    /// DNS-1035 label (starts with a letter).
    Label1035,
    /// A path segment (RBAC names).
    PathSegment,
}

impl Syntax {
    fn describe(self) -> &'static str {
        match self {
            Syntax::Subdomain => {
                "a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters)"
            }
            Syntax::Label => {
                "a DNS-1123 label (lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters)"
            }
            Syntax::Label1035 => {
                "a DNS-1035 label (lowercase letters, digits and `-`, starting with a letter and ending with a letter or digit, at most 63 characters)"
            }
            Syntax::PathSegment => "a path segment (no `/` or `%`, not `.` or `..`)",
        }
    }
}

impl Rule for InvalidName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        let kind = meta.kind.as_str();
        let metadata = ctx.tree.entry("metadata");
        let name_node = metadata.and_then(|(_, m)| m.get("name"));
        let generate = metadata.and_then(|(_, m)| m.get("generateName"));
        if name_node.is_none_or(|n| n.is_null()) {
            if generate.is_some_and(|g| !g.is_null()) {
                return;
            }
            let known = !matches!(ctx.object.spec, Spec::Other)
                || is_api_kind(&meta.group, kind)
                || crate::schema::embedded().is_some_and(|s| s.knows_kind(&meta.group, kind));
            let has_metadata = metadata.is_some_and(|(_, m)| m.shape() == Shape::Mapping);
            if !known && !has_metadata {
                return;
            }
            let span = metadata.map_or(meta.kind.span, |(k, _)| k.span());
            out.push(
                Diagnostic::new(
                    &InvalidName::META,
                    meta.file,
                    span,
                    format!("{kind} has no `metadata.name`"),
                )
                .label("no name")
                .help("Give the object a `name` under `metadata`: the API server rejects an object without one.")
                .object(meta)
                .path(meta.path("/metadata")),
            );
            return;
        }
        let syntax = match (meta.group.as_str(), kind) {
            ("", "Namespace") => Syntax::Label,
            ("", "Service") => Syntax::Label1035,
            ("networking.istio.io", "Gateway") => Syntax::Label,
            ("rbac.authorization.k8s.io", _) => Syntax::PathSegment,
            _ => Syntax::Subdomain,
        };
        let fields = [
            ("name", name_node, syntax),
            (
                "namespace",
                metadata.and_then(|(_, m)| m.get("namespace")),
                Syntax::Label,
            ),
        ];
        for (field, node, syntax) in fields {
            let Some(node) = node else { continue };
            if classify(node) != Found::String {
                continue;
            }
            let Some(value) = node.scalar_text() else {
                continue;
            };
            if is_placeholder(value) {
                continue;
            }
            let Some(problem) = check(value, syntax) else {
                continue;
            };
            let what = if field == "name" && syntax != Syntax::Subdomain {
                format!("a {kind} name")
            } else if field == "name" {
                "a name".to_owned()
            } else {
                "a namespace".to_owned()
            };
            let mut help = format!("{} must be {}.", capitalize(&what), syntax.describe());
            let fixed = sanitize(value, syntax);
            if !fixed.is_empty() && check(&fixed, syntax).is_none() {
                help = format!(
                    "Rename it, for example to `{fixed}`: {help}",
                    help = lower_first(&help)
                );
            }
            out.push(
                Diagnostic::new(
                    &InvalidName::META,
                    meta.file,
                    node.span(),
                    format!("`{value}` is not valid as {what}: it {problem}"),
                )
                .label(format!("invalid {field}"))
                .help(help)
                .object(meta)
                .path(meta.path(&format!("/metadata/{field}"))),
            );
        }
    }
}

/// Kinds served by the API server (as opposed to client-side configuration
/// files that borrow `apiVersion`/`kind`, such as a kubeconfig's `v1` `Config`).
fn is_api_kind(group: &str, kind: &str) -> bool {
    match group {
        "" => matches!(
            kind,
            "ConfigMap"
                | "Secret"
                | "ServiceAccount"
                | "Pod"
                | "Service"
                | "Namespace"
                | "Endpoints"
                | "PersistentVolume"
                | "PersistentVolumeClaim"
                | "LimitRange"
                | "ResourceQuota"
                | "ReplicationController"
        ),
        "apps"
        | "batch"
        | "autoscaling"
        | "policy"
        | "networking.k8s.io"
        | "rbac.authorization.k8s.io"
        | "gateway.networking.k8s.io" => true,
        g => g.ends_with(".istio.io"),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Template placeholders (`${NAME}`, `{{ .name }}`, `<your-name>`) are filled in
/// before the manifest reaches a cluster.
fn is_placeholder(value: &str) -> bool {
    value.contains('$') || value.contains("{{") || (value.contains('<') && value.contains('>'))
}

/// What is wrong with `value`, as a phrase ("contains uppercase letters").
fn check(value: &str, syntax: Syntax) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".to_owned());
    }
    if syntax == Syntax::PathSegment {
        return if value == "." || value == ".." {
            Some(format!("may not be `{value}`"))
        } else {
            value
                .chars()
                .find(|c| matches!(c, '/' | '%'))
                .map(|c| format!("contains `{c}`"))
        };
    }
    let max = if syntax == Syntax::Subdomain { 253 } else { 63 };
    if value.chars().count() > max {
        return Some(format!(
            "is {} characters long, more than {max}",
            value.chars().count()
        ));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("contains uppercase letters".to_owned());
    }
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '-'
            || (c == '.' && syntax == Syntax::Subdomain)
    };
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Some(if c == '.' {
            "contains a dot".to_owned()
        } else if c.is_whitespace() {
            "contains whitespace".to_owned()
        } else {
            format!("contains `{c}`")
        });
    }
    let labels: Vec<&str> = if syntax == Syntax::Subdomain {
        value.split('.').collect()
    } else {
        vec![value]
    };
    for label in labels {
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if label.is_empty() {
            return Some("has an empty part between dots".to_owned());
        }
        if !alnum(label.chars().next()) {
            return Some("does not start with a letter or digit".to_owned());
        }
        if !alnum(label.chars().last()) {
            return Some("does not end with a letter or digit".to_owned());
        }
    }
    if syntax == Syntax::Label1035 && !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("does not start with a letter".to_owned());
    }
    None
}

/// A close valid spelling: lowercase, other characters turned into `-`.
fn sanitize(value: &str, syntax: Syntax) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || (c == '.' && syntax == Syntax::Subdomain)
            {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in mapped.chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out.trim_matches(|c| c == '-' || c == '.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(check("reviews-v2", Syntax::Subdomain), None);
        assert_eq!(check("a.b.c", Syntax::Subdomain), None);
        assert!(check("a.b", Syntax::Label).is_some());
        assert!(check("Reviews", Syntax::Subdomain).is_some());
        assert!(check("reviews_v2", Syntax::Subdomain).is_some());
        assert!(check("-a", Syntax::Subdomain).is_some());
        assert!(check("a..b", Syntax::Subdomain).is_some());
        assert!(check("1abc", Syntax::Label1035).is_some());
        assert_eq!(check("1abc", Syntax::Label), None);
        assert_eq!(check("system:controller:x", Syntax::PathSegment), None);
        assert_eq!(sanitize("Reviews_DR", Syntax::Subdomain), "reviews-dr");
        assert!(is_placeholder("${NAME}"));
    }
}
