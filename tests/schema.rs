//! The embedded Istio schema: it loads, covers every kind meshvet validates in
//! every served version, and matches the CRD file it was generated from.

use meshvet::schema::{self, Ty};

const KINDS: &[(&str, &str, &[&str])] = &[
    (
        "networking.istio.io",
        "VirtualService",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "networking.istio.io",
        "DestinationRule",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "networking.istio.io",
        "Gateway",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "networking.istio.io",
        "ServiceEntry",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "networking.istio.io",
        "Sidecar",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "networking.istio.io",
        "WorkloadEntry",
        &["v1", "v1beta1", "v1alpha3"],
    ),
    (
        "security.istio.io",
        "AuthorizationPolicy",
        &["v1", "v1beta1"],
    ),
    (
        "security.istio.io",
        "PeerAuthentication",
        &["v1", "v1beta1"],
    ),
    (
        "security.istio.io",
        "RequestAuthentication",
        &["v1", "v1beta1"],
    ),
];

#[test]
fn embedded_schema_covers_every_kind_and_version() {
    let s = schema::embedded().expect("the embedded schema parses");
    for (group, kind, versions) in KINDS {
        for v in *versions {
            let root = s
                .root(&format!("{group}/{v}"), kind)
                .unwrap_or_else(|| panic!("no schema for {group}/{v} {kind}"));
            let spec = s.node(root).prop("spec").expect("spec");
            assert_eq!(s.node(spec).ty, Ty::Object, "{kind} spec is an object");
            assert!(!s.node(spec).props.is_empty(), "{kind} spec has fields");
        }
    }
    assert!(s.root("networking.istio.io/v2", "VirtualService").is_none());
    assert!(s.root("example.com/v1", "VirtualService").is_none());
}

#[test]
fn embedded_schema_records_its_source() {
    let s = schema::embedded().expect("the embedded schema parses");
    assert_eq!(s.source().repository, "istio/istio");
    assert!(s.source().commit.starts_with("86c9f01fd735"));
    assert_eq!(
        s.source().path,
        "manifests/charts/base/files/crd-all.gen.yaml"
    );
    assert!(schema::describe_source().contains("86c9f01fd735"));
}

/// Walks a schema path of field names (`[]` steps into list items).
fn at(path: &[&str], kind: &str) -> schema::Node {
    let s = schema::embedded().expect("schema");
    let mut id = s
        .root(&format!("{}/v1", group_of(kind)), kind)
        .expect("kind");
    for seg in path {
        id = if *seg == "[]" {
            s.node(id).items.expect("a list")
        } else if *seg == "{}" {
            s.node(id).values.expect("a map")
        } else {
            s.node(id)
                .prop(seg)
                .unwrap_or_else(|| panic!("{kind}: no field {seg} in {path:?}"))
        };
    }
    s.node(id).clone()
}

fn group_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(_, k, _)| *k == kind)
        .map_or("", |(g, _, _)| g)
}

#[test]
fn embedded_schema_keeps_types_enums_required_and_oneofs() {
    let dest = at(
        &["spec", "http", "[]", "route", "[]", "destination"],
        "VirtualService",
    );
    assert_eq!(dest.required, vec!["host".to_owned()]);
    let timeout = at(&["spec", "http", "[]", "timeout"], "VirtualService");
    assert_eq!(timeout.ty, Ty::String);
    assert_eq!(timeout.format.as_deref(), Some("duration"));
    let simple = at(
        &["spec", "trafficPolicy", "loadBalancer", "simple"],
        "DestinationRule",
    );
    assert!(simple.enumeration.iter().any(|e| e == "LEAST_REQUEST"));
    let lb = at(
        &["spec", "trafficPolicy", "loadBalancer"],
        "DestinationRule",
    );
    assert!(
        lb.one_of
            .iter()
            .any(|g| g.contains(&"simple".to_owned()) && g.contains(&"consistentHash".to_owned()))
    );
    let labels = at(&["spec", "subsets", "[]", "labels"], "DestinationRule");
    assert_eq!(labels.ty, Ty::Map);
    assert_eq!(
        at(&["spec", "subsets", "[]"], "DestinationRule").required,
        vec!["name".to_owned()]
    );
    let max = at(
        &[
            "spec",
            "trafficPolicy",
            "outlierDetection",
            "maxEjectionPercent",
        ],
        "DestinationRule",
    );
    assert_eq!(max.format.as_deref(), Some("int32"));
    let warm = at(
        &[
            "spec",
            "trafficPolicy",
            "loadBalancer",
            "warmup",
            "minimumPercent",
        ],
        "DestinationRule",
    );
    assert_eq!((warm.min, warm.max), (Some(0.0), Some(100.0)));
    let consecutive = at(
        &[
            "spec",
            "trafficPolicy",
            "outlierDetection",
            "consecutiveErrors",
        ],
        "DestinationRule",
    );
    assert_eq!(consecutive.ty, Ty::Integer);
    let port = at(&["spec", "servers", "[]", "port"], "Gateway");
    for f in ["number", "protocol", "name"] {
        assert!(
            port.required.contains(&f.to_owned()),
            "gateway port requires {f}"
        );
    }
}

/// The committed schema is what the generator makes of the CRD file, when that
/// file is at hand (`MESHVET_ISTIO_CRDS`, or the shared reference copy).
#[test]
fn embedded_schema_is_up_to_date_with_the_crd_file() {
    let path = std::env::var("MESHVET_ISTIO_CRDS")
        .unwrap_or_else(|_| "/work/shared/reference/istio-crds.gen.yaml".to_owned());
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: no CRD file at {path}");
        return;
    };
    let generated = schema::generate::generate(&text, schema::generate::default_source())
        .expect("the CRD file converts");
    let committed = include_str!("../src/schema/istio.schema.json");
    assert!(
        generated == committed,
        "src/schema/istio.schema.json is stale: run `cargo run --example gen_schema -- {path} > src/schema/istio.schema.json`"
    );
}
