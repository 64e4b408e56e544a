//! Checks an object's YAML tree against the schema, reading scalars as the API
//! server receives them: Kubernetes decodes manifests as YAML 1.1, so a plain
//! `yes` or `on` is a boolean and `0777` an octal integer.
//!
//! One walk yields every finding of every kind; each schema rule keeps its own.

use crate::model::node::{Node, Shape};
use crate::model::pointer_segment;

use super::deprecated::{self, Entry};
use super::{Schema, Ty};

/// What a value is after Kubernetes' YAML 1.1 decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
    /// A floating-point number (integral ones are accepted where integers are).
    Float,
    /// A string.
    String,
    /// A mapping.
    Mapping,
    /// A sequence.
    Sequence,
}

impl Found {
    /// How the value is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Found::Null => "null",
            Found::Bool => "a boolean",
            Found::Int => "an integer",
            Found::Float => "a number",
            Found::String => "a string",
            Found::Mapping => "a mapping",
            Found::Sequence => "a list",
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone)]
pub enum Problem {
    /// A key the schema does not have at this position.
    UnknownField,
    /// A value of the wrong type.
    WrongType(Found),
    /// A string outside the allowed values.
    BadEnum,
    /// A required field is absent; `field` names it.
    Missing,
    /// A plain scalar that YAML 1.1 (Kubernetes) and YAML 1.2 read differently.
    Ambiguous(Ambiguity),
    /// A deprecated or removed field.
    Deprecated(Option<&'static Entry>),
    /// A field set together with earlier fields of its `oneOf` group (at most
    /// one may be set); `field` names it, the group is given here.
    Exclusive {
        /// The fields of the group set before it, in the order written.
        earlier: Vec<String>,
        /// Every field of the group.
        group: Vec<String>,
        /// Where the first of the earlier fields is written.
        first: crate::source::Span,
    },
}

/// How YAML 1.1 and YAML 1.2 disagree about a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ambiguity {
    /// `yes`/`no`/`on`/`off`/`y`/`n`: a boolean in YAML 1.1, a string in YAML 1.2.
    Bool(bool),
    /// `0777`: octal in YAML 1.1, decimal in YAML 1.2.
    Octal {
        /// The YAML 1.1 value.
        value: i64,
    },
}

/// One finding of the walk.
#[derive(Debug, Clone)]
pub struct Finding<'t> {
    /// What is wrong.
    pub problem: Problem,
    /// The value (for an unknown field: the key; for a missing field: the mapping
    /// that lacks it).
    pub node: Node<'t>,
    /// The key the value is written under, when it is a mapping value.
    pub key: Option<Node<'t>>,
    /// JSON pointer of `node` in its document.
    pub pointer: String,
    /// Schema node of the value (unknown and missing fields: of the mapping).
    pub schema: u32,
    /// The field name (unknown, missing or deprecated field), else the last key.
    pub field: String,
    /// Schema path of the mapping holding the field (`spec.http[].fault.delay`).
    pub parent_path: String,
    /// Schema nodes from the root to the mapping holding the field, with the key
    /// (or `[]`, `{}`) leading to each; filled for unknown fields only.
    pub trail: Vec<(String, u32)>,
}

/// Deepest level walked; manifests never come close.
const MAX_DEPTH: usize = 128;

struct Walker<'s, 't> {
    schema: &'s Schema,
    kind: &'s str,
    root: u32,
    out: Vec<Finding<'t>>,
    trail: Vec<(String, u32)>,
}

/// Walks an object (`tree` is its root mapping, `pointer` its JSON pointer prefix)
/// against the schema node `root` of `kind`.
pub fn walk<'t>(
    schema: &Schema,
    kind: &str,
    root: u32,
    tree: Node<'t>,
    pointer: &str,
) -> Vec<Finding<'t>> {
    let mut w = Walker {
        schema,
        kind,
        root,
        out: Vec::new(),
        trail: Vec::new(),
    };
    w.value(root, tree, None, pointer.to_owned(), "", String::new(), 0);
    w.out
}

