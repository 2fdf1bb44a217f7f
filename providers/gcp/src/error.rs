//! Errors of the GCP adapter, and the classification of Google API errors
//! (`google.rpc.Status` bodies) into the shared failure kinds.

use cloudscan_collect::error::one_line;
use cloudscan_collect::rest::Classified;
pub use cloudscan_collect::{CollectError, FailureKind};

/// A fatal error: the scan cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    #[error("no usable Google Cloud credentials: {0} (run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file)")]
    Credentials(String),
    #[error("no project to scan: pass --project PROJECT or --all-projects")]
    NoProjects,
    #[error("cannot list the projects to scan (cloudresourcemanager projects.search): {0}")]
    ProjectSearch(CollectError),
    #[error(transparent)]
    Endpoint(#[from] cloudscan_collect::endpoint::EndpointError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error(transparent)]
    Fixture(#[from] cloudscan_collect::fixture::FixtureError),
    #[error("invalid option: {0}")]
    Usage(String),
}

/// Classifies an HTTP error response (a `google.rpc.Status` body, or the older
/// `error.errors[].reason` shape).
pub fn classify(status: u16, body: &str) -> Classified {
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
    let kind = match status {
        403 if disabled => FailureKind::Unsupported,
        403 => FailureKind::AccessDenied,
        401 => FailureKind::Credentials,
        429 => FailureKind::Throttled,
        404 => FailureKind::NotFound,
        500..=599 => FailureKind::Server,
        _ => FailureKind::Other,
    };
    let code: String = [
        Some(format!("HTTP {status}")),
        rpc_status.map(|s| format!(" {s}")),
        reason.map(|r| format!(", {r}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    Classified {
        kind,
        code,
        message: one_line(&message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_and_service_disabled_are_told_apart() {
        let denied = r#"{"error":{"code":403,"message":"Permission 'container.clusters.list' denied","status":"PERMISSION_DENIED"}}"#;
        let c = classify(403, denied);
        assert_eq!(c.kind, FailureKind::AccessDenied);
        assert_eq!(c.code, "HTTP 403 PERMISSION_DENIED");
        let disabled = r#"{"error":{"code":403,"message":"Compute Engine API has not been used","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com"}]}}"#;
        let c = classify(403, disabled);
        assert_eq!(c.kind, FailureKind::Unsupported);
        assert_eq!(c.code, "HTTP 403 PERMISSION_DENIED, SERVICE_DISABLED");
        assert_eq!(classify(503, "oops").kind, FailureKind::Server);
        assert_eq!(classify(401, "{}").kind, FailureKind::Credentials);
    }
}
