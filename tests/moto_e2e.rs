//! End to end against a live fake AWS: moto (tests/moto/requirements.txt) seeded with a realistic
//! EKS account by tests/moto/seed_account.py, scanned by the real `cloudscan` binary through the
//! real AWS SDK over HTTP, with a scrubbed environment.
//!
//! moto is required: without it these tests fail and name the install command
//! (`tests/install-deps.sh`). Each test starts its own moto server (the record/replay test stops
//! its server half-way), so the tests can run in parallel threads.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{repo_root, MotoServer, Seeded, MOTO_ACCOUNT};

const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];
const SCAN_TIMEOUT: Duration = Duration::from_secs(300);

/// Exit code for "scan incomplete": moto lacks EKS Pod Identity and access entries.
const EXIT_INCOMPLETE: i32 = 3;

/// The collectors moto 5.2.5 cannot serve (404 routes). Coverage for these must say so; every
/// other service/region must be complete.
const MOTO_GAPS: &[&str] = &["pod-identity", "access-entr", "addon"];

/// Fields that legitimately differ between two runs of the same scan.
const VOLATILE_FIELDS: &[&str] = &["collected_at", "started_at", "finished_at", "duration_ms"];

struct Run {
    code: i32,
    stderr: String,
    report: Value,
}

/// Runs cloudscan with only the given environment (plus PATH and a throw-away HOME).
fn cloudscan(args: &[&str], env: &[(&str, String)], home: &Path) -> (i32, String) {
    support::cloudscan_isolated(args, env, home, SCAN_TIMEOUT)
}

/// The environment of a live scan against `moto`: dummy credentials, moto's endpoint, nothing else.
fn moto_env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("NO_PROXY", "127.0.0.1".to_string()),
    ]
}

fn read_json(path: &Path, what: &str, stderr: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "no {what} at {} ({e}); cloudscan stderr:\n{stderr}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}):\n{text}"))
}

/// `cloudscan aws --region us-east-1 --region us-west-2 --format json --output DIR/report.json …`
fn live_scan(moto: &MotoServer, work: &Path, extra: &[&str]) -> Run {
    let report = work.join("report.json");
    let mut args = vec!["aws"];
    for r in REGIONS {
        args.extend(["--region", r]);
    }
    args.extend(["--format", "json", "--no-progress", "--output"]);
    let report_arg = report.to_str().expect("utf-8 path").to_string();
    args.push(&report_arg);
    args.extend_from_slice(extra);
    let (code, stderr) = cloudscan(&args, &moto_env(moto), work);
    let report = read_json(&report, "report", &stderr);
    Run {
        code,
        stderr,
        report,
    }
}

fn findings(report: &Value) -> &[Value] {
    report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("report has no findings array:\n{report:#}"))
}

/// The last `/` or `:` separated segment of a resource id.
fn short(resource: &str) -> &str {
    resource.rsplit(['/', ':']).next().unwrap_or(resource)
}

type Key = (String, Option<String>, String);

fn key_of(f: &Value, seeded: &Seeded) -> Key {
    let resource = f["resource"].as_str().unwrap_or_default();
    (
        f["rule_id"].as_str().unwrap_or_default().to_string(),
        f["cluster"].as_str().map(str::to_string),
        seeded.name_of(short(resource)).to_string(),
    )
}

fn expected_findings() -> BTreeSet<Key> {
    let path = repo_root().join("tests/moto/expected-findings.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read expected"))
        .expect("expected-findings.json is JSON");
    v["findings"]
        .as_array()
        .expect("expected-findings.json: findings[]")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().expect("rule_id").to_string(),
                f["cluster"].as_str().map(str::to_string),
                f["resource"].as_str().expect("resource").to_string(),
            )
        })
        .collect()
}

fn show(k: &Key) -> String {
    format!("{:<28} {:<16} {}", k.0, k.1.as_deref().unwrap_or("-"), k.2)
}

