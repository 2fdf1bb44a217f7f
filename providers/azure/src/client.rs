//! The ARM side of the Azure adapter: the Azure Resource Manager dialect of the shared REST
//! client (`cloudscan_collect::rest`): how a request is named, how an ARM error body is
//! classified, which action a call needs; `nextLink` paging; and the check of ARM resource ids
//! taken from responses before they become request URLs.

use crate::auth::TokenSource;
use cloudscan_collect::error::FailureKind;
use cloudscan_collect::fixture::{PathMatch, RequestKey};
use cloudscan_collect::rest::{Classified, Dialect, Paging, Request, RestClient};
use cloudscan_collect::{one_line, CollectError};
use std::sync::Arc;

pub use cloudscan_collect::rest::RetryPolicy;

/// The public ARM endpoint.
pub const ARM_URL: &str = "https://management.azure.com";
/// Overrides the ARM base URL (a local server, a sovereign cloud).
pub const ARM_URL_ENV: &str = "CLOUDSCAN_AZURE_ARM_URL";

/// Path segments keep ARM names; only a few characters need escaping.
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

/// The Azure Resource Manager dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArmDialect;

impl Dialect for ArmDialect {
    fn name(&self, _service: &str, _method: &str, path: &str) -> (String, String, String) {
        let (service, operation) = crate::fixture::describe(path);
        (service, "global".to_string(), operation)
    }

    fn classify(&self, status: u16, body: &str) -> Classified {
        classify(status, body)
    }

    fn permission(&self, key: &RequestKey) -> Option<&'static str> {
        crate::operations::find(&key.method, &key.path).map(|o| o.action)
    }

    fn path_match(&self) -> PathMatch {
        PathMatch::CaseInsensitive
    }

    fn encode_path(&self, path: &str) -> String {
        percent_encoding::utf8_percent_encode(path, PATH_SET).to_string()
    }

    /// Recorded bodies name the public ARM host, wherever the recording was made.
    fn recorded_body(&self, body: &str, base: &str) -> String {
        if base.is_empty() || base == ARM_URL {
            body.to_string()
        } else {
            body.replace(base, ARM_URL)
        }
    }
}

/// Classifies a non-2xx ARM response (`{"error":{"code","message"}}`).
pub fn classify(status: u16, body: &str) -> Classified {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let code = err
        .and_then(|e| e.get("code"))
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_string();
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(200).collect());
    let kind = match (status, code.as_str()) {
        (_, "MissingSubscriptionRegistration" | "NoRegisteredProviderFound") => {
            FailureKind::Unsupported
        }
        (401, _) => FailureKind::Credentials,
        (403, _) => FailureKind::AccessDenied,
        (404, _) => FailureKind::NotFound,
        (429, _) => FailureKind::Throttled,
        (500..=599, _) => FailureKind::Server,
        _ => FailureKind::Other,
    };
    Classified {
        kind,
        code: if code.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status} {code}")
        },
        message: one_line(&message),
    }
}

/// Checks an ARM resource id (or a path built on one) before it becomes a request URL: a path on
/// the ARM host under `/subscriptions/` or `/providers/`, with no `.`/`..`/empty segment, query,
/// fragment or control character.
pub fn check_arm_path(path: &str) -> Result<(), String> {
    cloudscan_collect::rest::check_path(path)?;
    let lower = path.to_ascii_lowercase();
    if !(lower.starts_with("/subscriptions") || lower.starts_with("/providers/")) {
        return Err(format!(
            "`{path}` is not an ARM resource id (expected /subscriptions/... or /providers/...)"
        ));
    }
    Ok(())
}

/// The client every collector uses.
#[derive(Debug, Clone)]
pub struct Arm {
    rest: RestClient<ArmDialect>,
    base: String,
}

impl Arm {
    pub fn new(
        http: reqwest::Client,
        tokens: TokenSource,
        base: &str,
        concurrency: usize,
        retry: RetryPolicy,
        timeout: std::time::Duration,
        recorder: Option<cloudscan_collect::Recorder>,
    ) -> Self {
        Arm {
            rest: RestClient::new(
                http,
                Arc::new(tokens),
                ArmDialect,
                concurrency,
                retry,
                timeout,
                recorder,
            ),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request<'a>(
        &'a self,
        path: &'a str,
        api_version: &str,
        target: &'a str,
    ) -> Result<Request<'a>, CollectError> {
        check_arm_path(path).map_err(|m| {
            // Not named after the path: the path is what cannot be trusted.
            CollectError::malformed(
                "arm request",
                target,
                format!("refusing to call a path built from response data: {m}"),
            )
        })?;
        Ok(Request::get("", &self.base, path, target).param("api-version", api_version))
    }

    /// GETs an ARM path (`/subscriptions/...`, unencoded) with `api-version`.
    pub async fn get(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> Result<serde_json::Value, CollectError> {
        let request = self.request(path, api_version, target)?;
        self.rest.call(&request).await
    }

    /// Lists every item of an ARM list call, following `nextLink` (on the ARM host only) until
    /// it is absent or null. Returns the items read and the error that stopped the listing.
    pub async fn list(
        &self,
        path: &str,
        api_version: &str,
        target: &str,
    ) -> (Vec<serde_json::Value>, Option<CollectError>) {
        let request = match self.request(path, api_version, target) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let operation = self.rest.operation(&request);
        let (pages, mut error) = self
            .rest
            .pages(&request, Paging::Link { field: "nextLink" })
            .await;
        let mut items = Vec::new();
        for page in pages {
            match page.get("value") {
                Some(serde_json::Value::Array(list)) => items.extend(list.iter().cloned()),
                Some(serde_json::Value::Null) | None => {}
                Some(_) => {
                    error = Some(CollectError::malformed(
                        &operation,
                        target,
                        "`value` is not an array",
                    ));
                    break;
                }
            }
        }
        (items, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_errors_are_classified() {
        let c = classify(
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization"}}"#,
        );
        assert_eq!(c.kind, FailureKind::AccessDenied);
        assert_eq!(c.code, "HTTP 403 AuthorizationFailed");
        let c = classify(
            409,
            r#"{"error":{"code":"MissingSubscriptionRegistration","message":"not registered"}}"#,
        );
        assert_eq!(c.kind, FailureKind::Unsupported);
        assert_eq!(classify(503, "busy").kind, FailureKind::Server);
        assert_eq!(classify(401, "{}").kind, FailureKind::Credentials);
    }

    #[test]
    fn arm_ids_from_responses_are_checked() {
        for ok in [
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            "/providers/Microsoft.Authorization/roleDefinitions/b24988ac",
            "/subscriptions",
        ] {
            assert!(check_arm_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://evil.example/subscriptions/s",
            "//evil.example/subscriptions/s",
            "/subscriptions/s/../../x",
            "/subscriptions/s?api-version=1",
            "/metadata/identity/oauth2/token",
            "subscriptions/s",
        ] {
            assert!(check_arm_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn recordings_name_the_public_host() {
        let body = r#"{"nextLink":"http://127.0.0.1:9/subscriptions?x=1"}"#;
        assert_eq!(
            ArmDialect.recorded_body(body, "http://127.0.0.1:9"),
            r#"{"nextLink":"https://management.azure.com/subscriptions?x=1"}"#
        );
    }
}
