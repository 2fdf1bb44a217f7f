//! `--format sarif` and `--format markdown` on the bundled replay scenarios, run with the real
//! binary.
//!
//! Every SARIF log is validated against the official SARIF 2.1.0 JSON schema (the OASIS TC's
//! `sarif-schema-2.1.0.json`), installed by `tests/install-deps.sh` into
//! `target/sarif-schema/` (or named by `CLOUDSCAN_SARIF_SCHEMA`) and checked against its pinned
//! SHA-256. A missing schema is installed by running that script; if it is still missing the
//! tests fail: they never skip.

mod support;

use cloudscan::report::model::{CoverageEntry, FindingStatus, ReportDocument};
use cloudscan::report::{markdown, sarif};
use cloudscan_inventory::CoverageStatus;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use support::{output_with_timeout, repo_root};

/// SHA-256 of the pinned schema file (serde-sarif 0.8.0, src/schema.json); the same pin as in
/// tests/install-deps.sh.
const SCHEMA_SHA256: &str = "af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea";

fn schema_path() -> PathBuf {
    match std::env::var_os("CLOUDSCAN_SARIF_SCHEMA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target/sarif-schema/sarif-schema-2.1.0.json"),
    }
}

/// The compiled validator for the official schema, built once per test binary.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = schema_path();
        if let Err(e) =
            cloudscan_collect::testkit::install_if_missing(&repo_root(), std::slice::from_ref(&path))
        {
            panic!("the SARIF 2.1.0 schema is not installed: {e}");
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "the SARIF 2.1.0 schema is missing at {} ({e}); install it with tests/install-deps.sh",
                path.display()
            )
        });
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            SCHEMA_SHA256,
            "{} is not the pinned SARIF 2.1.0 schema",
            path.display()
        );
        let schema: Value = serde_json::from_slice(&bytes).expect("schema is JSON");
        assert_eq!(
            schema["title"],
            "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
        );
        // Formats are asserted (uri, uri-reference, date-time, ...). The schema's `language`
        // patterns (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, on `run` and `toolComponent`)
        // have a stray `]` that the ECMA-262 check rejects when the schema itself is checked
        // against the draft-07 meta-schema; they are escaped in memory (`\\]`, the same literal
        // `]`), nothing else is changed.
        let mut schema = schema;
        let patched = escape_language_patterns(&mut schema);
        assert_eq!(patched, 2, "the schema's two `language` patterns");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles")
    })
}

/// Replaces the schema's `language` patterns by their escaped form; how many it replaced.
fn escape_language_patterns(v: &mut Value) -> usize {
    const PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::String(s) if s == PATTERN => {
            *s = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$".to_string();
            1
        }
        Value::Array(items) => items.iter_mut().map(escape_language_patterns).sum(),
        Value::Object(map) => map.values_mut().map(escape_language_patterns).sum(),
        _ => 0,
    }
}

/// Schema errors of a SARIF log, one line each (empty: valid).
fn schema_errors(log: &Value) -> Vec<String> {
    validator()
        .iter_errors(log)
        .map(|e| format!("{} (at {})", e, e.instance_path()))
        .collect()
}

fn assert_valid(log: &Value, what: &str) {
    let errors = schema_errors(log);
    assert!(
        errors.is_empty(),
        "{what}: SARIF does not validate against the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

/// Runs the real binary in `dir` (no ambient config, HOME or credentials); exit code and stdout.
fn cloudscan(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir);
    let out = output_with_timeout(&mut cmd, Duration::from_secs(120), "cloudscan");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1 || code == 3,
        "cloudscan {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn scenario(cloud: &str, name: &str) -> String {
    repo_root()
        .join("mocks")
        .join(cloud)
        .join(name)
        .display()
        .to_string()
}

/// `cloudscan CLOUD --replay mocks/CLOUD/NAME --no-progress --format FORMAT EXTRA...`.
fn replay(dir: &Path, cloud: &str, name: &str, format: &str, extra: &[&str]) -> String {
    let path = scenario(cloud, name);
    let mut args = vec![
        cloud,
        "--replay",
        path.as_str(),
        "--no-progress",
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    cloudscan(dir, &args).1
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn severity_level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        "low" | "info" => "note",
        other => panic!("unknown severity {other}"),
    }
}

fn rule_ids() -> Vec<&'static str> {
    cloudscan::rules::registry()
        .iter()
        .map(|r| r.meta().id)
        .collect()
}

