//! Errors at the crate boundary (`AzureError`) and per API call (`CollectError`).

use cloudscan_inventory::CoverageStatus;
use std::fmt;

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("{0}")]
    Usage(String),
    #[error("no usable Azure credentials: {0}")]
    Credentials(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("{variable}=`{value}` is not a usable base URL: {message}")]
    BaseUrl {
        variable: String,
        value: String,
        message: String,
    },
    #[error("no subscription to scan: give --subscription S or --all-subscriptions")]
    NoSubscriptions,
    #[error("cannot list subscriptions: {0}")]
    Subscriptions(CollectError),
    #[error(transparent)]
    Fixture(#[from] crate::fixture::FixtureError),
}

/// The class of an API failure, which decides the coverage status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 401/403: the caller may not read this.
    Denied,
    /// The resource provider is not registered in the subscription.
    Unsupported,
    /// 404.
    NotFound,
    /// 429 after every retry.
    Throttled,
    /// The response is not the JSON the API documents.
    Malformed,
    /// Connection, timeout, 5xx after every retry.
    Network,
    /// No token could be obtained.
    Credentials,
    /// Replay: the recording holds no response for this request.
    NotRecorded,
    Other,
}

/// One failed API call, with enough context to be quoted in a coverage detail.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectError {
    /// `containerservice managedClusters.list`.
    pub operation: String,
    /// The resource the call was about (subscription, cluster id, ...).
    pub target: String,
    pub kind: FailureKind,
    pub message: String,
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.operation, self.target, self.message)
    }
}

impl std::error::Error for CollectError {}

impl CollectError {
    pub fn new(
        operation: &str,
        target: &str,
        kind: FailureKind,
        message: impl Into<String>,
    ) -> Self {
        CollectError {
            operation: operation.to_string(),
            target: target.to_string(),
            kind,
            message: one_line(&message.into()),
        }
    }

    pub fn coverage_status(&self) -> CoverageStatus {
        match self.kind {
            FailureKind::Unsupported => CoverageStatus::Unsupported,
            _ => CoverageStatus::Failed,
        }
    }

    /// Builds the error of a non-2xx ARM response (`{"error":{"code","message"}}`).
    pub fn from_response(
        operation: &str,
        target: &str,
        status: u16,
        body: &str,
        not_recorded: bool,
    ) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let err = parsed.as_ref().and_then(|v| v.get("error"));
        let code = err
            .and_then(|e| e.get("code"))
            .and_then(|c| c.as_str())
            .unwrap_or("")
            .to_string();
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(200).collect());
        let kind = if not_recorded {
            FailureKind::NotRecorded
        } else {
            match (status, code.as_str()) {
                (_, "MissingSubscriptionRegistration" | "NoRegisteredProviderFound") => {
                    FailureKind::Unsupported
                }
                (401 | 403, _) => FailureKind::Denied,
                (404, _) => FailureKind::NotFound,
                (429, _) => FailureKind::Throttled,
                (500..=599, _) => FailureKind::Network,
                _ => FailureKind::Other,
            }
        };
        let text = if not_recorded {
            format!("not in the recording: {message}")
        } else if code.is_empty() {
            format!("HTTP {status}: {message}")
        } else {
            format!("HTTP {status} {code}: {message}")
        };
        CollectError::new(operation, target, kind, text)
    }
}

/// Collapses whitespace and newlines so a message fits one table cell, and caps its length.
pub(crate) fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 400 {
        let mut cut: String = joined.chars().take(400).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_errors_are_classified() {
        let e = CollectError::from_response(
            "authorization roleAssignments.list",
            "/subscriptions/s",
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization"}}"#,
            false,
        );
        assert_eq!(e.kind, FailureKind::Denied);
        assert!(e.to_string().contains("HTTP 403 AuthorizationFailed"));
        let e = CollectError::from_response(
            "op",
            "t",
            409,
            r#"{"error":{"code":"MissingSubscriptionRegistration","message":"not registered"}}"#,
            false,
        );
        assert_eq!(e.coverage_status(), CoverageStatus::Unsupported);
    }
}