/// Walks `metadata` of any object: the fields of ObjectMeta, string names, and
/// string-valued labels and annotations.
pub fn walk_metadata<'t>(tree: Node<'t>, pointer: &str) -> Vec<Finding<'t>> {
    let mut out = Vec::new();
    let Some((key, meta)) = tree.entry("metadata") else {
        return out;
    };
    let pointer = format!("{pointer}/metadata");
    let found = classify(meta);
    if !matches!(found, Found::Mapping | Found::Null) {
        out.push(plain(
            Problem::WrongType(found),
            meta,
            Some(key),
            pointer,
            "metadata",
            "",
        ));
        return out;
    }
    for (k, v) in meta.entries() {
        let Some(name) = k.scalar_text() else {
            continue;
        };
        let p = format!("{pointer}/{}", pointer_segment(name));
        match name {
            "name" | "namespace" | "generateName" | "uid" | "resourceVersion" | "selfLink" => {
                scalar_check(&mut out, Ty::String, v, Some(k), &p, name, "metadata");
            }
            "labels" | "annotations" => {
                let found = classify(v);
                if !matches!(found, Found::Mapping | Found::Null) {
                    out.push(plain(
                        Problem::WrongType(found),
                        v,
                        Some(k),
                        p,
                        name,
                        "metadata",
                    ));
                    continue;
                }
                let parent = format!("metadata.{name}");
                for (lk, lv) in v.entries() {
                    let label = lk.scalar_text().unwrap_or("");
                    let lp = format!("{p}/{}", pointer_segment(label));
                    scalar_check(&mut out, Ty::String, lv, Some(lk), &lp, label, &parent);
                }
            }
            "generation"
            | "creationTimestamp"
            | "deletionTimestamp"
            | "deletionGracePeriodSeconds"
            | "ownerReferences"
            | "finalizers"
            | "managedFields"
            | "clusterName" => {}
            _ => out.push(plain(
                Problem::UnknownField,
                k,
                Some(k),
                p,
                name,
                "metadata",
            )),
        }
    }
    out
}

fn plain<'t>(
    problem: Problem,
    node: Node<'t>,
    key: Option<Node<'t>>,
    pointer: String,
    field: &str,
    parent: &str,
) -> Finding<'t> {
    Finding {
        problem,
        node,
        key,
        pointer,
        schema: u32::MAX,
        field: field.to_owned(),
        parent_path: parent.to_owned(),
        trail: Vec::new(),
    }
}

/// Type and ambiguity checks of a scalar field outside the generated schema.
fn scalar_check<'t>(
    out: &mut Vec<Finding<'t>>,
    ty: Ty,
    v: Node<'t>,
    k: Option<Node<'t>>,
    pointer: &str,
    field: &str,
    parent: &str,
) {
    let found = classify(v);
    if let Some(a) = ambiguity(ty, v, found) {
        out.push(plain(
            Problem::Ambiguous(a),
            v,
            k,
            pointer.to_owned(),
            field,
            parent,
        ));
    } else if !fits(ty, found, v) {
        out.push(plain(
            Problem::WrongType(found),
            v,
            k,
            pointer.to_owned(),
            field,
            parent,
        ));
    }
}

