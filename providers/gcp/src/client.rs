//! The HTTP side of the adapter: one reqwest client, bearer tokens from google-cloud-auth, base
//! URLs per Google API (overridable), a global concurrency limit, retries with capped exponential
//! backoff (honouring `Retry-After`), pagination, and recording.

use crate::error::{CollectError, FailureKind, GcpError};
use crate::fixture::{self, Recorder, RequestKey};
use google_cloud_auth::credentials::AccessTokenCredentials;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The Google APIs the adapter calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Container,
    ResourceManager,
    Iam,
    Compute,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Container,
        Service::ResourceManager,
        Service::Iam,
        Service::Compute,
    ];

    /// The service name used in coverage entries and fixture keys.
    pub fn name(self) -> &'static str {
        match self {
            Service::Container => "container",
            Service::ResourceManager => "cloudresourcemanager",
            Service::Iam => "iam",
            Service::Compute => "compute",
        }
    }

    /// The public endpoint.
    pub fn default_url(self) -> &'static str {
        match self {
            Service::Container => "https://container.googleapis.com",
            Service::ResourceManager => "https://cloudresourcemanager.googleapis.com",
            Service::Iam => "https://iam.googleapis.com",
            Service::Compute => "https://compute.googleapis.com",
        }
    }

    /// The environment variable that overrides this service's base URL.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::Container => "CLOUDSCAN_GCP_CONTAINER_URL",
            Service::ResourceManager => "CLOUDSCAN_GCP_CRM_URL",
            Service::Iam => "CLOUDSCAN_GCP_IAM_URL",
            Service::Compute => "CLOUDSCAN_GCP_COMPUTE_URL",
        }
    }
}

/// One environment variable for every service: `{base}/{service}` (e.g.
/// `http://127.0.0.1:8080/container/v1/...`), the layout the replay server serves.
pub const BASE_URL_ENV: &str = "CLOUDSCAN_GCP_BASE_URL";

/// Base URL of each Google API.
#[derive(Debug, Clone)]
pub struct Endpoints {
    urls: BTreeMap<Service, String>,
}

impl Endpoints {
    /// The public Google endpoints.
    pub fn google() -> Self {
        Endpoints {
            urls: Service::ALL
                .iter()
                .map(|s| (*s, s.default_url().to_string()))
                .collect(),
        }
    }

    /// Every service under one base: `{base}/{service}`.
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Endpoints {
            urls: Service::ALL
                .iter()
                .map(|s| (*s, format!("{base}/{}", s.name())))
                .collect(),
        }
    }

    /// The public endpoints, overridden by `CLOUDSCAN_GCP_BASE_URL` and then by the per-service
    /// variables (`CLOUDSCAN_GCP_CONTAINER_URL`, `_CRM_URL`, `_IAM_URL`, `_COMPUTE_URL`).
    pub fn from_env() -> Result<Self, GcpError> {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut endpoints = match read(BASE_URL_ENV) {
            Some(base) => {
                check_url(BASE_URL_ENV, &base)?;
                Endpoints::under(&base)
            }
            None => Endpoints::google(),
        };
        for s in Service::ALL {
            if let Some(url) = read(s.env_var()) {
                check_url(s.env_var(), &url)?;
                endpoints
                    .urls
                    .insert(s, url.trim_end_matches('/').to_string());
            }
        }
        Ok(endpoints)
    }

    pub fn url(&self, service: Service) -> &str {
        self.urls
            .get(&service)
            .map(String::as_str)
            .unwrap_or_else(|| service.default_url())
    }
}

fn check_url(variable: &str, value: &str) -> Result<(), GcpError> {
    match reqwest::Url::parse(value) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        Ok(_) => Err(GcpError::BaseUrl {
            variable: variable.to_string(),
            value: value.to_string(),
            message: "the scheme must be http or https".to_string(),
        }),
        Err(e) => Err(GcpError::BaseUrl {
            variable: variable.to_string(),
            value: value.to_string(),
            message: e.to_string(),
        }),
    }
}

