//! The rule framework: rule metadata declared with [`declare_rule!`], the
//! [`Rule`] trait with its three hooks, and the registry of every rule.
//!
//! A rule is a pure function of what it is shown — a parsed document, one object
//! with its tree, or the cross-namespace index — to diagnostics. Rules do no I/O,
//! keep no state and print nothing.

mod ambiguous_scalar;
mod conflicting_destination_rules;
mod conflicting_fields;
mod conflicting_gateways;
mod conflicting_service_entry_protocols;
mod conflicting_sidecars;
mod conflicting_virtual_services;
mod deprecated_field;
mod deprecated_istio_annotation;
mod duplicate_gateway_certificate;
mod duplicate_host;
mod duplicate_key;
mod duplicate_object;
mod duplicate_port;
mod duplicate_subset;
mod empty_traffic_policy;
mod empty_virtual_service;
mod gateway_port_not_exposed;
mod gateway_selector_no_workload;
mod header_syntax;
mod host_not_in_gateway;
mod host_refs;
mod http_routes;
mod ineffective_outlier_detection;
mod invalid_client_tls;
mod invalid_connection_pool;
mod invalid_cors_policy;
mod invalid_delegate;
mod invalid_duration;
mod invalid_enum;
mod invalid_export_to;
mod invalid_fault;
mod invalid_field_type;
mod invalid_gateway_reference;
mod invalid_gateway_server;
mod invalid_header_match;
mod invalid_header_operation;
mod invalid_host;
mod invalid_istio_annotation_value;
mod invalid_l4_match;
mod invalid_load_balancer;
mod invalid_locality_lb;
mod invalid_mirror;
mod invalid_name;
mod invalid_outlier_detection;
mod invalid_redirect;
mod invalid_regex;
mod invalid_retry_on;
mod invalid_rewrite;
mod invalid_route_action;
mod invalid_server_tls;
mod invalid_service_entry;
mod invalid_sidecar;
mod invalid_subset_name;
mod invalid_tunnel;
mod invalid_workload_selector;
mod istio_annotations;
mod jwt_claim_route_in_mesh;
mod listeners;
mod misplaced_istio_annotation;
mod misplaced_istio_label;
mod missing_destination_port;
mod missing_required_field;
mod oversized_direct_response;
mod partially_qualified_host;
mod per_try_timeout_ignored;
mod port_protocol;
mod reserved_proxy_uid;
mod retries_without_attempts;
mod retry_non_idempotent;
mod retry_storm;
mod root_sidecar_with_selector;
mod schema_findings;
mod server_cert_not_verified;
mod server_tls_mismatch;
mod service_entry_needs_addresses;
mod short_host_wrong_namespace;
mod sidecar_selector_no_workload;
mod sni_host_not_in_hosts;
mod spec_walk;
mod subset_without_workloads;
mod traffic_policy;
mod undeclared_subset;
mod unknown_destination_port;
mod unknown_egress_host;
mod unknown_field;
mod unknown_gateway;
mod unknown_host;
mod unknown_istio_annotation;
mod unknown_port_protocol;
mod unreachable_route;
mod unreadable_file;
mod value_out_of_range;
mod weight_sum;
mod workload_in_conflicting_services;
mod yaml_syntax;
mod zero_ejection_cap;

use crate::index::Index;
use crate::load::ParsedDocument;
use crate::model::Object;
use crate::model::node::Node;
use crate::report::{Diagnostic, Severity};
use crate::settings::Settings;
use crate::source::SourceFile;

