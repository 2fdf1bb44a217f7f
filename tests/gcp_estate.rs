//! `cloudscan gcp --organization` / `--folder` end to end: the real binary walks the Resource
//! Manager tree of the bundled recording `mocks/gcp/organization` (served by the loopback replay
//! server through reqwest and google-cloud-auth), scans the ACTIVE projects it finds, and reports
//! the folder it could not list as incomplete coverage (exit 3).
//!
//! The recording: organizations/555000000001 with folders `platform` (410000000001, holding the
//! sub-folder `prod` 410000000003 and the DELETE_REQUESTED project `acme-old`) and `sandbox`
//! (410000000002, folders.list denied, projects.list allowed); projects `acme-shared` (under the
//! organization), `acme-prod` (under `prod`, a GKE cluster whose node service account gets
//! roles/editor from a binding on `platform`) and `acme-sandbox` (under `sandbox`).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;

const ORG: &str = "organizations/555000000001";
const PLATFORM: &str = "folders/410000000001";
const SANDBOX: &str = "folders/410000000002";
const PROD: &str = "folders/410000000003";
const NODES_SA: &str = "gke-nodes@acme-prod.iam.gserviceaccount.com";
const SCANNED: [&str; 3] = ["acme-prod", "acme-sandbox", "acme-shared"];

fn scenario() -> PathBuf {
    support::repo_root().join("mocks/gcp/organization")
}

/// One replayed scan: exit code, JSON report, saved inventory.
fn replay(dir: &Path, extra: &[&str]) -> (i32, Value, Value) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inventory = tmp.path().join("inventory.json");
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend([
        "--save-inventory".to_string(),
        inventory.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report) = support::replay_report("gcp", dir, &args);
    let inv: Value = serde_json::from_str(
        &std::fs::read_to_string(&inventory).expect("the inventory was saved"),
    )
    .expect("inventory json");
    (code, report, inv)
}

