//! Honest coverage when ARM misbehaves: paging, 429 with Retry-After, 403 on one resource
//! provider, an unregistered provider, malformed JSON, a bad token exchange.

mod common;

use cloudscan_azure::{client::RetryPolicy, scan_with, AzureError, Endpoints, ScanOptions};
use cloudscan_inventory::CoverageStatus;
use common::*;
use std::time::{Duration, Instant};

fn is_first_page(r: &serde_json::Value) -> bool {
    r["params"].get("$skipToken").is_none()
}

fn is_second_page(r: &serde_json::Value) -> bool {
    r["params"].get("$skipToken").is_some()
}

#[tokio::test]
async fn next_link_paging_reads_every_page_and_a_failed_page_is_partial() {
    // Both clusters come from different pages.
    let inv = replay(&mocks().join("insecure")).await.inventory;
    assert_eq!(inv.clusters.len(), 2);

    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "managedClusters.list", is_second_page, |_| {
        serde_json::json!([arm_error(500, "InternalServerError", "backend unavailable")])
    });
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    // The first page is kept...
    assert_eq!(inv.clusters.len(), 1);
    assert_eq!(inv.clusters[0].name, "prod-public");
    // ...but the absence of other clusters is not a fact.
    let (status, detail) = coverage(&inv, "containerservice");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(
        detail.contains("containerservice managedClusters.list"),
        "{detail}"
    );
    assert!(detail.contains("HTTP 500 InternalServerError"), "{detail}");
}

#[tokio::test]
async fn throttling_is_retried_after_the_retry_after_delay() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "roleAssignments.list", any, |r| {
        let mut throttled = arm_error(429, "TooManyRequests", "slow down");
        throttled["headers"]["retry-after"] = serde_json::json!("1");
        serde_json::json!([throttled, r[0].clone()])
    });
    assert_eq!(n, 1);
    let started = Instant::now();
    let inv = replay(dir.path()).await.inventory;
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert!(inv.is_complete("authorization", "global"));
    assert_eq!(
        identity(&inv, "prod-public-agentpool")
            .role_assignments
            .len(),
        1
    );
}

#[tokio::test]
async fn throttling_that_never_ends_fails_honestly() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "roleAssignments.list", any, |_| {
        serde_json::json!([arm_error(429, "TooManyRequests", "slow down")])
    });
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "authorization");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(detail.contains("HTTP 429 TooManyRequests"), "{detail}");
    assert!(inv.identities.iter().all(|i| i.role_assignments.is_empty()));
}

#[tokio::test]
async fn forbidden_on_one_resource_provider_fails_only_that_service() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "userAssignedIdentities.list", any, |_| {
        serde_json::json!([arm_error(
            403,
            "AuthorizationFailed",
            "The client 'c' does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/read'"
        )])
    });
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "managedidentity");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(
        detail.contains("managedidentity userAssignedIdentities.list"),
        "{detail}"
    );
    assert!(detail.contains("HTTP 403 AuthorizationFailed"), "{detail}");
    for service in ["containerservice", "authorization", "insights", "compute"] {
        assert!(inv.is_complete(service, "global"), "{service}");
    }
    assert_eq!(inv.clusters.len(), 2);
    // The kubelet identities are still known from the clusters, with their roles.
    let kubelet = identity(&inv, "prod-public-agentpool");
    assert_eq!(kubelet.role_assignments.len(), 1);
    // Workload identity bindings could not be read: none is reported.
    assert!(cluster(&inv, "staging-wi")
        .workload_identity
        .bindings
        .is_empty());
    assert!(inv
        .identities
        .iter()
        .all(|i| i.federated_credentials.is_empty()));
}

