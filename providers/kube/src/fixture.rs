//! Recorded Kubernetes API fixtures, in the shared format of `cloudscan_collect::fixture`.
//!
//! A Kubernetes recording is its own fixture directory (`mocks/kube/<scenario>/`, or
//! `<--record DIR>/kubernetes/` beside a cloud recording): `scenario.json` lists the contexts
//! read (name, API server URL as the kubeconfig gave it, and the cluster it was named as, if
//! any), and `exchanges/kubernetes/<context>/<operation>-<hash>.json` holds one file per
//! request, `region` being the context name. Only the fields cloudscan reads are recorded (see
//! `objects`); request headers (bearer tokens, client certificates) never are.
//!
//! Replay serves every context from one loopback server under `/c<index>`, and builds each
//! context's `kube::Client` from a plain-http `kube::Config` pointed there: the real kube-rs
//! client, its HTTP stack and the adapter's paging, retries and parsing all run as live.

use crate::objects::Kind;
use cloudscan_collect::fixture::{
    Cassette, FixtureError, PathMatch, RecordedResponse, RequestKey, Scenario,
};
use cloudscan_collect::rest::{Incoming, ReplayDialect, ReplayServer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How Kubernetes request paths compare.
pub const PATHS: PathMatch = PathMatch::Exact;

/// One context of a recording.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordedContext {
    pub name: String,
    /// The API server URL the context pointed at (matched against the scanned clusters).
    pub server: String,
    /// The cluster the context was named as (`--kube-context NAME=CLUSTER`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// What a Kubernetes scenario records besides the common metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KubeParams {
    #[serde(default)]
    pub contexts: Vec<RecordedContext>,
}

pub type KubeScenario = Scenario<KubeParams>;

/// Loads `dir` and serves it on 127.0.0.1; context `i` of the scenario lives under `/c<i>`.
pub async fn serve(dir: &Path) -> Result<(ReplayServer, KubeScenario), FixtureError> {
    let (cassette, scenario) = Cassette::load::<KubeParams>(dir, PATHS)?;
    let contexts: Vec<String> = scenario
        .params
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let server = ReplayServer::start(cassette, KubeReplay { contexts }).await?;
    Ok((server, scenario))
}

/// The Kubernetes side of the replay server: errors are `Status` objects.
struct KubeReplay {
    contexts: Vec<String>,
}

fn status(code: u16, reason: &str, message: &str) -> RecordedResponse {
    RecordedResponse::json(
        code,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

/// The operation a path names (unknown shapes keep `GET path`).
pub fn operation(method: &str, path: &str) -> String {
    Kind::ALL
        .iter()
        .find(|k| k.path() == path.trim_end_matches('/'))
        .filter(|_| method.eq_ignore_ascii_case("GET"))
        .map(|k| k.operation().to_string())
        .unwrap_or_else(|| format!("{method} {path}"))
}

impl ReplayDialect for KubeReplay {
    fn intercept(&self, _request: &Incoming) -> Option<RecordedResponse> {
        None
    }

    fn key(&self, request: &Incoming) -> RequestKey {
        let trimmed = request.path.trim_start_matches('/');
        let (prefix, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let context = prefix
            .strip_prefix('c')
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| self.contexts.get(i).cloned())
            .unwrap_or_else(|| prefix.to_string());
        let path = format!("/{rest}");
        RequestKey {
            service: "kubernetes".to_string(),
            region: context,
            operation: operation(&request.method, &path),
            method: request.method.clone(),
            path,
            params: request.query.iter().cloned().collect(),
            body: request.json_body(),
        }
    }

    fn error(&self, http_status: u16, _reason: &str, message: &str) -> RecordedResponse {
        status(http_status, "NotFound", message)
    }
}
