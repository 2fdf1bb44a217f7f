//! The loopback server: HTTP/1.1 on 127.0.0.1 (hyper), injected latency, service-side
//! throttling, and call counts. Responses are generated per request from the spec; nothing of
//! the estate is held in memory.

use crate::http::{Req, Resp};
use crate::spec::Spec;
use crate::{aws, azure, gcp};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How the server misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Added to every answer.
    pub latency: Duration,
    /// Service-side rate limit per (account or subscription, service; GCP: per service): calls
    /// over it get the service's throttling error with `Retry-After: 1`.
    pub rate_limit: Option<f64>,
    /// A throttling storm: every `n`-th call of each service is throttled, whatever the rate.
    pub throttle_every: Option<u64>,
    /// STS `AssumeRole` issues sessions that last this long (with their real `Expiration`),
    /// and a request signed with an expired session gets `ExpiredToken`. None: sessions never
    /// expire (`Expiration` 2099).
    pub session_duration: Option<Duration>,
}

/// Calls and throttled calls per operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub calls: BTreeMap<String, u64>,
    pub throttled: BTreeMap<String, u64>,
}

impl Stats {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn total_throttled(&self) -> u64 {
        self.throttled.values().sum()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "calls": self.calls,
            "throttled": self.throttled,
            "total_calls": self.total_calls(),
            "total_throttled": self.total_throttled(),
        })
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct State {
    spec: Spec,
    behaviour: Behaviour,
    base: String,
    stats: Mutex<Stats>,
    buckets: Mutex<BTreeMap<String, Bucket>>,
    sequence: Mutex<BTreeMap<String, u64>>,
}

impl State {
    /// Counts one call of `op`.
    fn count(&self, op: &str, throttled: bool) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.calls.entry(op.to_string()).or_insert(0) += 1;
        if throttled {
            *stats.throttled.entry(op.to_string()).or_insert(0) += 1;
        }
    }

    /// Whether this call is throttled (and counts it).
    fn throttled(&self, key: &str) -> bool {
        if let Some(n) = self.behaviour.throttle_every.filter(|n| *n > 0) {
            let mut seq = self.sequence.lock().unwrap_or_else(|e| e.into_inner());
            let count = seq.entry(key.to_string()).or_insert(0);
            *count += 1;
            if (*count).is_multiple_of(n) {
                return true;
            }
        }
        if let Some(rate) = self.behaviour.rate_limit.filter(|r| *r > 0.0) {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let b = buckets.entry(key.to_string()).or_insert(Bucket {
                tokens: rate,
                at: now,
            });
            b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(rate);
            b.at = now;
            if b.tokens < 1.0 {
                return true;
            }
            b.tokens -= 1.0;
        }
        false
    }
}

/// A running estate server; it stops when dropped.
pub struct Server {
    base_url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Binds 127.0.0.1:`port` (0 = any free port) and serves until dropped.
    pub async fn start(spec: Spec, behaviour: Behaviour, port: u16) -> std::io::Result<Server> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let state = Arc::new(State {
            spec,
            behaviour,
            base: base_url.clone(),
            stats: Mutex::new(Stats::default()),
            buckets: Mutex::new(BTreeMap::new()),
            sequence: Mutex::new(BTreeMap::new()),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = shared.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let service = service_fn(move |r| serve(state.clone(), r));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok(Server {
            base_url,
            state,
            task,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn stats(&self) -> Stats {
        self.state
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn reset_stats(&self) {
        *self.state.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    }
}

async fn serve(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, 1 << 20).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let raw_path = parts.uri.path().to_string();
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: crate::http::decode(&raw_path),
        raw_path,
        query: crate::http::parse_form(parts.uri.query().unwrap_or("")),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
    };
    let resp = answer(&state, &req).await;
    let mut builder = hyper::Response::builder()
        .status(resp.status)
        .header("content-type", resp.content_type)
        .header("x-amzn-requestid", "estate");
    for (k, v) in &resp.headers {
        builder = builder.header(*k, v.as_str());
    }
    Ok(builder
        .body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))))
}

async fn answer(state: &State, req: &Req) -> Resp {
    if req.path == "/_estate/stats" {
        let stats = state
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        return Resp::json(&stats.to_json());
    }
    if !state.behaviour.latency.is_zero() {
        tokio::time::sleep(state.behaviour.latency).await;
    }
    let spec = &state.spec;
    if gcp::is_gcp(req) {
        let op = gcp::operation(req);
        let throttled = op != "gcp:token" && state.throttled(&gcp::bucket(req));
        state.count(&op, throttled);
        if throttled {
            return gcp::throttle();
        }
        return gcp::handle(spec, req, &op);
    }
    let is_azure =
        req.path.starts_with("/subscriptions") || req.path.ends_with("/oauth2/v2.0/token");
    let (op, bucket_key) = if is_azure {
        let op = azure::operation(req);
        let sub = req.path.split('/').nth(2).unwrap_or("tenant").to_string();
        (op, format!("azure/{sub}"))
    } else {
        match aws::caller(spec, req) {
            Some(c) => {
                let op = aws::operation(req, &c);
                (op, format!("aws/{}/{}/{}", c.account, c.region, c.service))
            }
            None => {
                return Resp::json(&serde_json::json!({"message": "no SigV4 Authorization header"}))
                    .status(403)
            }
        }
    };
    let token_call = op == "azure:token";
    let throttled = !token_call && state.throttled(&bucket_key);
    state.count(&op, throttled);
    if is_azure {
        if throttled {
            return azure::throttle();
        }
        azure::handle(spec, req, &op, &state.base)
    } else {
        let Some(c) = aws::caller(spec, req) else {
            return Resp::json(&serde_json::json!({})).status(403);
        };
        if throttled {
            return aws::throttle(&c.service);
        }
        if let Some(duration) = state.behaviour.session_duration {
            if let Some(resp) = aws::timed_sessions(spec, req, &c, &op, duration) {
                return resp;
            }
        }
        aws::handle(spec, req, &c, &op)
    }
}