impl<'t> Walker<'_, 't> {
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        id: u32,
        v: Node<'t>,
        key: Option<Node<'t>>,
        pointer: String,
        field: &str,
        parent_path: String,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = self.schema;
        let node = schema.node(id);
        let found = classify(v);
        let finding = |problem| Finding {
            problem,
            node: v,
            key,
            pointer: pointer.clone(),
            schema: id,
            field: field.to_owned(),
            parent_path: parent_path.clone(),
            trail: Vec::new(),
        };
        if let Some(a) = ambiguity(node.ty, v, found) {
            self.out.push(finding(Problem::Ambiguous(a)));
            return;
        }
        if found == Found::Null {
            return;
        }
        if !fits(node.ty, found, v) {
            self.out.push(finding(Problem::WrongType(found)));
            return;
        }
        if found == Found::String
            && !node.enumeration.is_empty()
            && let Some(text) = v.scalar_text()
            && !node.enumeration.iter().any(|e| e == text)
        {
            self.out.push(finding(Problem::BadEnum));
            return;
        }
        let here = if parent_path.is_empty() {
            field.to_owned()
        } else if field.starts_with('[') || field.starts_with('{') {
            format!("{parent_path}{field}")
        } else {
            format!("{parent_path}.{field}")
        };
        match node.ty {
            Ty::Object => self.object(id, v, key, pointer, here, depth),
            Ty::Array => {
                let Some(items) = node.items else { return };
                self.trail.push(("[]".to_owned(), items));
                for (i, item) in v.items().enumerate() {
                    self.value(
                        items,
                        item,
                        None,
                        format!("{pointer}/{i}"),
                        "[]",
                        here.clone(),
                        depth + 1,
                    );
                }
                self.trail.pop();
            }
            Ty::Map => {
                let Some(values) = node.values else { return };
                self.trail.push(("{}".to_owned(), values));
                for (k, item) in v.entries() {
                    let name = k.scalar_text().unwrap_or("");
                    let p = format!("{pointer}/{}", pointer_segment(name));
                    self.value(values, item, Some(k), p, "{}", here.clone(), depth + 1);
                }
                self.trail.pop();
            }
            _ => {}
        }
    }

    fn object(
        &mut self,
        id: u32,
        v: Node<'t>,
        key: Option<Node<'t>>,
        pointer: String,
        here: String,
        depth: usize,
    ) {
        let schema = self.schema;
        let node = schema.node(id);
        let is_root = depth == 0;
        for (k, item) in v.entries() {
            let Some(name) = k.scalar_text() else {
                continue;
            };
            let p = format!("{pointer}/{}", pointer_segment(name));
            if is_root && matches!(name, "apiVersion" | "kind" | "metadata") {
                continue;
            }
            let entry = deprecated::find(self.kind, &here, name);
            match node.prop(name) {
                Some(child) => {
                    if entry.is_some() || schema.node(child).deprecated {
                        self.out.push(Finding {
                            problem: Problem::Deprecated(entry),
                            node: item,
                            key: Some(k),
                            pointer: p.clone(),
                            schema: child,
                            field: name.to_owned(),
                            parent_path: here.clone(),
                            trail: Vec::new(),
                        });
                    }
                    self.trail.push((name.to_owned(), child));
                    self.value(child, item, Some(k), p, name, here.clone(), depth + 1);
                    self.trail.pop();
                }
                None if node.preserve => {}
                None => {
                    let problem = match entry {
                        Some(e) => Problem::Deprecated(Some(e)),
                        None => Problem::UnknownField,
                    };
                    let mut trail = vec![(String::new(), self.root)];
                    trail.extend(self.trail.iter().cloned());
                    self.out.push(Finding {
                        problem,
                        node: k,
                        key: Some(k),
                        pointer: p,
                        schema: id,
                        field: name.to_owned(),
                        parent_path: here.clone(),
                        trail,
                    });
                }
            }
        }
        for group in &node.one_of {
            // In the order they are written: the later ones conflict.
            let mut set: Vec<(&String, Node<'t>, Node<'t>)> = group
                .iter()
                .filter_map(|f| v.entry(f).map(|(k, value)| (f, k, value)))
                .filter(|(_, _, value)| !value.is_null())
                .collect();
            set.sort_by_key(|(_, k, _)| k.span().start);
            let Some((_, first_key, _)) = set.first().copied() else {
                continue;
            };
            for (i, (field, k, value)) in set.iter().enumerate().skip(1) {
                self.out.push(Finding {
                    problem: Problem::Exclusive {
                        earlier: set[..i].iter().map(|(f, _, _)| (*f).clone()).collect(),
                        group: group.clone(),
                        first: first_key.span(),
                    },
                    node: *value,
                    key: Some(*k),
                    pointer: format!("{pointer}/{}", pointer_segment(field)),
                    schema: id,
                    field: (*field).clone(),
                    parent_path: here.clone(),
                    trail: Vec::new(),
                });
            }
        }
        for req in &node.required {
            let present = v.get(req).is_some_and(|x| {
                !x.is_null() || node.prop(req).is_some_and(|c| schema.node(c).nullable)
            });
            if !present {
                self.out.push(Finding {
                    problem: Problem::Missing,
                    node: v,
                    key,
                    pointer: pointer.clone(),
                    schema: id,
                    field: req.clone(),
                    parent_path: here.clone(),
                    trail: Vec::new(),
                });
            }
        }
    }
}