pub use ambiguous_scalar::AmbiguousScalar;
pub use conflicting_destination_rules::ConflictingDestinationRules;
pub use conflicting_fields::ConflictingFields;
pub use conflicting_gateways::ConflictingGateways;
pub use conflicting_service_entry_protocols::ConflictingServiceEntryProtocols;
pub use conflicting_sidecars::ConflictingSidecars;
pub use conflicting_virtual_services::ConflictingVirtualServices;
pub use deprecated_field::DeprecatedField;
pub use deprecated_istio_annotation::DeprecatedIstioAnnotation;
pub use duplicate_gateway_certificate::DuplicateGatewayCertificate;
pub use duplicate_host::DuplicateHost;
pub use duplicate_key::DuplicateKey;
pub use duplicate_object::DuplicateObject;
pub use duplicate_port::DuplicatePort;
pub use duplicate_subset::DuplicateSubset;
pub use empty_traffic_policy::EmptyTrafficPolicy;
pub use empty_virtual_service::EmptyVirtualService;
pub use gateway_port_not_exposed::GatewayPortNotExposed;
pub use gateway_selector_no_workload::GatewaySelectorNoWorkload;
pub use host_not_in_gateway::HostNotInGateway;
pub use ineffective_outlier_detection::IneffectiveOutlierDetection;
pub use invalid_client_tls::InvalidClientTls;
pub use invalid_connection_pool::InvalidConnectionPool;
pub use invalid_cors_policy::InvalidCorsPolicy;
pub use invalid_delegate::InvalidDelegate;
pub use invalid_duration::InvalidDuration;
pub use invalid_enum::InvalidEnum;
pub use invalid_export_to::InvalidExportTo;
pub use invalid_fault::InvalidFault;
pub use invalid_field_type::InvalidFieldType;
pub use invalid_gateway_reference::InvalidGatewayReference;
pub use invalid_gateway_server::InvalidGatewayServer;
pub use invalid_header_match::InvalidHeaderMatch;
pub use invalid_header_operation::InvalidHeaderOperation;
pub use invalid_host::InvalidHost;
pub use invalid_istio_annotation_value::InvalidIstioAnnotationValue;
pub use invalid_l4_match::InvalidL4Match;
pub use invalid_load_balancer::InvalidLoadBalancer;
pub use invalid_locality_lb::InvalidLocalityLb;
pub use invalid_mirror::InvalidMirror;
pub use invalid_name::InvalidName;
pub use invalid_outlier_detection::InvalidOutlierDetection;
pub use invalid_redirect::InvalidRedirect;
pub use invalid_regex::InvalidRegex;
pub use invalid_retry_on::InvalidRetryOn;
pub use invalid_rewrite::InvalidRewrite;
pub use invalid_route_action::InvalidRouteAction;
pub use invalid_server_tls::InvalidServerTls;
pub use invalid_service_entry::InvalidServiceEntry;
pub use invalid_sidecar::InvalidSidecar;
pub use invalid_subset_name::InvalidSubsetName;
pub use invalid_tunnel::InvalidTunnel;
pub use invalid_workload_selector::InvalidWorkloadSelector;
pub use jwt_claim_route_in_mesh::JwtClaimRouteInMesh;
pub use misplaced_istio_annotation::MisplacedIstioAnnotation;
pub use misplaced_istio_label::MisplacedIstioLabel;
pub use missing_destination_port::MissingDestinationPort;
pub use missing_required_field::MissingRequiredField;
pub use oversized_direct_response::OversizedDirectResponse;
pub use partially_qualified_host::PartiallyQualifiedHost;
pub use per_try_timeout_ignored::PerTryTimeoutIgnored;
pub use reserved_proxy_uid::ReservedProxyUid;
pub use retries_without_attempts::RetriesWithoutAttempts;
pub use retry_non_idempotent::RetryNonIdempotent;
pub use retry_storm::RetryStorm;
pub use root_sidecar_with_selector::RootSidecarWithSelector;
pub use server_cert_not_verified::ServerCertNotVerified;
pub use server_tls_mismatch::ServerTlsMismatch;
pub use service_entry_needs_addresses::ServiceEntryNeedsAddresses;
pub use short_host_wrong_namespace::ShortHostWrongNamespace;
pub use sidecar_selector_no_workload::SidecarSelectorNoWorkload;
pub use sni_host_not_in_hosts::SniHostNotInHosts;
pub use subset_without_workloads::SubsetWithoutWorkloads;
pub use undeclared_subset::UndeclaredSubset;
pub use unknown_destination_port::UnknownDestinationPort;
pub use unknown_egress_host::UnknownEgressHost;
pub use unknown_field::UnknownField;
pub use unknown_gateway::UnknownGateway;
pub use unknown_host::UnknownHost;
pub use unknown_istio_annotation::UnknownIstioAnnotation;
pub use unknown_port_protocol::UnknownPortProtocol;
pub use unreachable_route::UnreachableRoute;
pub use unreadable_file::UnreadableFile;
pub use value_out_of_range::ValueOutOfRange;
pub use weight_sum::WeightSum;
pub use workload_in_conflicting_services::WorkloadInConflictingServices;
pub use yaml_syntax::YamlSyntax;
pub use zero_ejection_cap::ZeroEjectionCap;