fn scopes(report: &Value) -> BTreeSet<String> {
    report["scan"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Coverage entries that are not complete: (scope, service, status, detail).
fn incomplete(report: &Value) -> Vec<(String, String, String, String)> {
    report["coverage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "complete")
        .map(|c| {
            (
                c["scope"].as_str().unwrap_or_default().to_string(),
                c["service"].as_str().unwrap_or_default().to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
                c["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn account<'a>(inv: &'a Value, id: &str) -> &'a Value {
    inv["organization"]["accounts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| {
            panic!(
                "{id} is not in the organization tree: {:#}",
                inv["organization"]
            )
        })
}

fn path_of(inv: &Value, id: &str) -> Vec<(String, String)> {
    account(inv, id)["path"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["kind"].as_str().unwrap_or_default().to_string(),
                n["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn organization_scan_walks_every_folder_and_scans_the_active_projects() {
    let (code, report, inv) = replay(&scenario(), &[]);
    // Every ACTIVE project, found through two folder levels; not the DELETE_REQUESTED one.
    assert_eq!(scopes(&report), set(&SCANNED), "{:#}", report["scan"]);
    // The folder whose sub-folders could not be listed: failed, named, and the scan incomplete.
    assert_eq!(code, 3, "{:#?}", incomplete(&report));
    assert_eq!(report["scan"]["complete"], false);
    let bad = incomplete(&report);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    let (scope, service, status, detail) = &bad[0];
    assert_eq!(scope, SANDBOX);
    assert_eq!(service, "cloudresourcemanager/tree");
    assert_eq!(status, "failed");
    assert!(detail.contains("folders.list"), "{detail}");
    assert!(detail.contains("resourcemanager.folders.list"), "{detail}");
    assert!(detail.contains("403"), "{detail}");

    // The tree in the inventory: each project under its folders, root first.
    let org = &inv["organization"];
    assert_eq!(org["id"], ORG);
    let ids: BTreeSet<String> = org["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        ids,
        set(&["acme-old", "acme-prod", "acme-sandbox", "acme-shared"])
    );
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        path_of(&inv, "acme-prod"),
        kv(&[
            ("organization", ORG),
            ("folder", PLATFORM),
            ("folder", PROD),
            ("project", "acme-prod")
        ])
    );
    assert_eq!(
        path_of(&inv, "acme-sandbox"),
        kv(&[
            ("organization", ORG),
            ("folder", SANDBOX),
            ("project", "acme-sandbox")
        ])
    );
    assert_eq!(
        path_of(&inv, "acme-shared"),
        kv(&[("organization", ORG), ("project", "acme-shared")])
    );
    assert_eq!(account(&inv, "acme-prod")["path"][2]["name"], "prod");
    for id in SCANNED {
        assert_eq!(account(&inv, id)["scanned"], true, "{id}");
        assert_eq!(account(&inv, id)["status"], "ACTIVE", "{id}");
    }
}

#[test]
fn a_project_pending_deletion_is_listed_not_scanned_with_the_reason() {
    let (_, report, inv) = replay(&scenario(), &[]);
    assert!(!scopes(&report).contains("acme-old"));
    let old = account(&inv, "acme-old");
    assert_eq!(old["scanned"], false);
    assert_eq!(old["status"], "DELETE_REQUESTED");
    assert_eq!(
        old["not_scanned_reason"],
        "the project is DELETE_REQUESTED, not ACTIVE"
    );
    assert_eq!(
        path_of(&inv, "acme-old")
            .into_iter()
            .map(|(_, id)| id)
            .collect::<Vec<_>>(),
        [ORG, PLATFORM, "acme-old"]
    );
    // Not an incomplete scope: only the denied folder is.
    assert!(incomplete(&report).iter().all(|(s, ..)| s == SANDBOX));
    // No call was made for it (the recording holds none, which would be a coverage failure).
    let text = report.to_string();
    assert!(!text.contains("projects/acme-old"), "acme-old was scanned");
}

#[test]
fn the_inherited_folder_grant_shows_in_the_node_pool_findings() {
    let (_, report, _) = replay(&scenario(), &[]);
    let inherited: Vec<Value> = findings(&report)
        .into_iter()
        .filter(|f| {
            let text = f.to_string();
            text.contains(NODES_SA) && text.contains(PLATFORM)
        })
        .collect();
    assert!(
        !inherited.is_empty(),
        "no finding names the node SA's roles/editor inherited from {PLATFORM}: {:#}",
        report["findings"]
    );
    for f in &inherited {
        assert!(!f["evidence"].as_array().expect("evidence").is_empty());
        assert!(f.to_string().contains("roles/editor"), "{f:#}");
    }
    // Nothing else in the estate is wrong: every finding concerns that grant.
    let rules: BTreeSet<String> = findings(&report)
        .iter()
        .filter(|f| !f.to_string().contains(NODES_SA))
        .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
        .collect();
    assert!(rules.is_empty(), "{rules:?}");
}

#[test]
fn folder_scan_and_exclusions_narrow_the_projects() {
    // --folder on the replay: only the tree below `platform`, all of it listable.
    let (code, report, inv) = replay(&scenario(), &["--folder", "410000000001"]);
    assert_eq!(scopes(&report), set(&["acme-prod"]));
    assert_eq!(code, 0, "{:#?}", incomplete(&report));
    assert!(incomplete(&report).is_empty());
    assert_eq!(inv["organization"]["id"], PLATFORM);
    assert_eq!(
        path_of(&inv, "acme-prod")
            .into_iter()
            .map(|(_, id)| id)
            .collect::<Vec<_>>(),
        [PLATFORM, PROD, "acme-prod"]
    );

    let (_, report, inv) = replay(
        &scenario(),
        &[
            "--organization",
            "organizations/555000000001",
            "--exclude-projects",
            "acme-prod,acme-shared",
        ],
    );
    assert_eq!(scopes(&report), set(&["acme-sandbox"]));
    assert_eq!(
        account(&inv, "acme-prod")["not_scanned_reason"],
        "excluded with --exclude-projects"
    );
}

#[test]
fn shards_split_the_projects_found_exactly_once() {
    let n = 3;
    let mut seen: Vec<String> = Vec::new();
    let mut trees = BTreeSet::new();
    for i in 0..n {
        let shard = format!("{i}/{n}");
        let (code, report, inv) = replay(&scenario(), &["--shard", &shard]);
        assert!(matches!(code, 0 | 1 | 3), "shard {shard}: exit {code}");
        seen.extend(scopes(&report));
        // Every shard walks the whole tree and records the same one (shards merge).
        trees.insert(inv["organization"].to_string());
        assert!(incomplete(&report).iter().all(|(s, ..)| s == SANDBOX));
    }
    seen.sort();
    assert_eq!(seen, SCANNED, "each project in exactly one shard");
    assert_eq!(trees.len(), 1);
}

#[test]
fn conflicting_scopes_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        &["gcp", "--organization", "1", "--project", "p"][..],
        &["gcp", "--folder", "1", "--all-projects"][..],
    ] {
        let (code, stderr) =
            support::cloudscan_isolated(args, &[], tmp.path(), Duration::from_secs(60));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
    // A malformed id is a usage error naming it.
    let dir = scenario().display().to_string();
    let (code, stderr) = support::cloudscan_isolated(
        &["gcp", "--replay", &dir, "--folder", "acme", "--no-progress"],
        &[],
        tmp.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`acme` is not a folder id"), "{stderr}");
}

/// A live scan (ADC from a throw-away service-account key, every Google API at the loopback
/// server) of the organization, recorded; the recording replays to the same findings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_organization_scan_replays_to_the_same_findings() {
    let work = tempfile::tempdir().expect("tempdir");
    let (server, _) = cloudscan_gcp::fixture::serve(&scenario())
        .await
        .expect("replay server");
    let key =
        cloudscan_gcp::throwaway_service_account_key("http://127.0.0.1:9/token").expect("key");
    let key_file = work.path().join("sa.json");
    std::fs::write(&key_file, key.to_string()).expect("write key");
    let recording = work.path().join("recording");
    let live_report = work.path().join("live.json");
    let env = vec![
        ("NO_PROXY", "*".to_string()),
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            key_file.display().to_string(),
        ),
        ("CLOUDSCAN_GCP_BASE_URL", server.base_url().to_string()),
    ];
    let args: Vec<String> = vec![
        "gcp".to_string(),
        "--organization".to_string(),
        "555000000001".to_string(),
        "--record".to_string(),
        recording.display().to_string(),
        "--no-progress".to_string(),
        "--format".to_string(),
        "json".to_string(),
        "-o".to_string(),
        live_report.display().to_string(),
    ];
    let home = work.path().to_path_buf();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        support::cloudscan_isolated(&args, &env, &home, Duration::from_secs(300))
    })
    .await
    .expect("join");
    drop(server);
    assert_eq!(code, 3, "{stderr}");
    let live: Value =
        serde_json::from_str(&std::fs::read_to_string(&live_report).expect("live report"))
            .expect("json");
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(recording.join("scenario.json")).expect("scenario.json"),
    )
    .expect("json");
    assert_eq!(meta["organizations"], serde_json::json!([ORG]));
    assert!(meta["projects"].is_null());

    // The replay walks the recorded organization again, without naming it.
    let (code, replayed, _) = replay(&recording, &[]);
    assert_eq!(code, 3);
    assert_eq!(scopes(&replayed), scopes(&live));
    assert_eq!(incomplete(&replayed), incomplete(&live));
    let key_of = |r: &Value| -> BTreeSet<String> {
        findings(r)
            .iter()
            .map(|f| format!("{} {} {}", f["rule_id"], f["resource"], f["evidence"]))
            .collect()
    };
    assert!(!key_of(&live).is_empty());
    assert_eq!(key_of(&replayed), key_of(&live));
}

/// The organization's allow policy is read once a run (an ancestor cache shared by the projects
/// scanned at once); when that read fails, the failure is what every project below reports:
/// each scanned project's Resource Manager coverage names `organizations.getIamPolicy`, and no
/// project's ancestry counts as complete.
#[test]
fn an_unreadable_organization_policy_is_a_gap_of_every_project_below() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("org");
    cloudscan_collect::testkit::copy_dir(&scenario(), &dir).expect("copy fixture");
    let exchanges = dir.join("exchanges/cloudresourcemanager/global");
    let mut edited = 0;
    for entry in std::fs::read_dir(&exchanges).expect("exchanges") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let mut ex: Value = serde_json::from_str(&text).expect("json");
        if ex["request"]["operation"] == "organizations.getIamPolicy" {
            ex["responses"] = serde_json::json!([{
                "status": 403,
                "headers": {"content-type": "application/json; charset=UTF-8"},
                "json": {"error": {
                    "code": 403,
                    "message": "The caller does not have permission",
                    "status": "PERMISSION_DENIED"
                }}
            }]);
            std::fs::write(&path, ex.to_string()).expect("write");
            edited += 1;
        }
    }
    assert_eq!(edited, 1);
    let (code, report, _) = replay(&dir, &[]);
    assert_eq!(code, 3);
    assert_eq!(scopes(&report), set(&SCANNED));
    let gaps: BTreeSet<String> = incomplete(&report)
        .into_iter()
        .filter(|(_, service, _, detail)| {
            service == "cloudresourcemanager" && detail.contains("organizations.getIamPolicy")
        })
        .map(|(scope, ..)| scope)
        .collect();
    assert_eq!(gaps, set(&SCANNED), "{:#?}", incomplete(&report));
}