/// Retries of throttled (429) and transient (500, 502, 503, 504, network) failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// The first backoff; doubled each attempt, plus up to 50% jitter.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
    /// The largest wait a `Retry-After` header may impose.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn live(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(32),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Fast backoff for replays; a recorded `Retry-After` is still honoured (up to 2 s).
    pub fn replay(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        }
    }

    /// How long to wait before attempt `attempt + 1` (attempt counts from 1).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let exp = self.base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let capped = exp.min(self.cap);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = capped.mul_f64(f64::from(nanos % 500) / 1000.0);
        (capped + jitter).min(self.cap)
    }
}

/// Parses `Retry-After` in its delay-seconds form (Google does not send HTTP dates).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Where bearer tokens come from.
#[derive(Debug, Clone)]
pub struct TokenSource {
    creds: AccessTokenCredentials,
}

impl TokenSource {
    pub fn new(creds: AccessTokenCredentials) -> Self {
        TokenSource { creds }
    }

    pub async fn token(&self) -> Result<String, String> {
        self.creds
            .access_token()
            .await
            .map(|t| t.token)
            .map_err(|e| crate::error::one_line(&e.to_string()))
    }
}

/// The client every collector uses.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    tokens: TokenSource,
    endpoints: Endpoints,
    limiter: Arc<Semaphore>,
    retry: RetryPolicy,
    recorder: Option<Recorder>,
}

