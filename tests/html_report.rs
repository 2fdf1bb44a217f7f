//! The HTML report (`--format html`) opened in Debian's headless Chromium through playwright-core
//! (tests/html/check-report.mjs): real reports from the AWS, GCP and Azure replay scenarios
//! (the AWS one stored three times so it has a trend), a generated 50,000-finding report, and a
//! report whose cloud-controlled strings try to inject markup.
//!
//! Every page must load with no console error, no page error, no dialog and no request other
//! than `file:`/`data:` (the report is self-contained), and must show the counts of the document
//! it embeds. Chromium and playwright-core are hard requirements: when they are missing the test
//! runs `tests/install-deps.sh` once, and fails if they are still missing.

mod support;

use cloudscan::finding::Severity;
use cloudscan::report::model::{Change, FindingStatus, ReportDocument};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::{output_with_timeout, repo_root};

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
const HOSTILE: &str = "</script><img src=x onerror=alert(1)>";

fn html_dir() -> PathBuf {
    repo_root().join("tests/html")
}

/// Installs Chromium and playwright-core (tests/install-deps.sh) when either is missing.
fn ensure_browser() {
    let playwright = html_dir().join("node_modules/playwright-core/package.json");
    if let Err(e) = cloudscan_collect::testkit::install_if_missing(
        &repo_root(),
        &[PathBuf::from(CHROMIUM), playwright.clone()],
    ) {
        eprintln!("{e}");
    }
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: the HTML report test needs Debian's chromium package \
         (`tests/install-deps.sh` installs it with apt-get)"
    );
    assert!(
        playwright.is_file(),
        "{} is missing: run `npm ci` in tests/html (or `tests/install-deps.sh`)",
        playwright.display()
    );
}

/// Runs cloudscan with an empty environment: no ambient credentials, profiles or endpoints.
fn cloudscan(args: &[&str], home: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"));
    let out = output_with_timeout(&mut cmd, Duration::from_secs(120), "cloudscan");
    // Exit code 1 only means findings at or above --fail-on; 2 is a tool error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "cloudscan {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn replay(cloud: &str, scenario: &str, format: &str, out: &Path, extra: &[&str]) {
    let dir = repo_root().join("mocks").join(cloud).join(scenario);
    let home = out.parent().expect("output in a directory");
    let mut args = vec![
        cloud,
        "--replay",
        dir.to_str().expect("utf-8 path"),
        "--no-progress",
        "--format",
        format,
        "-o",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    cloudscan(&args, home);
}

/// The report document embedded in a rendered page.
fn embedded_doc(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).expect("report-data element") + open.len();
    let len = html[start..].find("</script>").expect("end of report-data");
    serde_json::from_str(&html[start..start + len]).expect("embedded report is JSON")
}

/// Opens `report` in headless Chromium; the check script's result. Fails on console or page
/// errors, dialogs, and any request that is not file: or data:.
fn check(report: &Path, screenshot: &Path, extra: &[&str]) -> Value {
    ensure_browser();
    // One browser at a time: the machine is small and the timings should mean something.
    static ONE_BROWSER: Mutex<()> = Mutex::new(());
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new("node");
    cmd.current_dir(html_dir())
        .arg("check-report.mjs")
        .arg(report)
        .arg(screenshot)
        .args(extra);
    let out = output_with_timeout(&mut cmd, BROWSER_TIMEOUT, "tests/html/check-report.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "check-report.mjs printed no result ({e}, {}):\n{stdout}\n{stderr}",
            out.status
        )
    });
    assert!(
        result["fatal"].is_null(),
        "the browser check failed: {}\n{stderr}",
        result["fatal"]
    );
    for key in ["consoleErrors", "pageErrors", "dialogs", "networkRequests"] {
        assert_eq!(
            result[key].as_array().map(Vec::len),
            Some(0),
            "{key} in {}: {}",
            report.display(),
            result[key]
        );
    }
    assert!(
        result["pageError"].is_null(),
        "the page reported: {}",
        result["pageError"]
    );
    assert_eq!(result["images"], 0, "no <img> may appear on the page");
    assert!(screenshot.is_file(), "no screenshot written");
    result
}

