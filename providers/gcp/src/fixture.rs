//! Recorded API fixtures for GCP: replay a scan from disk, or record a live scan to disk.
//!
//! The format is the one of the AWS adapter (`mocks/README.md`): a fixture directory holds
//! `scenario.json` and one JSON file per distinct request under `exchanges/<service>/<region>/`.
//!
//! Replay runs a small HTTP/1.1 server on 127.0.0.1 that serves the recorded responses; the scan
//! points every Google API base URL at it (`http://127.0.0.1:PORT/<service>`), so the real
//! `reqwest` client, the real `google-cloud-auth` token (a locally signed JWT) and the adapter's
//! own retries, pagination and JSON decoding all run exactly as in a live scan.
//!
//! A request is identified by what it asks for, never by host or credentials: the service
//! (`container`, `cloudresourcemanager`, `iam`, `compute`), the location it concerns (`global`
//! or a GKE location), the REST method name (`projects.locations.clusters.list`), the HTTP
//! method, the percent-decoded path, the query parameters (page tokens included, so each page is
//! its own file) and a JSON body.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The file that describes a fixture directory.
pub const SCENARIO_FILE: &str = "scenario.json";
/// The folder, inside a fixture directory, that holds the recorded exchanges.
pub const EXCHANGES_DIR: &str = "exchanges";
/// Response header the replay server sets when it has no recording for a request.
pub const MISSING_HEADER: &str = "x-cloudscan-replay-missing";

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
    #[error("cannot start the replay server on 127.0.0.1: {0}")]
    Server(std::io::Error),
}

/// Metadata of a GCP fixture directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    /// The projects the recorded scan covered when they were given with `--project`; None when
    /// they were discovered with `projects.search` (`--all-projects`, then part of the recording).
    #[serde(default)]
    pub projects: Option<Vec<String>>,
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
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl RequestKey {
    /// Builds the key of a request the adapter sends (or the replay server receives).
    pub fn new(
        service: &str,
        method: &str,
        path: &str,
        params: BTreeMap<String, String>,
        body: Option<serde_json::Value>,
    ) -> Self {
        let (operation, region) = describe(service, method, path);
        RequestKey {
            service: service.to_string(),
            region,
            operation,
            method: method.to_string(),
            path: path.to_string(),
            params,
            body: body.map(|b| sorted(&b)),
        }
    }

    /// A canonical text form, used as the lookup key (object keys sorted).
    pub fn canonical(&self) -> String {
        let mut key = self.clone();
        key.body = key.body.as_ref().map(sorted);
        serde_json::to_string(&key).unwrap_or_default()
    }

    fn digest(&self) -> String {
        let hash = Sha256::digest(self.canonical().as_bytes());
        hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    /// The relative file name this exchange is stored under.
    pub fn file_name(&self) -> PathBuf {
        let op: String = self
            .operation
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PathBuf::from(safe_segment(&self.service))
            .join(safe_segment(&self.region))
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

fn safe_segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "_".to_string()
    } else {
        out
    }
}

/// A JSON value with every object's keys in sorted order (independent of serde_json features).
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let ordered: BTreeMap<&String, serde_json::Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            let mut out = serde_json::Map::new();
            for (k, v) in ordered {
                out.insert(k.clone(), v);
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted).collect())
        }
        other => other.clone(),
    }
}

/// The REST method name and the location a request concerns, from its service and path.
/// Unknown shapes keep `METHOD path` and `global`.
pub fn describe(service: &str, method: &str, path: &str) -> (String, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let global = || "global".to_string();
    let named = |op: &str, region: String| (op.to_string(), region);
    match (service, method, segments.as_slice()) {
        ("container", "GET", ["v1", "projects", _, "locations", loc, "clusters"]) => named(
            "projects.locations.clusters.list",
            if *loc == "-" {
                global()
            } else {
                loc.to_string()
            },
        ),
        ("container", "GET", ["v1", "projects", _, "locations", loc, "clusters", _]) => {
            named("projects.locations.clusters.get", loc.to_string())
        }
        ("cloudresourcemanager", "GET", ["v3", "projects:search"]) => {
            named("projects.search", global())
        }
        ("cloudresourcemanager", "GET", ["v3", "projects", _]) => named("projects.get", global()),
        ("cloudresourcemanager", "POST", ["v3", kind, id])
            if id.ends_with(":getIamPolicy") && !kind.is_empty() =>
        {
            named(&format!("{kind}.getIamPolicy"), global())
        }
        ("cloudresourcemanager", "GET", ["v3", "folders", _]) => named("folders.get", global()),
        ("iam", "GET", ["v1", "projects", _, "serviceAccounts"]) => {
            named("projects.serviceAccounts.list", global())
        }
        ("iam", "POST", ["v1", "projects", _, "serviceAccounts", sa])
            if sa.ends_with(":getIamPolicy") =>
        {
            named("projects.serviceAccounts.getIamPolicy", global())
        }
        ("iam", "GET", ["v1", "roles", _]) => named("roles.get", global()),
        ("iam", "GET", ["v1", "projects", _, "roles", _]) => named("projects.roles.get", global()),
        ("iam", "GET", ["v1", "organizations", _, "roles", _]) => {
            named("organizations.roles.get", global())
        }
        ("compute", "GET", ["compute", "v1", "projects", _, "aggregated", "disks"]) => {
            named("disks.aggregatedList", global())
        }
        _ => (format!("{method} {path}"), global()),
    }
}

