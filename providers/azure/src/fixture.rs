//! Recorded ARM fixtures: replay a scan from disk through a loopback server, or record a live
//! scan to disk.
//!
//! Layout (`mocks/README.md`, `mocks/azure/README.md`): `scenario.json` plus one JSON file per
//! distinct request under `exchanges/<service>/global/<operation>-<hash>.json`. A request is
//! identified by method, path (compared case-insensitively, as ARM does) and query parameters
//! (`api-version`, `$skipToken`, ...), never by host or credentials. Bodies are stored with the
//! public ARM host `https://management.azure.com`; the replay server substitutes its own address
//! when it serves them, so `nextLink`s point back at it.
//!
//! The replay server also answers the OAuth2 client-credentials exchange
//! (`POST /{tenant}/oauth2/v2.0/token`) for the fake replay principal, and refuses ARM calls that
//! do not carry the bearer token it issued.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const SCENARIO_FILE: &str = "scenario.json";
pub const EXCHANGES_DIR: &str = "exchanges";
/// Response header the replay server sets when it has no recording for a request.
pub const MISSING_HEADER: &str = "x-cloudscan-replay-missing";
/// The fake principal the replay authenticates as. None of these is a real credential.
pub const REPLAY_TENANT: &str = "00000000-0000-0000-0000-00000000cafe";
pub const REPLAY_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000c11e7";
pub const REPLAY_SECRET: &str = "cloudscan-replay-not-a-secret";
const REPLAY_TOKEN: &str = "cloudscan-replay-token";

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("fixture directory `{0}` does not exist or is not a directory")]
    NoSuchDir(PathBuf),
    #[error("cannot read or write fixture `{path}`: {source}")]
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

/// Metadata of an Azure fixture directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    /// The subscriptions scanned with `--subscription`; None when they were discovered
    /// (`--all-subscriptions`, then `subscriptions.list` is part of the recording).
    #[serde(default)]
    pub subscriptions: Option<Vec<String>>,
    #[serde(default)]
    pub recorded_with: Option<String>,
}

/// What identifies a request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestKey {
    /// The resource provider without `Microsoft.`, lower case (`containerservice`,
    /// `authorization`, `managedidentity`, `insights`, `compute`), or `resources`.
    pub service: String,
    /// Always `global`: ARM is one endpoint.
    pub region: String,
    /// `managedClusters.list`, `roleDefinitions.get`, ...
    pub operation: String,
    pub method: String,
    /// The percent-decoded path.
    pub path: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl RequestKey {
    pub fn new(method: &str, path: &str, params: BTreeMap<String, String>) -> Self {
        let (service, operation) = describe(path);
        RequestKey {
            service,
            region: "global".to_string(),
            operation,
            method: method.to_uppercase(),
            path: path.to_string(),
            params,
        }
    }

    /// The lookup key: method, lower-cased path and parameters.
    pub fn canonical(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={v}", k.to_lowercase()))
            .collect();
        format!(
            "{} {}?{}",
            self.method.to_uppercase(),
            self.path.trim_end_matches('/').to_lowercase(),
            params.join("&")
        )
    }

    /// The relative file name the exchange is stored under.
    pub fn file_name(&self) -> PathBuf {
        let hash = Sha256::digest(self.canonical().as_bytes());
        let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let op: String = self
            .operation
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PathBuf::from(safe(&self.service))
            .join(safe(&self.region))
            .join(format!("{op}-{hex}.json"))
    }
}

fn safe(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
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

/// Names an ARM path: (service, operation). The service is the last resource provider in the
/// path; the operation is the last resource type, `.list` for a collection and `.get` for one item.
pub fn describe(path: &str) -> (String, String) {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let provider = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))
        .filter(|i| i + 1 < segments.len());
    let (service, rest): (String, &[&str]) = match provider {
        Some(i) => {
            let ns = segments[i + 1].to_lowercase();
            let ns = ns.strip_prefix("microsoft.").unwrap_or(&ns).to_string();
            (ns, &segments[i + 2..])
        }
        None => ("resources".to_string(), &segments[..]),
    };
    let operation = if rest.is_empty() {
        "providers.get".to_string()
    } else if rest.len() % 2 == 1 {
        format!("{}.list", rest[rest.len() - 1])
    } else {
        format!("{}.get", rest[rest.len() - 2])
    };
    (service, operation)
}

/// One recorded response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (the usual case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// The body as text, when it is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

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

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FixtureError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| FixtureError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

struct Served {
    responses: Vec<RecordedResponse>,
    next: usize,
}

