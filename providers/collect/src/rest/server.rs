//! The loopback replay server: serves a [`Cassette`] over HTTP/1.1 on 127.0.0.1, so that the
//! real HTTP client, the real token flow and the adapter's own retries, paging and decoding run
//! exactly as in a live scan.

use crate::fixture::{
    parse_query, percent_decode, Cassette, Fault, FixtureError, RecordedResponse, RequestKey,
    MISSING_HEADER,
};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head or body the server reads.
const MAX_REQUEST: usize = 1 << 20;

/// A request as the replay server received it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    /// The percent-decoded path.
    pub path: String,
    /// The decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Incoming {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, when it is JSON; otherwise as a JSON string; None when empty.
    pub fn json_body(&self) -> Option<serde_json::Value> {
        if self.body.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.body);
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|_| serde_json::Value::String(text.into_owned())),
        )
    }
}

/// What a cloud's replay server does besides serving the recording.
pub trait ReplayDialect: Send + Sync + 'static {
    /// Answers a request that is not a recorded API call (a token endpoint) or refuses one that
    /// lacks the replay's credentials; None lets the recording answer.
    fn intercept(&self, request: &Incoming) -> Option<RecordedResponse>;
    /// The key of a recorded API call.
    fn key(&self, request: &Incoming) -> RequestKey;
    /// An error response in the cloud's shape.
    fn error(&self, status: u16, code: &str, message: &str) -> RecordedResponse;
    /// The body as served (Azure points `nextLink`s back at the server).
    fn served_body(&self, body: String, _base: &str) -> String {
        body
    }
}

/// A running replay server; it stops when dropped.
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

struct State<D> {
    cassette: Cassette,
    dialect: D,
    base: String,
}

impl ReplayServer {
    /// Serves `cassette` on an ephemeral port of 127.0.0.1. Must be called inside a Tokio
    /// runtime.
    pub async fn start<D: ReplayDialect>(
        cassette: Cassette,
        dialect: D,
    ) -> Result<ReplayServer, FixtureError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(FixtureError::Server)?;
        let addr = listener.local_addr().map_err(FixtureError::Server)?;
        let base_url = format!("http://{addr}");
        let state = Arc::new(State {
            cassette,
            dialect,
            base: base_url.clone(),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    // A broken connection fails only its request; the client reports it.
                    let _ = serve(stream, &state).await;
                });
            }
        });
        Ok(ReplayServer { base_url, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Incoming>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
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
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Ok(None);
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    Ok(Some(Incoming {
        method,
        path: percent_decode(path),
        query: parse_query(query),
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
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn serve<D: ReplayDialect>(mut stream: TcpStream, state: &State<D>) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let mut missing = false;
    let mut fault = None;
    let response = match state.dialect.intercept(&request) {
        Some(answer) => answer,
        None => {
            let key = state.dialect.key(&request);
            match state.cassette.serve(&key) {
                Some(served) => {
                    fault = served.fault;
                    served.response
                }
                None => {
                    missing = true;
                    state
                        .dialect
                        .error(404, "NotRecorded", &state.cassette.missing(&key))
                }
            }
        }
    };
    let mut pad: u64 = 0;
    match fault {
        Some(Fault::Reset) => {
            // Linger 0: closing sends a TCP RST, as a dropped connection does.
            stream.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::DelayMs(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        Some(Fault::PadBytes(n)) => pad = n,
        None => {}
    }
    let body = state.dialect.served_body(response.body_text(), &state.base);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        (body.len() as u64).saturating_add(pad)
    );
    let mut has_content_type = false;
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        // A header value from a fixture must not split the response.
        if value.contains(['\r', '\n']) || name.contains(['\r', '\n', ':']) {
            continue;
        }
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_content_type {
        head.push_str("content-type: application/json; charset=UTF-8\r\n");
    }
    if missing {
        head.push_str(&format!("{MISSING_HEADER}: 1\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let spaces = [b' '; 64 << 10];
    while pad > 0 {
        let n = pad.min(spaces.len() as u64) as usize;
        stream.write_all(&spaces[..n]).await?;
        pad -= n as u64;
    }
    stream.shutdown().await
}
