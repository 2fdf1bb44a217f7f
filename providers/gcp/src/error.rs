//! Errors of the GCP adapter, and the classification of Google API errors into coverage.

use cloudscan_inventory::CoverageStatus;
use std::fmt;

/// A fatal error: the scan cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    #[error("no usable Google Cloud credentials: {0} (run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file)")]
    Credentials(String),
    #[error("no project to scan: pass --project PROJECT or --all-projects")]
    NoProjects,
    #[error("cannot list the projects to scan (cloudresourcemanager projects.search): {0}")]
    ProjectSearch(CollectError),
    #[error("invalid base URL `{value}` in {variable}: {message}")]
    BaseUrl {
        variable: String,
        value: String,
        message: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error(transparent)]
    Fixture(#[from] crate::fixture::FixtureError),
    #[error("invalid option: {0}")]
    Usage(String),
}

/// What kind of failure a collector met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 403 PERMISSION_DENIED.
    AccessDenied,
    /// 403 with ErrorInfo reason SERVICE_DISABLED / accessNotConfigured: the API is not enabled.
    ServiceDisabled,
    /// 429 RESOURCE_EXHAUSTED after every retry.
    Throttled,
    /// 404 NOT_FOUND.
    NotFound,
    /// The response could not be parsed.
    Malformed,
    /// 401 or a token that could not be obtained.
    Credentials,
    Network,
    /// The replay has no recording for this request.
    NotRecorded,
    Other,
}

/// A failed API call, reduced to what a user needs to read in the coverage table.
#[derive(Debug, Clone)]
pub struct CollectError {
    /// `service method` (e.g. `container projects.locations.clusters.list`).
    pub operation: String,
    /// The resource the call was about (`projects/p`, a service account email).
    pub target: String,
    pub kind: FailureKind,
    /// HTTP status, google.rpc status and ErrorInfo reason when there is one
    /// (`HTTP 403 PERMISSION_DENIED`, `HTTP 403 PERMISSION_DENIED, SERVICE_DISABLED`).
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FailureKind::AccessDenied => "access denied",
            FailureKind::ServiceDisabled => "API not enabled",
            FailureKind::Throttled => "throttled (retries exhausted)",
            FailureKind::NotFound => "not found",
            FailureKind::Malformed => "malformed response",
            FailureKind::Credentials => "credentials error",
            FailureKind::Network => "network error",
            FailureKind::NotRecorded => "not in the recording",
            FailureKind::Other => "error",
        };
        write!(f, "{}", self.operation)?;
        if !self.target.is_empty() {
            write!(f, " ({})", self.target)?;
        }
        write!(f, ": {kind}")?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
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
            code: None,
            message: one_line(&message.into()),
        }
    }

    /// The coverage status this failure gives its service: an API that is not enabled is
    /// `unsupported` (nothing to scan there, but not proven secure); everything else `failed`.
    pub fn coverage_status(&self) -> CoverageStatus {
        match self.kind {
            FailureKind::ServiceDisabled => CoverageStatus::Unsupported,
            _ => CoverageStatus::Failed,
        }
    }

    /// Classifies an HTTP error response (google.rpc.Status body).
    pub fn from_response(
        operation: &str,
        target: &str,
        status: u16,
        body: &str,
        not_recorded: bool,
    ) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let rpc_status = error
            .and_then(|e| e.get("status"))
            .and_then(|s| s.as_str())
            .map(str::to_string);
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(200).collect());
        let reason = error
            .and_then(|e| e.get("details"))
            .and_then(|d| d.as_array())
            .and_then(|details| {
                details
                    .iter()
                    .find_map(|d| d.get("reason").and_then(|r| r.as_str()))
            })
            .or_else(|| {
                // The older error shape: error.errors[].reason (e.g. accessNotConfigured).
                error
                    .and_then(|e| e.get("errors"))
                    .and_then(|d| d.as_array())
                    .and_then(|errs| {
                        errs.iter()
                            .find_map(|d| d.get("reason").and_then(|r| r.as_str()))
                    })
            })
            .map(str::to_string);
        let disabled = matches!(
            reason.as_deref(),
            Some("SERVICE_DISABLED") | Some("accessNotConfigured")
        );
        let kind = if not_recorded {
            FailureKind::NotRecorded
        } else if status == 403 && disabled {
            FailureKind::ServiceDisabled
        } else if status == 403 {
            FailureKind::AccessDenied
        } else if status == 401 {
            FailureKind::Credentials
        } else if status == 429 {
            FailureKind::Throttled
        } else if status == 404 {
            FailureKind::NotFound
        } else {
            FailureKind::Other
        };
        CollectError {
            operation: operation.to_string(),
            target: target.to_string(),
            kind,
            code: Some(
                [
                    Some(format!("HTTP {status}")),
                    rpc_status.map(|s| format!(" {s}")),
                    reason.map(|r| format!(", {r}")),
                ]
                .into_iter()
                .flatten()
                .collect(),
            ),
            message: one_line(&message),
        }
    }
}

/// Keeps messages on one line, and short.
pub(crate) fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.len() > 400 {
        let mut end = 400;
        while !joined.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &joined[..end])
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_and_service_disabled_are_told_apart() {
        let denied = r#"{"error":{"code":403,"message":"Permission 'container.clusters.list' denied","status":"PERMISSION_DENIED"}}"#;
        let e = CollectError::from_response("container x", "projects/p", 403, denied, false);
        assert_eq!(e.kind, FailureKind::AccessDenied);
        assert_eq!(e.coverage_status(), CoverageStatus::Failed);
        assert!(e.to_string().contains("HTTP 403 PERMISSION_DENIED"));
        let disabled = r#"{"error":{"code":403,"message":"Compute Engine API has not been used","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com"}]}}"#;
        let e = CollectError::from_response("compute x", "projects/p", 403, disabled, false);
        assert_eq!(e.kind, FailureKind::ServiceDisabled);
        assert_eq!(e.coverage_status(), CoverageStatus::Unsupported);
        assert!(e.to_string().contains("SERVICE_DISABLED"));
    }
}