/// Loads a fixture directory: the scenario and the exchanges by canonical key.
fn load(dir: &Path) -> Result<(Scenario, HashMap<String, Served>), FixtureError> {
    if !dir.is_dir() {
        return Err(FixtureError::NoSuchDir(dir.to_path_buf()));
    }
    let scenario_path = dir.join(SCENARIO_FILE);
    let scenario = if scenario_path.exists() {
        read_json(&scenario_path)?
    } else {
        Scenario::default()
    };
    let mut files = Vec::new();
    let exchanges = dir.join(EXCHANGES_DIR);
    if exchanges.is_dir() {
        json_files(&exchanges, &mut files)?;
    }
    files.sort();
    if files.is_empty() {
        return Err(FixtureError::Empty(dir.to_path_buf()));
    }
    let mut map = HashMap::new();
    for file in files {
        let exchange: Exchange = read_json(&file)?;
        if exchange.responses.is_empty() {
            return Err(FixtureError::Invalid {
                path: file,
                message: "`responses` is empty".to_string(),
            });
        }
        let key = exchange.request.canonical();
        if map.contains_key(&key) {
            return Err(FixtureError::Invalid {
                path: file,
                message: format!("a second recording of `{key}`"),
            });
        }
        map.insert(
            key,
            Served {
                responses: exchange.responses,
                next: 0,
            },
        );
    }
    Ok((scenario, map))
}

/// The loopback server of a replay; it stops when dropped.
pub struct ReplayServer {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type State = Arc<Mutex<HashMap<String, Served>>>;

impl ReplayServer {
    /// Loads `dir` and serves it on 127.0.0.1 (ephemeral port).
    pub async fn start(dir: &Path) -> Result<(ReplayServer, Scenario), FixtureError> {
        let (scenario, map) = load(dir)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(FixtureError::Server)?;
        let addr = listener.local_addr().map_err(FixtureError::Server)?;
        let base = format!("http://{addr}");
        let state: State = Arc::new(Mutex::new(map));
        let served_base = base.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                let base = served_base.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &state, &base).await;
                });
            }
        });
        Ok((ReplayServer { base, task }, scenario))
    }

    /// `http://127.0.0.1:PORT`: both the ARM base URL and the authority host of the replay.
    pub fn base_url(&self) -> &str {
        &self.base
    }
}

struct Incoming {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Incoming>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Incoming {
        method,
        target,
        headers,
        body,
    }))
}

fn arm_error(status: u16, code: &str, message: &str) -> RecordedResponse {
    RecordedResponse {
        status,
        headers: BTreeMap::from([("content-type".to_string(), "application/json".to_string())]),
        json: Some(serde_json::json!({"error": {"code": code, "message": message}})),
        body: None,
    }
}

fn token_response(form: &BTreeMap<String, String>) -> RecordedResponse {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials"
        || field("client_id") != REPLAY_CLIENT_ID
        || field("client_secret") != REPLAY_SECRET
        || field("scope") != crate::auth::ARM_SCOPE
    {
        return RecordedResponse {
            status: 401,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            json: Some(serde_json::json!({
                "error": "invalid_client",
                "error_description": "replay: only the replay principal's client credentials are accepted"
            })),
            body: None,
        };
    }
    RecordedResponse {
        status: 200,
        headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
        json: Some(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": REPLAY_TOKEN
        })),
        body: None,
    }
}

fn respond(state: &State, request: &Incoming) -> (RecordedResponse, bool) {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let path = percent_decode(path);
    if request.method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let form = parse_query(&String::from_utf8_lossy(&request.body))
            .into_iter()
            .collect();
        return (token_response(&form), false);
    }
    let auth = request
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    if auth != Some(&format!("Bearer {REPLAY_TOKEN}")) {
        return (
            arm_error(
                401,
                "InvalidAuthenticationToken",
                "replay: no bearer token from the replay token endpoint",
            ),
            false,
        );
    }
    let key = RequestKey::new(
        &request.method,
        &path,
        parse_query(query).into_iter().collect(),
    );
    let mut map = match state.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    match map.get_mut(&key.canonical()) {
        Some(served) => {
            let i = served.next.min(served.responses.len().saturating_sub(1));
            served.next += 1;
            (served.responses[i].clone(), false)
        }
        None => (
            arm_error(
                404,
                "NotRecorded",
                &format!(
                    "{} {} {} {}",
                    key.service,
                    key.operation,
                    key.method,
                    key.canonical()
                ),
            ),
            true,
        ),
    }
}

