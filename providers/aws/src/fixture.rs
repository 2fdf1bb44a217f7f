//! Recorded API fixtures: replay a scan from disk, or record a live scan to disk.
//!
//! Both work at the HTTP layer, underneath the real AWS SDK clients, so the SDK's own
//! serialization, signing, retries and deserialization run exactly as in a live scan. A fixture
//! directory holds `scenario.json` (metadata) and one JSON file per distinct request under
//! `exchanges/<service>/<region>/`. The format is documented in `mocks/README.md`.
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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file that describes a fixture directory.
pub const SCENARIO_FILE: &str = "scenario.json";
/// The folder, inside a fixture directory, that holds the recorded exchanges.
pub const EXCHANGES_DIR: &str = "exchanges";

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("fixture directory `{0}` does not exist or is not a directory")]
    NoSuchDir(PathBuf),
    #[error("cannot read fixture `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid fixture `{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("fixture directory `{0}` holds no recorded exchanges (expected JSON files under `exchanges/`)")]
    Empty(PathBuf),
}

/// Metadata of a fixture directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Scenario {
    /// A human description of the scenario.
    #[serde(default)]
    pub description: Option<String>,
    /// The region the scan's global and discovery calls were signed for.
    pub home_region: String,
    /// The regions the recorded scan covered when they were given on the command line; None when
    /// they were discovered with `ec2:DescribeRegions` (which is then part of the recording).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    #[serde(default)]
    pub recorded_with: Option<String>,
}

/// What identifies a request, independent of host and credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestKey {
    pub service: String,
    pub region: String,
    pub operation: String,
    pub method: String,
    pub path: String,
    /// Query-string and form-body parameters (percent-decoded), minus `Action` and `Version`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// A JSON request body (awsJson protocols), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl RequestKey {
    /// A canonical text form, used as the lookup key (JSON objects serialize with sorted keys).
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn digest(&self) -> String {
        let canonical = self.canonical();
        let hash = Sha256::digest(canonical.as_bytes());
        hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    /// The relative file name this exchange is stored under.
    pub fn file_name(&self) -> PathBuf {
        let op: String = self
            .operation
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PathBuf::from(&self.service)
            .join(&self.region)
            .join(format!("{}-{}.json", op.trim_matches('_'), self.digest()))
    }

    /// A one-line description for error messages.
    pub fn describe(&self) -> String {
        let mut params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some(body) = &self.body {
            params.push(body.to_string());
        }
        format!(
            "{} {} in {} ({} {}{})",
            self.service,
            self.operation,
            self.region,
            self.method,
            self.path,
            if params.is_empty() {
                String::new()
            } else {
                format!(" {}", params.join(" "))
            }
        )
    }
}

/// One recorded HTTP response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text (XML protocols), or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// the body as JSON (JSON protocols), stored parsed so fixtures stay readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

/// A request and the responses served for it, in order (the last one repeats).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exchange {
    pub request: RequestKey,
    pub responses: Vec<RecordedResponse>,
}

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

fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let replaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&replaced)
        .decode_utf8_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Serves recorded responses to the SDK; never touches the network.
#[derive(Debug, Clone)]
pub struct ReplayClient {
    inner: Arc<ReplayState>,
}

#[derive(Debug)]
struct ReplayState {
    exchanges: HashMap<String, Vec<RecordedResponse>>,
    served: Mutex<HashMap<String, usize>>,
    dir: PathBuf,
}

impl ReplayClient {
    /// Loads every exchange under `dir/exchanges`.
    pub fn load(dir: &Path) -> Result<(ReplayClient, Scenario), FixtureError> {
        if !dir.is_dir() {
            return Err(FixtureError::NoSuchDir(dir.to_path_buf()));
        }
        let scenario_path = dir.join(SCENARIO_FILE);
        let scenario: Scenario = read_json(&scenario_path)?;
        let mut files = Vec::new();
        collect_json_files(&dir.join(EXCHANGES_DIR), &mut files)?;
        files.sort();
        let mut exchanges: HashMap<String, Vec<RecordedResponse>> = HashMap::new();
        for file in &files {
            let exchange: Exchange = read_json(file)?;
            if exchange.responses.is_empty() {
                return Err(FixtureError::Invalid {
                    path: file.clone(),
                    message: "`responses` is empty".to_string(),
                });
            }
            let canonical = exchange.request.canonical();
            if exchanges.contains_key(&canonical) {
                return Err(FixtureError::Invalid {
                    path: file.clone(),
                    message: format!(
                        "another file already records {}",
                        exchange.request.describe()
                    ),
                });
            }
            exchanges.insert(canonical, exchange.responses);
        }
        if exchanges.is_empty() {
            return Err(FixtureError::Empty(dir.to_path_buf()));
        }
        Ok((
            ReplayClient {
                inner: Arc::new(ReplayState {
                    exchanges,
                    served: Mutex::new(HashMap::new()),
                    dir: dir.to_path_buf(),
                }),
            },
            scenario,
        ))
    }

