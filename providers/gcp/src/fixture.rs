//! Recorded API fixtures for GCP, in the shared format of `cloudscan_collect::fixture`
//! (`mocks/README.md`): how a Google request is named, the scan parameters a GCP scenario
//! records, and the Google side of the loopback replay server.
//!
//! Replay points every Google API base URL at the server (`http://127.0.0.1:PORT/<service>`), so
//! the real `reqwest` client, the real `google-cloud-auth` token (a locally signed JWT) and the
//! adapter's own retries, pagination and JSON decoding all run exactly as in a live scan.
//!
//! A request is identified by what it asks for, never by host or credentials: the service
//! (`container`, `cloudresourcemanager`, `iam`, `compute`), the location it concerns (`global`
//! or a GKE location), the REST method name (`projects.locations.clusters.list`), the HTTP
//! method, the percent-decoded path, the query parameters (page tokens included, so each page is
//! its own file) and a JSON body.

use cloudscan_collect::fixture::{
    Cassette, FixtureError, PathMatch, RecordedResponse, RequestKey, Scenario,
};
use cloudscan_collect::rest::{Incoming, ReplayDialect, ReplayServer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a GCP scenario records besides the common metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GcpParams {
    /// The projects the recorded scan covered when they were given with `--project`; None when
    /// they were discovered with `projects.search` (`--all-projects`, then part of the recording).
    #[serde(default)]
    pub projects: Option<Vec<String>>,
    /// The organizations (`--organization`) the recorded scan walked; their tree (`folders.list`,
    /// `projects.list`) is part of the recording.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
    /// The folders (`--folder`) the recorded scan walked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
}

/// The metadata of a GCP fixture directory.
pub type GcpScenario = Scenario<GcpParams>;

/// How Google request paths compare.
pub const PATHS: PathMatch = PathMatch::Exact;

/// Loads `dir` and serves it on 127.0.0.1; every service lives under `/<service>` of the
/// returned server's base URL. The server stops when dropped.
pub async fn serve(dir: &Path) -> Result<(ReplayServer, GcpScenario), FixtureError> {
    let (cassette, scenario) = Cassette::load::<GcpParams>(dir, PATHS)?;
    let server = ReplayServer::start(cassette, GoogleReplay).await?;
    Ok((server, scenario))
}

/// The Google side of the replay server: requests must carry a bearer JWT (google-cloud-auth
/// signs one locally for the throw-away service account); errors have the `google.rpc.Status`
/// shape; the first path segment names the service.
struct GoogleReplay;

fn google_error(status: u16, code: &str, message: &str) -> RecordedResponse {
    RecordedResponse::json(
        status,
        serde_json::json!({"error": {"code": status, "message": message, "status": code}}),
    )
}

impl ReplayDialect for GoogleReplay {
    fn intercept(&self, request: &Incoming) -> Option<RecordedResponse> {
        let jwt = request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t.split('.').count() == 3);
        (!jwt).then(|| {
            google_error(
                401,
                "UNAUTHENTICATED",
                "cloudscan replay: the request carries no bearer token",
            )
        })
    }

    fn key(&self, request: &Incoming) -> RequestKey {
        let trimmed = request.path.trim_start_matches('/');
        let (service, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let path = format!("/{rest}");
        let (operation, region) = describe(service, &request.method, &path);
        RequestKey {
            service: service.to_string(),
            region,
            operation,
            method: request.method.clone(),
            path,
            params: request.query.iter().cloned().collect(),
            body: request.json_body(),
        }
    }

    fn error(&self, status: u16, _code: &str, message: &str) -> RecordedResponse {
        google_error(status, "NOT_FOUND", message)
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
        ("cloudresourcemanager", "GET", ["v3", "projects"]) => named("projects.list", global()),
        ("cloudresourcemanager", "GET", ["v3", "folders"]) => named("folders.list", global()),
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
        assert_eq!(
            describe("cloudresourcemanager", "GET", "/v3/folders").0,
            "folders.list"
        );
        assert_eq!(
            describe("cloudresourcemanager", "GET", "/v3/projects").0,
            "projects.list"
        );
    }
}
