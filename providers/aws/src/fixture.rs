//! Recorded API fixtures for AWS, in the shared format of `cloudscan_collect::fixture`
//! (`mocks/README.md`).
//!
//! Replay and recording work at the HTTP layer, underneath the real AWS SDK clients, so the SDK's
//! own serialization, signing, retries and deserialization run exactly as in a live scan: the
//! replay is an SDK HTTP connector that answers from the shared [`Cassette`], and the recorder
//! wraps the real connector and stores (scrubbed) through the shared [`Recorder`].
//!
//! Requests are matched on what identifies them, not on the host: the signing service and region
//! (from the SigV4 credential scope), method, path, query and body parameters. So a recording made
//! against a local emulator (`AWS_ENDPOINT_URL`) replays the same as one made against AWS.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use cloudscan_collect::fixture::{
    parse_query as parse_form, Cassette, Fault, FixtureError, PathMatch, RecordedResponse,
    RequestKey, Scenario,
};
use cloudscan_collect::Recorder as ExchangeLog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// How AWS request paths compare.
pub const PATHS: PathMatch = PathMatch::Exact;

/// What an AWS scenario records besides the common metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AwsParams {
    /// The region the scan's global and discovery calls were signed for (required to replay).
    #[serde(default)]
    pub home_region: Option<String>,
    /// The regions the recorded scan covered when they were given on the command line; None when
    /// they were discovered with `ec2:DescribeRegions` (which is then part of the recording).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

/// The metadata of an AWS fixture directory.
pub type AwsScenario = Scenario<AwsParams>;

/// Reads the request parts that identify it. The body must be in memory (true for every AWS
/// operation cloudscan calls).
pub fn request_key(request: &HttpRequest) -> RequestKey {
    let headers = request.headers();
    let (mut service, mut region) = headers
        .get("authorization")
        .and_then(credential_scope)
        .unwrap_or_default();
    let uri = request.uri().to_string();
    let (path, query) = split_uri(&uri);
    if service.is_empty() {
        // Unsigned request: fall back to the host name (`service.region.amazonaws.com`).
        let host = uri
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        let mut parts = host.split('.');
        service = parts.next().unwrap_or("unknown").to_string();
        region = parts.next().unwrap_or("global").to_string();
    }
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in parse_form(query) {
        params.insert(k, v);
    }
    let content_type = headers
        .get("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let body_bytes = request.body().bytes().unwrap_or(&[]);
    let mut body = None;
    if !body_bytes.is_empty() {
        let text = String::from_utf8_lossy(body_bytes);
        if content_type.contains("x-www-form-urlencoded") {
            for (k, v) in parse_form(&text) {
                params.insert(k, v);
            }
        } else if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            body = Some(value);
        } else {
            body = Some(serde_json::Value::String(text.into_owned()));
        }
    }
    let operation = if let Some(action) = params.get("Action") {
        action.clone()
    } else if let Some(target) = headers.get("x-amz-target") {
        target.rsplit('.').next().unwrap_or(target).to_string()
    } else if service == "s3" {
        s3_operation(request.method(), path, &params)
    } else {
        rest_operation(request.method(), path)
    };
    params.remove("Action");
    params.remove("Version");
    RequestKey {
        service,
        region,
        operation,
        method: request.method().to_string(),
        path: path.to_string(),
        params,
        body,
    }
}