    fn respond(&self, key: &RequestKey) -> Result<HttpResponse, ConnectorError> {
        let canonical = key.canonical();
        let Some(responses) = self.inner.exchanges.get(&canonical) else {
            return Err(ConnectorError::user(
                format!(
                    "no recorded response in `{}` for {}",
                    self.inner.dir.display(),
                    key.describe()
                )
                .into(),
            ));
        };
        let index = {
            let mut served = self
                .inner
                .served
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let n = served.entry(canonical).or_insert(0);
            let i = (*n).min(responses.len() - 1);
            *n += 1;
            i
        };
        build_response(&responses[index])
    }
}

fn build_response(recorded: &RecordedResponse) -> Result<HttpResponse, ConnectorError> {
    let status = StatusCode::try_from(recorded.status).map_err(|_| {
        ConnectorError::user(format!("invalid HTTP status {} in fixture", recorded.status).into())
    })?;
    let body = match (&recorded.body, &recorded.json) {
        (_, Some(json)) => SdkBody::from(json.to_string()),
        (Some(text), None) => SdkBody::from(text.clone()),
        (None, None) => SdkBody::empty(),
    };
    let mut response = HttpResponse::new(status, body);
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
        HttpConnectorFuture::ready(self.respond(&key))
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

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| FixtureError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    if !dir.exists() {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| FixtureError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| FixtureError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Record

/// Wraps the real HTTP client and keeps a scrubbed copy of every exchange.
/// Recorded exchanges by canonical request.
type RecordLog = BTreeMap<String, (RequestKey, Vec<RecordedResponse>)>;

#[derive(Debug, Clone)]
pub struct Recorder {
    inner: SharedHttpClient,
    log: Arc<Mutex<RecordLog>>,
}

impl Recorder {
    pub fn new(inner: SharedHttpClient) -> Self {
        Recorder {
            inner,
            log: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Writes the recorded exchanges and `scenario` to `dir` (created if needed). Files of an
    /// earlier recording in `dir/exchanges` are replaced.
    pub fn write(&self, dir: &Path, scenario: &Scenario) -> Result<usize, FixtureError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FixtureError::Io { path, source }
        };
        let exchanges_dir = dir.join(EXCHANGES_DIR);
        if exchanges_dir.exists() {
            std::fs::remove_dir_all(&exchanges_dir).map_err(io(&exchanges_dir))?;
        }
        std::fs::create_dir_all(&exchanges_dir).map_err(io(&exchanges_dir))?;
        let log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (request, responses) in log.values() {
            let exchange = Exchange {
                request: request.clone(),
                responses: responses.clone(),
            };
            let path = exchanges_dir.join(request.file_name());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let text = serde_json::to_string_pretty(&exchange).unwrap_or_default();
            std::fs::write(&path, text + "\n").map_err(io(&path))?;
        }
        let scenario_path = dir.join(SCENARIO_FILE);
        let text = serde_json::to_string_pretty(scenario).unwrap_or_default();
        std::fs::write(&scenario_path, text + "\n").map_err(io(&scenario_path))?;
        Ok(log.len())
    }
}

#[derive(Debug, Clone)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    log: Arc<Mutex<RecordLog>>,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let key = request_key(&request);
        let inner = self.inner.clone();
        let log = self.log.clone();
        HttpConnectorFuture::new(async move {
            let response = inner.call(request).await?;
            let status = response.status().as_u16();
            let mut headers = BTreeMap::new();
            for (name, value) in response.headers().iter() {
                let name = name.to_ascii_lowercase();
                if KEPT_RESPONSE_HEADERS.contains(&name.as_str()) {
                    headers.insert(name, value.to_string());
                }
            }
            let mut response = response;
            let bytes = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(Box::new(e)))?
                .into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let scrubbed = scrub_body(&text);
            let recorded = if headers
                .get("content-type")
                .is_some_and(|ct| ct.contains("json"))
            {
                match serde_json::from_str::<serde_json::Value>(&scrubbed) {
                    Ok(json) => RecordedResponse {
                        status,
                        headers: headers.clone(),
                        body: None,
                        json: Some(json),
                    },
                    Err(_) => RecordedResponse {
                        status,
                        headers: headers.clone(),
                        body: Some(scrubbed),
                        json: None,
                    },
                }
            } else {
                RecordedResponse {
                    status,
                    headers: headers.clone(),
                    body: Some(scrubbed),
                    json: None,
                }
            };
            log.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(key.canonical())
                .or_insert_with(|| (key, Vec::new()))
                .1
                .push(recorded);
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

/// Response headers worth keeping: the ones the SDK reads to deserialize and classify errors.
/// Request ids, dates and anything else are dropped.
const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "x-amzn-errortype",
    "x-amz-retry-after",
    "retry-after",
];

/// XML elements and JSON keys whose values are secret or may hold secrets.
const SECRET_FIELDS: &[&str] = &[
    "SecretAccessKey",
    "SessionToken",
    "AccessKeyId",
    "Password",
    "userData",
    "UserData",
    "secretAccessKey",
    "sessionToken",
    "accessKeyId",
];

/// Replaces secret values in a response body with `REDACTED`: the content of secret XML
/// elements and JSON string fields, and anything that looks like an AWS access key id.
pub fn scrub_body(text: &str) -> String {
    let mut out = text.to_string();
    for field in SECRET_FIELDS {
        out = redact_xml_element(&out, field);
        out = redact_json_field(&out, field);
    }
    redact_access_key_ids(&out)
}

fn redact_xml_element(text: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after_open = start + open.len();
        out.push_str(&rest[..after_open]);
        match rest[after_open..].find(&close) {
            Some(len) => {
                out.push_str("REDACTED");
                rest = &rest[after_open + len..];
            }
            None => {
                rest = &rest[after_open..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn redact_json_field(text: &str, name: &str) -> String {
    let needle = format!("\"{name}\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&needle) {
        let after_name = start + needle.len();
        out.push_str(&rest[..after_name]);
        rest = &rest[after_name..];
        let trimmed = rest.trim_start();
        let Some(after_colon) = trimmed.strip_prefix(':') else {
            continue;
        };
        let value = after_colon.trim_start();
        if let Some(string_body) = value.strip_prefix('"') {
            // Find the closing quote, honouring escapes.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in string_body.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                }
            }
            if let Some(end) = end {
                out.push_str(":\"REDACTED\"");
                rest = &string_body[end + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// AWS access key ids: `AKIA`/`ASIA` (and other 4-letter `A..A` prefixes) + 16 upper-case
/// alphanumerics.
fn redact_access_key_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i + 20 <= bytes.len() {
        let prefix = &bytes[i..i + 4];
        let is_key_prefix = matches!(prefix, b"AKIA" | b"ASIA" | b"AROA" | b"AIDA" | b"ANPA");
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if is_key_prefix && boundary_before {
            let body = &bytes[i + 4..i + 20];
            let boundary_after = i + 20 == bytes.len() || !bytes[i + 20].is_ascii_alphanumeric();
            if body
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && boundary_after
                && matches!(prefix, b"AKIA" | b"ASIA")
            {
                out.push_str(&text[last..i]);
                out.push_str("REDACTED-ACCESS-KEY-ID");
                i += 20;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn secrets_are_scrubbed_from_xml_and_json() {
        let xml = "<a><UserData>c2VjcmV0</UserData><SessionToken>tok</SessionToken><b>AKIAABCDEFGHIJKLMNOP</b></a>";
        let out = scrub_body(xml);
        assert!(!out.contains("c2VjcmV0"));
        assert!(!out.contains("tok<"));
        assert!(!out.contains("AKIAABCDEFGHIJKLMNOP"));
        let json = r#"{"userData": "c2VjcmV0\"x", "keep": "AKIA0123456789ABCDEF"}"#;
        let out = scrub_body(json);
        assert!(!out.contains("c2VjcmV0"));
        assert!(!out.contains("AKIA0123456789ABCDEF"));
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
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
