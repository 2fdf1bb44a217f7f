//! The ARM client: bearer auth, bounded concurrency, retries with `Retry-After`, `nextLink`
//! paging, and the recording hook.

use crate::auth::TokenSource;
use crate::error::{CollectError, FailureKind};
use crate::fixture::{self, Recorder, RequestKey};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The public ARM endpoint.
pub const ARM_URL: &str = "https://management.azure.com";
/// Overrides the ARM base URL (a local server, a sovereign cloud).
pub const ARM_URL_ENV: &str = "CLOUDSCAN_AZURE_ARM_URL";

/// Characters left unescaped in query values and form fields (RFC 3986 unreserved).
pub(crate) const QUERY_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Path segments keep `$`-free ARM names; only a few characters need escaping.
const PATH_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%');

/// Checks a base URL given in `variable`.
pub fn check_base_url(variable: &str, value: &str) -> Result<String, crate::AzureError> {
    match reqwest::Url::parse(value) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
            Ok(value.trim_end_matches('/').to_string())
        }
        Ok(_) => Err(crate::AzureError::BaseUrl {
            variable: variable.to_string(),
            value: value.to_string(),
            message: "the scheme must be http or https".to_string(),
        }),
        Err(e) => Err(crate::AzureError::BaseUrl {
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
    /// The first backoff; doubled each attempt, plus up to 50% jitter, up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// The longest wait a `Retry-After` header may impose.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn live(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(32),
            max_retry_after: Duration::from_secs(120),
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

    /// The wait before attempt `attempt + 1` (attempts count from 1).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let capped = self.base.saturating_mul(factor).min(self.cap);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        (capped + capped.mul_f64(f64::from(nanos % 500) / 1000.0)).min(self.cap)
    }
}

/// `Retry-After` in delay-seconds form (ARM sends seconds).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The client every collector uses.
#[derive(Debug, Clone)]
pub struct Arm {
    http: reqwest::Client,
    tokens: TokenSource,
    base: String,
    limiter: Arc<Semaphore>,
    retry: RetryPolicy,
    recorder: Option<Recorder>,
}

impl Arm {
    pub fn new(
        http: reqwest::Client,
        tokens: TokenSource,
        base: &str,
        concurrency: usize,
        retry: RetryPolicy,
        recorder: Option<Recorder>,
    ) -> Self {
        Arm {
            http,
            tokens,
            base: base.trim_end_matches('/').to_string(),
            limiter: Arc::new(Semaphore::new(concurrency.max(1))),
            retry,
            recorder,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs an ARM path (`/subscriptions/...`, unencoded) with `api-version`.
    pub async fn get(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> Result<serde_json::Value, CollectError> {
        let mut params = BTreeMap::new();
        params.insert("api-version".to_string(), api_version.to_string());
        self.get_key(path, params, target, None).await
    }

    /// GETs an absolute `nextLink`; it must point under the ARM base URL (the token is never sent
    /// elsewhere).
    async fn get_link(&self, link: &str, target: &str) -> Result<serde_json::Value, CollectError> {
        let rest = link.strip_prefix(&self.base).filter(|r| r.starts_with('/'));
        let Some(rest) = rest else {
            return Err(CollectError::new(
                "arm nextLink",
                target,
                FailureKind::Malformed,
                format!(
                    "nextLink `{link}` does not point under {}: paging stopped",
                    self.base
                ),
            ));
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params: BTreeMap<String, String> = fixture::parse_query(query).into_iter().collect();
        // The link is followed verbatim (it already holds api-version and $skipToken).
        self.get_key(&fixture::percent_decode(path), params, target, Some(link))
            .await
    }

    async fn get_key(
        &self,
        path: &str,
        params: BTreeMap<String, String>,
        target: &str,
        verbatim: Option<&str>,
    ) -> Result<serde_json::Value, CollectError> {
        let key = RequestKey::new("GET", path, params);
        let operation = format!("{} {}", key.service, key.operation);
        let mut url = format!(
            "{}{}",
            self.base,
            percent_encoding::utf8_percent_encode(path, PATH_SET)
        );
        if let Some(link) = verbatim {
            url = link.to_string();
        } else if !key.params.is_empty() {
            let query: Vec<String> = key
                .params
                .iter()
                .map(|(k, v)| format!("{}={}", crate::auth::encode(k), crate::auth::encode(v)))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.limiter.acquire().await.ok();
                self.attempt(&key, &operation, target, &url).await
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

    /// One HTTP attempt; on failure the error, a `Retry-After` and whether to retry.
    async fn attempt(
        &self,
        key: &RequestKey,
        operation: &str,
        target: &str,
        url: &str,
    ) -> Result<serde_json::Value, (CollectError, Option<Duration>, bool)> {
        let token = self.tokens.token().await.map_err(|e| {
            (
                CollectError::new(operation, target, FailureKind::Credentials, e),
                None,
                false,
            )
        })?;
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                let message = if e.is_timeout() {
                    "timed out".to_string()
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
            recorder.record(key, status, &headers, &text, &self.base);
        }
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| {
                (
                    CollectError::new(
                        operation,
                        target,
                        FailureKind::Malformed,
                        format!("HTTP {status} with a body that is not valid JSON: {e}"),
                    ),
                    None,
                    false,
                )
            });
        }
        let not_recorded = header(fixture::MISSING_HEADER).is_some();
        let mut error = CollectError::from_response(operation, target, status, &text, not_recorded);
        if error.kind == FailureKind::Denied && status == 403 {
            if let Some(op) = crate::operations::find(&key.method, &key.path) {
                error.message = format!("needs {}: {}", op.action, error.message);
            }
        }
        let retryable = !not_recorded && matches!(status, 429 | 500 | 502 | 503 | 504);
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        Err((error, retry_after, retryable))
    }

    /// Lists every item of an ARM list call, following `nextLink` until it is absent or null.
    /// Returns the items read and the error that stopped the listing, if any.
    pub async fn list(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> (Vec<serde_json::Value>, Option<CollectError>) {
        let mut items = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut page = self.get(path, api_version, target).await;
        loop {
            let value = match page {
                Ok(v) => v,
                Err(e) => return (items, Some(e)),
            };
            let key = RequestKey::new("GET", path, BTreeMap::new());
            let operation = format!("{} {}", key.service, key.operation);
            match value.get("value") {
                Some(serde_json::Value::Array(list)) => items.extend(list.iter().cloned()),
                Some(serde_json::Value::Null) | None => {}
                Some(_) => {
                    return (
                        items,
                        Some(CollectError::new(
                            &operation,
                            target,
                            FailureKind::Malformed,
                            "`value` is not an array",
                        )),
                    )
                }
            }
            match value
                .get("nextLink")
                .and_then(|l| l.as_str())
                .filter(|l| !l.is_empty())
            {
                None => return (items, None),
                Some(link) if !seen.insert(link.to_string()) => {
                    return (
                        items,
                        Some(CollectError::new(
                            &operation,
                            target,
                            FailureKind::Malformed,
                            format!("nextLink `{link}` repeats: paging stopped"),
                        )),
                    )
                }
                Some(link) => page = self.get_link(link, target).await,
            }
        }
    }
}

/// The Display of an error and its sources, joined with `: ` (never Debug output).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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
    fn backoff_honours_retry_after_and_caps() {
        let p = RetryPolicy::replay(3);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
        assert!(p.delay(20, None) <= Duration::from_millis(50));
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
