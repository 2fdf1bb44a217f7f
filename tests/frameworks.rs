//! Framework controls end to end: the real binary on the bundled replay scenarios, with
//! `--framework`, waivers (`--config`) and a broken fixture for an incomplete scan.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(cloud: &str, name: &str) -> PathBuf {
    root().join("mocks").join(cloud).join(name)
}

struct Run {
    code: i32,
    report: Option<Value>,
    stderr: String,
}

impl Run {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report (exit {}):\n{}", self.code, self.stderr))
    }
}

/// Runs `cloudscan CLOUD --replay DIR --format json` with a scrubbed environment.
fn scan(cloud: &str, dir: &Path, extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args([cloud, "--replay"])
        .arg(dir)
        .args(["--format", "json", "--no-progress", "-o"])
        .arg(&out)
        .args(extra)
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", tmp.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            tmp.path().join("no-credentials"),
        )
        .output()
        .expect("run cloudscan");
    Run {
        code: output.status.code().unwrap_or(-1),
        report: std::fs::read_to_string(&out)
            .ok()
            .map(|t| serde_json::from_str(&t).expect("report is JSON")),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn framework<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["frameworks"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no framework {id}: {:#}", report["frameworks"]))
}

fn control<'a>(report: &'a Value, fw: &str, id: &str) -> &'a Value {
    framework(report, fw)["controls"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no control {fw} {id}"))
}

fn framework_ids(report: &Value) -> Vec<String> {
    report["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

/// The controls of a framework that have at least one rule, by status.
fn assessed(report: &Value, fw: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut passed = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for c in framework(report, fw)["controls"]
        .as_array()
        .expect("controls")
    {
        let id = c["id"].as_str().expect("id").to_string();
        match c["status"].as_str() {
            Some("passed") => passed.insert(id),
            Some("failed") => failed.insert(id),
            _ => {
                assert!(
                    c["rules"].as_array().is_some_and(|r| r.is_empty()),
                    "only unmapped controls are not assessed in a complete scan: {c:#}"
                );
                false
            }
        };
    }
    (passed, failed)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// The insecure scenario fails every mapped control of the benchmark, with the fingerprints
/// of the findings that fail it; the hardened one passes them all. The 4C view comes along.
fn check_benchmark(cloud: &str, fw: &str, mapped: &[&str]) {
    let insecure = scan(cloud, &scenario(cloud, "insecure"), &[]);
    let report = insecure.report();
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    assert_eq!(framework_ids(report), [fw, "4c-cloud"]);
    let (passed, failed) = assessed(report, fw);
    assert_eq!(failed, set(mapped), "{:#}", framework(report, fw));
    assert!(passed.is_empty(), "{passed:?}");
    let fingerprints: BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["fingerprint"].as_str())
        .collect();
    for id in mapped {
        let c = control(report, fw, id);
        assert!(
            c["reason"]
                .as_str()
                .is_some_and(|r| r.contains("open finding(s)")),
            "{c:#}"
        );
        let failing = c["findings"].as_array().expect("findings");
        assert!(!failing.is_empty());
        for f in failing {
            assert!(fingerprints.contains(f.as_str().expect("fingerprint")));
        }
    }
    let doc = framework(report, fw);
    assert_eq!(doc["failed"], mapped.len());
    assert_eq!(doc["passed"], 0);
    assert_eq!(
        doc["not_assessed"].as_u64().expect("count") as usize + mapped.len(),
        doc["controls"].as_array().expect("controls").len()
    );
    // Findings carry this cloud's benchmark ids only.
    let prefix = format!("CIS {} ", &fw[4..7].to_uppercase());
    for f in report["findings"].as_array().expect("findings") {
        for id in f["compliance"].as_array().expect("compliance") {
            let id = id.as_str().expect("id");
            assert!(
                id.starts_with(&prefix) || id.starts_with("4C Cloud: "),
                "{id}"
            );
        }
    }

    let hardened = scan(cloud, &scenario(cloud, "hardened"), &[]);
    let report = hardened.report();
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    let (passed, failed) = assessed(report, fw);
    assert_eq!(passed, set(mapped), "{:#}", framework(report, fw));
    assert!(failed.is_empty());
    for id in mapped {
        let c = control(report, fw, id);
        assert!(
            c["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("no open findings")),
            "{c:#}"
        );
        assert_eq!(c["findings"], serde_json::json!([]));
    }
    let (passed, failed) = assessed(report, "4c-cloud");
    assert_eq!(passed.len(), 5);
    assert!(failed.is_empty());
}

#[test]
fn eks_insecure_fails_and_hardened_passes_the_mapped_controls() {
    check_benchmark(
        "aws",
        "cis-eks-1.8",
        &["2.1.1", "2.1.2", "5.2.1", "5.3.1", "5.4.1", "5.4.2"],
    );
}

#[test]
fn gke_insecure_fails_and_hardened_passes_the_mapped_controls() {
    check_benchmark(
        "gcp",
        "cis-gke-1.9",
        &[
            "5.2.1", "5.2.2", "5.3.1", "5.4.1", "5.6.3", "5.6.4", "5.8.1", "5.8.3",
        ],
    );
}

#[test]
fn aks_insecure_fails_and_hardened_passes_the_mapped_controls() {
    check_benchmark(
        "azure",
        "cis-aks-1.8",
        &["2.1.1", "5.2.1", "5.3.1", "5.4.1", "5.4.2", "5.5.1"],
    );
}

#[test]
fn unmapped_controls_say_why() {
    let run = scan("aws", &scenario("aws", "hardened"), &[]);
    let c = control(run.report(), "cis-eks-1.8", "5.1.1");
    assert_eq!(c["status"], "not_assessed");
    assert!(c["reason"].as_str().is_some_and(|r| r.contains("ECR")));
    // A partial mapping says so in the reason.
    let c = control(run.report(), "cis-eks-1.8", "5.4.2");
    assert!(c["reason"]
        .as_str()
        .is_some_and(|r| r.contains("note: partial")));
}

#[test]
fn framework_flag_keeps_one_framework_and_its_findings() {
    let dir = scenario("aws", "insecure");
    let all = scan("aws", &dir, &[]);
    let only = scan("aws", &dir, &["--framework", "cis-eks-1.8"]);
    let report = only.report();
    assert_eq!(framework_ids(report), ["cis-eks-1.8"]);
    let mapped = set(&[
        "audit-logging-disabled",
        "workload-identity-disabled",
        "secrets-encryption-disabled",
        "api-endpoint-public",
    ]);
    let kept: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .collect();
    assert!(!kept.is_empty());
    for f in &kept {
        assert!(
            mapped.contains(f["rule_id"].as_str().expect("rule")),
            "{}",
            f["rule_id"]
        );
    }
    let expected = all.report()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| mapped.contains(f["rule_id"].as_str().expect("rule")))
        .count();
    assert_eq!(kept.len(), expected);
    assert_eq!(report["summary"]["findings"], expected);
    assert!(expected < all.report()["summary"]["findings"].as_u64().expect("n") as usize);

    // The 4C view keeps every rule's findings.
    let four = scan("aws", &dir, &["--framework", "4c-cloud"]);
    assert_eq!(framework_ids(four.report()), ["4c-cloud"]);
    assert_eq!(
        four.report()["summary"]["findings"],
        all.report()["summary"]["findings"]
    );
}

#[test]
fn framework_flag_gates_on_its_own_findings() {
    // --fail-on looks only at the findings the framework keeps.
    let dir = scenario("aws", "insecure");
    let has = |report: &Value, severity: &str| {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["severity"] == severity && f["status"] == "open")
    };
    let all = scan("aws", &dir, &["--fail-on", "critical"]);
    assert_eq!(
        all.code,
        i32::from(has(all.report(), "critical")),
        "{}",
        all.stderr
    );
    let eks = scan(
        "aws",
        &dir,
        &["--framework", "cis-eks-1.8", "--fail-on", "critical"],
    );
    assert_eq!(
        eks.code,
        i32::from(has(eks.report(), "critical")),
        "{}",
        eks.stderr
    );
    let eks = scan(
        "aws",
        &dir,
        &["--framework", "cis-eks-1.8", "--fail-on", "high"],
    );
    assert!(has(eks.report(), "high"));
    assert_eq!(eks.code, 1, "{}", eks.stderr);
}

#[test]
fn an_unknown_framework_is_a_usage_error_listing_the_known_ones() {
    let run = scan(
        "aws",
        &scenario("aws", "hardened"),
        &["--framework", "nope"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.report.is_none());
    for id in [
        "`nope`",
        "cis-eks-1.8",
        "cis-gke-1.9",
        "cis-aks-1.8",
        "4c-cloud",
    ] {
        assert!(run.stderr.contains(id), "{id} not in: {}", run.stderr);
    }
}

#[test]
fn a_waiver_turns_a_failed_control_into_waived_not_passed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("cloudscan.toml");
    std::fs::write(
        &config,
        "[[waiver]]\nrule = \"secrets-encryption-disabled\"\nresource = \"*\"\n\
reason = \"legacy clusters, re-created next quarter (SEC-42)\"\nowner = \"platform\"\n\
expires = 2099-12-31\n",
    )
    .expect("write config");
    let dir = scenario("aws", "insecure");
    let before = scan("aws", &dir, &[]);
    let c = control(before.report(), "cis-eks-1.8", "5.3.1");
    assert_eq!(c["status"], "failed");
    let n = c["findings"].as_array().expect("findings").len();
    assert!(n > 0);

    let after = scan(
        "aws",
        &dir,
        &[
            "--config",
            config.to_str().expect("utf-8 path"),
            // `resource = "*"`, far expiry: a broad waiver, accepted on purpose here.
            "--allow-broad-waivers",
        ],
    );
    let report = after.report();
    let c = control(report, "cis-eks-1.8", "5.3.1");
    assert_eq!(c["status"], "waived", "{c:#}");
    let reason = c["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(&format!("{n} finding(s) waived (accepted risk), none open")),
        "{reason}"
    );
    let fw = framework(report, "cis-eks-1.8");
    assert!(fw["waived"].as_u64().is_some_and(|w| w >= 1), "{fw:#}");
    assert_eq!(c["findings"], serde_json::json!([]));
    // The 4C encryption control still fails on the unencrypted volumes.
    assert_eq!(
        control(report, "4c-cloud", "encryption-at-rest")["status"],
        "failed"
    );
    assert_eq!(
        framework(report, "cis-eks-1.8")["failed"],
        framework(before.report(), "cis-eks-1.8")["failed"]
            .as_u64()
            .expect("n")
            - 1
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn an_incomplete_scan_leaves_unfailed_controls_not_assessed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&scenario("aws", "hardened"), tmp.path());
    // DescribeInstances in us-east-1 is denied.
    let folder = tmp.path().join("exchanges/ec2/us-east-1");
    let mut broken = 0;
    for entry in std::fs::read_dir(&folder).expect("exchange folder") {
        let path = entry.expect("entry").path();
        let mut ex: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        if ex["request"]["operation"] != "DescribeInstances" {
            continue;
        }
        ex["responses"] = serde_json::json!([{"status": 403,
            "headers": {"content-type": "text/xml;charset=UTF-8"},
            "body": "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>0</RequestID></Response>"}]);
        std::fs::write(&path, serde_json::to_string_pretty(&ex).expect("json")).expect("write");
        broken += 1;
    }
    assert_eq!(broken, 1);

    let run = scan("aws", tmp.path(), &[]);
    assert_eq!(run.code, 3, "incomplete: {}", run.stderr);
    let report = run.report();
    assert_eq!(report["scan"]["complete"], false);
    let fw = framework(report, "cis-eks-1.8");
    assert_eq!(fw["passed"], 0, "{fw:#}");
    assert_eq!(fw["failed"], 0);
    for id in ["2.1.1", "5.3.1", "5.4.1"] {
        let c = control(report, "cis-eks-1.8", id);
        assert_eq!(c["status"], "not_assessed", "{c:#}");
        let reason = c["reason"].as_str().expect("reason");
        assert!(
            reason.starts_with("scan incomplete: ec2/us-east-1 failed")
                && reason.contains("UnauthorizedOperation"),
            "{reason}"
        );
    }
    // Unmapped controls keep their own reason.
    let c = control(report, "cis-eks-1.8", "5.4.4");
    assert!(c["reason"]
        .as_str()
        .is_some_and(|r| r.contains("network policy")));
}

#[test]
fn another_clouds_framework_assesses_nothing_and_keeps_no_finding() {
    let run = scan(
        "aws",
        &scenario("aws", "insecure"),
        &["--framework", "cis-gke-1.9"],
    );
    let report = run.report();
    assert_eq!(framework_ids(report), ["cis-gke-1.9"]);
    assert_eq!(report["findings"], serde_json::json!([]));
    let fw = framework(report, "cis-gke-1.9");
    assert_eq!(fw["passed"], 0);
    assert_eq!(fw["failed"], 0);
}

#[test]
fn rules_command_shows_the_controls_from_the_mappings() {
    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(["rules", "api-endpoint-public", "--format", "json"])
        .output()
        .expect("run cloudscan");
    assert_eq!(output.status.code(), Some(0));
    let rules: Value = serde_json::from_slice(&output.stdout).expect("json");
    let ids: Vec<&str> = rules[0]["compliance"]
        .as_array()
        .expect("compliance")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for id in [
        "CIS EKS 1.8 5.4.1",
        "CIS GKE 1.9 5.6.3",
        "CIS AKS 1.8 5.4.2",
        "4C Cloud: network perimeter",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    assert!(rules[0]["controls"].as_array().is_some_and(|c| c
        .iter()
        .any(|c| c["framework"] == "cis-eks-1.8" && c["control"] == "5.4.2")));

    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(["rules", "node-default-service-account"])
        .output()
        .expect("run cloudscan");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("cis-gke-1.9: 5.2.1"), "{text}");
    assert!(text.contains("4c-cloud: iam-least-privilege"), "{text}");
}
