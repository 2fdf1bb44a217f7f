//! The scanner's own least privilege: every request the adapter makes while scanning each bundled
//! scenario maps to an entry of `cloudscan_azure::operations::OPERATIONS`, and the actions of
//! those entries are exactly the `Actions` of `policies/azure/cloudscan-role.json`.
//!
//! The requests are observed, not assumed: each scenario is served by the loopback fixture server
//! and scanned through the public client-credentials path with recording on; the recording holds
//! every distinct request sent.

mod common;

use cloudscan_azure::operations::{self, OPERATIONS};
use cloudscan_azure::{client::RetryPolicy, scan_with, Endpoints, ScanOptions};
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn role() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/azure/cloudscan-role.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("role file")).expect("json")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// Serves `dir` on the loopback server, scans it with recording on, and returns the
/// (method, path) of every request the adapter sent to ARM.
async fn requests_of(dir: &Path, opts: ScanOptions) -> Vec<(String, String)> {
    requests_with(dir, opts, &[]).await
}

/// As `requests_of`; coverage entries of the services in `expected_gaps` may be incomplete
/// (a refused management group, a disabled subscription: both recorded on purpose).
async fn requests_with(
    dir: &Path,
    opts: ScanOptions,
    expected_gaps: &[&str],
) -> Vec<(String, String)> {
    let (server, _) = cloudscan_azure::fixture::serve(dir).await.expect("server");
    let recording = tempfile::tempdir().expect("tempdir");
    let opts = ScanOptions {
        collect: cloudscan_azure::CollectOptions {
            record: Some(recording.path().to_path_buf()),
            ..Default::default()
        },
        ..opts
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let out = scan_with(
        &opts,
        &Endpoints::replay(server.base_url()),
        http,
        RetryPolicy::replay(2),
        4,
        None,
        quiet(),
    )
    .await
    .expect("scan against the fixture server");
    // Complete coverage: no call was refused or missing from the fixture.
    let unexpected: Vec<_> = out
        .inventory
        .coverage
        .iter()
        .filter(|c| c.status != cloudscan_inventory::CoverageStatus::Complete)
        .filter(|c| !expected_gaps.contains(&c.service.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{}: {:#?}",
        dir.display(),
        out.inventory.coverage
    );
    let requests =
        cloudscan_collect::testkit::recorded_requests(recording.path()).expect("recording");
    assert!(
        !requests.is_empty(),
        "nothing recorded for {}",
        dir.display()
    );
    requests.into_iter().map(|r| (r.method, r.path)).collect()
}

/// A copy of `insecure` where the subscription list (the `--all-subscriptions` discovery)
/// finds its subscription, so that the discovery is exercised too.
fn with_subscription_list(sub: &str) -> tempfile::TempDir {
    let dir = copy_scenario("insecure");
    let exchange = serde_json::json!({
        "request": {"service": "resources", "region": "global",
                    "operation": "subscriptions.list", "method": "GET",
                    "path": "/subscriptions",
                    "params": {"api-version": cloudscan_azure::collect::SUBSCRIPTIONS_API}},
        "responses": [{"status": 200, "headers": {"content-type": "application/json"},
                       "json": {"value": [{"id": format!("/subscriptions/{sub}"),
                                           "subscriptionId": sub,
                                           "displayName": "acme-insecure",
                                           "state": "Enabled"}]}}]
    });
    let target = dir.path().join("exchanges/resources/global");
    std::fs::create_dir_all(&target).expect("mkdir");
    std::fs::write(
        target.join("subscriptions_list-test.json"),
        serde_json::to_string_pretty(&exchange).expect("ser"),
    )
    .expect("write");
    dir
}

#[tokio::test]
async fn the_role_grants_exactly_the_actions_of_the_calls_made() {
    let mut requests = Vec::new();
    let mut scenarios = 0;
    let mut first_sub = None;
    for entry in std::fs::read_dir(mocks()).expect("mocks/azure") {
        let dir = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(dir.join("scenario.json")) else {
            continue;
        };
        let meta: Value = serde_json::from_str(&text).expect("scenario.json");
        if let Some(groups) = meta.get("management_groups").filter(|g| !g.is_null()) {
            // `--management-group`: the descendants, the subscriptions' states, then each
            // enabled subscription. The refused group and the disabled subscription are
            // recorded on purpose.
            requests.extend(
                requests_with(
                    &dir,
                    ScanOptions {
                        management_groups: strings(groups),
                        ..Default::default()
                    },
                    &["management", "subscription"],
                )
                .await,
            );
            scenarios += 1;
            continue;
        }
        let subscriptions = strings(&meta["subscriptions"]);
        if dir.ends_with("insecure") {
            first_sub = subscriptions.first().cloned();
        }
        requests.extend(
            requests_of(
                &dir,
                ScanOptions {
                    subscriptions,
                    ..Default::default()
                },
            )
            .await,
        );
        scenarios += 1;
    }
    assert!(scenarios >= 2, "the bundled scenarios were not found");
    let sub = first_sub.expect("the insecure scenario");
    let discovery = with_subscription_list(&sub);
    requests.extend(
        requests_of(
            discovery.path(),
            ScanOptions {
                all_subscriptions: true,
                ..Default::default()
            },
        )
        .await,
    );

    let mut used_templates = BTreeSet::new();
    let mut used_actions = BTreeSet::new();
    for (method, path) in &requests {
        let Some(op) = operations::find(method, path) else {
            panic!(
                "{method} {path} is in no entry of operations::OPERATIONS: \
                 a new ARM call must come with its action"
            );
        };
        used_templates.insert(op.path);
        used_actions.insert(op.action.to_string());
    }

    let role = role();
    let actions = strings(&role["Actions"]);
    let allowed: BTreeSet<String> = actions.iter().cloned().collect();
    assert_eq!(
        allowed.len(),
        actions.len(),
        "duplicate actions in the role"
    );
    // The role holds exactly what the calls need, and every table entry is exercised.
    assert_eq!(used_actions, allowed);
    let table: BTreeSet<String> = operations::actions()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(table, allowed);
    let unexercised: Vec<&str> = OPERATIONS
        .iter()
        .map(|o| o.path)
        .filter(|p| !used_templates.contains(p))
        .collect();
    assert!(unexercised.is_empty(), "not exercised: {unexercised:?}");
}

#[test]
fn the_role_is_a_read_only_custom_role() {
    let role = role();
    assert!(role["Name"].is_string());
    assert!(role["Description"].is_string());
    assert_eq!(role["IsCustom"], Value::Bool(true));
    for field in ["NotActions", "DataActions", "NotDataActions"] {
        assert_eq!(role[field], serde_json::json!([]), "{field}");
    }
    let scopes = strings(&role["AssignableScopes"]);
    assert!(!scopes.is_empty());
    // A subscription, or a management group (`--management-group` reads its descendants).
    assert!(scopes.iter().all(|s| s.starts_with("/subscriptions/")
        || s.starts_with("/providers/Microsoft.Management/managementGroups/")));
    for action in strings(&role["Actions"]) {
        assert!(!action.contains('*'), "{action} is a wildcard");
        assert!(action.ends_with("/read"), "{action} is not a read");
    }
    for op in OPERATIONS {
        assert_eq!(op.method, "GET", "{} is not a read", op.name);
        assert!(op.action.ends_with("/read"), "{} is not a read", op.action);
    }
}
