//! Fields Istio deprecated or removed, with what replaces them.
//!
//! Deprecated fields are still in the schema (Istio keeps them, undocumented);
//! removed ones are not, and the schema walk reports them here rather than as
//! unknown fields.

/// One deprecated or removed field.
#[derive(Debug)]
pub struct Entry {
    /// Kind the field belongs to.
    pub kind: &'static str,
    /// End of the schema path of the mapping that holds the field
    /// (`http[].fault.delay`); matched at a `.` boundary.
    pub parent: &'static str,
    /// The field.
    pub field: &'static str,
    /// The field to write instead, when there is one.
    pub replacement: Option<&'static str>,
    /// True when the field is gone from the API (the API server rejects it).
    pub removed: bool,
    /// What happens to the field now, for the message.
    pub note: &'static str,
}

const fn deprecated(
    kind: &'static str,
    parent: &'static str,
    field: &'static str,
    replacement: Option<&'static str>,
    note: &'static str,
) -> Entry {
    Entry {
        kind,
        parent,
        field,
        replacement,
        removed: false,
        note,
    }
}

const fn removed(
    kind: &'static str,
    parent: &'static str,
    field: &'static str,
    replacement: Option<&'static str>,
    note: &'static str,
) -> Entry {
    Entry {
        kind,
        parent,
        field,
        replacement,
        removed: true,
        note,
    }
}

/// Every entry.
pub const ENTRIES: &[Entry] = &[
    deprecated(
        "VirtualService",
        "http[].fault.delay",
        "percent",
        Some("percentage"),
        "the integer percentage of requests to delay; `percentage: {value: N}` replaces it and takes fractions",
    ),
    removed(
        "VirtualService",
        "http[].fault.abort",
        "percent",
        Some("percentage"),
        "the integer percentage of requests to abort; `percentage: {value: N}` replaces it",
    ),
    deprecated(
        "VirtualService",
        "http[]",
        "mirrorPercent",
        Some("mirrorPercentage"),
        "Istio reads it only when `mirrorPercentage` is absent",
    ),
    deprecated(
        "VirtualService",
        "http[]",
        "mirror_percent",
        Some("mirrorPercentage"),
        "Istio reads it only when `mirrorPercentage` is absent",
    ),
    deprecated(
        "VirtualService",
        "http[].corsPolicy",
        "allowOrigin",
        Some("allowOrigins"),
        "exact origins only; `allowOrigins` takes `exact`, `prefix` or `regex` matches",
    ),
    removed(
        "VirtualService",
        "http[]",
        "websocketUpgrade",
        None,
        "Istio proxies accept WebSocket upgrades without it",
    ),
    removed(
        "VirtualService",
        "http[]",
        "appendHeaders",
        Some("headers.request.add"),
        "header manipulation moved under `headers`",
    ),
    removed(
        "VirtualService",
        "http[]",
        "appendRequestHeaders",
        Some("headers.request.add"),
        "header manipulation moved under `headers`",
    ),
    removed(
        "VirtualService",
        "http[]",
        "removeRequestHeaders",
        Some("headers.request.remove"),
        "header manipulation moved under `headers`",
    ),
    removed(
        "VirtualService",
        "http[]",
        "appendResponseHeaders",
        Some("headers.response.add"),
        "header manipulation moved under `headers`",
    ),
    removed(
        "VirtualService",
        "http[]",
        "removeResponseHeaders",
        Some("headers.response.remove"),
        "header manipulation moved under `headers`",
    ),
    deprecated(
        "DestinationRule",
        "outlierDetection",
        "consecutiveErrors",
        Some("consecutive5xxErrors"),
        "Istio never reads it",
    ),
    deprecated(
        "DestinationRule",
        "consistentHash",
        "minimumRingSize",
        Some("ringHash.minimumRingSize"),
        "the ring size moved under `ringHash`",
    ),
    deprecated(
        "DestinationRule",
        "loadBalancer",
        "warmupDurationSecs",
        Some("warmup.duration"),
        "slow start moved under `warmup`",
    ),
    deprecated(
        "Sidecar",
        "spec.outboundTrafficPolicy",
        "egressProxy",
        None,
        "an alpha field hidden from Istio's API that istioctl analyze reports as ignored",
    ),
];

/// The entry for `field` in the mapping at schema path `parent` of `kind`.
pub fn find(kind: &str, parent: &str, field: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| {
        e.kind == kind
            && e.field == field
            && (parent == e.parent
                || parent
                    .strip_suffix(e.parent)
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_at_path_boundaries() {
        assert!(find("VirtualService", "spec.http[].fault.delay", "percent").is_some());
        assert!(find("VirtualService", "spec.http[].fault.delayx", "percent").is_none());
        assert!(
            find(
                "DestinationRule",
                "spec.subsets[].trafficPolicy.outlierDetection",
                "consecutiveErrors"
            )
            .is_some()
        );
        assert!(
            find("VirtualService", "spec.http[]", "websocketUpgrade").is_some_and(|e| e.removed)
        );
    }
}
