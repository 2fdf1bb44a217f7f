//! The retrying REST client: bearer token, bounded concurrency, per-attempt timeout, retries with
//! jittered backoff and bounded `Retry-After`, a body-size cap, recording, and bounded paging.

use super::retry::{parse_retry_after, RetryPolicy};
use crate::error::{error_chain, CollectError, FailureKind};
use crate::fixture::{
    parse_query, percent_decode, PathMatch, Recorder, RequestKey, MISSING_HEADER,
};
use crate::paging::PageGuard;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Where bearer tokens come from. The error is one line and never holds a secret.
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// An error response, classified by the cloud's dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: FailureKind,
    /// `HTTP 403 PERMISSION_DENIED, SERVICE_DISABLED`, `HTTP 403 AuthorizationFailed`.
    pub code: String,
    pub message: String,
}

/// What differs between REST clouds.
pub trait Dialect: Send + Sync + 'static {
    /// `(service, region, operation)` of a request to `service` (as the caller names it; may be
    /// empty when the path alone names it) with this method and unencoded path.
    fn name(&self, service: &str, method: &str, path: &str) -> (String, String, String);
    /// Classifies a non-2xx response from its status and body.
    fn classify(&self, status: u16, body: &str) -> Classified;
    /// The permission a request needs, for access-denied errors.
    fn permission(&self, key: &RequestKey) -> Option<&'static str>;
    /// How request paths compare in recordings.
    fn path_match(&self) -> PathMatch {
        PathMatch::Exact
    }
    /// Percent-encodes an unencoded path for the URL.
    fn encode_path(&self, path: &str) -> String;
    /// The body as it is recorded (Azure puts the public host back in place of a local one).
    fn recorded_body(&self, body: &str, _base: &str) -> String {
        body.to_string()
    }
}

/// One API call.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The service as the caller names it (may be empty when the dialect reads it off the path).
    pub service: &'a str,
    /// The base URL the path is under (`https://container.googleapis.com`).
    pub base: &'a str,
    pub method: reqwest::Method,
    /// The unencoded REST path under `base`.
    pub path: &'a str,
    pub params: BTreeMap<String, String>,
    pub body: Option<serde_json::Value>,
    /// The resource the call is about, for error messages.
    pub target: &'a str,
}

impl<'a> Request<'a> {
    pub fn get(service: &'a str, base: &'a str, path: &'a str, target: &'a str) -> Self {
        Request {
            service,
            base,
            method: reqwest::Method::GET,
            path,
            params: BTreeMap::new(),
            body: None,
            target,
        }
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }
}

/// How a list method chains its pages.
#[derive(Debug, Clone, Copy)]
pub enum Paging<'a> {
    /// The response's `field` holds a token for the request parameter `param` (Google:
    /// `nextPageToken` -> `pageToken`).
    Token { field: &'a str, param: &'a str },
    /// The response's `field` holds the absolute URL of the next page, which must be on the same
    /// origin as the first (Azure: `nextLink`).
    Link { field: &'a str },
}

/// Characters left unescaped in query names and values (RFC 3986 unreserved).
const QUERY_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a query name or value.
pub fn encode_query(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_SET).to_string()
}

/// Checks a path built from response data (resource ids, names) before it becomes a request URL:
/// absolute, no empty, `.` or `..` segments, no query, fragment, backslash, control or white-space
/// characters, at most 4,096 bytes.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{}` is not an absolute path", clip(path)));
    }
    if path.len() > 4096 {
        return Err(format!("a path of {} bytes is too long", path.len()));
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '\\'))
    {
        return Err(format!(
            "`{}` holds the character {c:?}, which no resource path has",
            clip(path)
        ));
    }
    let inner = &path[1..];
    if path.len() > 1
        && inner
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!(
            "`{}` has an empty, `.` or `..` segment",
            clip(path)
        ));
    }
    Ok(())
}

fn clip(text: &str) -> String {
    if text.chars().count() > 120 {
        let head: String = text.chars().take(120).collect();
        format!("{head}…")
    } else {
        text.to_string()
    }
}

/// The client every collector of a REST cloud uses.
#[derive(Clone)]
pub struct RestClient<D: Dialect> {
    http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    dialect: Arc<D>,
    limiter: Arc<Semaphore>,
    retry: RetryPolicy,
    timeout: Duration,
    max_body: usize,
    recorder: Option<Recorder>,
}

impl<D: Dialect> std::fmt::Debug for RestClient<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("recording", &self.recorder.is_some())
            .finish()
    }
}

