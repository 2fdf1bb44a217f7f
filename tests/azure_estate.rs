//! `cloudscan azure --management-group` end to end: the real binary, its real ARM client and
//! token exchange, against the replay server serving `mocks/azure/management-group` (see
//! docs/estate.md, "Azure management-group scans").
//!
//! The tree: `mg-platform` (platform-prod Enabled, platform-legacy Disabled), `mg-workloads`
//! (workloads-app, and workloads-dev below the child group `mg-workloads-dev`, on the second
//! page of the descendants list), `mg-sandbox` (403 AuthorizationFailed).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

mod support;

const PROD: &str = "77777777-7777-4777-8777-777777777771";
const LEGACY: &str = "77777777-7777-4777-8777-777777777772";
const APP: &str = "77777777-7777-4777-8777-777777777773";
const DEV: &str = "77777777-7777-4777-8777-777777777774";
const SANDBOX: &str = "/providers/Microsoft.Management/managementGroups/mg-sandbox";

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mocks/azure/management-group")
}

fn run(extra: &[&str]) -> (i32, Value) {
    support::replay_report("azure", &scenario(), extra)
}

fn list<'a>(v: &'a Value, what: &str) -> &'a Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v:#}"))
}

/// The scanned subscriptions (the report's scopes).
fn scopes(report: &Value) -> BTreeSet<String> {
    list(&report["scan"]["scopes"], "scan.scopes")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

/// The coverage entries of `scope` that are not complete.
fn gaps<'a>(report: &'a Value, scope: &str) -> Vec<&'a Value> {
    list(&report["coverage"], "coverage")
        .iter()
        .filter(|c| c["scope"] == scope && c["status"] != "complete")
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The findings of `rule` whose text (resource, title, evidence) mentions `needle`.
fn findings<'a>(report: &'a Value, rule: &str, needle: &str) -> Vec<&'a Value> {
    list(&report["findings"], "findings")
        .iter()
        .filter(|f| f["rule_id"] == rule && f.to_string().contains(needle))
        .collect()
}

#[test]
fn recursion_finds_every_enabled_subscription_and_skips_the_disabled_one_with_its_reason() {
    let (code, report) = run(&["--management-group", "mg-platform,mg-workloads"]);
    // workloads-dev is below the child group, on the second page of the descendants list.
    assert_eq!(scopes(&report), set(&[PROD, APP, DEV]));
    // The disabled subscription is not scanned, and says why: the scan is incomplete.
    let legacy = gaps(&report, LEGACY);
    assert_eq!(legacy.len(), 1, "{:#}", report["coverage"]);
    assert_eq!(legacy[0]["service"], "subscription");
    assert_eq!(legacy[0]["status"], "failed");
    let detail = legacy[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not scanned") && detail.contains("Disabled"),
        "{detail}"
    );
    assert!(detail.contains("mg-platform"), "{detail}");
    assert_eq!(report["scan"]["complete"], false);
    assert_eq!(code, 3);
    // Nothing else is incomplete: both groups and every enabled subscription were read.
    let other: Vec<&Value> = list(&report["coverage"], "coverage")
        .iter()
        .filter(|c| c["status"] != "complete" && c["scope"] != LEGACY)
        .collect();
    assert!(other.is_empty(), "{other:#?}");
    // The clusters of all three enabled subscriptions are in the report.
    let text = report.to_string();
    for cluster in ["platform-aks", "apps-aks", "dev-aks"] {
        assert!(text.contains(cluster), "{cluster} missing");
    }
}

#[test]
fn only_enabled_groups_without_gaps_make_a_complete_scan() {
    let (code, report) = run(&["--management-group", "mg-workloads"]);
    assert_eq!(scopes(&report), set(&[APP, DEV]));
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    assert_eq!(code, 0);
}

#[test]
fn a_refused_group_is_failed_coverage_naming_the_action_and_the_rest_is_scanned() {
    // scenario.json names the three groups; --replay alone scans them.
    let (code, report) = run(&[]);
    assert_eq!(code, 3);
    assert_eq!(report["scan"]["complete"], false);
    let refused = gaps(&report, SANDBOX);
    assert_eq!(refused.len(), 1, "{:#}", report["coverage"]);
    assert_eq!(refused[0]["service"], "management");
    assert_eq!(refused[0]["status"], "failed");
    let detail = refused[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Microsoft.Management/managementGroups/descendants/read"),
        "{detail}"
    );
    assert!(detail.contains("AuthorizationFailed"), "{detail}");
    // The other groups' enabled subscriptions are all scanned.
    assert_eq!(scopes(&report), set(&[PROD, APP, DEV]));

    // Only the refused group: an empty scan that says why (exit 3, not a tool error).
    let (code, report) = run(&["--management-group", SANDBOX]);
    assert_eq!(code, 3);
    assert!(scopes(&report).is_empty());
    assert_eq!(gaps(&report, SANDBOX).len(), 1, "{:#}", report["coverage"]);
}

