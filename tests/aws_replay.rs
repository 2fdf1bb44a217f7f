//! The AWS adapter end to end through the real AWS SDK clients, replaying recorded HTTP fixtures
//! (mocks/aws/*), and its failure paths: AccessDenied, throttling, malformed responses, truncated
//! pages, missing credentials, bad flags. Every run goes through the `cloudscan` binary with a
//! scrubbed environment.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

const ALL_AWS_RULES: &[&str] = &[
    "api-endpoint-public",
    "audit-logging-disabled",
    "cloud-audit-trail-missing",
    "identity-admin-access",
    "identity-privilege-escalation",
    "identity-secrets-access",
    "identity-storage-access",
    "identity-wildcard-grant",
    "local-auth-enabled",
    "node-metadata-exposed",
    "secrets-encryption-disabled",
    "volume-encryption-disabled",
    "workload-identity-disabled",
    "workload-identity-trust-too-broad",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(name: &str) -> PathBuf {
    root().join("mocks/aws").join(name)
}

/// Runs cloudscan with an empty environment: no ambient credentials, profiles or endpoints.
fn cloudscan(args: &[&str], home: &Path) -> Output {
    support::output_with_timeout(
        &mut support::isolated_command(args, &[], home),
        std::time::Duration::from_secs(300),
        "cloudscan",
    )
}

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn replay(dir: &Path, extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let mut args = vec![
        "aws",
        "--replay",
        dir.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--no-progress",
        "--output",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let output = cloudscan(&args, tmp.path());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("no report ({e}); stderr:\n{stderr}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_str(&text).expect("report is JSON"),
        stderr,
    }
}

fn rule_ids(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
        .collect()
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn fingerprints(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .filter_map(|f| f["fingerprint"].as_str().map(str::to_string))
        .collect()
}

fn coverage<'a>(report: &'a Value, service: &str, region: &str) -> &'a Value {
    report["coverage"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|e| e["service"] == service && e["region"] == region)
        })
        .unwrap_or_else(|| panic!("no coverage entry for {service} {region}"))
}

/// Copies a scenario so a test can break one exchange.
fn copy_scenario(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&scenario(name), tmp.path());
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Finds the one exchange file for (service, region, operation) whose request params contain
/// `needle` (empty = any).
fn exchange(dir: &Path, service: &str, region: &str, operation: &str, needle: &str) -> PathBuf {
    let folder = dir.join("exchanges").join(service).join(region);
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("exchange folder") {
        let path = entry.expect("entry").path();
        let ex: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        if ex["request"]["operation"] == operation && ex["request"].to_string().contains(needle) {
            hits.push(path);
        }
    }
    assert_eq!(
        hits.len(),
        1,
        "expected one {service} {operation} in {region} matching `{needle}`: {hits:?}"
    );
    hits.remove(0)
}

fn set_responses(path: &Path, responses: Value) {
    let mut ex: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    ex["responses"] = responses;
    std::fs::write(path, serde_json::to_string_pretty(&ex).expect("json")).expect("write");
}

fn first_response(path: &Path) -> Value {
    let ex: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    ex["responses"][0].clone()
}

#[test]
fn insecure_scenario_fires_every_aws_rule() {
    let run = replay(&scenario("insecure"), &["--fail-on", "high"]);
    assert_eq!(
        run.code, 1,
        "findings at or above high: exit 1\n{}",
        run.stderr
    );
    assert_eq!(run.report["schema_version"], "cloudscan.report/v2");
    assert_eq!(run.report["scan"]["mode"], "replay");
    assert_eq!(
        run.report["scan"]["complete"], true,
        "{:#}",
        run.report["coverage"]
    );
    assert_eq!(run.report["scan"]["scopes"][0]["id"], "123456789012");
    let expected: BTreeSet<String> = ALL_AWS_RULES.iter().map(|s| s.to_string()).collect();
    assert_eq!(rule_ids(&run.report), expected);
    for f in findings(&run.report) {
        assert!(
            !f["evidence"].as_array().expect("evidence").is_empty(),
            "no evidence: {f:#}"
        );
        assert!(f["remediation"].as_str().is_some_and(|r| !r.is_empty()));
        assert_eq!(f["fingerprint"].as_str().map(str::len), Some(32));
        assert!(f["resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:")));
    }
    // Fingerprints are unique.
    assert_eq!(fingerprints(&run.report).len(), findings(&run.report).len());
}

