//! The calls: one `kube::Client` per context, read-only GETs with a per-attempt time-out,
//! retries of throttled and transient failures, a body cap, guarded paging, and the scrubbed
//! recording of what was kept of each response.

use crate::objects::Kind;
use cloudscan_collect::fixture::{RequestKey, MISSING_HEADER};
use cloudscan_collect::rest::{parse_retry_after, RetryPolicy, DEFAULT_MAX_BODY};
use cloudscan_collect::{CollectError, FailureKind, PageGuard, Recorder};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Items per page of a list.
pub const PAGE_SIZE: usize = 500;

/// One context's API, as the collectors call it.
pub struct Api {
    pub client: kube::Client,
    /// The context name: the `region` of every recorded request.
    pub context: String,
    pub recorder: Option<Recorder>,
    pub retry: RetryPolicy,
    pub call_timeout: Duration,
}

/// A response, after the status was judged.
pub enum Answer {
    /// 2xx: the pruned body.
    Ok(Value),
    /// 404 from the API (not a missing recording).
    NotFound,
}

impl Api {
    fn key(&self, kind: Kind, params: &BTreeMap<String, String>) -> RequestKey {
        RequestKey {
            service: "kubernetes".to_string(),
            region: self.context.clone(),
            operation: kind.operation().to_string(),
            method: "GET".to_string(),
            path: kind.path().to_string(),
            params: params.clone(),
            body: None,
        }
    }

    fn operation(kind: Kind) -> String {
        format!("kubernetes {}", kind.operation())
    }

    fn permission(kind: Kind) -> &'static str {
        match kind {
            Kind::ServiceAccounts => "list serviceaccounts (cluster-wide)",
            Kind::Pods => "list pods (cluster-wide)",
            Kind::Nodes => "list nodes",
            Kind::NetworkPolicies => "list networkpolicies.networking.k8s.io (cluster-wide)",
            Kind::AwsAuth => "get configmaps aws-auth in kube-system",
        }
    }

    /// One GET, retried; the body is pruned to what cloudscan reads before it is recorded.
    pub async fn get(
        &self,
        kind: Kind,
        params: &BTreeMap<String, String>,
    ) -> Result<Answer, CollectError> {
        let key = self.key(kind, params);
        let op = Self::operation(kind);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = tokio::time::timeout(self.call_timeout, self.once(kind, params)).await;
            let (status, headers, text) = match result {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    if e.kind.retryable() && attempt < self.retry.max_attempts {
                        tokio::time::sleep(self.retry.delay(attempt, None)).await;
                        continue;
                    }
                    return Err(e);
                }
                Err(_) => {
                    if attempt < self.retry.max_attempts {
                        continue;
                    }
                    return Err(CollectError::new(
                        &op,
                        &self.context,
                        FailureKind::Network,
                        format!(
                            "no answer within {} s (attempt {attempt})",
                            self.call_timeout.as_secs()
                        ),
                    ));
                }
            };
            let missing = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(MISSING_HEADER));
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            let kept = parsed.as_ref().map(|v| kind.prune(v));
            if let (Some(recorder), false) = (&self.recorder, missing) {
                let body = kept
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_else(|| text.clone());
                recorder.record(&key, status, &headers, &body);
            }
            let message = || {
                parsed
                    .as_ref()
                    .and_then(|v| v.get("message").and_then(Value::as_str))
                    .map(str::to_string)
                    .unwrap_or_else(|| text.chars().take(300).collect())
            };
            let fail = |kind_: FailureKind| {
                CollectError::new(&op, &self.context, kind_, message())
                    .with_code(format!("HTTP {status}"))
                    .with_permission(Some(Self::permission(kind)))
            };
            match status {
                200..=299 => {
                    return kept.map(Answer::Ok).ok_or_else(|| {
                        CollectError::malformed(&op, &self.context, "the response is not JSON")
                    })
                }
                404 if missing => return Err(fail(FailureKind::NotRecorded)),
                404 => return Ok(Answer::NotFound),
                401 => return Err(fail(FailureKind::Credentials)),
                403 => return Err(fail(FailureKind::AccessDenied)),
                429 | 500..=599 => {
                    if attempt < self.retry.max_attempts {
                        let after = headers
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                            .and_then(|(_, v)| parse_retry_after(v, self.retry.max_retry_after));
                        tokio::time::sleep(self.retry.delay(attempt, after)).await;
                        continue;
                    }
                    return Err(fail(if status == 429 {
                        FailureKind::Throttled
                    } else {
                        FailureKind::Server
                    }));
                }
                _ => return Err(fail(FailureKind::Other)),
            }
        }
    }

    async fn once(
        &self,
        kind: Kind,
        params: &BTreeMap<String, String>,
    ) -> Result<(u16, Vec<(String, String)>, String), CollectError> {
        let op = Self::operation(kind);
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    cloudscan_collect::rest::encode_query(k),
                    cloudscan_collect::rest::encode_query(v)
                )
            })
            .collect();
        let query = query.join("&");
        let uri = if query.is_empty() {
            kind.path().to_string()
        } else {
            format!("{}?{query}", kind.path())
        };
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::from(Vec::new()))
            .map_err(|e| {
                CollectError::new(&op, &self.context, FailureKind::Other, e.to_string())
            })?;
        let response = self.client.send(request).await.map_err(|e| {
            let kind = match &e {
                kube::Error::Auth(_) => FailureKind::Credentials,
                _ => FailureKind::Network,
            };
            CollectError::new(
                &op,
                &self.context,
                kind,
                cloudscan_collect::error::error_chain(&e),
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
        let bytes = response.into_body().collect_bytes().await.map_err(|e| {
            CollectError::new(
                &op,
                &self.context,
                FailureKind::Network,
                cloudscan_collect::error::error_chain(&e),
            )
        })?;
        if bytes.len() > DEFAULT_MAX_BODY {
            return Err(CollectError::malformed(
                &op,
                &self.context,
                format!(
                    "the response holds {} bytes, more than the {DEFAULT_MAX_BODY} read",
                    bytes.len()
                ),
            ));
        }
        Ok((
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }

    /// Every page of a list, each parsed with `parse`.
    pub async fn list<T>(
        &self,
        kind: Kind,
        mut parse: impl FnMut(&Value) -> Result<(Vec<T>, Option<String>), String>,
    ) -> Result<Vec<T>, CollectError> {
        let op = Self::operation(kind);
        let mut guard = PageGuard::new(&op, &self.context);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = BTreeMap::from([("limit".to_string(), PAGE_SIZE.to_string())]);
            if let Some(t) = &token {
                params.insert("continue".to_string(), t.clone());
            }
            let body = match self.get(kind, &params).await? {
                Answer::Ok(body) => body,
                Answer::NotFound => {
                    return Err(CollectError::new(
                        &op,
                        &self.context,
                        FailureKind::NotFound,
                        "the API server does not serve this list",
                    ))
                }
            };
            let (items, next) =
                parse(&body).map_err(|e| CollectError::malformed(&op, &self.context, e))?;
            out.extend(items);
            match guard.next(next.as_deref())? {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }
}