/// One recorded HTTP response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text (used for non-JSON or malformed bodies), or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// the body as JSON, stored parsed so fixtures stay readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

/// A request and the responses served for it, in order (the last one repeats).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exchange {
    pub request: RequestKey,
    pub responses: Vec<RecordedResponse>,
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
    if !dir.is_dir() {
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
// Replay

#[derive(Debug)]
struct ReplayState {
    exchanges: HashMap<String, Vec<RecordedResponse>>,
    served: Mutex<HashMap<String, usize>>,
    dir: PathBuf,
}

/// Serves the recorded exchanges of a fixture directory over HTTP on 127.0.0.1.
#[derive(Debug)]
pub struct ReplayServer {
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Loads every exchange under `dir/exchanges`; a malformed file stops the replay, naming it.
pub fn load(
    dir: &Path,
) -> Result<(Scenario, HashMap<String, Vec<RecordedResponse>>), FixtureError> {
    if !dir.is_dir() {
        return Err(FixtureError::NoSuchDir(dir.to_path_buf()));
    }
    let scenario: Scenario = read_json(&dir.join(SCENARIO_FILE))?;
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
    Ok((scenario, exchanges))
}

impl ReplayServer {
    /// Loads `dir` and starts serving it on an ephemeral port of 127.0.0.1. Must be called inside
    /// a Tokio runtime; the server stops when the value is dropped.
    pub async fn start(dir: &Path) -> Result<(ReplayServer, Scenario), FixtureError> {
        let (scenario, exchanges) = load(dir)?;
        let state = Arc::new(ReplayState {
            exchanges,
            served: Mutex::new(HashMap::new()),
            dir: dir.to_path_buf(),
        });
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(FixtureError::Server)?;
        let addr = listener.local_addr().map_err(FixtureError::Server)?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    // A broken connection only fails the one request; the client reports it.
                    let _ = serve_connection(stream, &state).await;
                });
            }
        });
        Ok((
            ReplayServer {
                base_url: format!("http://{addr}"),
                task,
            },
            scenario,
        ))
    }

    /// `http://127.0.0.1:PORT`; each service lives under `/<service>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

const MAX_REQUEST: usize = 1 << 20;

struct IncomingRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<IncomingRequest>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Ok(None);
    }
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(IncomingRequest {
        method,
        target,
        headers,
        body,
    }))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn google_error(status: u16, code: &str, message: &str) -> RecordedResponse {
    RecordedResponse {
        status,
        headers: BTreeMap::new(),
        body: None,
        json: Some(serde_json::json!({
            "error": {"code": status, "message": message, "status": code}
        })),
    }
}

