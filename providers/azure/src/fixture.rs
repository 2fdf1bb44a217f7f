//! Recorded ARM fixtures, in the shared format of `cloudscan_collect::fixture`
//! (`mocks/README.md`, `mocks/azure/README.md`): how an ARM request is named, the scan
//! parameters an Azure scenario records, and the Azure side of the loopback replay server.
//!
//! A request is identified by method, path (compared case-insensitively, as ARM does) and query
//! parameters (`api-version`, `$skipToken`, ...), never by host or credentials. Bodies are stored
//! with the public ARM host `https://management.azure.com`; the replay server substitutes its
//! own address when it serves them, so `nextLink`s point back at it.
//!
//! The replay server also answers the OAuth2 client-credentials exchange
//! (`POST /{tenant}/oauth2/v2.0/token`) for the fake replay principal, and refuses ARM calls that
//! do not carry the bearer token it issued.

use cloudscan_collect::fixture::{
    Cassette, FixtureError, PathMatch, RecordedResponse, RequestKey, Scenario,
};
use cloudscan_collect::rest::{Incoming, ReplayDialect, ReplayServer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The fake principal the replay authenticates as. None of these is a real credential.
pub const REPLAY_TENANT: &str = "00000000-0000-0000-0000-00000000cafe";
pub const REPLAY_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000c11e7";
pub const REPLAY_SECRET: &str = "cloudscan-replay-not-a-secret";
const REPLAY_TOKEN: &str = "cloudscan-replay-token";

/// How ARM request paths compare.
pub const PATHS: PathMatch = PathMatch::CaseInsensitive;

/// What an Azure scenario records besides the common metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AzureParams {
    /// The subscriptions scanned with `--subscription`; None when they were discovered
    /// (`--all-subscriptions`, then `subscriptions.list` is part of the recording).
    #[serde(default)]
    pub subscriptions: Option<Vec<String>>,
    /// The management groups scanned with `--management-group` (their descendants and the
    /// subscriptions' states are part of the recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_groups: Option<Vec<String>>,
}

/// The metadata of an Azure fixture directory.
pub type AzureScenario = Scenario<AzureParams>;

/// Loads `dir` and serves it on 127.0.0.1: both the ARM base URL and the authority host of the
/// replay. The server stops when dropped.
pub async fn serve(dir: &Path) -> Result<(ReplayServer, AzureScenario), FixtureError> {
    let (cassette, scenario) = Cassette::load::<AzureParams>(dir, PATHS)?;
    let server = ReplayServer::start(cassette, ArmReplay).await?;
    Ok((server, scenario))
}

fn arm_error(status: u16, code: &str, message: &str) -> RecordedResponse {
    RecordedResponse::json(
        status,
        serde_json::json!({"error": {"code": code, "message": message}}),
    )
}

fn token_response(form: &BTreeMap<String, String>) -> RecordedResponse {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials"
        || field("client_id") != REPLAY_CLIENT_ID
        || field("client_secret") != REPLAY_SECRET
        || field("scope") != crate::auth::ARM_SCOPE
    {
        return RecordedResponse::json(
            401,
            serde_json::json!({
                "error": "invalid_client",
                "error_description": "replay: only the replay principal's client credentials are accepted"
            }),
        );
    }
    RecordedResponse::json(
        200,
        serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": REPLAY_TOKEN
        }),
    )
}

/// The Azure side of the replay server.
struct ArmReplay;

impl ReplayDialect for ArmReplay {
    fn intercept(&self, request: &Incoming) -> Option<RecordedResponse> {
        if request.method == "POST" && request.path.ends_with("/oauth2/v2.0/token") {
            let form =
                cloudscan_collect::fixture::parse_query(&String::from_utf8_lossy(&request.body))
                    .into_iter()
                    .collect();
            return Some(token_response(&form));
        }
        if request.header("authorization") != Some(&format!("Bearer {REPLAY_TOKEN}")) {
            return Some(arm_error(
                401,
                "InvalidAuthenticationToken",
                "replay: no bearer token from the replay token endpoint",
            ));
        }
        None
    }

    fn key(&self, request: &Incoming) -> RequestKey {
        let (service, operation) = describe(&request.path);
        RequestKey {
            service,
            region: "global".to_string(),
            operation,
            method: request.method.to_ascii_uppercase(),
            path: request.path.clone(),
            params: request.query.iter().cloned().collect(),
            body: None,
        }
    }

    fn error(&self, status: u16, code: &str, message: &str) -> RecordedResponse {
        arm_error(status, code, message)
    }

    fn served_body(&self, body: String, base: &str) -> String {
        body.replace(crate::client::ARM_URL, base)
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
}