/// The structural promises of a log against the JSON report of the same scan.
fn check_log(log: &Value, doc: &ReportDocument) {
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["$schema"], sarif::SARIF_SCHEMA_URI);
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "cloudscan");
    assert_eq!(driver["version"], doc.tool.version);

    // One descriptor per rule id, in catalog order.
    let rules = driver["rules"].as_array().expect("driver.rules");
    let ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, rule_ids());
    for r in rules {
        assert!(r["name"].as_str().is_some_and(|n| !n.contains('-')));
        assert!(r["shortDescription"]["text"].is_string());
        assert!(r["fullDescription"]["text"].is_string());
        assert!(r["help"]["markdown"].is_string() && r["help"]["text"].is_string());
        let score: f64 = r["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("security-severity is numeric");
        assert!((0.0..=10.0).contains(&score));
        assert!(r["defaultConfiguration"]["level"].is_string());
    }

    // One result per finding, plus one per fixed finding.
    let results = run["results"].as_array().expect("results");
    let fixed = doc.diff.as_ref().map(|d| d.fixed.len()).unwrap_or(0);
    assert_eq!(results.len(), doc.findings.len() + fixed);
    let by_fp: BTreeMap<&str, &Value> = results
        .iter()
        .map(|r| {
            let fp = r["partialFingerprints"][sarif::FINGERPRINT_KEY]
                .as_str()
                .expect("every result has the fingerprint");
            (fp, r)
        })
        .collect();
    assert_eq!(by_fp.len(), results.len(), "fingerprints are unique");

    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(
            rules[index]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
        let loc = &r["locations"][0];
        assert_eq!(loc["logicalLocations"][0]["kind"], "resource");
        assert!(loc["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
    for f in &doc.findings {
        let r = by_fp[f.fingerprint.as_str()];
        assert_eq!(r["ruleId"], f.rule_id);
        assert_eq!(
            r["level"],
            severity_level(f.severity.as_str()),
            "{}",
            f.rule_id
        );
        assert_eq!(r["kind"], "fail");
        assert_eq!(r["message"]["text"], f.message);
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            f.resource
        );
        assert_eq!(r["properties"]["severity"], f.severity.as_str());
        assert_eq!(
            r["properties"]["compliance"],
            serde_json::json!(f.compliance)
        );
        assert_eq!(
            r["properties"]["evidence"].as_array().map(Vec::len),
            Some(f.evidence.len())
        );
        match (&f.status, &f.waiver) {
            (FindingStatus::Waived, Some(w)) => {
                let s = &r["suppressions"][0];
                assert_eq!(s["kind"], "external");
                assert_eq!(s["status"], "accepted");
                assert_eq!(s["justification"], w.reason);
                assert_eq!(s["properties"]["owner"], w.owner);
                assert_eq!(s["properties"]["expires"], w.expires);
                assert_eq!(s["properties"]["location"], w.location);
            }
            (FindingStatus::Waived, None) => panic!("waived finding without waiver"),
            (FindingStatus::Open, _) => assert!(r.get("suppressions").is_none()),
        }
        let expected_state = f.change.map(|c| match c {
            cloudscan::report::model::Change::New => "new",
            cloudscan::report::model::Change::Open => "unchanged",
        });
        assert_eq!(r["baselineState"].as_str(), expected_state);
    }
    if let Some(diff) = &doc.diff {
        for g in &diff.fixed {
            let r = by_fp[g.fingerprint.as_str()];
            assert_eq!(r["baselineState"], "absent");
            assert_eq!(r["kind"], "pass");
            assert_eq!(r["level"], "none");
            assert_eq!(r["ruleId"], g.rule_id);
        }
    }

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert!(invocation["startTimeUtc"].is_string() && invocation["endTimeUtc"].is_string());
    let gaps = doc
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .count();
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        gaps
    );
    assert_eq!(run["properties"]["complete"], doc.scan.complete);
}

/// Renders the SARIF of a replay and the JSON report of the same replay, validates and checks.
fn check_scenario(cloud: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = ReportDocument::from_json(&replay(tmp.path(), cloud, "insecure", "json", &[]))
        .expect("json report");
    assert!(
        !doc.findings.is_empty(),
        "{cloud}: the insecure scenario has findings"
    );
    let log = json(&replay(tmp.path(), cloud, "insecure", "sarif", &[]));
    assert_valid(&log, cloud);
    check_log(&log, &doc);
    // The library renders the same log from the document (the CLI adds nothing).
    let again = json(&sarif::render(&doc));
    assert_eq!(again["runs"][0]["results"], log["runs"][0]["results"]);
}

#[test]
fn sarif_aws_insecure_is_valid_and_complete() {
    check_scenario("aws");
}

#[test]
fn sarif_gcp_insecure_is_valid_and_complete() {
    check_scenario("gcp");
}

#[test]
fn sarif_azure_insecure_is_valid_and_complete() {
    check_scenario("azure");
}

/// Two stored scans of the insecure account (the second with waivers: one applying, one expired,
/// one stale), then one of the same account fixed: suppressions, baselineState new/unchanged/
/// absent and the configuration notifications all validate. The stored scans render again as
/// markdown with the changes and waivers.
#[test]
fn sarif_and_markdown_with_history_and_waivers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let db = dir.join("history.db").display().to_string();

    let first =
        ReportDocument::from_json(&replay(dir, "aws", "insecure", "json", &["--store", &db]))
            .expect("first scan");
    assert!(first.findings.len() >= 3, "need three findings to waive");
    let waived = &first.findings[0];
    let expired = &first.findings[1];
    // Not in the working directory: `./cloudscan.toml` would apply to every later scan too.
    std::fs::create_dir(dir.join("conf")).expect("mkdir conf");
    let config = dir.join("conf").join("cloudscan.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[waiver]]
rule = "{}"
resource = "{}"
reason = "accepted for the test | with `markup` <b>and</b> a pipe"
owner = "platform-team@example.com"
expires = 2099-12-31

[[waiver]]
rule = "{}"
resource = "{}"
reason = "this one has expired"
owner = "someone@example.com"
expires = 2020-01-01

[[waiver]]
rule = "{}"
resource = "arn:aws:eks:*:000000000000:cluster/nothing-matches-*"
reason = "stale"
owner = "nobody@example.com"
expires = 2099-12-31
"#,
            waived.rule_id, waived.resource, expired.rule_id, expired.resource, waived.rule_id
        ),
    )
    .expect("write cloudscan.toml");
    let config = config.display().to_string();

    // Second scan, with waivers: SARIF straight from the scan, JSON of the stored scan.
    let second_log = json(&replay(
        dir,
        "aws",
        "insecure",
        "sarif",
        // Expiry 2099: beyond the one-year guard, accepted on purpose here.
        &["--store", &db, "--config", &config, "--allow-broad-waivers"],
    ));
    let second = ReportDocument::from_json(
        &cloudscan(dir, &["report", "--store", &db, "--format", "json"]).1,
    )
    .expect("second scan, stored");
    assert!(second.diff.is_some());
    assert!(second.findings.iter().all(|f| f.change.is_some()));
    assert_eq!(second.summary.waived, 1);
    assert_eq!(second.waivers.expired.len(), 1);
    assert_eq!(second.waivers.stale.len(), 1);
    assert_valid(&second_log, "second scan (waivers, history)");
    check_log(&second_log, &second);
    let results = second_log["runs"][0]["results"]
        .as_array()
        .expect("results");
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["partialFingerprints"][sarif::FINGERPRINT_KEY],
        waived.fingerprint
    );
    assert!(results.iter().all(|r| r["baselineState"] == "unchanged"));
    let config_notes = second_log["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
        .as_array()
        .expect("waiver notes");
    assert_eq!(config_notes.len(), 2);

    // Third scan: the same account, fixed. Every earlier finding is an absent result.
    let third_log = json(&replay(dir, "aws", "hardened", "sarif", &["--store", &db]));
    let third = ReportDocument::from_json(
        &cloudscan(dir, &["report", "--store", &db, "--format", "json"]).1,
    )
    .expect("third scan, stored");
    let fixed = third.diff.as_ref().map(|d| d.fixed.len()).unwrap_or(0);
    assert_eq!(fixed, second.findings.len(), "every finding is fixed");
    assert_valid(&third_log, "third scan (fixed findings)");
    check_log(&third_log, &third);
    let absent = third_log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["baselineState"] == "absent")
        .count();
    assert_eq!(absent, fixed);

    // A fourth scan of the insecure account: everything is new again.
    let fourth_log = json(&replay(dir, "aws", "insecure", "sarif", &["--store", &db]));
    assert_valid(&fourth_log, "fourth scan (new findings)");
    let fourth_results = fourth_log["runs"][0]["results"]
        .as_array()
        .expect("results");
    assert!(!fourth_results.is_empty());
    assert!(fourth_results.iter().all(|r| r["baselineState"] == "new"));

    // The stored scans render as SARIF and markdown again.
    let second_id = second.scan.id.expect("stored id").to_string();
    let again = json(
        &cloudscan(
            dir,
            &[
                "report", "--store", &db, "--scan", &second_id, "--format", "sarif",
            ],
        )
        .1,
    );
    assert_valid(&again, "stored scan rendered again");
    let md = cloudscan(
        dir,
        &[
            "report", "--store", &db, "--scan", &second_id, "--format", "markdown",
        ],
    )
    .1;
    assert!(md.contains("## Since the previous scan"), "{md}");
    assert!(md.contains("## Waived findings (1)"), "{md}");
    assert!(md.contains("## Waiver notes"), "{md}");
    assert!(
        md.contains("**Expired**") && md.contains("**Stale**"),
        "{md}"
    );
    // The waiver reason is cloud-side text as far as the report knows: escaped.
    assert!(
        md.contains("accepted for the test \\| with \\`markup\\` &lt;b&gt;and&lt;/b&gt; a pipe"),
        "{md}"
    );
    assert!(md.contains("| Waived | 1 |"), "{md}");
    let third_id = third.scan.id.expect("stored id").to_string();
    let md = cloudscan(
        dir,
        &[
            "report", "--store", &db, "--scan", &third_id, "--format", "markdown",
        ],
    )
    .1;
    assert!(md.contains("### Fixed"), "{md}");
    assert!(
        md.contains(&format!("| Fixed since the previous scan | {fixed} |")),
        "{md}"
    );
    assert!(md.contains("No open findings."), "{md}");
}