/// Names a REST-JSON (EKS) request by its operation, from the path template; unknown shapes keep
/// `METHOD path`.
fn rest_operation(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, segments.as_slice()) {
        ("GET", ["clusters"]) => "ListClusters",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("GET", ["clusters", _, "node-groups"]) => "ListNodegroups",
        ("GET", ["clusters", _, "node-groups", _]) => "DescribeNodegroup",
        ("GET", ["clusters", _, "pod-identity-associations"]) => "ListPodIdentityAssociations",
        ("GET", ["clusters", _, "pod-identity-associations", _]) => {
            "DescribePodIdentityAssociation"
        }
        ("GET", ["clusters", _, "access-entries"]) => "ListAccessEntries",
        ("GET", ["clusters", _, "access-entries", _]) => "DescribeAccessEntry",
        ("GET", ["clusters", _, "addons"]) => "ListAddons",
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

/// Names an S3 or S3 Control request (both sign as `s3`; cloudscan sends path-style requests)
/// by the IAM action it needs, which is not always the API operation's name: ListBuckets needs
/// `s3:ListAllMyBuckets`, the bucket's GetPublicAccessBlock `s3:GetBucketPublicAccessBlock`, the
/// account's `s3:GetAccountPublicAccessBlock`. Unknown shapes keep `METHOD path`.
fn s3_operation(method: &str, path: &str, params: &BTreeMap<String, String>) -> String {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let name = match (method, segments.as_slice()) {
        ("GET", ["v20180820", "configuration", "publicAccessBlock"]) => {
            "GetAccountPublicAccessBlock"
        }
        ("GET", []) => "ListAllMyBuckets",
        ("GET", [_bucket]) if params.contains_key("policy") => "GetBucketPolicy",
        ("GET", [_bucket]) if params.contains_key("publicAccessBlock") => {
            "GetBucketPublicAccessBlock"
        }
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

/// Extracts `(service, region)` from `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...`.
fn credential_scope(authorization: &str) -> Option<(String, String)> {
    let start = authorization.find("Credential=")? + "Credential=".len();
    let scope = authorization[start..].split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() >= 5 {
        Some((parts[3].to_string(), parts[2].to_string()))
    } else {
        None
    }
}

fn split_uri(uri: &str) -> (&str, &str) {
    let after_scheme = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    let path_and_query = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    match path_and_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_and_query, ""),
    }
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Serves recorded responses to the SDK; never touches the network.
#[derive(Debug, Clone)]
pub struct ReplayClient {
    cassette: Arc<Cassette>,
}

impl ReplayClient {
    /// Loads every exchange of `dir`. The scenario must name its `home_region`.
    pub fn load(dir: &Path) -> Result<(ReplayClient, AwsScenario, String), FixtureError> {
        let (cassette, scenario) = Cassette::load::<AwsParams>(dir, PATHS)?;
        let home_region = scenario
            .params
            .home_region
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| FixtureError::Invalid {
                path: dir.join(cloudscan_collect::fixture::SCENARIO_FILE),
                message: "`home_region` is missing: it names the region the recording's global calls were signed for".to_string(),
            })?;
        Ok((
            ReplayClient {
                cassette: Arc::new(cassette),
            },
            scenario,
            home_region,
        ))
    }

    /// The next recorded response, with the fault a test injected into it (a reset, a late
    /// answer, an oversized body).
    fn respond(&self, key: &RequestKey) -> HttpConnectorFuture {
        let Some(served) = self.cassette.serve(key) else {
            let missing = self.cassette.missing(key);
            return HttpConnectorFuture::ready(Err(ConnectorError::user(missing.into())));
        };
        match served.fault {
            None => HttpConnectorFuture::ready(build_response(&served.response, 0)),
            Some(Fault::PadBytes(n)) => {
                HttpConnectorFuture::ready(build_response(&served.response, n))
            }
            Some(Fault::Reset) => {
                HttpConnectorFuture::ready(Err(ConnectorError::io(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                )))))
            }
            Some(Fault::DelayMs(ms)) => HttpConnectorFuture::new(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                build_response(&served.response, 0)
            }),
        }
    }
}

/// A recorded response as the SDK reads it, its body followed by `pad` spaces.
fn build_response(recorded: &RecordedResponse, pad: u64) -> Result<HttpResponse, ConnectorError> {
    let status = StatusCode::try_from(recorded.status).map_err(|_| {
        ConnectorError::user(format!("invalid HTTP status {} in fixture", recorded.status).into())
    })?;
    let mut body = recorded.body_text();
    if pad > 0 {
        let pad = usize::try_from(pad.min(cloudscan_collect::fixture::MAX_FAULT_PAD)).unwrap_or(0);
        body.push_str(&" ".repeat(pad));
    }
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in &recorded.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    if recorded.json.is_some() && !recorded.headers.contains_key("content-type") {
        response
            .headers_mut()
            .insert("content-type", "application/json");
    }
    Ok(response)
}

impl HttpConnector for ReplayClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let key = request_key(&request);
        self.respond(&key)
    }
}

impl HttpClient for ReplayClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Body cap

/// The largest response body the adapter reads (as the REST clouds' client): a larger one is a
/// malformed response, not a reason to exhaust memory.
pub const MAX_BODY: usize = cloudscan_collect::rest::DEFAULT_MAX_BODY;

/// The words that start a body-cap or cut-off-body error (the error classification recognises
/// them as a malformed response).
pub const UNUSABLE_BODY: &str = "unusable response body";

/// Where an XML document is cut off: the element still open at its end, or None when every
/// element is closed. The AWS SDK's XML reader stops at the end of the input without an error,
/// so a page cut off in transit would otherwise read as a shorter, complete page.
pub fn xml_cut_off(text: &str) -> Option<String> {
    let mut open: Vec<&str> = Vec::new();
    let mut seen = false;
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let tail = &rest[start..];
        let Some(end) = tail.find('>') else {
            return Some("a tag that never ends".to_string());
        };
        let tag = &tail[1..end];
        rest = &tail[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name.trim() => {}
                _ => return Some(format!("a stray </{}>", name.trim())),
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("");
            open.push(name);
            seen = true;
        } else {
            seen = true;
        }
    }
    match open.last() {
        Some(name) => Some(format!("<{name}> is never closed")),
        None if !seen => Some("no XML element".to_string()),
        None => None,
    }
}

