//! Hostile input end to end: the `cloudscan` binary against edited copies of the bundled
//! scenarios and against local servers that misbehave. Every case must end with exit 2 (the tool
//! could not run) or 3 (the scan is incomplete, the coverage names the failed call): never a
//! panic (101) and never a hang (each run has a deadline).

mod support;

use cloudscan_collect::testkit;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{output_with_timeout, repo_root};

const DEADLINE: Duration = Duration::from_secs(120);

/// A private copy of a bundled scenario.
fn scenario(cloud: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    testkit::copy_dir(
        &repo_root().join("mocks").join(cloud).join(name),
        dir.path(),
    )
    .expect("copy");
    dir
}

/// Applies `edit` to every exchange whose operation is `operation`; returns how many it changed.
fn edit(dir: &Path, operation: &str, mut edit: impl FnMut(&mut Value)) -> usize {
    let mut n = 0;
    for file in testkit::exchange_files(dir) {
        let mut exchange: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        if exchange["request"]["operation"] == operation {
            edit(&mut exchange);
            std::fs::write(&file, exchange.to_string()).expect("write");
            n += 1;
        }
    }
    n
}

fn cloudscan(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.args(args).arg("--no-progress");
    for var in [
        "CLOUDSCAN_GCP_BASE_URL",
        "CLOUDSCAN_GCP_CONTAINER_URL",
        "CLOUDSCAN_GCP_CRM_URL",
        "CLOUDSCAN_GCP_IAM_URL",
        "CLOUDSCAN_GCP_COMPUTE_URL",
        "CLOUDSCAN_AZURE_ARM_URL",
        "AZURE_AUTHORITY_HOST",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "CLOUDSCAN_STORE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    output_with_timeout(&mut cmd, DEADLINE, &format!("cloudscan {}", args.join(" ")))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The coverage rows of a JSON report on standard output that are not complete, as one text.
fn gaps(out: &Output) -> String {
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {}; stderr: {}",
            code(out),
            stderr(out)
        )
    });
    coverage_gaps(&doc)
}

/// Replays `dir` with `cloud`, which must end incomplete (exit 3); returns the coverage gaps.
fn incomplete_replay(cloud: &str, dir: &Path, extra: &[&str]) -> String {
    let (code, doc) = support::replay_report(cloud, dir, extra);
    assert_eq!(code, 3, "{:#}", doc["coverage"]);
    coverage_gaps(&doc)
}

