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
