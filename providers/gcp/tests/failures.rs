//! Honest coverage when the APIs misbehave: missing zones, 403, API not enabled, 429 with retry,
//! malformed JSON, and a request the recording does not hold.

mod common;

use cloudscan_inventory::CoverageStatus;
use common::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn missing_zones_make_cluster_coverage_partial() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "projects.locations.clusters.list", any, |r| {
        let mut r = r.clone();
        r[0]["json"]["missingZones"] = serde_json::json!(["us-east1-b", "asia-south1-a"]);
        r
    });
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    // What was listed is still there...
    assert_eq!(inv.clusters.len(), 2);
    // ...but the absence of clusters elsewhere is not a fact.
    let (status, detail) = coverage(&inv, "container", "global");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(
        detail.contains("container projects.locations.clusters.list"),
        "{detail}"
    );
    assert!(
        detail.contains("missingZones us-east1-b, asia-south1-a"),
        "{detail}"
    );
    assert_eq!(
        coverage(&inv, "container", "us-east1-b").0,
        CoverageStatus::Failed
    );
    assert_eq!(
        coverage(&inv, "container", "asia-south1-a").0,
        CoverageStatus::Failed
    );
    assert!(!inv.is_complete("container", "global"));
    assert!(inv.is_complete("iam", "global"));
}

#[tokio::test]
async fn permission_denied_on_one_api_fails_only_that_service() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(
        dir.path(),
        "disks.aggregatedList",
        |p| p.get("pageToken").is_none(),
        |_| {
            serde_json::json!([google_error(
                403,
                "PERMISSION_DENIED",
                "Required 'compute.disks.list' permission for 'projects/acme-insecure'"
            )])
        },
    );
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "compute", "global");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(detail.contains("compute disks.aggregatedList"), "{detail}");
    assert!(detail.contains("HTTP 403 PERMISSION_DENIED"), "{detail}");
    assert!(detail.contains("compute.disks.list"), "{detail}");
    assert!(inv.volumes.is_empty());
    // The other services are unaffected.
    for service in ["container", "iam", "cloudresourcemanager"] {
        assert!(inv.is_complete(service, "global"), "{service}");
    }
    assert_eq!(inv.clusters.len(), 2);
    assert!(inv.clusters[0].node_pools[0].nodes.is_empty());
}

#[tokio::test]
async fn a_disabled_api_is_unsupported_not_secure() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "projects.locations.clusters.list", any, |_| {
        serde_json::json!([{
            "status": 403,
            "headers": {"content-type": "application/json; charset=UTF-8"},
            "json": {"error": {"code": 403, "status": "PERMISSION_DENIED",
                "message": "Kubernetes Engine API has not been used in project 123456789012 before or it is disabled.",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com", "metadata": {"service": "container.googleapis.com"}}]}}
        }])
    });
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "container", "global");
    assert_eq!(status, CoverageStatus::Unsupported);
    assert!(detail.contains("SERVICE_DISABLED"), "{detail}");
    assert!(inv.clusters.is_empty());
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "projects.locations.clusters.list", any, |r| {
        let mut throttled = google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests'",
        );
        throttled["headers"]["retry-after"] = serde_json::json!("1");
        serde_json::json!([throttled, r[0].clone()])
    });
    let started = Instant::now();
    let inv = replay(dir.path()).await.inventory;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(inv.clusters.len(), 2);
    assert!(inv.is_complete("container", "global"));
}

#[tokio::test]
async fn throttling_past_every_attempt_is_a_failure() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "projects.get", any, |_| {
        serde_json::json!([google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")])
    });
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "cloudresourcemanager", "global");
    // The IAM policy was still read: partial, with the throttled call named.
    assert_eq!(status, CoverageStatus::Partial);
    assert!(detail.contains("cloudresourcemanager projects.get (projects/acme-insecure): throttled (retries exhausted) (HTTP 429 RESOURCE_EXHAUSTED)"), "{detail}");
    // The project number still comes from the default compute SA's email.
    let prod = cluster(&inv, "prod-public");
    assert_eq!(
        pool(prod, "default-pool").identity.as_deref(),
        Some("123456789012-compute@developer.gserviceaccount.com")
    );
}

#[tokio::test]
async fn malformed_json_is_reported_and_other_pages_kept() {
    let dir = copy_scenario("insecure");
    // Page 2 of serviceAccounts.list is cut off.
    let n = edit_responses(
        dir.path(),
        "projects.serviceAccounts.list",
        |p| p.get("pageToken").is_some(),
        |_| {
            serde_json::json!([{"status": 200, "headers": {"content-type": "application/json"},
                "body": "{\"accounts\": [{\"name\": \"projects/acme-insecure/serviceAcc"}])
        },
    );
    assert_eq!(n, 1);
    // And the cluster list is not JSON at all.
    edit_responses(dir.path(), "projects.locations.clusters.list", any, |_| {
        serde_json::json!([{"status": 200, "headers": {"content-type": "text/html"},
            "body": "<html>proxy error</html>"}])
    });
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "iam", "global");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(
        detail.contains("iam projects.serviceAccounts.list"),
        "{detail}"
    );
    assert!(detail.contains("malformed response"), "{detail}");
    assert!(inv
        .identity("gke-nodes@acme-insecure.iam.gserviceaccount.com")
        .is_some());
    let (status, detail) = coverage(&inv, "container", "global");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(detail.contains("malformed response"), "{detail}");
    assert!(inv.clusters.is_empty());
}

#[tokio::test]
async fn a_request_missing_from_the_recording_is_named() {
    let dir = copy_scenario("insecure");
    // Remove the owner role's file.
    let roles = dir.path().join("exchanges/iam/global");
    for entry in std::fs::read_dir(&roles).expect("dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        if text.contains("\"/v1/roles/owner\"") {
            std::fs::remove_file(&path).expect("remove");
        }
    }
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "iam", "global");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(detail.contains("not in the recording"), "{detail}");
    assert!(detail.contains("/v1/roles/owner"), "{detail}");
    let owner = inv
        .role_definition("roles/owner")
        .expect("listed with its error");
    assert!(owner.permissions.is_none());
    assert!(owner.error.is_some());
}

#[tokio::test]
async fn a_broken_fixture_stops_the_replay_naming_the_file() {
    let dir = copy_scenario("hardened");
    let file = dir.path().join("exchanges/broken.json");
    std::fs::write(&file, "{").expect("write");
    let opts = cloudscan_gcp::ScanOptions {
        collect: cloudscan_gcp::CollectOptions {
            replay: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
        ..Default::default()
    };
    match cloudscan_gcp::scan(&opts, quiet()).await {
        Err(e) => assert!(e.to_string().contains("broken.json"), "{e}"),
        Ok(_) => panic!("a malformed fixture must stop the replay"),
    }
}

#[tokio::test]
async fn a_denied_call_names_the_permission_it_needs() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "projects.locations.clusters.list", any, |_| {
        serde_json::json!([google_error(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission"
        )])
    });
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "container", "global");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(
        detail.contains("HTTP 403 PERMISSION_DENIED): needs container.clusters.list: The caller"),
        "{detail}"
    );
}
