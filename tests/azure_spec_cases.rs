//! `cloudscan azure` end to end on the `mocks/azure/spec-cases` scenarios: the findings the
//! Azure fixes of issue 11 produce (docs/semantics-azure.md), and the ones they must not.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn case(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("mocks/azure/spec-cases")
        .join(name)
}

mod support;

fn run(dir: &Path) -> (i32, Value) {
    support::replay_report("azure", dir, &[])
}

/// (rule, the resource id after `managedClusters/` or `userAssignedIdentities/`, severity).
fn findings(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let resource = f["resource"].as_str().unwrap_or_default();
            let short = resource
                .rsplit_once("managedClusters/")
                .or_else(|| resource.rsplit_once("userAssignedIdentities/"))
                .map(|(_, r)| r)
                .unwrap_or(resource);
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                short.to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn f(rule: &str, resource: &str, severity: &str) -> (String, String, String) {
    (rule.to_string(), resource.to_string(), severity.to_string())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn azure_spec_cases_complete_fires_exactly_the_documented_findings() {
    let (code, report) = run(&case("complete"));
    assert_eq!(code, 0);
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    let expected: BTreeSet<_> = [
        // 0.0.0.0/32 is dropped: only the real public range of `mixed` is reported; `egress-only`
        // (0.0.0.0/32 alone) is not.
        f("api-endpoint-public", "mixed", "medium"),
        // The ephemeral OS disk without encryption at host; not `ephhost`, not `auto` (unknown).
        f(
            "volume-encryption-disabled",
            "egress-only/agentPools/eph/osDisk",
            "medium",
        ),
        // Contributor held in the other scanned subscription.
        f("identity-admin-access", "mixed-agentpool", "critical"),
        // `*` minus compute/storage/Key Vault/AKS: not an administrator, but it can still assign
        // roles. `*` at one resource group: not an administrator of everything either.
        f(
            "identity-privilege-escalation",
            "egress-only-agentpool",
            "high",
        ),
        f("identity-privilege-escalation", "app-rg", "high"),
        f("identity-wildcard-grant", "egress-only-agentpool", "medium"),
        f("identity-wildcard-grant", "app-rg", "medium"),
        f("workload-identity-disabled", "mixed", "medium"),
    ]
    .into_iter()
    .collect();
    assert_eq!(findings(&report), expected);
}

#[test]
fn azure_spec_cases_gaps_report_unknowns_not_findings() {
    let (code, report) = run(&case("gaps"));
    // Incomplete on purpose: the exit code says so.
    assert_eq!(code, 3);
    assert_eq!(report["scan"]["complete"], false);
    let got = findings(&report);
    // The credential whose issuer may be a cluster of the unlisted subscription is not
    // reported as foreign; the deleted role grants nothing; Storage Blob Data Contributor at
    // one resource group is not "every bucket".
    assert!(
        !got.iter()
            .any(|(_, r, _)| r == "wi-elsewhere" || r == "gap-aks-agentpool"),
        "{got:#?}"
    );

    // The other direction: once the cluster list answers, the issuer is foreign.
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&case("gaps"), tmp.path());
    let dir = tmp.path().join("exchanges/containerservice/global");
    let mut edited = 0;
    for entry in std::fs::read_dir(&dir).expect("exchanges") {
        let path = entry.expect("entry").path();
        let mut exchange: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        if exchange["request"]["path"]
            .as_str()
            .is_some_and(|p| p.contains("66666666"))
        {
            exchange["responses"] = serde_json::json!([{"status": 200,
                "headers": {"content-type": "application/json"}, "json": {"value": []}}]);
            std::fs::write(&path, exchange.to_string()).expect("write");
            edited += 1;
        }
    }
    assert_eq!(edited, 1);
    let (_, report) = run(tmp.path());
    assert!(findings(&report).contains(&f(
        "workload-identity-trust-too-broad",
        "wi-elsewhere",
        "medium"
    )));
}

/// Deny assignments take precedence over role assignments: a deny of Key Vault secret reads
/// that names everyone at the subscription removes the `identity-secrets-access` finding of
/// the `staging-wi` kubelet identity (Key Vault Secrets User at the subscription); excluding
/// that identity, or denying only one resource group, brings it back as far as the rule asks
/// (every vault: the resource-group deny leaves "some vaults", which does not fire).
#[test]
fn azure_deny_assignments_subtract_from_role_assignments() {
    let insecure = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mocks/azure/insecure");
    let secrets = (
        "identity-secrets-access".to_string(),
        "staging-wi-agentpool".to_string(),
        "high".to_string(),
    );
    let (_, before) = run(&insecure);
    assert!(findings(&before).contains(&secrets));

    let with_deny = |scope: &str, exclude: &[&str]| {
        let tmp = tempfile::tempdir().expect("tempdir");
        cloudscan_collect::testkit::copy_dir(&insecure, tmp.path()).expect("copy");
        let sub = "/subscriptions/11111111-1111-1111-1111-111111111111";
        let deny = serde_json::json!({
            "id": format!("{sub}/providers/Microsoft.Authorization/denyAssignments/d1"),
            "name": "d1",
            "type": "Microsoft.Authorization/denyAssignments",
            "properties": {
                "denyAssignmentName": "No secret reads",
                "permissions": [{"actions": [], "notActions": [],
                                 "dataActions": ["Microsoft.KeyVault/vaults/secrets/*"],
                                 "notDataActions": []}],
                "scope": scope,
                "doNotApplyToChildScopes": false,
                "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
                "excludePrincipals": exclude.iter()
                    .map(|id| serde_json::json!({"id": id, "type": "ServicePrincipal"}))
                    .collect::<Vec<_>>(),
                "isSystemProtected": true
            }
        });
        let n = cloudscan_collect::testkit::edit_responses(
            tmp.path(),
            "denyAssignments.list",
            cloudscan_collect::testkit::any,
            |_| {
                serde_json::json!([{"status": 200,
                    "headers": {"content-type": "application/json"},
                    "json": {"value": [deny.clone()]}}])
            },
        )
        .expect("edit");
        assert_eq!(n, 1);
        let (code, report) = run(tmp.path());
        assert_eq!(code, 0, "{:#}", report["coverage"]);
        findings(&report)
    };
    let sub = "/subscriptions/11111111-1111-1111-1111-111111111111";
    assert!(!with_deny(sub, &[]).contains(&secrets));
    assert!(!with_deny("/", &[]).contains(&secrets));
    assert!(with_deny(sub, &["a0000000-0000-4000-8000-000000000002"]).contains(&secrets));
    assert!(!with_deny(&format!("{sub}/resourceGroups/rg-security"), &[]).contains(&secrets));
    assert!(
        with_deny("/subscriptions/22222222-2222-2222-2222-222222222222", &[]).contains(&secrets)
    );
}
