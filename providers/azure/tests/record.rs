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
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() {
                            count(&path)
                        } else {
                            usize::from(path.extension().is_some_and(|x| x == "json"))
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    assert_eq!(
        live.recorded,
        Some(count(&mocks().join("insecure").join("exchanges")))
    );
    // Nothing of the local server or the token leaks into the recording.
    for file in
        std::fs::read_dir(out.path().join("exchanges/containerservice/global")).expect("dir")
    {
        let text = std::fs::read_to_string(file.expect("entry").path()).expect("read");
        assert!(!text.contains("127.0.0.1"), "{text}");
        assert!(!text.contains("cloudscan-replay-token"), "{text}");
    }
    let replayed = replay(out.path()).await.inventory;
    assert_eq!(live.inventory, replayed);
}
