//! A live scan (against the loopback server, through the public client-credentials path) is
//! recorded, and the recording replays to the same inventory.

mod common;

use cloudscan_azure::{client::RetryPolicy, scan_with, Endpoints, ScanOptions};
use common::*;

#[tokio::test]
async fn a_recorded_scan_replays_to_the_same_inventory() {
    let (server, _) = cloudscan_azure::fixture::serve(&mocks().join("insecure"))
        .await
        .expect("server");
    let out = tempfile::tempdir().expect("tempdir");
    let opts = ScanOptions {
        subscriptions: vec!["11111111-1111-1111-1111-111111111111".into()],
        collect: cloudscan_azure::CollectOptions {
            record: Some(out.path().to_path_buf()),
            ..Default::default()
        },
        ..Default::default()
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let live = scan_with(
        &opts,
        &Endpoints::replay(server.base_url()),
        http,
        RetryPolicy::replay(3),
        4,
        None,
        quiet(),
    )
    .await
    .expect("live scan");
    // One recorded file per distinct request of the scenario.
    assert_eq!(
        live.recorded,
        Some(cloudscan_collect::testkit::exchange_files(&mocks().join("insecure")).len())
    );
    // Nothing of the local server or the token leaks into the recording.
    let text = cloudscan_collect::testkit::all_exchanges_text(out.path());
    assert!(!text.is_empty());
    for leak in [
        "127.0.0.1",
        "cloudscan-replay-token",
        "Bearer",
        "cloudscan-replay-not-a-secret",
    ] {
        assert!(!text.contains(leak), "{leak} recorded");
    }
    let replayed = replay(out.path()).await.inventory;
    assert_eq!(live.inventory, replayed);
}

/// A `--management-group` scan is recorded with its groups; the recording replays without flags
/// to the same inventory (descendants, subscription states and the refused group included).
#[tokio::test]
async fn a_recorded_management_group_scan_replays_to_the_same_inventory() {
    let dir = mocks().join("management-group");
    let (server, _) = cloudscan_azure::fixture::serve(&dir).await.expect("server");
    let out = tempfile::tempdir().expect("tempdir");
    let groups = vec![
        "mg-platform".to_string(),
        "/providers/Microsoft.Management/managementGroups/mg-workloads".to_string(),
        "mg-sandbox".to_string(),
    ];
    let opts = ScanOptions {
        management_groups: groups,
        collect: cloudscan_azure::CollectOptions {
            record: Some(out.path().to_path_buf()),
            ..Default::default()
        },
        ..Default::default()
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let live = scan_with(
        &opts,
        &Endpoints::replay(server.base_url()),
        http,
        RetryPolicy::replay(3),
        4,
        None,
        quiet(),
    )
    .await
    .expect("live scan");
    // Every recorded request of the scenario was made once.
    assert_eq!(
        live.recorded,
        Some(cloudscan_collect::testkit::exchange_files(&dir).len())
    );
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("scenario.json")).expect("scenario.json"),
    )
    .expect("json");
    assert_eq!(
        meta["management_groups"],
        serde_json::json!(["mg-platform", "mg-workloads", "mg-sandbox"])
    );
    assert!(meta["subscriptions"].is_null(), "{meta:#}");
    let replayed = replay(out.path()).await.inventory;
    assert_eq!(live.inventory, replayed);
    let scopes: Vec<&str> = replayed.scopes.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(scopes.len(), 3, "{scopes:?}");
}