async fn serve(mut stream: TcpStream, state: &State, base: &str) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let (response, missing) = respond(state, &request);
    let text = match (&response.json, &response.body) {
        (Some(json), _) => json.to_string(),
        (None, Some(body)) => body.clone(),
        (None, None) => String::new(),
    }
    .replace(crate::client::ARM_URL, base);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        response.status,
        reason(response.status),
        text.len()
    );
    let mut has_type = false;
    for (k, v) in &response.headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_type {
        head.push_str("content-type: application/json\r\n");
    }
    if missing {
        head.push_str(&format!("{MISSING_HEADER}: 1\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(text.as_bytes()).await?;
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .to_string()
}

/// Parses `a=b&c=d` (form or query), percent-decoding and treating `+` as a space.
pub(crate) fn parse_query(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Collects the exchanges of a live scan.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    exchanges: Arc<Mutex<BTreeMap<String, Exchange>>>,
}

/// Response fields whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "accesstoken",
    "refresh_token",
    "id_token",
    "client_secret",
    "clientsecret",
    "secret",
    "password",
    "adminpassword",
    "primarykey",
    "secondarykey",
    "connectionstring",
    "token",
    "kubeconfig",
    "value_secret",
];

impl Recorder {
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Records one response (a retried request gets every response, in order). Only
    /// `content-type` and `retry-after` headers are kept; the request's headers never are.
    pub fn record(
        &self,
        key: &RequestKey,
        status: u16,
        headers: &[(String, String)],
        body: &str,
        base: &str,
    ) {
        let kept: BTreeMap<String, String> = headers
            .iter()
            .filter(|(k, _)| {
                k.eq_ignore_ascii_case("content-type") || k.eq_ignore_ascii_case("retry-after")
            })
            .map(|(k, v)| (k.to_lowercase(), v.clone()))
            .collect();
        let text = body.replace(base, crate::client::ARM_URL);
        let response = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(mut json) => {
                redact(&mut json);
                RecordedResponse {
                    status,
                    headers: kept,
                    json: Some(json),
                    body: None,
                }
            }
            Err(_) => RecordedResponse {
                status,
                headers: kept,
                json: None,
                body: Some(text),
            },
        };
        let mut map = match self.exchanges.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(key.canonical())
            .or_insert_with(|| Exchange {
                request: key.clone(),
                responses: Vec::new(),
            })
            .responses
            .push(response);
    }

    /// Writes `scenario.json` and the exchanges; returns how many distinct requests were written.
    pub fn write(&self, dir: &Path, scenario: &Scenario) -> Result<usize, FixtureError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FixtureError::Io { path, source }
        };
        let map = match self.exchanges.lock() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let text = serde_json::to_string_pretty(scenario).unwrap_or_default();
        let path = dir.join(SCENARIO_FILE);
        std::fs::write(&path, text + "\n").map_err(io(&path))?;
        for exchange in map.values() {
            let path = dir.join(EXCHANGES_DIR).join(exchange.request.file_name());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let text = serde_json::to_string_pretty(exchange).unwrap_or_default();
            std::fs::write(&path, text + "\n").map_err(io(&path))?;
        }
        Ok(map.len())
    }
}

fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.to_lowercase().as_str()) && !v.is_null() {
                    *v = serde_json::Value::String("REDACTED".to_string());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_paths_are_named() {
        assert_eq!(
            describe("/subscriptions/s/providers/Microsoft.ContainerService/managedClusters"),
            ("containerservice".into(), "managedClusters.list".into())
        );
        assert_eq!(
            describe("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/providers/Microsoft.Insights/diagnosticSettings"),
            ("insights".into(), "diagnosticSettings.list".into())
        );
        assert_eq!(
            describe("/providers/Microsoft.Authorization/roleDefinitions/b24988ac"),
            ("authorization".into(), "roleDefinitions.get".into())
        );
        assert_eq!(
            describe("/subscriptions"),
            ("resources".into(), "subscriptions.list".into())
        );
    }

    #[test]
    fn recordings_scrub_secrets_and_the_local_host() {
        let r = Recorder::new();
        let key = RequestKey::new("GET", "/subscriptions", BTreeMap::new());
        r.record(
            &key,
            200,
            &[("authorization".into(), "Bearer x".into())],
            r#"{"value":[],"accessToken":"eyJ0","nextLink":"http://127.0.0.1:9/subscriptions?x=1"}"#,
            "http://127.0.0.1:9",
        );
        let map = r.exchanges.lock().map(|m| m.clone()).unwrap_or_default();
        let text = serde_json::to_string(&map).unwrap_or_default();
        assert!(!text.contains("eyJ0"));
        assert!(!text.contains("Bearer"));
        assert!(text.contains("https://management.azure.com/subscriptions?x=1"));
    }
}