fn is_moto_gap(c: &Value) -> bool {
    let text = format!(
        "{} {}",
        c["service"].as_str().unwrap_or_default(),
        c["detail"].as_str().unwrap_or_default()
    )
    .to_ascii_lowercase()
    .replace(['_', ' '], "-");
    MOTO_GAPS.iter().any(|g| text.contains(g))
        || text.contains("podidentity")
        || text.contains("accessentr")
}

fn is_hex_fingerprint(s: &str) -> bool {
    s.len() >= 16 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn moto_scan_finds_exactly_the_expected_findings() {
    let moto = MotoServer::start();
    let seeded = moto.seed();
    let work = tempfile::tempdir().expect("tempdir");
    let run = live_scan(&moto, work.path(), &[]);
    let report = &run.report;
    let context = format!("cloudscan stderr:\n{}", run.stderr);

    assert_eq!(
        run.code, EXIT_INCOMPLETE,
        "exit code: moto lacks EKS Pod Identity and access entries, so the scan is incomplete (3); {context}"
    );

    // Report header.
    assert_eq!(report["schema_version"], "cloudscan.report/v2", "{context}");
    let scan = &report["scan"];
    assert_eq!(scan["provider"], "aws");
    assert_eq!(scan["mode"], "live");
    assert_eq!(scan["complete"], false, "scan.complete");
    let scopes: Vec<&str> = scan["scopes"]
        .as_array()
        .expect("scan.scopes[]")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(
        scopes.contains(&MOTO_ACCOUNT) && seeded.account == MOTO_ACCOUNT,
        "account {MOTO_ACCOUNT} not in scan.scopes {scopes:?}"
    );
    assert!(
        scan["caller"]
            .as_str()
            .is_some_and(|c| c.contains(MOTO_ACCOUNT)),
        "scan.caller = {}",
        scan["caller"]
    );
    let mut regions: Vec<&str> = scan["regions"]
        .as_array()
        .expect("scan.regions[]")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    regions.sort_unstable();
    assert_eq!(regions, REGIONS, "scan.regions");

    // Coverage: the moto gaps are reported as such, everything else was read completely.
    let coverage = report["coverage"].as_array().expect("coverage[]");
    for gap in ["pod-identity", "access-entr"] {
        let entries: Vec<&Value> = coverage
            .iter()
            .filter(|c| {
                is_moto_gap(c)
                    && format!("{} {}", c["service"], c["detail"])
                        .to_ascii_lowercase()
                        .replace(['_', ' '], "-")
                        .contains(gap)
            })
            .collect();
        assert!(
            !entries.is_empty(),
            "no coverage entry for {gap} (moto does not implement it):\n{coverage:#?}"
        );
        for c in entries {
            assert!(
                matches!(c["status"].as_str(), Some("unsupported" | "failed")),
                "coverage for {gap} should be unsupported or failed: {c}"
            );
        }
    }
    let unexpected_gaps: Vec<&Value> = coverage
        .iter()
        .filter(|c| c["status"] != "complete" && !is_moto_gap(c))
        .collect();
    assert!(
        unexpected_gaps.is_empty(),
        "services moto does implement were not read completely:\n{unexpected_gaps:#?}\n{context}"
    );

    // Every finding is complete enough to act on.
    for f in findings(report) {
        let id = format!("{} on {}", f["rule_id"], f["resource"]);
        assert!(
            f["evidence"].as_array().is_some_and(|e| !e.is_empty()),
            "{id}: no evidence"
        );
        assert!(
            f["remediation"]
                .as_str()
                .is_some_and(|r| !r.trim().is_empty()),
            "{id}: no remediation"
        );
        assert!(
            f["fingerprint"].as_str().is_some_and(is_hex_fingerprint),
            "{id}: fingerprint {} is not 16+ hex characters",
            f["fingerprint"]
        );
        assert!(
            f["scope"] == MOTO_ACCOUNT,
            "{id}: scope {} is not the moto account",
            f["scope"]
        );
    }

    // The exact set of findings.
    let got: BTreeSet<Key> = findings(report)
        .iter()
        .map(|f| key_of(f, &seeded))
        .collect();
    let want = expected_findings();
    if got != want {
        let missing: Vec<String> = want.difference(&got).map(show).collect();
        let unexpected: Vec<String> = got.difference(&want).map(show).collect();
        panic!(
            "findings differ from tests/moto/expected-findings.json\n\
             (rule, cluster, resource with moto ids mapped to seed names)\n\
             missing ({}):\n  {}\nunexpected ({}):\n  {}\n\nseed:\n{}\n{context}",
            missing.len(),
            missing.join("\n  "),
            unexpected.len(),
            unexpected.join("\n  "),
            seeded.summary,
        );
    }
    // Distinct findings must not collapse into one key (two causes on one resource excepted by
    // the fingerprint): the count matches the set.
    let fingerprints: BTreeSet<&str> = findings(report)
        .iter()
        .filter_map(|f| f["fingerprint"].as_str())
        .collect();
    assert_eq!(
        fingerprints.len(),
        findings(report).len(),
        "duplicate fingerprints"
    );
}

/// Removes the fields named in `VOLATILE_FIELDS`, at any depth.
fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !VOLATILE_FIELDS.contains(&k.as_str()));
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

