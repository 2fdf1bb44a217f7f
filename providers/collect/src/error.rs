//! One error model for every cloud: what kind of failure an API call met, and the error a
//! collector records in the coverage log.

use cloudscan_inventory::CoverageStatus;
use std::fmt;

/// What kind of failure a collector met. The kind decides the coverage status and the words the
/// coverage table uses; the cloud's own code stays in [`CollectError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The caller may not make this call (HTTP 403, `AccessDenied`, `AuthorizationFailed`, ...).
    AccessDenied,
    /// The API is not available for this scope: not enabled (GCP `SERVICE_DISABLED`), resource
    /// provider not registered (Azure), not implemented at this endpoint (AWS emulators, regions).
    /// Nothing could be read, which is not proof of a secure setting.
    Unsupported,
    /// Throttled (HTTP 429, `Throttling`) after every retry.
    Throttled,
    /// HTTP 404 for a resource the scan expected.
    NotFound,
    /// The response could not be used: not the documented JSON/XML, over the size cap, or a
    /// listing whose pages repeat or never end.
    Malformed,
    /// Credentials are missing, expired or rejected (HTTP 401, no token).
    Credentials,
    /// The server kept failing (HTTP 5xx) after every retry.
    Server,
    /// Connection failures and time-outs after every retry.
    Network,
    /// Replay only: the recording holds no response for this request.
    NotRecorded,
    Other,
}

impl FailureKind {
    /// The words the coverage table uses.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::AccessDenied => "access denied",
            FailureKind::Unsupported => "API not available",
            FailureKind::Throttled => "throttled (retries exhausted)",
            FailureKind::NotFound => "not found",
            FailureKind::Malformed => "malformed response",
            FailureKind::Credentials => "credentials error",
            FailureKind::Server => "server error (retries exhausted)",
            FailureKind::Network => "network error",
            FailureKind::NotRecorded => "not in the recording",
            FailureKind::Other => "error",
        }
    }

    /// Whether another attempt may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            FailureKind::Throttled | FailureKind::Server | FailureKind::Network
        )
    }
}

/// A failed API call, reduced to what a user needs to read in the coverage table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectError {
    /// `service operation` (`iam GetAccountAuthorizationDetails`,
    /// `container projects.locations.clusters.list`, `containerservice managedClusters.list`).
    pub operation: String,
    /// The resource the call was about (a region, `projects/p`, an ARM id); may be empty.
    pub target: String,
    pub kind: FailureKind,
    /// The cloud's own code: `AccessDenied`, `HTTP 403 PERMISSION_DENIED, SERVICE_DISABLED`,
    /// `HTTP 403 AuthorizationFailed`.
    pub code: Option<String>,
    /// The permission the call needs, when the adapter knows it (named on access denied).
    pub permission: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if !self.target.is_empty() {
            write!(f, " ({})", self.target)?;
        }
        write!(f, ": {}", self.kind.describe())?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(permission) = &self.permission {
            write!(f, ": needs {permission}")?;
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
            permission: None,
            message: one_line(&message.into()),
        }
    }

    /// A listing or response that could not be used (bad page, missing field, cycle).
    pub fn malformed(operation: &str, target: &str, message: impl Into<String>) -> Self {
        CollectError::new(operation, target, FailureKind::Malformed, message)
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(one_line(&code.into()));
        self
    }

    /// Names the permission the call needs (shown on access denied).
    pub fn with_permission(mut self, permission: Option<&'static str>) -> Self {
        if self.kind == FailureKind::AccessDenied {
            self.permission = permission;
        }
        self
    }

    /// The coverage status this failure gives its service: an API that is not available is
    /// `unsupported` (nothing to scan there, but not proven secure); everything else `failed`.
    pub fn coverage_status(&self) -> CoverageStatus {
        match self.kind {
            FailureKind::Unsupported => CoverageStatus::Unsupported,
            _ => CoverageStatus::Failed,
        }
    }
}

/// Keeps messages on one line, and short (400 characters at most).
pub fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 400 {
        let mut cut: String = joined.chars().take(400).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}

/// The Display of an error and of each of its sources, joined with `: ` (never Debug output,
/// which could hold request internals), on one line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    one_line(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_form_names_operation_target_kind_code_permission() {
        let e = CollectError::new(
            "container projects.locations.clusters.list",
            "projects/p",
            FailureKind::AccessDenied,
            "Permission denied\n on resource",
        )
        .with_code("HTTP 403 PERMISSION_DENIED")
        .with_permission(Some("container.clusters.list"));
        assert_eq!(
            e.to_string(),
            "container projects.locations.clusters.list (projects/p): access denied \
             (HTTP 403 PERMISSION_DENIED): needs container.clusters.list: Permission denied on resource"
        );
        assert_eq!(e.coverage_status(), CoverageStatus::Failed);
        let u = CollectError::new("compute x", "", FailureKind::Unsupported, "");
        assert_eq!(u.to_string(), "compute x: API not available");
        assert_eq!(u.coverage_status(), CoverageStatus::Unsupported);
    }

    #[test]
    fn permission_is_only_named_on_access_denied() {
        let e = CollectError::new("op", "t", FailureKind::Throttled, "slow down")
            .with_permission(Some("x.y"));
        assert_eq!(e.permission, None);
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let text = "é".repeat(500);
        let out = one_line(&text);
        assert_eq!(out.chars().count(), 401);
        assert!(out.ends_with('…'));
    }
}
