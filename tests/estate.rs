//! End to end over a saved multi-account inventory (`tests/fixtures/estate/inventory.json`):
//! an organization with an SCP-restricted OU and an RCP-restricted OU, a cross-account chain
//! from a node role to an admin role, a Pod Identity target in another account and a bucket
//! policy grant. Runs the `cloudscan` binary (`scan --inventory`, `access --from`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const NODE: &str = "arn:aws:iam::111111111111:role/eks-node";
const ADMIN: &str = "arn:aws:iam::222222222222:role/platform-admin";
const PAYMENTS: &str = "arn:aws:iam::222222222222:role/payments";
const DEPLOYER: &str = "arn:aws:iam::333333333333:role/deployer";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate/inventory.json")
}

fn run(args: &[&str]) -> (i32, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .output()
        .expect("run cloudscan");
    assert!(
        output.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn scan(inventory: &Path) -> Vec<Value> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let (code, _) = run(&[
        "scan",
        "--inventory",
        inventory.to_str().expect("utf-8"),
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "the fixture's coverage is complete");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn finding<'a>(findings: &'a [Value], rule: &str, resource: &str) -> Option<&'a Value> {
    findings
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource"] == resource)
}

fn evidence<'a>(f: &'a Value, source: &str) -> Vec<&'a Value> {
    f["evidence"]
        .as_array()
        .map(|e| e.iter().filter(|x| x["source"] == source).collect())
        .unwrap_or_default()
}

#[test]
fn chained_admin_is_reported_with_every_hop() {
    let findings = scan(&fixture());
    let admin = finding(&findings, "identity-admin-access", ADMIN).expect("admin finding");
    assert_eq!(admin["severity"], "critical");
    let message = admin["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "every pod on node pool `general` in cluster `shop` (IMDS hop limit 2, IMDSv1 allowed) → node role `{NODE}` (account 111111111111) → sts:AssumeRole → `{ADMIN}` (account 222222222222)"
        )),
        "{message}"
    );
    let hops = evidence(admin, "role chain");
    assert_eq!(hops.len(), 1);
    let hop = &hops[0]["value"][0];
    assert_eq!(hop["from"], NODE);
    assert_eq!(hop["to"], ADMIN);
    let by: Vec<&str> = hop["allowed_by"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["policy"].as_str()).collect())
        .unwrap_or_default();
    // Cross account: R1's identity policy and R2's trust policy, both cited.
    assert_eq!(by, vec!["inline node", &format!("trust of {ADMIN}")]);
}

#[test]
fn the_pod_identity_target_in_another_account_is_reported() {
    let findings = scan(&fixture());
    let f = finding(&findings, "identity-secrets-access", PAYMENTS).expect("payments finding");
    assert!(f["message"]
        .as_str()
        .unwrap_or_default()
        .contains("service account `payments/api` in cluster `shop` (pod-identity) → association role `arn:aws:iam::111111111111:role/payments-assoc` (account 111111111111) → Pod Identity targetRoleArn"));
}

#[test]
fn guardrails_stop_findings_and_are_named_in_evidence() {
    let findings = scan(&fixture());
    // The SCP on OU Workloads denies the node role's secret reads: no finding for it ...
    assert!(finding(&findings, "identity-secrets-access", NODE).is_none());
    // ... and its remaining (storage) finding says which SCP stopped the secrets.
    let storage = finding(&findings, "identity-storage-access", NODE).expect("storage finding");
    let stops = evidence(storage, "organization guardrails");
    let stop = stops
        .iter()
        .find(|e| e["field"] == "stops")
        .expect("a stop");
    assert_eq!(stop["value"]["capability"], "secrets-read");
    assert_eq!(
        stop["value"]["denied_by"][0]["policy"],
        "DenySecretReads (p-denysecrets) at ou Workloads"
    );
    // The RCP on OU Sandbox denies sts:AssumeRole into it: the deployer is not reachable.
    assert!(findings.iter().all(|f| f["resource"] != DEPLOYER));

    // Without the SCP, the same inventory fires the secrets finding for the node role.
    let text = std::fs::read_to_string(fixture()).expect("fixture");
    let mut inv: Value = serde_json::from_str(&text).expect("json");
    inv["organization"]["accounts"][1]["scps"][1] = serde_json::json!(["p-FullAWSAccess"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("inventory.json");
    std::fs::write(&path, inv.to_string()).expect("write");
    let findings = scan(&path);
    assert!(finding(&findings, "identity-secrets-access", NODE).is_some());
}

#[test]
fn access_from_a_node_pool_prints_the_paths() {
    let inv = fixture();
    let inv = inv.to_str().expect("utf-8");
    let (code, text) = run(&[
        "access",
        "--inventory",
        inv,
        "--from",
        "shop/general",
        "--capability",
        "admin",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let answers: Value = serde_json::from_str(&text).expect("json");
    let answers = answers.as_array().cloned().unwrap_or_default();
    assert_eq!(answers.len(), 1, "{text}");
    assert_eq!(answers[0]["identity"], ADMIN);
    assert_eq!(answers[0]["path"][0]["via"], "sts:AssumeRole");
    let (_, table) = run(&[
        "access",
        "--inventory",
        inv,
        "--from",
        NODE,
        "--capability",
        "secrets-read",
    ]);
    assert!(
        table.contains("stopped by a guardrail: `secrets-read` on all resources"),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "cut by a guardrail: `{NODE}` → sts:AssumeRole → `{DEPLOYER}`"
        )),
        "{table}"
    );
    // The capability listing names the identity a guardrail stops.
    let (_, listing) = run(&["access", "--inventory", inv, "--capability", "secrets-read"]);
    assert!(
        listing.contains(&format!(
            "Stopped by organization guardrails:\n\n{NODE}\n  `secrets-read` on all resources"
        )),
        "{listing}"
    );
    // A depth bound of 0 finds no chain.
    let (_, none) = run(&[
        "access",
        "--inventory",
        inv,
        "--from",
        NODE,
        "--capability",
        "admin",
        "--max-depth",
        "0",
    ]);
    assert!(!none.contains(ADMIN), "{none}");
}
