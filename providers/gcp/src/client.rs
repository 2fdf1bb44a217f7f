//! The HTTP side of the GCP adapter: the Google APIs it calls and their base URLs (overridable),
//! bearer tokens from google-cloud-auth, and the Google dialect of the shared REST client
//! (`cloudscan_collect::rest`): how a request is named, how a `google.rpc.Status` error is
//! classified, which permission a call needs.

use crate::error::GcpError;
use cloudscan_collect::error::error_chain;
use cloudscan_collect::fixture::RequestKey;
use cloudscan_collect::rest::{Classified, Dialect, Paging, Request, RestClient, TokenProvider};
use cloudscan_collect::CollectError;
use futures::future::BoxFuture;
use google_cloud_auth::credentials::AccessTokenCredentials;
use std::collections::BTreeMap;

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
    /// variables. Each override must be `https://`, or `http://` to a loopback address (a bearer
    /// token goes there), and is announced on standard error.
    pub fn from_env(progress: &cloudscan_collect::scan::ProgressFn) -> Result<Self, GcpError> {
        let read = |variable: &str| {
            cloudscan_collect::endpoint::from_env(variable, progress).map_err(GcpError::Endpoint)
        };
        let mut endpoints = match read(BASE_URL_ENV)? {
            Some(base) => Endpoints::under(&base),
            None => Endpoints::google(),
        };
        for s in Service::ALL {
            if let Some(url) = read(s.env_var())? {
                endpoints.urls.insert(s, url);
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

/// Bearer tokens from google-cloud-auth.
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
            .map_err(|e| error_chain(&e))
    }
}

impl TokenProvider for TokenSource {
    fn token(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(TokenSource::token(self))
    }
}

/// The Google API dialect of the REST client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Google;

/// Path characters escaped in a Google REST path segment.
const SEGMENT_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    // `:` introduces custom methods (`:getIamPolicy`) and `@` is valid in a segment; Google
    // expects both verbatim.
    .remove(b':')
    .remove(b'@');

impl Dialect for Google {
    fn name(&self, service: &str, method: &str, path: &str) -> (String, String, String) {
        let (operation, region) = crate::fixture::describe(service, method, path);
        (service.to_string(), region, operation)
    }

    fn classify(&self, status: u16, body: &str) -> Classified {
        crate::error::classify(status, body)
    }

    fn permission(&self, key: &RequestKey) -> Option<&'static str> {
        crate::operations::find(&key.service, &key.method, &key.path).and_then(|o| o.permission)
    }

    fn encode_path(&self, path: &str) -> String {
        path.split('/')
            .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT_SET).to_string())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The client every collector uses: the shared REST client in the Google dialect, and the base
/// URL of each service.
#[derive(Debug, Clone)]
pub struct Api {
    rest: RestClient<Google>,
    endpoints: Endpoints,
}

impl Api {
    pub fn new(rest: RestClient<Google>, endpoints: Endpoints) -> Self {
        Api { rest, endpoints }
    }

    /// Calls one Google API method and returns its JSON response. `path` is the REST path
    /// under the service's base URL (`/v1/projects/p/...`), unencoded; `target` names the
    /// resource for error messages.
    pub async fn call(
        &self,
        service: Service,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, String)],
        body: Option<serde_json::Value>,
        target: &str,
    ) -> Result<serde_json::Value, CollectError> {
        let request = Request {
            service: service.name(),
            base: self.endpoints.url(service),
            method,
            path,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            body,
            target,
        };
        self.rest.call(&request).await
    }

    /// Follows `nextPageToken` through every page of a list method; returns the pages in order
    /// and the error that stopped the listing early. `fixed` parameters are sent on every page.
    pub async fn pages(
        &self,
        service: Service,
        path: &str,
        fixed: &[(&str, &str)],
        target: &str,
    ) -> (Vec<serde_json::Value>, Option<CollectError>) {
        let mut request = Request::get(service.name(), self.endpoints.url(service), path, target);
        for (k, v) in fixed {
            request = request.param(k, *v);
        }
        self.rest
            .pages(
                &request,
                Paging::Token {
                    field: "nextPageToken",
                    param: "pageToken",
                },
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_resolve_per_service() {
        let e = Endpoints::under("http://127.0.0.1:9/");
        assert_eq!(e.url(Service::Iam), "http://127.0.0.1:9/iam");
        assert_eq!(
            Endpoints::google().url(Service::ResourceManager),
            "https://cloudresourcemanager.googleapis.com"
        );
    }

    #[test]
    fn custom_methods_and_emails_stay_verbatim_in_paths() {
        assert_eq!(
            Google.encode_path(
                "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy"
            ),
            "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy"
        );
        assert_eq!(Google.encode_path("/v1/roles/a b"), "/v1/roles/a%20b");
    }
}