/// The validator is real: logs broken in ways the schema forbids fail it.
#[test]
fn broken_sarif_fails_validation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = json(&replay(tmp.path(), "aws", "insecure", "sarif", &[]));
    assert_valid(&log, "baseline");

    let mut bad_level = log.clone();
    bad_level["runs"][0]["results"][0]["level"] = Value::from("severe");
    let errors = schema_errors(&bad_level);
    assert!(
        errors.iter().any(|e| e.contains("/runs/0/results/0/level")),
        "level `severe` must fail: {errors:?}"
    );

    let mut no_version = log.clone();
    if let Some(obj) = no_version.as_object_mut() {
        obj.remove("version");
    }
    assert!(
        !schema_errors(&no_version).is_empty(),
        "a log needs `version`"
    );

    let mut bad_suppression = log.clone();
    bad_suppression["runs"][0]["results"][0]["suppressions"] =
        serde_json::json!([{ "kind": "waived", "status": "maybe" }]);
    assert!(!schema_errors(&bad_suppression).is_empty());

    let mut bad_uri = log.clone();
    bad_uri["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = Value::from("not a uri");
    assert!(
        !schema_errors(&bad_uri).is_empty(),
        "formats are checked (helpUri is a uri)"
    );

    let mut extra = log;
    extra["runs"][0]["results"][0]["severity"] = Value::from("high");
    assert!(
        !schema_errors(&extra).is_empty(),
        "unknown result properties are rejected"
    );
}

