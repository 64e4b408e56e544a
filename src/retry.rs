//! Envoy retry conditions as Istio passes them from `retries.retryOn`, and
//! what each one means for a request that is retried.
//!
//! Istio splits `retryOn` at commas and trims each token; integer tokens that
//! are HTTP status codes become `retriable_status_codes`, everything else goes
//! to Envoy as a condition name. Envoy silently ignores names it does not know.

/// Istio's `retryOn` when a route sets `retries` without `retryOn`, and when it
/// sets no `retries` at all (`DefaultPolicy` in istio/istio `retry.go`).
pub const ISTIO_DEFAULT_RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// The conditions that never resend a request the upstream may have processed.
pub const SAFE_RETRY_ON: &str = "connect-failure,refused-stream,reset-before-request";

/// Whether retrying on a condition can resend a request the upstream already
/// received and may have acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The upstream never received the request (or rejected it before any
    /// application code ran): retrying cannot repeat a side effect.
    Safe,
    /// The upstream received the request and may have processed it.
    Unsafe,
    /// Does nothing as Istio configures it (no codes or headers listed); only a
    /// per-request header sent by the client can make it retry.
    Inert,
}

/// One known Envoy retry condition.
#[derive(Debug, Clone, Copy)]
pub struct ConditionInfo {
    /// The name in `retryOn`.
    pub name: &'static str,
    /// What a retry on it can repeat.
    pub replay: Replay,
    /// True when a try that ran into `perTryTimeout` is retried under it (Envoy
    /// turns a per-try timeout into a local reset, which only `5xx`,
    /// `gateway-error` and `reset` retry).
    pub retries_per_try_timeout: bool,
    /// True for the gRPC conditions (`x-envoy-retry-grpc-on`).
    pub grpc: bool,
}

const fn info(name: &'static str, replay: Replay, per_try: bool, grpc: bool) -> ConditionInfo {
    ConditionInfo {
        name,
        replay,
        retries_per_try_timeout: per_try,
        grpc,
    }
}

/// Every condition Istio's webhook accepts, in the order Envoy documents them.
pub const CONDITIONS: &[ConditionInfo] = &[
    info("5xx", Replay::Unsafe, true, false),
    info("gateway-error", Replay::Unsafe, true, false),
    info("reset", Replay::Unsafe, true, false),
    info("reset-before-request", Replay::Safe, false, false),
    info("connect-failure", Replay::Safe, false, false),
    info("envoy-ratelimited", Replay::Safe, false, false),
    info("retriable-4xx", Replay::Unsafe, false, false),
    info("refused-stream", Replay::Safe, false, false),
    info("retriable-status-codes", Replay::Inert, false, false),
    info("retriable-headers", Replay::Inert, false, false),
    info("http3-post-connect-failure", Replay::Unsafe, false, false),
    info("cancelled", Replay::Unsafe, false, true),
    info("deadline-exceeded", Replay::Unsafe, false, true),
    info("internal", Replay::Unsafe, false, true),
    info("resource-exhausted", Replay::Unsafe, false, true),
    info("unavailable", Replay::Unsafe, false, true),
];

/// One token of `retryOn`, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A known condition name.
    Condition(&'static str),
    /// An HTTP status code (Istio lists it in `retriable_status_codes`).
    StatusCode(u16),
    /// Anything else: Envoy ignores it (and Istio's webhook rejects it).
    Unknown(String),
}

impl Token {
    /// The token as written in `retryOn`.
    pub fn text(&self) -> String {
        match self {
            Token::Condition(name) => (*name).to_owned(),
            Token::StatusCode(code) => code.to_string(),
            Token::Unknown(text) => text.clone(),
        }
    }

    /// The condition's facts, for a known condition name.
    pub fn info(&self) -> Option<&'static ConditionInfo> {
        match self {
            Token::Condition(name) => CONDITIONS.iter().find(|c| c.name == *name),
            _ => None,
        }
    }

    /// What retrying on this token can repeat. A status code means the
    /// upstream answered, so it may have done the work; unknown tokens do nothing.
    pub fn replay(&self) -> Replay {
        match self {
            Token::StatusCode(_) => Replay::Unsafe,
            Token::Unknown(_) => Replay::Inert,
            Token::Condition(_) => self.info().map_or(Replay::Inert, |i| i.replay),
        }
    }

    /// True when a try that ran into its per-try timeout is retried under this token.
    pub fn retries_per_try_timeout(&self) -> bool {
        self.info().is_some_and(|i| i.retries_per_try_timeout)
    }
}

/// Splits `retryOn` as Istio does: at commas, each part trimmed, empty parts
/// dropped, duplicates kept once (first occurrence).
pub fn parse(retry_on: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    for part in retry_on.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let token = if let Some(c) = CONDITIONS.iter().find(|c| c.name == part) {
            Token::Condition(c.name)
        } else if let Some(code) = part.parse::<u16>().ok().filter(|c| is_status_code(*c)) {
            Token::StatusCode(code)
        } else {
            Token::Unknown(part.to_owned())
        };
        if !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

/// True for the status codes Go's `http.StatusText` names, which is the test
/// Istio uses to tell a status code from a condition name.
pub fn is_status_code(code: u16) -> bool {
    matches!(
        code,
        100..=103
            | 200..=208
            | 226
            | 300..=305
            | 307
            | 308
            | 400..=418
            | 421..=426
            | 428
            | 429
            | 431
            | 451
            | 500..=508
            | 510
            | 511
    )
}

/// The tokens of `tokens` that can resend a request the upstream may have processed.
pub fn unsafe_tokens(tokens: &[Token]) -> Vec<&Token> {
    tokens
        .iter()
        .filter(|t| t.replay() == Replay::Unsafe)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_classifies_like_istio() {
        let tokens = parse(" 5xx, connect-failure,503,,teapot,5xx,999");
        assert_eq!(
            tokens,
            vec![
                Token::Condition("5xx"),
                Token::Condition("connect-failure"),
                Token::StatusCode(503),
                Token::Unknown("teapot".into()),
                Token::Unknown("999".into()),
            ]
        );
        let bad: Vec<String> = unsafe_tokens(&tokens).iter().map(|t| t.text()).collect();
        assert_eq!(bad, ["5xx", "503"]);
    }

    #[test]
    fn the_safe_set_is_safe_and_the_default_is_not() {
        assert!(unsafe_tokens(&parse(SAFE_RETRY_ON)).is_empty());
        let default: Vec<String> = unsafe_tokens(&parse(ISTIO_DEFAULT_RETRY_ON))
            .iter()
            .map(|t| t.text())
            .collect();
        assert_eq!(default, ["unavailable", "cancelled"]);
        assert_eq!(CONDITIONS.len(), 16);
    }

    #[test]
    fn only_three_conditions_retry_per_try_timeouts() {
        let names: Vec<&str> = CONDITIONS
            .iter()
            .filter(|c| c.retries_per_try_timeout)
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["5xx", "gateway-error", "reset"]);
    }
}