/// The page shows what the document says; returns how many numbers were compared.
fn assert_shows(result: &Value, doc: &Value) -> usize {
    let mut checked = 0;
    let summary = &doc["summary"];
    for key in [
        "critical", "high", "medium", "low", "info", "waived", "new", "fixed",
    ] {
        assert_eq!(
            result["counts"][key], summary[key],
            "count-{key} on the page vs summary.{key}"
        );
        checked += 1;
    }
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(result["findingsTotal"], findings.len(), "findings-total");
    assert_eq!(result["findingsAll"], findings.len(), "findings-all");
    assert_eq!(
        result["rowsShown"],
        findings.len().min(100),
        "one page of rows"
    );
    checked += 3;
    let critical = findings
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert_eq!(
        result["afterFilter"]["findingsTotal"], critical,
        "findings-total after filtering severity=critical"
    );
    assert_eq!(result["afterFilter"]["rowsShown"], critical.min(100));
    checked += 2;
    let coverage = doc["coverage"].as_array().expect("coverage");
    let incomplete = coverage
        .iter()
        .filter(|c| c["status"] != "complete")
        .count();
    assert_eq!(result["coverageIncompleteRows"], incomplete);
    let complete = doc["scan"]["complete"].as_bool().expect("scan.complete");
    assert_eq!(result["complete"], complete && incomplete == 0, "banner");
    if !complete || incomplete > 0 {
        assert_eq!(result["incompleteCount"], incomplete, "INCOMPLETE banner");
        assert!(result["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("INCOMPLETE")));
        checked += 1;
    }
    let trend = doc["trend"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(result["trendPoints"], trend);
    assert_eq!(result["trendSvg"], trend >= 2, "trend chart from 2 points");
    let frameworks = doc["frameworks"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(result["frameworks"], frameworks);
    checked += 5;
    checked
}

/// Keeps the screenshot of a report in the repository when CLOUDSCAN_UPDATE_SCREENSHOT is set.
fn maybe_keep_screenshot(shot: &Path, name: &str) {
    if std::env::var_os("CLOUDSCAN_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(shot, html_dir().join(name)).expect("copy the screenshot");
    }
}

#[test]
fn aws_insecure_stored_three_times_has_a_trend() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("h.db");
    let db = db.to_str().expect("utf-8 path");
    for run in 1..=2 {
        let out = tmp.path().join(format!("run{run}.json"));
        replay("aws", "insecure", "json", &out, &["--store", db]);
    }
    let report = tmp.path().join("report.html");
    replay("aws", "insecure", "html", &report, &["--store", db]);
    let html = std::fs::read_to_string(&report).expect("html report written");
    let doc = embedded_doc(&html);
    assert_eq!(
        doc["trend"].as_array().map(Vec::len),
        Some(3),
        "3 stored scans"
    );

    // A stored scan renders again to the same document.
    let again = tmp.path().join("again.html");
    cloudscan(
        &[
            "report",
            "--store",
            db,
            "--format",
            "html",
            "-o",
            again.to_str().expect("utf-8 path"),
        ],
        tmp.path(),
    );
    let again_doc = embedded_doc(&std::fs::read_to_string(&again).expect("report --scan html"));
    assert_eq!(again_doc["summary"], doc["summary"]);
    assert_eq!(again_doc["findings"], doc["findings"]);

    let shot = tmp.path().join("aws.png");
    let result = check(
        &report,
        &shot,
        &["--filter-severity=critical", "--expand-first"],
    );
    let checked = assert_shows(&result, &doc);
    // The row shows the short name the report computed (report::resource::short), the full
    // ARN in its title.
    let full = result["firstRowResourceTitle"]
        .as_str()
        .expect("a finding row with a resource");
    assert!(full.starts_with("arn:"), "{full}");
    assert_eq!(
        result["firstRowResource"].as_str(),
        Some(cloudscan::report::resource::short(full)),
        "{result}"
    );
    assert_ne!(result["firstRowResource"].as_str(), Some(full));
    assert!(result["firstDetailText"]
        .as_str()
        .is_some_and(|t| t.contains("Fingerprint")));
    // Per-rule fields are embedded once and put back by the page: the expanded critical finding
    // shows its rule's remediation.
    let remediation = doc["_rules"]["identity-admin-access"]["remediation"]
        .as_str()
        .expect("remediation embedded once per rule");
    assert!(
        result["firstDetailText"]
            .as_str()
            .is_some_and(|t| t.contains(remediation)),
        "{}",
        result["firstDetailText"]
    );
    println!(
        "aws insecure (3 stored scans): {checked} numbers checked, ready in {} ms ({} ms in page), {} bytes",
        result["loadToReadyMs"],
        result["inPageReadyMs"],
        html.len()
    );
    maybe_keep_screenshot(&shot, "report-screenshot.png");
}

#[test]
fn gcp_and_azure_insecure() {
    for cloud in ["gcp", "azure"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let report = tmp.path().join("report.html");
        replay(cloud, "insecure", "html", &report, &[]);
        let html = std::fs::read_to_string(&report).expect("html report written");
        let doc = embedded_doc(&html);
        assert!(!doc["findings"].as_array().expect("findings").is_empty());
        let shot = tmp.path().join("shot.png");
        let result = check(&report, &shot, &["--filter-severity=critical"]);
        let checked = assert_shows(&result, &doc);
        println!(
            "{cloud} insecure: {checked} numbers checked, ready in {} ms, {} bytes",
            result["loadToReadyMs"],
            html.len()
        );
    }
}

/// A real AWS document (one replay scan), parsed.
fn aws_doc(tmp: &Path) -> ReportDocument {
    let out = tmp.join("aws.json");
    replay("aws", "insecure", "json", &out, &[]);
    ReportDocument::from_json(&std::fs::read_to_string(&out).expect("json report")).expect("report")
}

#[test]
fn fifty_thousand_findings_stay_usable() {
    const N: usize = 50_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = aws_doc(tmp.path());
    let template = base.findings.first().expect("a finding").clone();
    let clusters: Vec<String> = base.scan.clusters.iter().map(|c| c.id.clone()).collect();
    let severities = Severity::ALL;
    // Build through JSON, as a stored document would arrive.
    let mut value = serde_json::to_value(&base).expect("doc to JSON");
    let findings: Vec<Value> = (0..N)
        .map(|i| {
            let mut f = template.clone();
            f.severity = severities[i % severities.len()];
            f.fingerprint = format!("{:016x}", 0x5eed_0000_0000u64 + i as u64);
            f.resource = format!("{}-{i}", template.resource);
            f.message = format!("{} (copy {i})", template.message);
            if !clusters.is_empty() {
                f.cluster = Some(clusters[i % clusters.len()].clone());
            }
            f.change = Some(if i % 7 == 0 {
                Change::New
            } else {
                Change::Open
            });
            if i % 10 == 9 {
                f.status = FindingStatus::Waived;
                f.waiver = Some(cloudscan::report::model::WaiverRef {
                    rule: f.rule_id.clone(),
                    resource: f.resource.clone(),
                    reason: "accepted risk in the load test".to_string(),
                    owner: "platform-team".to_string(),
                    expires: "2099-12-31".to_string(),
                    location: "cloudscan.toml:1".to_string(),
                });
            }
            serde_json::to_value(f).expect("finding to JSON")
        })
        .collect();
    value["findings"] = Value::Array(findings);
    let mut doc = ReportDocument::from_json(&value.to_string()).expect("50k document parses");
    doc.recount();
    assert_eq!(doc.summary.findings, N);

    let started = Instant::now();
    let html = cloudscan::report::html::render(&doc);
    let render_ms = started.elapsed().as_millis();
    let report = tmp.path().join("50k.html");
    std::fs::write(&report, &html).expect("write 50k report");
    let embedded = embedded_doc(&html);

    let shot = tmp.path().join("50k.png");
    let result = check(
        &report,
        &shot,
        &["--filter-severity=critical", "--viewport-only"],
    );
    let checked = assert_shows(&result, &embedded);
    let ready_ms = result["loadToReadyMs"].as_u64().expect("loadToReadyMs");
    println!(
        "50k findings: {checked} numbers checked; HTML {} bytes ({:.1} MiB), rendered in {render_ms} ms; \
         load-to-ready {ready_ms} ms ({} ms in page script); severity filter {} ms",
        html.len(),
        html.len() as f64 / (1024.0 * 1024.0),
        result["inPageReadyMs"],
        result["filterMs"]
    );
    // A sanity bound, not a performance assertion.
    assert!(
        ready_ms < 60_000,
        "50k report took {ready_ms} ms to be ready"
    );
}

#[test]
fn cloud_controlled_strings_are_inert() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut doc = aws_doc(tmp.path());
    let first = doc.findings.first_mut().expect("a finding");
    first.message = format!("{HOSTILE} in the message");
    first.resource = format!("arn:aws:iam::123456789012:role/<b onmouseover=alert(2)>{HOSTILE}");
    if let Some(e) = first.evidence.first_mut() {
        e.value = Value::String(HOSTILE.to_string());
    }
    if let Some(c) = doc.scan.clusters.first_mut() {
        c.name = format!("{HOSTILE}cluster");
    }
    let html = cloudscan::report::html::render(&doc);
    assert!(
        !html.contains("<img"),
        "markup from the data reached the page"
    );
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "only the page's own two script elements close"
    );
    assert_eq!(
        embedded_doc(&html)["findings"][0]["message"],
        doc.findings[0].message
    );

    let report = tmp.path().join("hostile.html");
    std::fs::write(&report, &html).expect("write report");
    let shot = tmp.path().join("hostile.png");
    let result = check(&report, &shot, &["--search=onerror", "--expand-first"]);
    assert_eq!(result["afterSearch"]["findingsTotal"], 1, "search finds it");
    let detail = result["firstDetailText"].as_str().expect("detail text");
    assert!(
        detail.contains(HOSTILE),
        "the message is shown as text: {detail}"
    );
    assert_eq!(result["imagesAfterExpand"], 0);
}

/// Standard base64 with padding, written independently of the report's own encoder.
fn base64_reference(bytes: &[u8]) -> String {
    let table: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['+', '/'])
        .collect();
    let mut bits = String::new();
    for b in bytes {
        bits.push_str(&format!("{b:08b}"));
    }
    while !bits.len().is_multiple_of(6) {
        bits.push('0');
    }
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|c| {
            let n = usize::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 2).unwrap_or(0);
            table[n]
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// The text between `<tag...>` and `</tag>` of every element `tag`, with its opening tag.
fn elements<'a>(html: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let Some(end_of_open) = after.find('>') else {
            break;
        };
        let body = &after[end_of_open + 1..];
        let Some(end) = body.find(&close) else {
            break;
        };
        out.push((&after[..=end_of_open], &body[..end]));
        rest = &body[end + close.len()..];
    }
    out
}