#[tokio::test]
async fn an_unregistered_provider_is_unsupported() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "managedClusters.list", is_first_page, |_| {
        serde_json::json!([arm_error(
            409,
            "MissingSubscriptionRegistration",
            "The subscription is not registered to use namespace 'Microsoft.ContainerService'"
        )])
    });
    let inv = replay(dir.path()).await.inventory;
    assert_eq!(
        coverage(&inv, "containerservice").0,
        CoverageStatus::Unsupported
    );
    assert!(inv.clusters.is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_clear_coverage_detail() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(
        dir.path(),
        "diagnosticSettings.list",
        |r| r["path"].as_str().is_some_and(|p| p.contains("staging-wi")),
        |_| {
            serde_json::json!([{"status": 200, "headers": {"content-type": "application/json"},
                "body": "{\"value\": [ {\"id\": "}])
        },
    );
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "insights");
    // The other cluster's settings and the activity log were read.
    assert_eq!(status, CoverageStatus::Partial);
    assert!(
        detail.contains("insights diagnosticSettings.list"),
        "{detail}"
    );
    assert!(detail.contains("not valid JSON"), "{detail}");
    assert!(detail.contains("staging-wi"), "{detail}");
    // Unknown, not "off".
    assert_eq!(
        cluster(&inv, "staging-wi").audit_logging.audit_enabled,
        None
    );
    assert_eq!(
        cluster(&inv, "prod-public").audit_logging.audit_enabled,
        Some(false)
    );
}

#[tokio::test]
async fn an_item_of_the_wrong_shape_is_reported_and_the_rest_kept() {
    let dir = copy_scenario("insecure");
    edit_responses(dir.path(), "userAssignedIdentities.list", any, |r| {
        let mut r = r.clone();
        r[0]["json"]["value"][1]["properties"] = serde_json::json!("not an object");
        r
    });
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "managedidentity");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(
        detail.contains("item 1 does not have the documented shape"),
        "{detail}"
    );
    assert!(inv.identities.iter().any(|i| i.name == "payments-api"));
    assert!(!inv.identities.iter().any(|i| i.name == "ci-deployer"));
}

#[tokio::test]
async fn a_request_missing_from_the_recording_is_named() {
    let dir = copy_scenario("insecure");
    let mut files = Vec::new();
    for entry in walk(&dir.path().join("exchanges")) {
        let text = std::fs::read_to_string(&entry).expect("read");
        if text.contains("\"roleDefinitions.get\"") && text.contains("b24988ac") {
            files.push(entry);
        }
    }
    assert_eq!(files.len(), 1);
    std::fs::remove_file(&files[0]).expect("remove");
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "authorization");
    assert_eq!(status, CoverageStatus::Partial);
    assert!(detail.contains("not in the recording"), "{detail}");
    let def = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.name == "b24988ac-6180-42a0-ab88-20f7382dd24c")
        .expect("placeholder");
    assert!(def.permissions.is_none());
    assert!(def.error.is_some());
    let ra = &identity(&inv, "prod-public-agentpool").role_assignments[0];
    assert_eq!(ra.role_name, None);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_refused_token_exchange_stops_the_scan_without_leaking_the_secret() {
    let (server, _) = cloudscan_azure::fixture::serve(&mocks().join("insecure"))
        .await
        .expect("server");
    let mut endpoints = Endpoints::replay(server.base_url());
    if let cloudscan_azure::auth::Credential::ClientSecret { secret, .. } =
        &mut endpoints.credential
    {
        *secret = "wrong-secret-value".to_string();
    }
    let opts = ScanOptions {
        subscriptions: vec!["11111111-1111-1111-1111-111111111111".into()],
        ..Default::default()
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let err = scan_with(
        &opts,
        &endpoints,
        http,
        RetryPolicy::replay(2),
        4,
        None,
        quiet(),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, AzureError::Credentials(_)));
    let text = err.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
}

#[tokio::test]
async fn a_denied_call_names_the_action_it_needs() {
    let dir = copy_scenario("insecure");
    let n = edit_responses(dir.path(), "diskEncryptionSets.get", any, |_| {
        serde_json::json!([arm_error(
            403,
            "AuthorizationFailed",
            "The client 'c' does not have authorization"
        )])
    });
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "compute");
    assert_eq!(status, CoverageStatus::Failed);
    assert!(
        detail.contains(
            "access denied (HTTP 403 AuthorizationFailed): needs Microsoft.Compute/diskEncryptionSets/read: The client"
        ),
        "{detail}"
    );
}