/// The kind a rule lists (`kinds: [Any]`) to see every object.
pub const ANY_KIND: &str = "Any";

/// What every rule declares about itself.
#[derive(Debug)]
pub struct RuleMeta {
    /// Kebab-case name naming the pattern flagged.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Kinds the rule looks at (empty: documents rather than objects).
    pub kinds: &'static [&'static str],
    /// Corresponding istioctl and Kiali codes.
    pub upstream: &'static [&'static str],
    /// The rule's doc comment: summary, `## Why is this bad?`, `## Example`.
    pub docs: &'static str,
    /// The Rust source file, for the meta-tests' naming checks.
    pub source_file: &'static str,
    /// The Rust type name, for the meta-tests' naming checks.
    pub type_name: &'static str,
}

impl RuleMeta {
    /// True when the rule's per-object hook runs on objects of `kind`: a kind it
    /// lists, or any kind when it lists [`ANY_KIND`].
    pub fn applies_to(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| *k == kind || *k == ANY_KIND)
    }

    /// The documentation with the one leading space of each `///` line removed.
    pub fn documentation(&self) -> String {
        self.docs
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }

    /// The first paragraph of the documentation, on one line.
    pub fn summary(&self) -> String {
        self.documentation()
            .split("\n\n")
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Declares a rule: a unit struct whose `META` carries the doc comment as data.
///
/// ```ignore
/// declare_rule! {
///     /// Flags ...
///     pub UndeclaredSubset {
///         name: "undeclared-subset",
///         severity: Error,
///         kinds: [VirtualService],
///         upstream: ["IST0101", "KIA1107"],
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis $ty:ident {
            name: $name:literal,
            severity: $sev:ident,
            kinds: [$($kind:ident),* $(,)?],
            upstream: [$($up:literal),* $(,)?] $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $ty;

        impl $ty {
            /// The rule's metadata and documentation.
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                name: $name,
                severity: $crate::report::Severity::$sev,
                kinds: &[$(stringify!($kind)),*],
                upstream: &[$($up),*],
                docs: concat!($($doc, "\n"),*),
                source_file: file!(),
                type_name: stringify!($ty),
            };
        }
    };
}

/// One parsed document, shown to document rules.
pub struct DocumentContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// The parse result.
    pub parsed: &'a ParsedDocument<'a>,
    /// Objects read from the document (empty when it did not parse).
    pub objects: &'a [Object],
    /// Run settings.
    pub settings: &'a Settings,
}

/// One object with its tree, shown to object rules while the tree is alive.
pub struct ObjectContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// The object's facts.
    pub object: &'a Object,
    /// The object's YAML tree.
    pub tree: Node<'a>,
    /// Run settings.
    pub settings: &'a Settings,
    /// The schema walk's findings, computed once and shared by the schema rules.
    pub schema: std::cell::OnceCell<Vec<crate::schema::walk::Finding<'a>>>,
}

/// A rule. Implement the hooks the rule needs; the others do nothing.
pub trait Rule: Send + Sync {
    /// The rule's metadata (from [`declare_rule!`]).
    fn meta(&self) -> &'static RuleMeta;