#[test]
fn the_csp_allows_exactly_the_inline_script_by_its_hash() {
    use sha2::{Digest, Sha256};
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().join("aws.html");
    replay("aws", "insecure", "html", &report, &[]);
    let html = std::fs::read_to_string(&report).expect("html report");
    let marker = "http-equiv=\"Content-Security-Policy\" content=\"";
    let csp_start = html.find(marker).expect("a CSP meta element") + marker.len();
    let csp = &html[csp_start..csp_start + html[csp_start..].find('"').expect("end of CSP")];
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for wanted in [
        "default-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(directives.contains(&wanted), "{wanted} missing: {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");

    // Exactly one script runs: the page's own; the other script element is a JSON data block.
    let scripts = elements(&html, "script");
    assert_eq!(
        scripts.len(),
        2,
        "{:?}",
        scripts.iter().map(|s| s.0).collect::<Vec<_>>()
    );
    let executable: Vec<&(&str, &str)> = scripts
        .iter()
        .filter(|(open, _)| !open.contains("type=\"application/json\""))
        .collect();
    assert_eq!(executable.len(), 1);
    let (open, code) = executable[0];
    assert_eq!(*open, "<script>", "no src, no other attributes");
    let script_hash = format!(
        "'sha256-{}'",
        base64_reference(&Sha256::digest(code.as_bytes()))
    );
    assert!(
        directives.contains(&format!("script-src {script_hash}").as_str()),
        "script-src does not allow the page's script ({script_hash}): {csp}"
    );
    let styles = elements(&html, "style");
    assert_eq!(styles.len(), 1);
    let style_hash = format!(
        "'sha256-{}'",
        base64_reference(&Sha256::digest(styles[0].1.as_bytes()))
    );
    assert!(
        directives.contains(&format!("style-src {style_hash}").as_str()),
        "{csp}"
    );
    // No inline event handlers or javascript: URLs in the markup either (they would need
    // 'unsafe-inline' or 'unsafe-hashes').
    let markup = html.replace(code, "");
    assert!(!markup.contains("javascript:"));
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onchange=",
        " oninput=",
    ] {
        assert!(!markup.contains(handler), "{handler}");
    }
    // And the browser agrees: the page renders with the policy in force and no CSP violation
    // (a violation is a console error, which `check` refuses).
    let shot = tmp.path().join("csp.png");
    check(&report, &shot, &[]);
}
