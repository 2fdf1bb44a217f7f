//! Member sessions that end during an organization scan: the synthetic estate server issues
//! member sessions that last two seconds and answers `ExpiredToken` to requests signed with an
//! expired one; with latency on every answer, each member scan outlives several sessions. The
//! scan must complete (no ExpiredToken anywhere in the coverage) because the member credentials
//! re-assume the role before each session ends.

mod support;

use cloudscan_estate::{Behaviour, Server, Spec};
use serde_json::Value;
use std::time::{Duration, Instant};

const MEMBER_ROLE: &str = "cloudscan-scan";
const SESSION: Duration = Duration::from_secs(2);

fn spec() -> Spec {
    Spec {
        seed: 12,
        accounts: 3,
        roles: 60,
        regions: 2,
        clusters: 3,
        nodegroups: 2,
        nodes: 3,
        ..Spec::default()
    }
}

#[test]
fn an_organization_scan_outlives_its_member_sessions() {
    let rt = support::estate::runtime();
    let behaviour = Behaviour {
        latency: Duration::from_millis(250),
        rate_limit: None,
        throttle_every: None,
        session_duration: Some(SESSION),
    };
    let server = rt
        .block_on(Server::start(spec(), behaviour, 0))
        .expect("estate server");
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let started = Instant::now();
    let out = support::estate::aws(server.base_url(), dir.path())
        .args([
            "--organization",
            "--member-role",
            MEMBER_ROLE,
            "--format",
            "json",
            "-o",
        ])
        .arg(&report)
        .output()
        .expect("run cloudscan");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report ({e}); stderr:\n{stderr}"));
    let report: Value = serde_json::from_str(&text).expect("json report");
    let coverage = report["coverage"].to_string();
    assert!(
        !coverage.contains("ExpiredToken") && !coverage.contains("expired"),
        "a member session expired during the scan: {coverage}"
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?} (3: incomplete): {coverage}\n{stderr}",
        out.status.code()
    );
    // Every account was scanned.
    let scopes: Vec<&str> = report["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for a in 0..spec().accounts {
        assert!(
            scopes.contains(&spec().account_id(a).as_str()),
            "{scopes:?}"
        );
    }
    // The scan outlived the sessions, and each member was re-assumed along the way.
    let members = u64::from(spec().accounts - 1);
    let assumed = server
        .stats()
        .calls
        .get("sts:AssumeRole")
        .copied()
        .unwrap_or_default();
    assert!(
        took > SESSION * 2,
        "the scan took {took:?}: too short to show renewal"
    );
    assert!(
        assumed >= 2 * members,
        "AssumeRole called {assumed} times for {members} members in {took:?}"
    );
}