/// A document from a real scan, made hostile and incomplete: the SARIF still validates and keeps
/// the strings as data; the markdown escapes them and shows the gaps.
#[test]
fn hostile_strings_and_incomplete_scans() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut doc = ReportDocument::from_json(&replay(tmp.path(), "gcp", "insecure", "json", &[]))
        .expect("json report");
    let hostile = "evil | cell\n\n# heading `code` <script>alert(1)</script> [x](javascript:y) \"q\" \\ \u{7}";
    doc.findings[0].message = hostile.to_string();
    doc.findings[0].resource = format!("projects/p/{hostile}");
    doc.findings[0].cluster = Some("c|d".to_string());
    doc.scan.complete = false;
    doc.coverage.push(CoverageEntry {
        scope: "p".into(),
        service: "container".into(),
        region: "europe-west1".into(),
        status: CoverageStatus::Failed,
        detail: Some("403 <denied> | \"quota\"".into()),
    });
    doc.coverage.push(CoverageEntry {
        scope: "p".into(),
        service: "iam".into(),
        region: "global".into(),
        status: CoverageStatus::Partial,
        detail: None,
    });
    doc.summary.coverage_incomplete += 2;

    let log = json(&sarif::render(&doc));
    assert_valid(&log, "hostile, incomplete");
    check_log(&log, &doc);
    let run = &log["runs"][0];
    let fp = &doc.findings[0].fingerprint;
    let r = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["partialFingerprints"][sarif::FINGERPRINT_KEY] == fp.as_str())
        .expect("the hostile finding");
    assert_eq!(r["message"]["text"], hostile, "strings are data, unchanged");
    let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("uri");
    assert!(uri.ends_with("/c%7Cd"), "{uri}");
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("coverage notifications");
    let levels: BTreeSet<&str> = notes.iter().filter_map(|n| n["level"].as_str()).collect();
    assert_eq!(levels, BTreeSet::from(["error", "warning"]));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["properties"]["complete"], false);

    let md = markdown::render(&doc);
    assert!(md.contains("**⚠️ INCOMPLETE SCAN**"), "{md}");
    assert!(md.contains("## Coverage gaps"), "{md}");
    assert!(md.contains("403 &lt;denied&gt; \\| \"quota\""), "{md}");
    // The resource line shows the id literally in a code span (no markup there); everywhere
    // else the hostile text is escaped.
    let resource_line = md
        .lines()
        .find(|l| l.starts_with("- Resource: ``projects/p/evil"))
        .expect("the hostile resource in a code span");
    assert!(resource_line.ends_with("\"q\" \\  ``"), "{resource_line}");
    let outside: Vec<&str> = md
        .lines()
        // `<summary>` lines are raw HTML: no Markdown there, and `<` is escaped.
        .filter(|l| !l.starts_with("- Resource: ") && !l.starts_with("<details><summary>"))
        .collect();
    let outside = outside.join("\n");
    assert!(!outside.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:y) &quot;q&quot;"));
    assert!(!outside.contains("[x](javascript"), "{md}");
    assert!(outside.contains("\\[x\\](javascript:y)"), "{md}");
    assert!(!md.contains("\n# heading"), "{md}");
    assert!(!md.contains('\u{7}'));
    // Every table row keeps its column count: no unescaped `|` from the hostile text.
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let header_cells = cells(line);
        assert!(header_cells >= 2, "{line}");
    }
    let findings_row = md
        .lines()
        .find(|l| l.starts_with('|') && l.contains("evil \\| cell"))
        .expect("the hostile finding's row");
    assert_eq!(cells(findings_row), 4, "{findings_row}");
    assert!(findings_row.contains("evil \\| cell<br><br>\\# heading \\`code\\` &lt;script&gt;"));
}

