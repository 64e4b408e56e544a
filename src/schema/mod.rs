//! The schema of the Istio kinds meshvet validates, embedded in the binary.
//!
//! `istio.schema.json` is generated from Istio's CustomResourceDefinitions by
//! [`generate`] (`cargo run --example gen_schema -- CRD_FILE`) and committed;
//! building and testing never need the CRD file. [`walk`] checks an object's
//! tree against it as the API server would, after Kubernetes' YAML 1.1 decoding.

pub mod deprecated;
pub mod generate;
pub mod walk;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The generated schema, as committed.
const EMBEDDED: &str = include_str!("istio.schema.json");

/// Where a schema was generated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// GitHub repository (`istio/istio`).
    pub repository: String,
    /// Commit of the CRD file.
    pub commit: String,
    /// Path of the CRD file in the repository.
    pub path: String,
    /// `git describe` of the commit: the Istio version.
    pub version: String,
}

/// The JSON type of a schema node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ty {
    /// A mapping with known fields.
    Object,
    /// A mapping from any key to values of one schema (`additionalProperties`).
    Map,
    /// A list.
    Array,
    /// A string.
    String,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An integer or a string (`x-kubernetes-int-or-string`).
    IntOrString,
    /// Anything (`x-kubernetes-preserve-unknown-fields` without properties).
    #[default]
    Any,
}

impl Ty {
    /// How the type is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Object | Ty::Map => "a mapping",
            Ty::Array => "a list",
            Ty::String => "a string",
            Ty::Integer => "an integer",
            Ty::Number => "a number",
            Ty::Boolean => "a boolean",
            Ty::IntOrString => "an integer or a string",
            Ty::Any => "any value",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One schema node. Ids index [`Schema::nodes`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The type.
    #[serde(rename = "t")]
    pub ty: Ty,
    /// Fields of an object, in name order: (name, node id).
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<(String, u32)>,
    /// Fields that must be present.
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Groups of fields of which at most one may be set.
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Vec<String>>,
    /// Items of a list.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u32>,
    /// Values of a map.
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub values: Option<u32>,
    /// Allowed values.
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub enumeration: Vec<String>,
    /// `int32`, `double`, `date-time`, `byte`, or `duration` (from a CEL rule).
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `null` is allowed.
    #[serde(rename = "n", default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// An object that also keeps unknown fields.
    #[serde(rename = "u", default, skip_serializing_if = "is_false")]
    pub preserve: bool,
    /// Minimum value.
    #[serde(rename = "min", default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum value.
    #[serde(rename = "max", default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The CRD describes the field as deprecated.
    #[serde(rename = "d", default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

impl Node {
    /// The node id of field `name` of an object.
    pub fn prop(&self, name: &str) -> Option<u32> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}

/// A kind, the versions that share one schema, and its root node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindEntry {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// API versions (`v1`, `v1beta1`, ...).
    pub versions: Vec<String>,
    /// Root node id (the whole object: `spec`, `status`).
    pub root: u32,
}

/// The file format of `istio.schema.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaFile {
    /// Where it was generated from.
    pub source: Source,
    /// Kinds.
    pub kinds: Vec<KindEntry>,
    /// Nodes.
    pub nodes: Vec<Node>,
}

/// A loaded schema.
#[derive(Debug)]
pub struct Schema {
    file: SchemaFile,
}

impl Schema {
    /// Parses a schema file.
    pub fn parse(text: &str) -> Result<Schema, serde_json::Error> {
        let file: SchemaFile = serde_json::from_str(text)?;
        Ok(Schema { file })
    }

    /// Where the schema came from.
    pub fn source(&self) -> &Source {
        &self.file.source
    }

    /// Every kind.
    pub fn kinds(&self) -> &[KindEntry] {
        &self.file.kinds
    }

    /// The node with this id (an empty `Any` node for a bad id).
    pub fn node(&self, id: u32) -> &Node {
        static ANY: Node = Node {
            ty: Ty::Any,
            props: Vec::new(),
            required: Vec::new(),
            one_of: Vec::new(),
            items: None,
            values: None,
            enumeration: Vec::new(),
            format: None,
            nullable: false,
            preserve: false,
            min: None,
            max: None,
            deprecated: false,
        };
        self.file.nodes.get(id as usize).unwrap_or(&ANY)
    }

    /// The root node of `apiVersion` (`group/version`) and `kind`, when known.
    pub fn root(&self, api_version: &str, kind: &str) -> Option<u32> {
        let (group, version) = api_version.split_once('/')?;
        self.file
            .kinds
            .iter()
            .find(|k| k.group == group && k.kind == kind && k.versions.iter().any(|v| v == version))
            .map(|k| k.root)
    }

    /// True when some version of `group`/`kind` has a schema.
    pub fn knows_kind(&self, group: &str, kind: &str) -> bool {
        self.file
            .kinds
            .iter()
            .any(|k| k.group == group && k.kind == kind)
    }
}

/// The embedded schema (`None` only if the committed file were broken, which a
/// test rules out).
pub fn embedded() -> Option<&'static Schema> {
    static SCHEMA: OnceLock<Option<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::parse(EMBEDDED).ok()).as_ref()
}

/// "Istio 1.31.0-alpha.0-109-g86c9f01fd73 (istio/istio@86c9f01fd735, manifests/...)".
pub fn describe_source() -> String {
    match embedded() {
        Some(s) => {
            let src = s.source();
            format!(
                "Istio {} ({}@{}, {})",
                src.version,
                src.repository,
                src.commit.get(..12).unwrap_or(&src.commit),
                src.path
            )
        }
        None => "unavailable".to_owned(),
    }
}