#[test]
fn an_owner_at_a_management_group_is_an_admin_finding_with_the_group_scope() {
    let (_, report) = run(&["--management-group", "mg-platform,mg-workloads"]);
    let admin = findings(&report, "identity-admin-access", "platform-aks-agentpool");
    assert_eq!(admin.len(), 1, "{:#}", report["findings"]);
    let evidence = admin[0]["evidence"].to_string();
    assert!(
        evidence.contains("/providers/Microsoft.Management/managementGroups/mg-platform"),
        "{evidence}"
    );
    assert!(
        admin[0]["message"].as_str().is_some_and(|m| m.contains(
            "holds Owner at /providers/Microsoft.Management/managementGroups/mg-platform"
        )),
        "{:#}",
        admin[0]
    );
    // The inventory says where the assignment comes from.
    let saved = tempfile::tempdir().expect("tempdir");
    let inv_path = saved.path().join("inv.json");
    let (_, _) = run(&[
        "--management-group",
        "mg-platform",
        "--save-inventory",
        inv_path.to_str().expect("utf-8 path"),
    ]);
    let inv: Value = serde_json::from_str(&std::fs::read_to_string(&inv_path).expect("inventory"))
        .expect("json");
    let assignment = list(&inv["identities"], "identities")
        .iter()
        .filter(|i| i["name"] == "platform-aks-agentpool")
        .flat_map(|i| list(&i["role_assignments"], "role_assignments").iter())
        .find(|a| a["role_name"] == "Owner")
        .expect("the Owner assignment");
    assert_eq!(
        assignment["scope"],
        "/providers/Microsoft.Management/managementGroups/mg-platform"
    );
    let source = assignment["source"].as_str().unwrap_or_default();
    assert!(
        source.contains("inherited from management group `mg-platform`") && source.contains(PROD),
        "{source}"
    );
    // Reader at the root scope `/` is inherited too, and grants nothing worth a finding.
    for rule in [
        "identity-admin-access",
        "identity-privilege-escalation",
        "identity-wildcard-grant",
    ] {
        assert!(
            findings(&report, rule, "dev-aks-agentpool").is_empty(),
            "{rule}: {:#}",
            report["findings"]
        );
    }
}

#[test]
fn a_custom_role_defined_at_a_management_group_resolves() {
    let (_, report) = run(&["--management-group", "mg-workloads"]);
    let wildcard = findings(&report, "identity-wildcard-grant", "apps-aks-agentpool");
    assert_eq!(wildcard.len(), 1, "{:#}", report["findings"]);
    let text = wildcard[0].to_string();
    assert!(text.contains("workloads-node-operator"), "{text}");
    assert!(text.contains("Microsoft.Compute/*"), "{text}");
    // Read at its group id: the authorization coverage is complete (a definition that could
    // not be read would make it partial).
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
}

#[test]
fn shards_split_the_subscriptions_found_each_exactly_once() {
    let n = 3;
    let mut union = BTreeSet::new();
    let mut total = 0;
    let mut legacy_reported = 0;
    for i in 0..n {
        let (code, report) = run(&[
            "--management-group",
            "mg-platform,mg-workloads",
            "--shard",
            &format!("{i}/{n}"),
        ]);
        let mine = scopes(&report);
        total += mine.len();
        union.extend(mine);
        let legacy = gaps(&report, LEGACY).len();
        legacy_reported += legacy;
        assert_eq!(code, if legacy > 0 { 3 } else { 0 }, "shard {i}");
    }
    assert_eq!(union, set(&[PROD, APP, DEV]));
    assert_eq!(total, 3, "a subscription was scanned by two shards");
    // The disabled subscription is reported by the one shard it belongs to.
    assert_eq!(legacy_reported, 1);
}

#[test]
fn bad_group_names_and_mixed_flags_are_refused() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = scenario();
    let dir = dir.to_str().expect("utf-8 path");
    let (code, stderr) = support::cloudscan_isolated(
        &["azure", "--replay", dir, "--management-group", "a/../b"],
        &[],
        home.path(),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--management-group"), "{stderr}");
    let (code, stderr) = support::cloudscan_isolated(
        &[
            "azure",
            "--replay",
            dir,
            "--management-group",
            "mg-platform",
            "--subscription",
            PROD,
        ],
        &[],
        home.path(),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
}