async fn serve_connection(mut stream: TcpStream, state: &ReplayState) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let (path_part, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let decoded_path = percent_decode(path_part);
    let trimmed = decoded_path.trim_start_matches('/');
    let (service, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let params: BTreeMap<String, String> = parse_query(query).into_iter().collect();
    let body = if request.body.is_empty() {
        None
    } else {
        let text = String::from_utf8_lossy(&request.body);
        Some(
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|_| serde_json::Value::String(text.into_owned())),
        )
    };
    let key = RequestKey::new(service, &request.method, &format!("/{rest}"), params, body);
    let bearer = request
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.split('.').count() == 3);
    let mut missing = false;
    let response = if !bearer {
        google_error(
            401,
            "UNAUTHENTICATED",
            "cloudscan replay: the request carries no bearer token",
        )
    } else {
        let canonical = key.canonical();
        match state.exchanges.get(&canonical) {
            Some(responses) => {
                let index = {
                    let mut served = state
                        .served
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    let n = served.entry(canonical).or_insert(0);
                    let i = (*n).min(responses.len().saturating_sub(1));
                    *n += 1;
                    i
                };
                responses
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| google_error(500, "INTERNAL", "empty fixture"))
            }
            None => {
                missing = true;
                google_error(
                    404,
                    "NOT_FOUND",
                    &format!(
                        "no recorded response in `{}` for {}",
                        state.dir.display(),
                        key.describe()
                    ),
                )
            }
        }
    };
    let body = match (&response.json, &response.body) {
        (Some(json), _) => json.to_string(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        body.len()
    );
    let mut has_content_type = false;
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_content_type {
        head.push_str("Content-Type: application/json; charset=UTF-8\r\n");
    }
    if missing {
        head.push_str(&format!("{MISSING_HEADER}: 1\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a query string (`+` is a space, `%XX` decoded).
pub(crate) fn parse_query(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Recording

/// Collects every exchange of a live scan, scrubbed, and writes them as a fixture directory.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    log: Arc<Mutex<BTreeMap<String, Exchange>>>,
}

/// Response headers worth keeping: the ones the adapter reads.
const KEPT_RESPONSE_HEADERS: &[&str] = &["content-type", "retry-after"];

impl Recorder {
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Records one response (after scrubbing) for `key`. Request headers are never recorded, so
    /// no `Authorization` header or token reaches the disk.
    pub fn record(&self, key: &RequestKey, status: u16, headers: &[(String, String)], body: &str) {
        let kept: BTreeMap<String, String> = headers
            .iter()
            .filter(|(k, _)| KEPT_RESPONSE_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let scrubbed = scrub_body(body);
        let recorded = match serde_json::from_str::<serde_json::Value>(&scrubbed) {
            Ok(json) if !scrubbed.trim().is_empty() => RecordedResponse {
                status,
                headers: kept,
                body: None,
                json: Some(json),
            },
            _ => RecordedResponse {
                status,
                headers: kept,
                body: Some(scrubbed),
                json: None,
            },
        };
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.entry(key.canonical())
            .or_insert_with(|| Exchange {
                request: key.clone(),
                responses: Vec::new(),
            })
            .responses
            .push(recorded);
    }

    /// Writes `scenario.json` and the exchanges into `dir`; returns the number of exchanges.
    pub fn write(&self, dir: &Path, scenario: &Scenario) -> Result<usize, FixtureError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FixtureError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let scenario_path = dir.join(SCENARIO_FILE);
        let text = serde_json::to_string_pretty(scenario).unwrap_or_default();
        std::fs::write(&scenario_path, text + "\n").map_err(io(&scenario_path))?;
        let log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for exchange in log.values() {
            let path = dir.join(EXCHANGES_DIR).join(exchange.request.file_name());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let text = serde_json::to_string_pretty(exchange).unwrap_or_default();
            std::fs::write(&path, text + "\n").map_err(io(&path))?;
        }
        Ok(log.len())
    }
}

/// JSON keys whose string values are secrets in Google API responses.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "accessToken",
    "id_token",
    "refresh_token",
    "private_key",
    "privateKey",
    "privateKeyData",
    "clientKey",
    "password",
    "token",
];

/// Replaces secret values in a response body with `REDACTED`: secret JSON string fields and
/// anything that looks like a Google OAuth access token (`ya29.…`).
pub fn scrub_body(text: &str) -> String {
    let mut out = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => text.to_string(),
    };
    out = redact_oauth_tokens(&out);
    out
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) && v.is_string() {
                    *v = serde_json::Value::String("REDACTED".to_string());
                } else {
                    redact_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

fn redact_oauth_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("ya29.") {
        out.push_str(&rest[..start]);
        out.push_str("ya29.REDACTED");
        let after = &rest[start + 5..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_rest_method_and_location() {
        assert_eq!(
            describe("container", "GET", "/v1/projects/p/locations/-/clusters"),
            (
                "projects.locations.clusters.list".to_string(),
                "global".to_string()
            )
        );
        assert_eq!(
            describe(
                "iam",
                "POST",
                "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy"
            )
            .0,
            "projects.serviceAccounts.getIamPolicy"
        );
        assert_eq!(
            describe(
                "cloudresourcemanager",
                "POST",
                "/v3/projects/p:getIamPolicy"
            )
            .0,
            "projects.getIamPolicy"
        );
        assert_eq!(
            describe("compute", "GET", "/compute/v1/projects/p/aggregated/disks").0,
            "disks.aggregatedList"
        );
    }

    #[test]
    fn canonical_form_ignores_body_key_order() {
        let a = RequestKey::new(
            "cloudresourcemanager",
            "POST",
            "/v3/projects/p:getIamPolicy",
            BTreeMap::new(),
            Some(serde_json::json!({"b": 1, "a": {"y": 2, "x": 1}})),
        );
        let b = RequestKey::new(
            "cloudresourcemanager",
            "POST",
            "/v3/projects/p:getIamPolicy",
            BTreeMap::new(),
            Some(serde_json::json!({"a": {"x": 1, "y": 2}, "b": 1})),
        );
        assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn secrets_and_tokens_are_scrubbed() {
        let body = r#"{"masterAuth": {"clientKey": "LS0tLS1", "password": "hunter2", "clusterCaCertificate": "keep"}, "note": "ya29.a0AfB_byC-xyz.more end"}"#;
        let out = scrub_body(body);
        assert!(!out.contains("LS0tLS1"));
        assert!(!out.contains("hunter2"));
        assert!(!out.contains("a0AfB_byC"));
        assert!(out.contains("keep"));
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    }
}