fn coverage_gaps(doc: &Value) -> String {
    doc["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .filter(|c| c["status"] != "complete")
        .map(|c| {
            format!(
                "{} {} {}: {}",
                c["service"], c["region"], c["status"], c["detail"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Serves `cloud`'s insecure scenario with every `operation` answered 429 with a
/// `Retry-After` of 1e20 seconds: the wait is bounded (the replay's cap, 2 s), the retries run
/// out, and the scan ends incomplete naming `service`.
fn huge_retry_after(cloud: &str, operation: &str, service: &str, error: Value) {
    let dir = scenario(cloud, "insecure");
    let n = edit(dir.path(), operation, |x| {
        x["responses"] = serde_json::json!([{
            "status": 429,
            "headers": {"retry-after": "1e20", "content-type": "application/json"},
            "json": error.clone()
        }]);
    });
    assert!(n >= 1);
    let started = Instant::now();
    let gaps = incomplete_replay(cloud, dir.path(), &["--max-attempts", "2"]);
    assert!(
        gaps.contains(service) && gaps.contains("throttled"),
        "{gaps}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_huge_retry_after_is_bounded_gcp() {
    huge_retry_after(
        "gcp",
        "projects.locations.clusters.list",
        "container",
        serde_json::json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}),
    );
}

#[test]
fn a_huge_retry_after_is_bounded_azure() {
    huge_retry_after(
        "azure",
        "managedClusters.list",
        "containerservice",
        serde_json::json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
    );
}

#[test]
fn a_repeated_marker_ends_the_aws_listing_as_incomplete() {
    let dir = scenario("aws", "insecure");
    // The first page says there is more, with Marker M1; the page for M1 says the same again.
    let mut second = None;
    let n = edit(dir.path(), "GetAccountAuthorizationDetails", |x| {
        let body = x["responses"][0]["body"]
            .as_str()
            .expect("xml body")
            .replace(
                "<IsTruncated>false</IsTruncated>",
                "<IsTruncated>true</IsTruncated><Marker>M1</Marker>",
            );
        x["responses"][0]["body"] = Value::String(body);
        let mut page = x.clone();
        page["request"]["params"]["Marker"] = Value::String("M1".into());
        second = Some(page);
    });
    assert_eq!(n, 1);
    let page = second.expect("second page");
    std::fs::write(
        dir.path()
            .join("exchanges/iam/us-east-1/GetAccountAuthorizationDetails-M1.json"),
        page.to_string(),
    )
    .expect("write");
    let gaps = incomplete_replay("aws", dir.path(), &[]);
    assert!(
        gaps.contains("iam") && gaps.contains("M1") && gaps.contains("returned before"),
        "{gaps}"
    );
}

#[test]
fn arm_ids_from_responses_are_checked_before_use() {
    let dir = scenario("azure", "insecure");
    let n = edit(dir.path(), "roleAssignments.list", |x| {
        x["responses"][0]["json"]["value"][0]["properties"]["roleDefinitionId"] =
            Value::String("https://evil.example/steal?x=1".into());
    });
    assert_eq!(n, 1);
    let gaps = incomplete_replay("azure", dir.path(), &[]);
    assert!(
        gaps.contains("authorization")
            && gaps.contains("refusing to call a path built from response data")
            && gaps.contains("evil.example"),
        "{gaps}"
    );
}

#[test]
fn plain_http_overrides_are_refused_unless_loopback() {
    let cases: [(&[&str], &str); 4] = [
        (&["gcp", "--project", "p"], "CLOUDSCAN_GCP_BASE_URL"),
        (&["gcp", "--project", "p"], "CLOUDSCAN_GCP_IAM_URL"),
        (&["azure", "--subscription", "s"], "CLOUDSCAN_AZURE_ARM_URL"),
        (&["aws", "--region", "us-east-1"], "AWS_ENDPOINT_URL"),
    ];
    for (args, variable) in cases {
        // 192.0.2.0/24 is TEST-NET-1: nothing is sent there, the check refuses it first.
        let out = cloudscan(args, &[(variable, "http://192.0.2.10:8080")]);
        assert_eq!(code(&out), 2, "{variable}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains(variable) && text.contains("loopback"),
            "{variable}: {text}"
        );
    }
    let out = cloudscan(
        &["azure", "--subscription", "s"],
        &[("AZURE_AUTHORITY_HOST", "http://login.example.com")],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("AZURE_AUTHORITY_HOST"));
}

#[test]
fn an_active_override_is_announced() {
    // A loopback port nothing listens on: the override is accepted, announced, and the scan
    // then fails to connect (exit 2: no token / no caller identity).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let out = cloudscan(
        &[
            "azure",
            "--subscription",
            "s",
            "--max-attempts",
            "1",
            "--call-timeout",
            "5",
        ],
        &[
            ("CLOUDSCAN_AZURE_ARM_URL", &url),
            ("AZURE_AUTHORITY_HOST", &url),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "not-a-real-secret"),
        ],
    );
    let text = stderr(&out);
    assert_eq!(code(&out), 2, "{text}");
    assert!(
        text.contains("warning: CLOUDSCAN_AZURE_ARM_URL is set")
            && text.contains("warning: AZURE_AUTHORITY_HOST is set"),
        "{text}"
    );
    assert!(!text.contains("not-a-real-secret"), "{text}");
}

#[test]
fn an_aws_endpoint_that_never_answers_times_out() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 20 {
                break;
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = cloudscan(
        &[
            "aws",
            "--region",
            "us-east-1",
            "--max-attempts",
            "1",
            "--call-timeout",
            "2",
        ],
        &[
            ("AWS_ENDPOINT_URL", &url),
            ("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let text = stderr(&out);
    assert_eq!(code(&out), 2, "{text}");
    assert!(text.contains("sts:GetCallerIdentity"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(!text.contains("not-a-real-secret"), "{text}");
    drop(holder);
}

#[test]
fn an_inventory_without_coverage_data_is_not_a_complete_scan() {
    let work = tempfile::tempdir().expect("tempdir");
    let saved = work.path().join("inv.json");
    let scenario = repo_root().join("mocks/aws/insecure");
    let out = cloudscan(
        &[
            "aws",
            "--replay",
            scenario.to_str().expect("utf-8"),
            "--save-inventory",
            saved.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // As saved: complete.
    let out = cloudscan(
        &[
            "scan",
            "--inventory",
            saved.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The same inventory with its coverage removed proves nothing about what was read.
    let mut inv: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("read")).expect("json");
    inv["coverage"] = serde_json::json!([]);
    std::fs::write(&saved, inv.to_string()).expect("write");
    let out = cloudscan(
        &[
            "scan",
            "--inventory",
            saved.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let gaps = gaps(&out);
    assert!(gaps.contains("holds no coverage data"), "{gaps}");
}

#[test]
fn a_policy_document_the_parser_rejects_is_a_coverage_gap() {
    let dir = scenario("aws", "insecure");
    // `node-extra`, an inline policy of the node role, with an Effect IAM does not have.
    let bad = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Maybe%22%2C%20%22Action%22%3A%20%22s3%3A%2A%22%2C%20%22Resource%22%3A%20%22%2A%22%7D%5D%7D";
    let n = edit(dir.path(), "GetAccountAuthorizationDetails", |x| {
        let body = x["responses"][0]["body"].as_str().expect("xml body");
        let start = body
            .find("<PolicyName>node-extra</PolicyName><PolicyDocument>")
            .expect("node-extra")
            + "<PolicyName>node-extra</PolicyName><PolicyDocument>".len();
        let end = start + body[start..].find("</PolicyDocument>").expect("end");
        let edited = format!("{}{bad}{}", &body[..start], &body[end..]);
        x["responses"][0]["body"] = Value::String(edited);
    });
    assert_eq!(n, 1);
    let gaps = incomplete_replay("aws", dir.path(), &[]);
    assert!(
        gaps.contains("node-extra") && gaps.contains("could not be parsed"),
        "{gaps}"
    );
}
