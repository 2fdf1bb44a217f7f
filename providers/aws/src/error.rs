//! Errors of the AWS adapter, and the classification of SDK errors into coverage.

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use cloudscan_collect::error::{error_chain, one_line};
use std::fmt;

pub use cloudscan_collect::{CollectError, FailureKind};

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
    Fixture(#[from] cloudscan_collect::fixture::FixtureError),
    #[error(transparent)]
    Endpoint(#[from] cloudscan_collect::endpoint::EndpointError),
    #[error("invalid option: {0}")]
    Usage(String),
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
    let mut out = CollectError::new(operation, "", FailureKind::Other, "");
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            out.code = e.code().map(str::to_string);
            out.message = one_line(e.message().unwrap_or_default());
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
            } else if (500..600).contains(&status) {
                FailureKind::Server
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
            } else if d.is_other() && text.contains(crate::fixture::UNUSABLE_BODY) {
                FailureKind::Malformed
            } else if d.is_user() {
                FailureKind::Other
            } else {
                FailureKind::Network
            };
            out.message = text;
        }
        SdkError::TimeoutError(_) => {
            out.kind = FailureKind::Network;
            out.message = "no answer within the operation time-out".to_string();
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