const PERCENT_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl Api {
    pub fn new(
        http: reqwest::Client,
        tokens: TokenSource,
        endpoints: Endpoints,
        concurrency: usize,
        retry: RetryPolicy,
        recorder: Option<Recorder>,
    ) -> Self {
        Api {
            http,
            tokens,
            endpoints,
            limiter: Arc::new(Semaphore::new(concurrency.max(1))),
            retry,
            recorder,
        }
    }

    /// Calls one Google API method and returns its JSON response.
    ///
    /// `path` is the REST path under the service's base URL (`/v1/projects/p/...`), unencoded;
    /// `target` names the resource for error messages.
    pub async fn call(
        &self,
        service: Service,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, String)],
        body: Option<serde_json::Value>,
        target: &str,
    ) -> Result<serde_json::Value, CollectError> {
        let params_map: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let key = RequestKey::new(
            service.name(),
            method.as_str(),
            path,
            params_map,
            body.clone(),
        );
        let operation = format!("{} {}", service.name(), key.operation);
        let encoded_path: String = path
            .split('/')
            .map(|seg| {
                percent_encoding::utf8_percent_encode(seg, PERCENT_SET)
                    .to_string()
                    // `:` introduces custom methods (`:getIamPolicy`) and `@` is valid in a
                    // path segment; Google expects both verbatim.
                    .replace("%3A", ":")
                    .replace("%40", "@")
            })
            .collect::<Vec<_>>()
            .join("/");
        let mut url = format!("{}{}", self.endpoints.url(service), encoded_path);
        if !params.is_empty() {
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        percent_encoding::utf8_percent_encode(k, PERCENT_SET),
                        percent_encoding::utf8_percent_encode(v, PERCENT_SET)
                    )
                })
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }

        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.limiter.acquire().await.ok();
                self.attempt(&key, &operation, target, &method, &url, body.as_ref())
                    .await
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err((error, retry_after, retryable)) => {
                    if !retryable || attempt >= self.retry.max_attempts {
                        return Err(error);
                    }
                    tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
                }
            }
        }
    }

    /// One HTTP attempt. On failure: the error, a `Retry-After` delay and whether to retry.
    async fn attempt(
        &self,
        key: &RequestKey,
        operation: &str,
        target: &str,
        method: &reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, (CollectError, Option<Duration>, bool)> {
        let token = self.tokens.token().await.map_err(|e| {
            (
                CollectError::new(operation, target, FailureKind::Credentials, e),
                None,
                false,
            )
        })?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            let message = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                format!("cannot connect: {}", error_chain(&e))
            } else {
                error_chain(&e)
            };
            (
                CollectError::new(operation, target, FailureKind::Network, message),
                None,
                true,
            )
        })?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_string(), v.to_string()))
            })
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let text = response.text().await.map_err(|e| {
            (
                CollectError::new(
                    operation,
                    target,
                    FailureKind::Network,
                    format!("reading the response body: {}", error_chain(&e)),
                ),
                None,
                true,
            )
        })?;
        if let Some(recorder) = &self.recorder {
            recorder.record(key, status, &headers, &text);
        }
        if (200..300).contains(&status) {
            return serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                (
                    CollectError::new(
                        operation,
                        target,
                        FailureKind::Malformed,
                        format!("the response is not valid JSON: {e}"),
                    ),
                    None,
                    false,
                )
            });
        }
        let not_recorded = header(fixture::MISSING_HEADER).is_some();
        let mut error = CollectError::from_response(operation, target, status, &text, not_recorded);
        if error.kind == FailureKind::AccessDenied {
            let needed = crate::operations::find(&key.service, &key.method, &key.path)
                .and_then(|o| o.permission);
            if let Some(permission) = needed {
                error.message = format!("needs {permission}: {}", error.message);
            }
        }
        let retryable = !not_recorded && matches!(status, 429 | 500 | 502 | 503 | 504);
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        Err((error, retry_after, retryable))
    }

    /// Follows `nextPageToken` through every page of a list method; returns the pages in order.
    /// `fixed` parameters (page size, ...) are sent on every page.
    pub async fn pages(
        &self,
        service: Service,
        path: &str,
        fixed: &[(&str, &str)],
        target: &str,
    ) -> (Vec<serde_json::Value>, Option<CollectError>) {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        // A server that keeps returning the same token would loop forever.
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let mut params: Vec<(&str, String)> =
                fixed.iter().map(|(k, v)| (*k, v.to_string())).collect();
            if let Some(t) = &token {
                params.push(("pageToken", t.clone()));
            }
            match self
                .call(service, reqwest::Method::GET, path, &params, None, target)
                .await
            {
                Ok(page) => {
                    let next = page
                        .get("nextPageToken")
                        .and_then(|t| t.as_str())
                        .filter(|t| !t.is_empty())
                        .map(str::to_string);
                    pages.push(page);
                    match next {
                        Some(next) if seen.insert(next.clone()) => token = Some(next),
                        Some(next) => {
                            let operation = format!(
                                "{} {}",
                                service.name(),
                                fixture::describe(service.name(), "GET", path).0
                            );
                            return (
                                pages,
                                Some(CollectError::new(
                                    &operation,
                                    target,
                                    FailureKind::Malformed,
                                    format!("nextPageToken `{next}` repeats: pagination stopped"),
                                )),
                            );
                        }
                        None => return (pages, None),
                    }
                }
                Err(e) => return (pages, Some(e)),
            }
        }
    }
}

/// The Display of an error and of its sources, joined with `: ` (never Debug output).
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
    crate::error::one_line(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(2),
        };
        assert!(p.delay(1, None) >= Duration::from_millis(100));
        assert!(p.delay(1, None) <= Duration::from_millis(150));
        assert!(p.delay(2, None) >= Duration::from_millis(200));
        assert_eq!(p.delay(10, None), Duration::from_millis(300));
        assert_eq!(p.delay(40, None), Duration::from_millis(300));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015"), None);
    }

    #[test]
    fn base_urls_resolve_per_service() {
        let e = Endpoints::under("http://127.0.0.1:9/");
        assert_eq!(e.url(Service::Iam), "http://127.0.0.1:9/iam");
        assert_eq!(
            Endpoints::google().url(Service::ResourceManager),
            "https://cloudresourcemanager.googleapis.com"
        );
    }
}