/// The same value with every array sorted: tells "differs only in order" from "differs".
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(sorted).collect();
            items.sort_by_key(|a| a.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `AKIA`/`ASIA` followed by 16 upper-case letters or digits (an AWS access key id).
fn find_access_key_id(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(19)).find_map(|i| {
        let prefix = &b[i..i + 4];
        let rest = &b[i + 4..i + 20];
        ((prefix == b"AKIA" || prefix == b"ASIA")
            && rest
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .then(|| &text[i..i + 20])
    })
}

/// `word` occurs in `text` with no ASCII letter or digit right before or after it.
fn contains_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + word.len()).copied();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Credential material that must never reach a recording.
fn secrets_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    // The dummy access key and secret are both `testing`.
    if text.contains("testing") {
        found.push("the access key / secret value `testing`".to_string());
    }
    if let Some(k) = find_access_key_id(text) {
        found.push(format!("an access key id `{k}`"));
    }
    if text.contains("Signature=") || lower.contains("x-amz-signature") {
        found.push("a request signature (`Signature=`)".to_string());
    }
    if lower.contains("x-amz-security-token") {
        found.push("`X-Amz-Security-Token`".to_string());
    }
    // `Authorization` as a word (a header name); inside identifiers such as
    // GetAccountAuthorizationDetails or ecr:GetAuthorizationToken it is fine.
    if contains_word(&lower, "authorization") {
        found.push("an `Authorization` header".to_string());
    }
    if text.contains("AWS4-HMAC-SHA256") {
        found.push("a SigV4 credential scope (`AWS4-HMAC-SHA256`)".to_string());
    }
    found
}