#[test]
fn hardened_scenario_fires_nothing() {
    let run = replay(&scenario("hardened"), &["--fail-on", "info"]);
    assert_eq!(
        rule_ids(&run.report),
        BTreeSet::new(),
        "{:#}",
        run.report["findings"]
    );
    assert_eq!(
        run.report["scan"]["complete"], true,
        "{:#}",
        run.report["coverage"]
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn specific_insecure_findings_carry_their_evidence() {
    let run = replay(&scenario("insecure"), &[]);
    let all = findings(&run.report);
    let by = |rule: &str, cluster: &str| -> Vec<Value> {
        all.iter()
            .filter(|f| f["rule_id"] == rule && f["cluster"] == cluster)
            .cloned()
            .collect()
    };
    // A restricted but public CIDR still fires, at medium.
    let staging = by("api-endpoint-public", "staging-legacy");
    assert_eq!(staging.len(), 1);
    assert_eq!(staging[0]["severity"], "medium");
    assert!(staging[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("203.0.113.0/24")));
    // A disabled key is a finding with the key state as evidence.
    let key = by("secrets-encryption-disabled", "staging-legacy");
    assert_eq!(key.len(), 1);
    assert!(key[0]["evidence"].to_string().contains("Disabled"));
    // Audit logging: api on, audit off, across both logging entries.
    let audit = by("audit-logging-disabled", "staging-legacy");
    assert!(audit[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("only api")));
    assert!(by("audit-logging-disabled", "prod-private").is_empty());
    // CONFIG_MAP auth.
    assert_eq!(by("local-auth-enabled", "prod-public").len(), 1);
    // The bastion is not a cluster node.
    assert!(!run.report.to_string().contains("bastion"));
}

#[test]
fn saved_inventory_gives_the_same_findings_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inv = tmp.path().join("inventory.json");
    let first = replay(
        &scenario("insecure"),
        &["--save-inventory", inv.to_str().expect("utf-8")],
    );
    let out = tmp.path().join("again.json");
    let output = cloudscan(
        &[
            "scan",
            "--inventory",
            inv.to_str().expect("utf-8"),
            "--format",
            "json",
            "-o",
            out.to_str().expect("utf-8"),
        ],
        tmp.path(),
    );
    assert_eq!(output.status.code(), Some(0));
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    assert_eq!(again["scan"]["mode"], "inventory");
    assert_eq!(fingerprints(&first.report), fingerprints(&again));
}

#[test]
fn access_denied_on_one_service_is_incomplete_coverage_and_the_rest_goes_on() {
    let dir = copy_scenario("insecure");
    let path = exchange(dir.path(), "ec2", "us-east-1", "DescribeInstances", "");
    set_responses(
        &path,
        serde_json::json!([{"status": 403, "headers": {"content-type": "text/xml;charset=UTF-8"},
            "body": "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>0</RequestID></Response>"}]),
    );
    let run = replay(dir.path(), &["--fail-on", "high"]);
    assert_eq!(run.code, 3, "incomplete beats findings: {}", run.stderr);
    let ec2 = coverage(&run.report, "ec2", "us-east-1");
    assert_eq!(ec2["status"], "failed");
    assert!(ec2["detail"]
        .as_str()
        .is_some_and(|d| d.contains("access denied") && d.contains("UnauthorizedOperation")));
    assert_eq!(
        coverage(&run.report, "eks", "us-east-1")["status"],
        "complete"
    );
    // Cluster-level findings in that region are still reported.
    assert!(rule_ids(&run.report).contains("api-endpoint-public"));
    assert_eq!(run.report["scan"]["complete"], false);
    // --allow-incomplete turns the exit code back to the findings gate.
    let run = replay(dir.path(), &["--fail-on", "high", "--allow-incomplete"]);
    assert_eq!(run.code, 1);
}

#[test]
fn throttling_is_retried_and_exhausted_throttling_is_reported() {
    let baseline = replay(&scenario("insecure"), &[]);
    let dir = copy_scenario("insecure");
    let path = exchange(
        dir.path(),
        "iam",
        "us-east-1",
        "GetAccountAuthorizationDetails",
        "",
    );
    let page = first_response(&path);
    let throttled = serde_json::json!({"status": 400, "headers": {"content-type": "text/xml"},
        "body": "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>0</RequestId></ErrorResponse>"});
    set_responses(&path, serde_json::json!([throttled.clone(), page]));
    let run = replay(dir.path(), &[]);
    assert_eq!(coverage(&run.report, "iam", "global")["status"], "complete");
    assert_eq!(fingerprints(&run.report), fingerprints(&baseline.report));

    set_responses(&path, serde_json::json!([throttled]));
    let run = replay(dir.path(), &["--max-attempts", "2"]);
    let iam = coverage(&run.report, "iam", "global");
    assert_eq!(iam["status"], "failed");
    assert!(iam["detail"]
        .as_str()
        .is_some_and(|d| d.contains("throttled")));
    assert_eq!(run.code, 3);
}

#[test]
fn a_malformed_response_fails_only_that_call() {
    let dir = copy_scenario("insecure");
    let path = exchange(
        dir.path(),
        "eks",
        "us-east-1",
        "DescribeCluster",
        "prod-public",
    );
    set_responses(
        &path,
        serde_json::json!([{"status": 200, "headers": {"content-type": "application/json"},
            "body": "{\"cluster\": {\"name\": \"prod-public\", \"arn\": 12"}]),
    );
    let run = replay(dir.path(), &[]);
    let eks = coverage(&run.report, "eks", "us-east-1");
    // prod-private, in the same region, was still read: partial, not failed.
    assert_eq!(eks["status"], "partial", "{eks:#}");
    assert!(eks["detail"]
        .as_str()
        .is_some_and(|d| d.contains("eks:DescribeCluster") && d.contains("malformed")));
    assert!(!findings(&run.report)
        .iter()
        .any(|f| f["cluster"] == "prod-public"));
    // Other regions are untouched.
    assert!(findings(&run.report)
        .iter()
        .any(|f| f["cluster"] == "staging-legacy"));
    assert_eq!(run.code, 3);
}

#[test]
fn a_truncated_page_is_reported_not_ignored() {
    let dir = copy_scenario("insecure");
    let path = exchange(
        dir.path(),
        "iam",
        "us-east-1",
        "GetAccountAuthorizationDetails",
        "",
    );
    let mut page = first_response(&path);
    let body = page["body"].as_str().expect("xml body").to_string();
    // IsTruncated=true with a Marker whose next page was never recorded.
    let truncated = body.replacen(
        "<IsTruncated>false</IsTruncated>",
        "<IsTruncated>true</IsTruncated><Marker>next-page-token</Marker>",
        1,
    );
    assert_ne!(truncated, body, "the recorded page has IsTruncated=false");
    page["body"] = Value::String(truncated);
    set_responses(&path, serde_json::json!([page]));
    let run = replay(dir.path(), &[]);
    let iam = coverage(&run.report, "iam", "global");
    assert_eq!(iam["status"], "partial", "{iam:#}");
    assert!(iam["detail"]
        .as_str()
        .is_some_and(|d| d.contains("next-page-token")));
    assert_eq!(run.code, 3);
}

#[test]
fn a_broken_fixture_file_is_a_clear_error() {
    let dir = copy_scenario("hardened");
    let path = exchange(dir.path(), "sts", "us-east-1", "GetCallerIdentity", "");
    std::fs::write(&path, "{ not json").expect("write");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = cloudscan(
        &["aws", "--replay", dir.path().to_str().expect("utf-8")],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid fixture") && stderr.contains("GetCallerIdentity"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn no_credentials_and_unknown_profiles_are_one_clear_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["aws", "--region", "us-east-1", "--max-attempts", "1"],
        vec![
            "aws",
            "--profile",
            "does-not-exist",
            "--region",
            "us-east-1",
        ],
    ] {
        let out = cloudscan(&args, tmp.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            stderr.contains("credentials") || stderr.contains("profile"),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn bad_flags_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["aws", "--format", "xml"],
        vec!["aws", "--fail-on", "severe"],
        vec!["aws", "--replay", "x", "--record", "y"],
        vec!["scan", "--inventory", "/nonexistent/inventory.json"],
    ] {
        let out = cloudscan(&args, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// The shipped least-privilege policy allows exactly the operations the adapter calls.
#[test]
fn least_privilege_policy_matches_the_calls_made() {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("policies/aws/cloudscan-readonly.json"))
            .expect("policy"),
    )
    .expect("json");
    let allowed: BTreeSet<String> = policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    // What only the management account of an organization scan needs: assuming the member role.
    let management: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("policies/aws/cloudscan-organization.json"))
            .expect("organization policy"),
    )
    .expect("json");
    let assume: BTreeSet<String> = management["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    assert_eq!(assume, BTreeSet::from(["sts:AssumeRole".to_string()]));
    let mut called = BTreeSet::new();
    // `organization` holds the caller's recording and one per member account (accounts/ID/).
    for name in ["insecure", "hardened", "organization"] {
        collect_operations(&scenario(name), &mut called);
    }
    // GetCallerIdentity needs no permission; DescribeRegions is only called without --region.
    called.remove("sts:GetCallerIdentity");
    let mut expected: BTreeSet<String> = allowed.union(&assume).cloned().collect();
    expected.remove("ec2:DescribeRegions");
    assert_eq!(called, expected);
    for action in &allowed {
        let verb = action.split(':').nth(1).unwrap_or("");
        assert!(
            ["Describe", "List", "Get"]
                .iter()
                .any(|p| verb.starts_with(p)),
            "{action} is not read-only"
        );
    }
}

fn collect_operations(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_operations(&path, out);
        } else if path.file_name().is_some_and(|n| n == "scenario.json") {
            continue;
        } else {
            let ex: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            out.insert(format!(
                "{}:{}",
                ex["request"]["service"].as_str().unwrap_or(""),
                ex["request"]["operation"].as_str().unwrap_or("")
            ));
        }
    }
}

#[test]
fn access_lists_who_can_read_secrets_and_which_pods_can_become_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inv = tmp.path().join("inventory.json");
    replay(
        &scenario("insecure"),
        &["--save-inventory", inv.to_str().expect("utf-8")],
    );
    let out = cloudscan(
        &[
            "access",
            "--inventory",
            inv.to_str().expect("utf-8"),
            "--capability",
            "secrets-read",
            "--format",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let holders: Value = serde_json::from_slice(&out.stdout).expect("json");
    let node = holders
        .as_array()
        .expect("list")
        .iter()
        .find(|h| h["identity"] == "arn:aws:iam::123456789012:role/eks-node-public")
        .expect("the node role reads secrets");
    assert_eq!(node["reach"], "all");
    assert!(node["statements"].to_string().contains("node-extra"));
    assert!(node["used_by"]
        .to_string()
        .contains("every pod on node pool `general` in cluster `prod-public`"));
    // The scoped IRSA role reaches only some secrets.
    let irsa = holders
        .as_array()
        .expect("list")
        .iter()
        .find(|h| h["identity"] == "arn:aws:iam::123456789012:role/app-irsa")
        .expect("app-irsa");
    assert_eq!(irsa["reach"], "some");
}