/// Wraps an HTTP client so that no response body over [`MAX_BODY`] reaches the SDK.
#[derive(Debug, Clone)]
pub struct BodyCap {
    inner: SharedHttpClient,
    max: usize,
}

impl BodyCap {
    pub fn new(inner: impl HttpClient + 'static) -> Self {
        BodyCap {
            inner: SharedHttpClient::new(inner),
            max: MAX_BODY,
        }
    }
}

#[derive(Debug, Clone)]
struct CappedConnector {
    inner: SharedHttpConnector,
    max: usize,
}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let max = self.max;
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let too_large = |what: String| {
                ConnectorError::other(
                    format!("{UNUSABLE_BODY}: {what}, more than the {max} bytes the scanner reads")
                        .into(),
                    None,
                )
            };
            let announced = response
                .headers()
                .get("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(n) = announced.filter(|n| *n > max as u64) {
                return Err(too_large(format!("the response body announces {n} bytes")));
            }
            let mut stream = ByteStream::new(response.take_body());
            let mut bytes: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| ConnectorError::io(Box::new(e)))?;
                if bytes.len().saturating_add(chunk.len()) > max {
                    return Err(too_large("the response body is larger".to_string()));
                }
                bytes.extend_from_slice(&chunk);
            }
            let xml = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
            // Only a body that is XML is checked: S3's GetBucketPolicy answers the policy JSON
            // itself, and some servers label it XML.
            let text = String::from_utf8_lossy(&bytes);
            if xml && response.status().is_success() && text.trim_start().starts_with('<') {
                if let Some(why) = xml_cut_off(&text) {
                    return Err(ConnectorError::other(
                        format!("{UNUSABLE_BODY}: the XML is cut off or not XML: {why}").into(),
                        None,
                    ));
                }
            }
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}

impl HttpClient for BodyCap {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CappedConnector {
            inner: self.inner.http_connector(settings, components),
            max: self.max,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Record

/// Wraps the real HTTP client and keeps a scrubbed copy of every exchange.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: SharedHttpClient,
    log: ExchangeLog,
}

impl Recorder {
    pub fn new(inner: SharedHttpClient) -> Self {
        Recorder {
            inner,
            log: ExchangeLog::new(PATHS),
        }
    }

    /// Writes the recorded exchanges and `scenario` to `dir`, replacing an earlier recording
    /// there whole.
    pub fn write(&self, dir: &Path, scenario: &AwsScenario) -> Result<usize, FixtureError> {
        self.log.write(dir, scenario)
    }
}

#[derive(Debug, Clone)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    log: ExchangeLog,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let key = request_key(&request);
        let inner = self.inner.clone();
        let log = self.log.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            let bytes = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(Box::new(e)))?
                .into_bytes();
            log.record(&key, status, &headers, &String::from_utf8_lossy(&bytes));
            // The SDK reads the original bytes, not the scrubbed copy.
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}

impl HttpClient for Recorder {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            log: self.log.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_off_xml_is_found() {
        let whole = r#"<?xml version="1.0"?><R xmlns="x"><A>1</A><B/><C a="1">t</C></R>"#;
        assert_eq!(xml_cut_off(whole), None);
        let cut = &whole[..whole.len() / 2];
        assert!(xml_cut_off(cut).is_some(), "{cut}");
        assert!(xml_cut_off("proxy error").is_some());
        assert!(xml_cut_off("<R><A></R>").is_some());
        assert!(xml_cut_off("<R").is_some());
    }

    #[test]
    fn credential_scope_is_parsed() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-west-2/eks/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(
            credential_scope(auth),
            Some(("eks".to_string(), "us-west-2".to_string()))
        );
        assert_eq!(credential_scope("Bearer x"), None);
    }

    #[test]
    fn s3_requests_are_named_by_their_iam_action() {
        let params = |k: &str| BTreeMap::from([(k.to_string(), String::new())]);
        let none = BTreeMap::new();
        assert_eq!(s3_operation("GET", "/", &none), "ListAllMyBuckets");
        assert_eq!(
            s3_operation("GET", "/data", &params("policy")),
            "GetBucketPolicy"
        );
        assert_eq!(
            s3_operation("GET", "/data", &params("publicAccessBlock")),
            "GetBucketPublicAccessBlock"
        );
        assert_eq!(
            s3_operation("GET", "/v20180820/configuration/publicAccessBlock", &none),
            "GetAccountPublicAccessBlock"
        );
        assert_eq!(s3_operation("GET", "/data/key", &none), "GET /data/key");
    }

    #[test]
    fn form_parameters_are_decoded() {
        let pairs = parse_form("Action=DescribeInstances&Filter.1.Value.1=a%2Fb+c");
        assert_eq!(
            pairs[1],
            ("Filter.1.Value.1".to_string(), "a/b c".to_string())
        );
    }
}