/// The number of cells of a GFM table row (unescaped `|` separators).
fn cells(line: &str) -> usize {
    let mut count: usize = 0;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '|' => count += 1,
            _ => {}
        }
    }
    count.saturating_sub(1)
}

/// The markdown of the insecure scenarios: counts, sections, one details block per open finding.
#[test]
fn markdown_sections_and_counts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for cloud in ["aws", "gcp", "azure"] {
        let doc = ReportDocument::from_json(&replay(tmp.path(), cloud, "insecure", "json", &[]))
            .expect("json report");
        let md = replay(tmp.path(), cloud, "insecure", "markdown", &[]);
        assert!(
            md.starts_with(&format!("# cloudscan report: {cloud} ")),
            "{md}"
        );
        let s = &doc.summary;
        for (label, n) in [
            ("🔴 Critical", s.critical),
            ("🟠 High", s.high),
            ("🟡 Medium", s.medium),
            ("🔵 Low", s.low),
            ("⚪ Info", s.info),
        ] {
            assert!(
                md.contains(&format!("| {label} | {n} |")),
                "{cloud} {label}: {md}"
            );
        }
        let open = s.findings - s.waived;
        assert!(md.contains(&format!("| **Open** | **{open}** |")), "{md}");
        assert!(
            md.contains("## Summary") && md.contains("## Findings"),
            "{md}"
        );
        assert!(md.contains("## Coverage gaps"), "{md}");
        assert_eq!(md.matches("<details>").count(), open, "{cloud}");
        assert_eq!(md.matches("</details>").count(), open, "{cloud}");
        for severity in ["critical", "high", "medium", "low", "info"] {
            let n = doc
                .open()
                .filter(|f| f.severity.as_str() == severity)
                .count();
            let mut heading = severity.to_string();
            heading[..1].make_ascii_uppercase();
            assert_eq!(
                md.contains(&format!("### {heading} ({n})")),
                n > 0,
                "{cloud} {severity}"
            );
        }
        for f in doc.open() {
            assert!(
                md.contains(&format!("`{}`", f.fingerprint)),
                "{}",
                f.fingerprint
            );
        }
        if !doc.frameworks.is_empty() {
            assert!(md.contains("## Framework controls"), "{md}");
            assert!(md.contains("❌ failed"), "{md}");
        }
        assert_eq!(md.contains("INCOMPLETE"), !doc.scan.complete);
    }
}