/// What Kubernetes' YAML 1.1 decoder makes of a node.
pub fn classify(node: Node<'_>) -> Found {
    match node.shape() {
        Shape::Mapping => return Found::Mapping,
        Shape::Sequence => return Found::Sequence,
        Shape::Null => return Found::Null,
        Shape::Scalar => {}
    }
    if !matches!(node.style(), Some(saphyr_parser::ScalarStyle::Plain) | None) {
        return Found::String;
    }
    let Some(text) = node.scalar_text() else {
        return Found::String;
    };
    if node.bool().is_some() {
        Found::Bool
    } else if go_int(text).is_some() {
        Found::Int
    } else if is_float(text) {
        Found::Float
    } else {
        Found::String
    }
}

/// A plain scalar as go-yaml v2 reads an integer: `_` removed, then Go's
/// `ParseInt(s, 0, 64)` (decimal, `0x`, `0o`, `0b`, and a leading `0` for octal).
pub fn go_int(text: &str) -> Option<i64> {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h.to_owned())
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o.to_owned())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_owned())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned())
    } else {
        (10, lower.clone())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(&body, radix).ok()?;
    if neg { v.checked_neg() } else { Some(v) }
}

/// go-yaml v2's float syntax (`1.5`, `.5`, `1e3`, `.inf`, `.nan`).
fn is_float(text: &str) -> bool {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if matches!(
        plain.as_str(),
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) {
        return true;
    }
    let s = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
                && (!a.is_empty() || !b.is_empty())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

/// True when a value of type `found` passes the API server's type check for `ty`.
fn fits(ty: Ty, found: Found, v: Node<'_>) -> bool {
    let integral = || {
        v.scalar_text()
            .and_then(|t| t.replace('_', "").parse::<f64>().ok())
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
    };
    match ty {
        Ty::Any => true,
        _ if found == Found::Null => true,
        Ty::Object | Ty::Map => found == Found::Mapping,
        Ty::Array => found == Found::Sequence,
        Ty::String => found == Found::String,
        Ty::Boolean => found == Found::Bool,
        Ty::Number => matches!(found, Found::Int | Found::Float),
        Ty::Integer => found == Found::Int || (found == Found::Float && integral()),
        Ty::IntOrString => {
            matches!(found, Found::Int | Found::String) || (found == Found::Float && integral())
        }
    }
}

/// A plain scalar whose meaning under YAML 1.1 (Kubernetes) differs from YAML 1.2
/// in a way that matters for a field of type `ty`.
fn ambiguity(ty: Ty, v: Node<'_>, found: Found) -> Option<Ambiguity> {
    let text = v.scalar_text()?;
    match found {
        Found::Bool => {
            let b = v.bool()?;
            let core = matches!(text.to_ascii_lowercase().as_str(), "true" | "false");
            (!core && matches!(ty, Ty::String | Ty::IntOrString | Ty::Boolean))
                .then_some(Ambiguity::Bool(b))
        }
        Found::Int => {
            let digits = text.trim_start_matches(['-', '+']).replace('_', "");
            let octal = digits.len() > 1
                && digits.starts_with('0')
                && digits.chars().all(|c| c.is_digit(8));
            (octal && matches!(ty, Ty::String | Ty::IntOrString | Ty::Integer | Ty::Number))
                .then(|| go_int(text).map(|value| Ambiguity::Octal { value }))
                .flatten()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_go_yaml_v2_reads_them() {
        assert_eq!(go_int("0777"), Some(511));
        assert_eq!(go_int("0x1F"), Some(31));
        assert_eq!(go_int("1_000"), Some(1000));
        assert_eq!(go_int("-12"), Some(-12));
        assert_eq!(go_int("0"), Some(0));
        assert_eq!(go_int("0080"), None);
        assert_eq!(go_int("12a"), None);
        assert_eq!(go_int(""), None);
        assert!(is_float("0080"));
        assert!(is_float("1.5e3"));
        assert!(is_float(".5"));
        assert!(!is_float("1.2.3"));
        assert!(!is_float("."));
        assert!(!is_float("1e"));
    }
}