fn fingerprints(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn record_then_replay_is_identical() {
    let mut moto = MotoServer::start();
    moto.seed();
    let work = tempfile::tempdir().expect("tempdir");
    let rec = work.path().join("recording");
    let live_inventory = work.path().join("live-inventory.json");
    let live = live_scan(
        &moto,
        work.path(),
        &[
            "--record",
            rec.to_str().expect("utf-8 path"),
            "--save-inventory",
            live_inventory.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(
        live.code, EXIT_INCOMPLETE,
        "live scan exit code; stderr:\n{}",
        live.stderr
    );
    assert!(
        !findings(&live.report).is_empty(),
        "live scan found nothing; stderr:\n{}",
        live.stderr
    );

    // The replay must not need moto, credentials or an endpoint.
    moto.stop();
    let replay_dir = tempfile::tempdir().expect("tempdir");
    let replay_report = replay_dir.path().join("report.json");
    let replay_inventory = replay_dir.path().join("inventory.json");
    let (code, stderr) = cloudscan(
        &[
            "aws",
            "--replay",
            rec.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "--no-progress",
            "--output",
            replay_report.to_str().expect("utf-8 path"),
            "--save-inventory",
            replay_inventory.to_str().expect("utf-8 path"),
        ],
        &[],
        replay_dir.path(),
    );
    let replay = read_json(&replay_report, "replay report", &stderr);
    assert_eq!(
        code, live.code,
        "replay exit code differs from live; stderr:\n{stderr}"
    );
    assert_eq!(replay["scan"]["mode"], "replay");

    let (live_fp, replay_fp) = (fingerprints(&live.report), fingerprints(&replay));
    assert_eq!(
        live_fp,
        replay_fp,
        "finding fingerprints differ between live and replay\nonly live: {:?}\nonly replay: {:?}",
        live_fp.difference(&replay_fp).collect::<Vec<_>>(),
        replay_fp.difference(&live_fp).collect::<Vec<_>>()
    );
    assert_eq!(
        findings(&live.report).len(),
        findings(&replay).len(),
        "finding counts differ"
    );

    let mut a = read_json(&live_inventory, "live inventory", &live.stderr);
    let mut b = read_json(&replay_inventory, "replay inventory", &stderr);
    strip_volatile(&mut a);
    strip_volatile(&mut b);
    if a != b {
        let only_order = sorted(&a) == sorted(&b);
        let dump = |v: &Value, name: &str| {
            let p = work.path().join(name);
            std::fs::write(&p, serde_json::to_string_pretty(v).expect("json")).expect("write");
            p
        };
        let (pa, pb) = (dump(&a, "live.norm.json"), dump(&b, "replay.norm.json"));
        let _ = work.keep();
        panic!(
            "inventories differ between live and replay{} (timestamps removed); compare:\n  diff {} {}",
            if only_order { " ONLY IN ORDER" } else { "" },
            pa.display(),
            pb.display()
        );
    }

    // Nothing credential-like was recorded.
    let files = files_under(&rec);
    assert!(
        !files.is_empty(),
        "the recording {} is empty",
        rec.display()
    );
    let mut leaks = Vec::new();
    for f in &files {
        let text =
            String::from_utf8_lossy(&std::fs::read(f).expect("read recorded file")).into_owned();
        let name = f.strip_prefix(&rec).unwrap_or(f).display().to_string();
        for s in secrets_in(&text).into_iter().chain(secrets_in(&name)) {
            leaks.push(format!("{name}: {s}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "the recording holds credential material:\n  {}",
        leaks.join("\n  ")
    );
}

#[test]
fn secret_scan_catches_what_it_must() {
    // The checks above are only as good as this matcher.
    assert!(find_access_key_id("x AKIAIOSFODNN7EXAMPLE y").is_some());
    assert!(find_access_key_id("ASIAABCDEFGHIJKLMNOP").is_some());
    assert!(find_access_key_id("AKIAshort").is_none());
    assert!(find_access_key_id("AROAABCDEFGHIJKLMNOP").is_none());
    assert!(!secrets_in(r#"{"authorization": "AWS4-HMAC-SHA256 Credential=x"}"#).is_empty());
    assert!(!secrets_in("X-Amz-Security-Token=abc").is_empty());
    assert!(!secrets_in("Credential=testing/20260101").is_empty());
    assert!(secrets_in(r#"{"operation": "GetAccountAuthorizationDetails"}"#).is_empty());
    assert!(secrets_in(r#""Action": ["ecr:GetAuthorizationToken"]"#).is_empty());
    assert!(!secrets_in("Authorization: AWS4").is_empty());
    assert!(!secrets_in(r#"{"headers": {"authorization": "x"}}"#).is_empty());
    assert!(secrets_in("<UserId>REDACTED-ACCESS-KEY-ID</UserId>").is_empty());
    assert_eq!(short("arn:aws:ec2:us-east-1:1:instance/i-1"), "i-1");
    assert_eq!(short("arn:aws:iam::1:root"), "root");
    assert_eq!(
        short("arn:aws:ec2:us-east-1:1:ebs-encryption-by-default"),
        "ebs-encryption-by-default"
    );
}