/// One failed attempt: the error, a `Retry-After`, and whether another attempt may succeed.
type Failed = Box<(CollectError, Option<Duration>, bool)>;

impl<D: Dialect> RestClient<D> {
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<dyn TokenProvider>,
        dialect: D,
        concurrency: usize,
        retry: RetryPolicy,
        timeout: Duration,
        recorder: Option<Recorder>,
    ) -> Self {
        RestClient {
            http,
            tokens,
            dialect: Arc::new(dialect),
            limiter: Arc::new(Semaphore::new(concurrency.max(1))),
            retry,
            timeout,
            max_body: super::DEFAULT_MAX_BODY,
            recorder,
        }
    }

    /// Changes the body-size cap.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes.max(1);
        self
    }

    pub fn dialect(&self) -> &D {
        &self.dialect
    }

    /// The key a request is recorded and replayed under.
    pub fn key(&self, request: &Request<'_>) -> RequestKey {
        let (service, region, operation) =
            self.dialect
                .name(request.service, request.method.as_str(), request.path);
        RequestKey {
            service,
            region,
            operation,
            method: request.method.as_str().to_string(),
            path: request.path.to_string(),
            params: request.params.clone(),
            body: request.body.clone(),
        }
    }

    /// `service operation` of a request, as errors name it.
    pub fn operation(&self, request: &Request<'_>) -> String {
        let (service, _, operation) =
            self.dialect
                .name(request.service, request.method.as_str(), request.path);
        format!("{service} {operation}")
    }

    /// Calls one API method and returns its JSON response, retrying throttled and transient
    /// failures.
    pub async fn call(&self, request: &Request<'_>) -> Result<serde_json::Value, CollectError> {
        self.call_url(request, None).await
    }

    async fn call_url(
        &self,
        request: &Request<'_>,
        verbatim: Option<&str>,
    ) -> Result<serde_json::Value, CollectError> {
        let key = self.key(request);
        let operation = format!("{} {}", key.service, key.operation);
        check_path(request.path).map_err(|m| {
            CollectError::malformed(
                &operation,
                request.target,
                format!("refusing to call a path built from response data: {m}"),
            )
        })?;
        let url = match verbatim {
            Some(link) => link.to_string(),
            None => {
                let mut url = format!(
                    "{}{}",
                    request.base.trim_end_matches('/'),
                    self.dialect.encode_path(request.path)
                );
                if !request.params.is_empty() {
                    let query: Vec<String> = request
                        .params
                        .iter()
                        .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
                        .collect();
                    url.push('?');
                    url.push_str(&query.join("&"));
                }
                url
            }
        };
        let bucket = crate::ratelimit::host_key(&url);
        let limits = crate::ratelimit::global();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            limits.acquire(&bucket).await;
            let outcome = {
                let _permit = self.limiter.acquire().await.ok();
                self.attempt(&key, &operation, request, &url).await
            };
            match outcome {
                Ok(value) => {
                    limits.succeeded(&bucket);
                    return Ok(value);
                }
                Err(failed) => {
                    let (error, retry_after, retryable) = *failed;
                    if error.kind == FailureKind::Throttled {
                        limits.throttled(&bucket);
                    }
                    if !retryable || attempt >= self.retry.max_attempts {
                        return Err(error);
                    }
                    tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        key: &RequestKey,
        operation: &str,
        request: &Request<'_>,
        url: &str,
    ) -> Result<serde_json::Value, Failed> {
        let fail = |kind: FailureKind, message: String, retry: bool| -> Failed {
            Box::new((
                CollectError::new(operation, request.target, kind, message),
                None,
                retry,
            ))
        };
        let token = self
            .tokens
            .token()
            .await
            .map_err(|e| fail(FailureKind::Credentials, e, false))?;
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .bearer_auth(token)
            .header("accept", "application/json")
            .timeout(self.timeout);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let mut response = builder.send().await.map_err(|e| {
            let message = if e.is_timeout() {
                format!("no answer within {} s", self.timeout.as_secs_f64())
            } else if e.is_connect() {
                format!("cannot connect: {}", error_chain(&e))
            } else {
                error_chain(&e)
            };
            fail(FailureKind::Network, message, true)
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
        if response
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(fail(
                FailureKind::Malformed,
                format!(
                    "the response body announces {} bytes, more than the {} the scanner reads",
                    response.content_length().unwrap_or_default(),
                    self.max_body
                ),
                false,
            ));
        }
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len().saturating_add(chunk.len()) > self.max_body {
                        return Err(fail(
                            FailureKind::Malformed,
                            format!(
                                "the response body is larger than the {} bytes the scanner reads",
                                self.max_body
                            ),
                            false,
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let message = if e.is_timeout() {
                        format!(
                            "the response body did not arrive within {} s",
                            self.timeout.as_secs_f64()
                        )
                    } else {
                        format!("reading the response body: {}", error_chain(&e))
                    };
                    return Err(fail(FailureKind::Network, message, true));
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(recorder) = &self.recorder {
            let recorded = self.dialect.recorded_body(&text, request.base);
            recorder.record(key, status, &headers, &recorded);
        }
        if (200..300).contains(&status) {
            return serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                fail(
                    FailureKind::Malformed,
                    format!("HTTP {status} with a body that is not valid JSON: {e}"),
                    false,
                )
            });
        }
        let not_recorded = header(MISSING_HEADER).is_some();
        let classified = self.dialect.classify(status, &text);
        let kind = if not_recorded {
            FailureKind::NotRecorded
        } else {
            classified.kind
        };
        let error = CollectError::new(operation, request.target, kind, classified.message)
            .with_code(classified.code)
            .with_permission(self.dialect.permission(key));
        let retryable = !not_recorded && matches!(status, 429 | 500 | 502 | 503 | 504);
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, self.retry.max_retry_after));
        Err(Box::new((error, retry_after, retryable)))
    }

    /// Follows a list method through every page. Returns the pages read, in order, and the
    /// error that stopped the listing early, if any (a failed call, a repeated token or link, a
    /// link to another origin, too many pages).
    pub async fn pages(
        &self,
        first: &Request<'_>,
        paging: Paging<'_>,
    ) -> (Vec<serde_json::Value>, Option<CollectError>) {
        let operation = self.operation(first);
        let mut guard = PageGuard::new(&operation, first.target);
        let mut pages = Vec::new();
        let mut page = self.call(first).await;
        loop {
            let value = match page {
                Ok(v) => v,
                Err(e) => return (pages, Some(e)),
            };
            let field = match paging {
                Paging::Token { field, .. } | Paging::Link { field } => field,
            };
            let next = match value.get(field) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    pages.push(value);
                    return (
                        pages,
                        Some(CollectError::malformed(
                            &operation,
                            first.target,
                            format!("`{field}` is not a string: paging stopped"),
                        )),
                    );
                }
            };
            pages.push(value);
            let next = match guard.next(next.as_deref()) {
                Ok(Some(next)) => next,
                Ok(None) => return (pages, None),
                Err(e) => return (pages, Some(e)),
            };
            page = match paging {
                Paging::Token { param, .. } => {
                    let mut request = first.clone();
                    request.params.insert(param.to_string(), next);
                    self.call(&request).await
                }
                Paging::Link { .. } => self.follow_link(first, &next).await,
            };
        }
    }

    /// Calls an absolute next-page link, which must be on the origin of the first request (the
    /// token is never sent elsewhere).
    async fn follow_link(
        &self,
        first: &Request<'_>,
        link: &str,
    ) -> Result<serde_json::Value, CollectError> {
        let operation = self.operation(first);
        let refuse = |why: &str| {
            CollectError::malformed(
                &operation,
                first.target,
                format!("the next-page link `{}` {why}: paging stopped", clip(link)),
            )
        };
        let base = reqwest::Url::parse(first.base).map_err(|_| refuse("cannot be checked"))?;
        let url = reqwest::Url::parse(link).map_err(|_| refuse("is not a URL"))?;
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        let base_path = base.path().trim_end_matches('/');
        if !same_origin || !url.path().starts_with(&format!("{base_path}/")) {
            return Err(refuse(&format!("does not point under {}", first.base)));
        }
        let path = percent_decode(&url.path()[base_path.len()..]);
        let params: BTreeMap<String, String> =
            parse_query(url.query().unwrap_or("")).into_iter().collect();
        let request = Request {
            service: first.service,
            base: first.base,
            method: reqwest::Method::GET,
            path: &path,
            params,
            body: None,
            target: first.target,
        };
        self.call_url(&request, Some(link)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_response_data_are_checked() {
        for ok in [
            "/",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "subscriptions/s",
            "https://evil.example/x",
            "//evil.example/x",
            "/subscriptions/../../x",
            "/a/./b",
            "/a?api-version=1",
            "/a#x",
            "/a\\b",
            "/a b",
            "/a\nb",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_path(&format!("/{}", "a".repeat(5000))).is_err());
    }
}
