//! Errors at the crate boundary (`AzureError`); per API call the shared `CollectError`.

pub use cloudscan_collect::{CollectError, FailureKind};

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("{0}")]
    Usage(String),
    #[error("no usable Azure credentials: {0}")]
    Credentials(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error(transparent)]
    Endpoint(#[from] cloudscan_collect::endpoint::EndpointError),
    #[error("no subscription to scan: give --subscription S or --all-subscriptions")]
    NoSubscriptions,
    #[error("cannot list subscriptions: {0}")]
    Subscriptions(CollectError),
    #[error(transparent)]
    Fixture(#[from] cloudscan_collect::fixture::FixtureError),
}