    /// Looks at one parsed document (syntax, keys) before objects are read.
    fn check_document(&self, _doc: &DocumentContext<'_>, _out: &mut Vec<Diagnostic>) {}

    /// Looks at one object of a kind in `meta().kinds`, with its tree.
    fn check_object(&self, _obj: &ObjectContext<'_>, _out: &mut Vec<Diagnostic>) {}

    /// Looks across objects through the index, after every file is read.
    fn check_graph(&self, _index: &Index, _out: &mut Vec<Diagnostic>) {}
}

/// Every rule meshvet has, in name order.
pub fn all() -> &'static [&'static dyn Rule] {
    static RULES: &[&dyn Rule] = &[
        &AmbiguousScalar,
        &ConflictingDestinationRules,
        &ConflictingFields,
        &ConflictingGateways,
        &ConflictingServiceEntryProtocols,
        &ConflictingSidecars,
        &ConflictingVirtualServices,
        &DeprecatedField,
        &DeprecatedIstioAnnotation,
        &DuplicateGatewayCertificate,
        &DuplicateHost,
        &DuplicateKey,
        &DuplicateObject,
        &DuplicatePort,
        &DuplicateSubset,
        &EmptyTrafficPolicy,
        &EmptyVirtualService,
        &GatewayPortNotExposed,
        &GatewaySelectorNoWorkload,
        &HostNotInGateway,
        &IneffectiveOutlierDetection,
        &InvalidClientTls,
        &InvalidConnectionPool,
        &InvalidCorsPolicy,
        &InvalidDelegate,
        &InvalidDuration,
        &InvalidEnum,
        &InvalidExportTo,
        &InvalidFault,
        &InvalidFieldType,
        &InvalidGatewayReference,
        &InvalidGatewayServer,
        &InvalidHeaderMatch,
        &InvalidHeaderOperation,
        &InvalidHost,
        &InvalidIstioAnnotationValue,
        &InvalidL4Match,
        &InvalidLoadBalancer,
        &InvalidLocalityLb,
        &InvalidMirror,
        &InvalidName,
        &InvalidOutlierDetection,
        &InvalidRedirect,
        &InvalidRegex,
        &InvalidRetryOn,
        &InvalidRewrite,
        &InvalidRouteAction,
        &InvalidServerTls,
        &InvalidServiceEntry,
        &InvalidSidecar,
        &InvalidSubsetName,
        &InvalidTunnel,
        &InvalidWorkloadSelector,
        &JwtClaimRouteInMesh,
        &MisplacedIstioAnnotation,
        &MisplacedIstioLabel,
        &MissingDestinationPort,
        &MissingRequiredField,
        &OversizedDirectResponse,
        &PartiallyQualifiedHost,
        &PerTryTimeoutIgnored,
        &ReservedProxyUid,
        &RetriesWithoutAttempts,
        &RetryNonIdempotent,
        &RetryStorm,
        &RootSidecarWithSelector,
        &ServerCertNotVerified,
        &ServerTlsMismatch,
        &ServiceEntryNeedsAddresses,
        &ShortHostWrongNamespace,
        &SidecarSelectorNoWorkload,
        &SniHostNotInHosts,
        &SubsetWithoutWorkloads,
        &UndeclaredSubset,
        &UnknownDestinationPort,
        &UnknownEgressHost,
        &UnknownField,
        &UnknownGateway,
        &UnknownHost,
        &UnknownIstioAnnotation,
        &UnknownPortProtocol,
        &UnreachableRoute,
        &UnreadableFile,
        &ValueOutOfRange,
        &WeightSum,
        &WorkloadInConflictingServices,
        &YamlSyntax,
        &ZeroEjectionCap,
    ];
    RULES
}

/// Looks a rule up by name.
pub fn find(name: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.meta().name == name)
}

/// Names of rules whose name is close to `name` (for "did you mean").
pub fn suggest(name: &str) -> Option<&'static str> {
    all()
        .iter()
        .map(|r| r.meta().name)
        .map(|n| (crate::text::edit_distance(n, name), n))
        .filter(|(d, n)| *d <= n.len() / 3 + 1)
        .min()
        .map(|(_, n)| n)
}