/// The GCP organization recording with `compute disks.aggregatedList` denied in every project:
/// three scopes with the same gap (each naming its own project), beside the organization's own
/// distinct gap (a folder whose `folders.list` is denied).
fn organization_with_a_shared_gap(dir: &Path) -> String {
    let copy = dir.join("organization");
    cloudscan_collect::testkit::copy_dir(&repo_root().join("mocks/gcp/organization"), &copy)
        .expect("copy the recording");
    let mut broken = 0;
    for file in cloudscan_collect::testkit::exchange_files(&copy) {
        let mut exchange = json(&std::fs::read_to_string(&file).expect("exchange"));
        if exchange["request"]["operation"] != "disks.aggregatedList" {
            continue;
        }
        let path = exchange["request"]["path"]
            .as_str()
            .unwrap_or("")
            .to_string();
        exchange["responses"] = serde_json::json!([{
            "status": 403,
            "headers": {"content-type": "application/json; charset=UTF-8"},
            "json": {"error": {"code": 403, "status": "PERMISSION_DENIED",
                "message": format!("Required 'compute.disks.list' permission for '{path}'")}}
        }]);
        std::fs::write(&file, exchange.to_string()).expect("write exchange");
        broken += 1;
    }
    assert_eq!(broken, 3, "one disks listing per project");
    copy.display().to_string()
}

#[test]
fn a_gap_every_project_shares_is_one_markdown_row_and_stays_per_scope_in_json_and_sarif() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recording = organization_with_a_shared_gap(tmp.path());
    let run = |format: &str| {
        let (code, out) = cloudscan(
            tmp.path(),
            &[
                "gcp",
                "--replay",
                &recording,
                "--no-progress",
                "--format",
                format,
            ],
        );
        assert_eq!(code, 3, "the scan is incomplete");
        out
    };
    const PROJECTS: [&str; 3] = ["acme-prod", "acme-sandbox", "acme-shared"];

    // Markdown: one row for the three projects, the folder's own gap a row of its own.
    let md = run("markdown");
    let gaps = md
        .split("## Coverage gaps")
        .nth(1)
        .expect("coverage gaps section");
    let rows: Vec<&str> = gaps
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---") && !l.starts_with("| scope"))
        .collect();
    assert_eq!(rows.len(), 2, "{gaps}");
    assert!(
        rows.contains(
            &"| 3 scopes: acme-prod, acme-sandbox, acme-shared | compute | global | failed | \
              compute disks.aggregatedList: access denied (HTTP 403 PERMISSION\\_DENIED): needs \
              compute.disks.list |"
        ),
        "{gaps}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("| folders/410000000002 | cloudresourcemanager/tree |")),
        "{gaps}"
    );

    // The table: one line for the three projects.
    let table = run("table");
    let coverage = table.split("COVERAGE").nth(1).expect("coverage table");
    assert_eq!(
        coverage
            .matches("in 3 scopes: acme-prod, acme-sandbox,")
            .count(),
        1,
        "{coverage}"
    );
    assert!(
        !coverage.contains("projects/acme-prod/aggregated"),
        "{coverage}"
    );

    // JSON keeps every scope's entry, with its own detail.
    let doc = json(&run("json"));
    let compute: Vec<&Value> = doc["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .filter(|c| c["service"] == "compute")
        .collect();
    let scopes: BTreeSet<&str> = compute.iter().filter_map(|c| c["scope"].as_str()).collect();
    assert_eq!(scopes, BTreeSet::from(PROJECTS));
    for c in &compute {
        let scope = c["scope"].as_str().unwrap_or_default();
        assert!(
            c["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("projects/{scope}/aggregated"))),
            "{c}"
        );
    }

    // SARIF: valid, one notification per scope's gap.
    let log = json(&run("sarif"));
    assert_valid(&log, "organization with a shared gap");
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"].to_string();
    for project in PROJECTS {
        assert!(
            notes.contains(&format!("projects/{project}/aggregated")),
            "{project}: {notes}"
        );
    }
}
