//! Turns Istio's CustomResourceDefinitions into meshvet's compact schema.
//!
//! Run by `cargo run --example gen_schema -- CRD_FILE > src/schema/istio.schema.json`.
//! Only what the schema rules use is kept: field names, types, enums, required
//! fields, formats, `oneOf` groups, ranges, maps and preserve-unknown-fields;
//! descriptions are dropped. Identical subtrees are stored once, so the
//! DestinationRule's traffic policy (written four times in the CRD) costs one
//! copy.

use std::collections::{BTreeMap, HashMap};

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};

use super::{KindEntry, Node, SchemaFile, Source, Ty};

/// The kinds meshvet keeps a schema for: (API group, kind).
pub const KINDS: &[(&str, &str)] = &[
    ("networking.istio.io", "DestinationRule"),
    ("networking.istio.io", "Gateway"),
    ("networking.istio.io", "ServiceEntry"),
    ("networking.istio.io", "Sidecar"),
    ("networking.istio.io", "VirtualService"),
    ("networking.istio.io", "WorkloadEntry"),
    ("security.istio.io", "AuthorizationPolicy"),
    ("security.istio.io", "PeerAuthentication"),
    ("security.istio.io", "RequestAuthentication"),
];

/// Where the CRD file came from (recorded in the generated file).
pub fn default_source() -> Source {
    Source {
        repository: "istio/istio".to_owned(),
        commit: "86c9f01fd735fb01d8192f5bcaf0d424afb7f14c".to_owned(),
        path: "manifests/charts/base/files/crd-all.gen.yaml".to_owned(),
        version: "1.31.0-alpha.0-109-g86c9f01fd73".to_owned(),
    }
}

/// Why a CRD file could not be turned into a schema.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The file is not YAML.
    #[error("cannot parse the CRD file: {0}")]
    Yaml(String),
    /// A wanted kind is missing from the file.
    #[error("the CRD file has no {0}")]
    MissingKind(String),
}

/// Builds the compact schema of [`KINDS`] from a CRD file's text.
pub fn generate(crd_text: &str, source: Source) -> Result<String, GenerateError> {
    let docs = Yaml::load_from_str(crd_text).map_err(|e| GenerateError::Yaml(e.to_string()))?;
    let docs: Vec<Value> = docs.iter().map(to_json).collect();
    let mut builder = Builder::default();
    let mut kinds = Vec::new();
    for (group, kind) in KINDS {
        let crd = docs.iter().find(|d| {
            d.pointer("/spec/group").and_then(Value::as_str) == Some(group)
                && d.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind)
        });
        let Some(crd) = crd else {
            return Err(GenerateError::MissingKind(format!("{group}/{kind}")));
        };
        let mut by_root: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for version in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if version.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let (Some(name), Some(schema)) = (
                version.get("name").and_then(Value::as_str),
                version.pointer("/schema/openAPIV3Schema"),
            ) else {
                continue;
            };
            let root = builder.node(schema);
            by_root.entry(root).or_default().push(name.to_owned());
        }
        for (root, mut versions) in by_root {
            versions.sort();
            kinds.push(KindEntry {
                group: (*group).to_owned(),
                kind: (*kind).to_owned(),
                versions,
                root,
            });
        }
    }
    let file = SchemaFile {
        source,
        kinds,
        nodes: builder.nodes,
    };
    Ok(render(&file))
}

/// One JSON object per line, so that a regenerated schema diffs readably.
fn render(file: &SchemaFile) -> String {
    let line = |v: &dyn erased::Ser| v.json();
    let mut out = String::from("{\n");
    out.push_str(&format!(
        "\"generator\": \"cargo run --example gen_schema -- CRD_FILE; do not edit\",\n\"source\": {},\n\"kinds\": [\n",
        line(&file.source)
    ));
    let kinds: Vec<String> = file.kinds.iter().map(|k| line(k)).collect();
    out.push_str(&kinds.join(",\n"));
    out.push_str("\n],\n\"nodes\": [\n");
    let nodes: Vec<String> = file.nodes.iter().map(|n| line(n)).collect();
    out.push_str(&nodes.join(",\n"));
    out.push_str("\n]\n}\n");
    out
}

mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    ids: HashMap<String, u32>,
}

impl Builder {
    /// Converts one OpenAPI schema and returns its node id (shared when identical).
    fn node(&mut self, s: &Value) -> u32 {
        let node = self.convert(s);
        let key = serde_json::to_string(&node).unwrap_or_default();
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(node);
        self.ids.insert(key, id);
        id
    }

    fn convert(&mut self, s: &Value) -> Node {
        let flag = |k: &str| s.get(k).and_then(Value::as_bool) == Some(true);
        let preserve = flag("x-kubernetes-preserve-unknown-fields");
        let mut node = Node {
            nullable: flag("nullable"),
            ..Node::default()
        };
        let props = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties").filter(|a| a.is_object());
        node.ty = if flag("x-kubernetes-int-or-string") {
            Ty::IntOrString
        } else {
            match s.get("type").and_then(Value::as_str) {
                Some("object") if props.is_some() => Ty::Object,
                Some("object") if additional.is_some() => Ty::Map,
                Some("object") if preserve => Ty::Any,
                Some("object") => Ty::Object,
                Some("array") => Ty::Array,
                Some("string") => Ty::String,
                Some("integer") => Ty::Integer,
                Some("number") => Ty::Number,
                Some("boolean") => Ty::Boolean,
                _ => Ty::Any,
            }
        };
        node.preserve = preserve && node.ty == Ty::Object && props.is_some();
        if let Some(props) = props {
            let sorted: BTreeMap<&String, &Value> = props.iter().collect();
            for (name, child) in sorted {
                let id = self.node(child);
                node.props.push((name.clone(), id));
            }
        }
        if node.ty == Ty::Map
            && let Some(a) = additional
        {
            node.values = Some(self.node(a));
        }
        if node.ty == Ty::Array
            && let Some(items) = s.get("items")
        {
            node.items = Some(self.node(items));
        }
        node.required = strings(s.get("required"));
        let mut one_of = Vec::new();
        collect_one_of(s, &mut one_of);
        for all in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_one_of(all, &mut one_of);
        }
        node.one_of = one_of;
        node.enumeration = s
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        let duration = s
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("rule").and_then(Value::as_str))
            .any(|r| r.contains("duration(self)"));
        node.format = if duration {
            Some("duration".to_owned())
        } else {
            s.get("format").and_then(Value::as_str).map(str::to_owned)
        };
        node.min = s.get("minimum").and_then(Value::as_f64);
        node.max = s.get("maximum").and_then(Value::as_f64);
        node.deprecated = s
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.trim_start().starts_with("Deprecated"));
        node
    }
}

/// `oneOf: [not: {anyOf: [required: [a], ...]}, required: [a], ...]`: at most one
/// of the fields (protobuf `oneof`). Every branch's required fields form the group.
fn collect_one_of(s: &Value, out: &mut Vec<Vec<String>>) {
    let Some(branches) = s.get("oneOf").and_then(Value::as_array) else {
        return;
    };
    let mut group: Vec<String> = Vec::new();
    for b in branches {
        for f in strings(b.get("required")) {
            if !group.contains(&f) {
                group.push(f);
            }
        }
    }
    if group.len() > 1 {
        out.push(group);
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn to_json(y: &Yaml<'_>) -> Value {
    match y {
        Yaml::Value(s) => scalar(s),
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::Value(Scalar::String(s)) => s.to_string(),
                    Yaml::Value(other) => match scalar(other) {
                        Value::String(s) => s,
                        v => v.to_string(),
                    },
                    _ => continue,
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => to_json(inner),
        _ => Value::Null,
    }
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Scalar::String(s) => Value::String(s.to_string()),
    }
}
