//! Errors of the AWS adapter, and the classification of SDK errors into coverage.

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use cloudscan_inventory::CoverageStatus;
use std::fmt;

/// A fatal error: the scan cannot start or cannot establish who it is scanning.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("no AWS credentials found{hint} (tried environment variables, the shared config and credentials files, web identity, container and instance credentials): pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run `aws sso login` for an SSO profile")]
    NoCredentials { hint: String },
    #[error("AWS profile `{profile}` is not defined in {files}")]
    UnknownProfile { profile: String, files: String },
    #[error("the AWS credentials were rejected: {0}")]
    BadCredentials(String),
    #[error("cannot establish the caller identity (sts:GetCallerIdentity): {0}")]
    CallerIdentity(CollectError),
    #[error(transparent)]
    Fixture(#[from] crate::fixture::FixtureError),
    #[error("invalid option: {0}")]
    Usage(String),
}

/// What kind of failure a collector met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    AccessDenied,
    Throttled,
    /// The API does not exist at this endpoint (emulators, disabled regions, 404 without code).
    Unsupported,
    /// The response could not be parsed.
    Malformed,
    /// Credentials are missing or invalid.
    Credentials,
    Network,
    Other,
}

/// A failed API call, reduced to what a user needs to read in the coverage table.
#[derive(Debug, Clone)]
pub struct CollectError {
    pub operation: String,
    pub kind: FailureKind,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FailureKind::AccessDenied => "access denied",
            FailureKind::Throttled => "throttled (retries exhausted)",
            FailureKind::Unsupported => "API not available",
            FailureKind::Malformed => "malformed response",
            FailureKind::Credentials => "credentials error",
            FailureKind::Network => "network error",
            FailureKind::Other => "error",
        };
        write!(f, "{}: {kind}", self.operation)?;
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
    /// The coverage status this failure gives its service.
    pub fn coverage_status(&self) -> CoverageStatus {
        match self.kind {
            FailureKind::Unsupported => CoverageStatus::Unsupported,
            _ => CoverageStatus::Failed,
        }
    }

    /// A failure that is not an API error (e.g. a truncated page).
    pub fn malformed(operation: &str, message: impl Into<String>) -> Self {
        CollectError {
            operation: operation.to_string(),
            kind: FailureKind::Malformed,
            code: None,
            message: message.into(),
        }
    }
}

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "NotAuthorized",
];

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
];

const CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
];

/// Classifies an SDK error from any AWS client.
pub fn classify<E, R>(operation: &str, err: &SdkError<E, R>) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HasStatus + 'static,
{
    let mut out = CollectError {
        operation: operation.to_string(),
        kind: FailureKind::Other,
        code: None,
        message: String::new(),
    };
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            out.code = e.code().map(str::to_string);
            out.message = e.message().unwrap_or_default().to_string();
            let status = ctx.raw().status_code();
            let code = out.code.as_deref().unwrap_or("");
            out.kind = if (200..300).contains(&status) {
                // A successful status whose body the SDK could not parse.
                out.message = one_line(&error_chain(e));
                FailureKind::Malformed
            } else if ACCESS_DENIED.contains(&code) {
                FailureKind::AccessDenied
            } else if THROTTLED.contains(&code) || status == 429 {
                FailureKind::Throttled
            } else if CREDENTIALS.contains(&code) {
                FailureKind::Credentials
            } else if (status == 404 && out.code.is_none())
                || code == "NotImplemented"
                || code == "InvalidAction"
                || code == "UnknownOperationException"
            {
                FailureKind::Unsupported
            } else if status == 403 {
                FailureKind::AccessDenied
            } else {
                FailureKind::Other
            };
            if out.code.is_none() {
                out.code = Some(format!("HTTP {status}"));
            }
            if out.message.is_empty() && out.kind == FailureKind::Unsupported {
                out.message = "the endpoint does not implement this operation".to_string();
            }
        }
        SdkError::ResponseError(_) => {
            out.kind = FailureKind::Malformed;
            out.message = one_line(&error_chain(err));
        }
        SdkError::DispatchFailure(d) => {
            let text = one_line(&error_chain(err));
            out.kind = if text.contains("credentials") || text.contains("Credentials") {
                FailureKind::Credentials
            } else if d.is_user() {
                FailureKind::Other
            } else {
                FailureKind::Network
            };
            out.message = text;
        }
        SdkError::TimeoutError(_) => {
            out.kind = FailureKind::Network;
            out.message = "timed out".to_string();
        }
        _ => {
            let text = one_line(&error_chain(err));
            out.kind = if text.contains("credential") {
                FailureKind::Credentials
            } else {
                FailureKind::Other
            };
            out.message = text;
        }
    }
    out
}

/// Access to the HTTP status of a raw response, whatever the response type.
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The Display of an error and of each of its sources, joined with `: ` (no Debug output).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Keeps messages on one line, and short.
fn one_line(text: &str) -> String {
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
