//! A live scan (ADC from GOOGLE_APPLICATION_CREDENTIALS, base URL from CLOUDSCAN_GCP_BASE_URL)
//! against a local server, recorded, then replayed: the same inventory, and no secret on disk.
//! Its own test binary, because it sets process environment variables.

mod common;

use cloudscan_gcp::{scan, ScanOptions};
use common::*;

#[tokio::test]
async fn a_recorded_live_scan_replays_to_the_same_inventory() {
    let (server, _) = cloudscan_gcp::fixture::serve(&scenario("insecure"))
        .await
        .expect("server");
    let work = tempfile::tempdir().expect("tempdir");
    let key =
        cloudscan_gcp::throwaway_service_account_key("http://127.0.0.1:9/token").expect("key");
    let key_file = work.path().join("sa.json");
    std::fs::write(&key_file, key.to_string()).expect("write key");
    std::env::set_var("GOOGLE_APPLICATION_CREDENTIALS", &key_file);
    std::env::set_var("CLOUDSCAN_GCP_BASE_URL", server.base_url());
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::remove_var(var);
    }

    let recording = work.path().join("recording");
    let live = scan(
        &ScanOptions {
            projects: vec!["acme-insecure".into()],
            collect: cloudscan_gcp::CollectOptions {
                record: Some(recording.clone()),
                concurrency: 4,
                max_attempts: 2,
                ..Default::default()
            },
            ..Default::default()
        },
        quiet(),
    )
    .await
    .expect("live scan");
    assert_eq!(
        live.inventory.caller.as_deref(),
        Some(cloudscan_gcp::REPLAY_CLIENT_EMAIL)
    );
    assert!(
        live.inventory.all_complete(),
        "{:?}",
        live.inventory.coverage
    );
    let files = live.recorded.expect("recorded");
    assert_eq!(
        files,
        cloudscan_collect::testkit::exchange_files(&scenario("insecure")).len(),
        "one file per distinct request of the scenario"
    );
    drop(server);

    // Nothing secret reached the disk.
    let texts = cloudscan_collect::testkit::all_exchanges_text(&recording);
    assert!(texts.contains("clusters"), "the recording was not read");
    assert!(!texts.contains("Bearer"));
    assert!(!texts.contains("PRIVATE KEY"));
    assert!(!texts.to_ascii_lowercase().contains("authorization"));

    let mut replayed = replay(&recording).await.inventory;
    let mut original = live.inventory;
    replayed.caller = None;
    original.caller = None;
    assert_eq!(replayed, original);
}
