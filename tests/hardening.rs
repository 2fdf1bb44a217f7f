//! Issue 15 through the real binary: private atomic files, symlink refusal, a full disk named,
//! the broad-waiver guards, the CI notice for an implicit `./cloudscan.toml`, and the
//! node-identity guard.

use cloudscan::waivers::Day;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cloudscan");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("CLOUDSCAN_STORE")
        .env_remove("CLOUDSCAN_CONFIG")
        .env_remove("CI")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("CLOUDSCAN_ALLOW_NODE_IDENTITY");
    cmd
}

fn run(args: &[&str], cwd: &Path) -> Output {
    command(args, cwd).output().expect("run cloudscan")
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

fn insecure() -> String {
    root().join("mocks/aws/insecure").display().to_string()
}

/// An inventory of the bundled insecure AWS recording, in `dir`.
fn inventory(dir: &Path) -> PathBuf {
    let path = dir.join("inv.json");
    let out = run(
        &[
            "aws",
            "--replay",
            &insecure(),
            "--no-progress",
            "--save-inventory",
            path.to_str().unwrap_or_default(),
            "--format",
            "json",
            "-o",
            dir.join("report.json").to_str().unwrap_or_default(),
        ],
        dir,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    path
}

#[test]
fn reports_and_inventories_are_private_and_never_written_through_a_symlink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = inventory(dir.path());
    assert_eq!(mode(&inv), 0o600, "inventory");
    assert_eq!(mode(&dir.path().join("report.json")), 0o600, "report");
    // New folders on the way to a report are 0700.
    let nested = dir.path().join("reports/nightly/report.html");
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap_or_default(),
            "--format",
            "html",
            "-o",
            nested.to_str().unwrap_or_default(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&dir.path().join("reports")), 0o700);
    assert_eq!(mode(&dir.path().join("reports/nightly")), 0o700);
    // An existing world-readable report is replaced by a private one.
    std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o644)).ok();
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap_or_default(),
            "-o",
            nested.to_str().unwrap_or_default(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&nested), 0o600);

    // A symlink at the destination (say, to a file the attacker wants overwritten) is refused.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").ok();
    for flag in ["-o", "--save-inventory"] {
        let link = dir.path().join(format!("link{flag}.json"));
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let out = run(
            &[
                "aws",
                "--replay",
                &insecure(),
                "--no-progress",
                flag,
                link.to_str().unwrap_or_default(),
            ],
            dir.path(),
        );
        assert_eq!(code(&out), 2, "{flag}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("symbolic link") && err.contains(&link.display().to_string()),
            "{flag}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&victim).ok().as_deref(),
            Some("precious")
        );
    }
    // No temporary file is left behind anywhere.
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_full_disk_is_named() {
    // /dev/full answers every write with ENOSPC: the report to standard output.
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        panic!("/dev/full is missing: it is part of every Linux system this test runs on");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = command(
        &["aws", "--replay", &insecure(), "--no-progress"],
        dir.path(),
    )
    .stdout(full)
    .output()
    .expect("run cloudscan");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no space left on device writing standard output"),
        "{}",
        stderr(&out)
    );
    // Files: the write helper's own test injects ENOSPC (cloudscan-collect `files` tests),
    // since a real full file system cannot be made here without privileges.
}

fn waiver(resource: &str, expires: &str) -> String {
    format!(
        "# accepted risks\n[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"{resource}\"\n\
         reason = \"office VPN only (SEC-1)\"\nowner = \"platform@example.com\"\nexpires = {expires}\n"
    )
}

fn days_from_today(days: i64) -> String {
    Day::from_unix_days(Day::today().unix_days() + days).to_string()
}

#[test]
fn broad_waivers_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = inventory(dir.path());
    let inv = inv.to_str().unwrap_or_default().to_string();
    let soon = days_from_today(30);
    let config = dir.path().join("waivers.toml");
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--inventory",
            inv.as_str(),
            "--config",
            config.to_str().unwrap_or_default(),
        ];
        args.extend_from_slice(extra);
        run(&args, dir.path())
    };
    // (resource pattern, expiry, expected error location and fragment)
    let broad = [
        (
            "*",
            soon.clone(),
            "waivers.toml:4:12",
            "matches any resource id",
        ),
        (
            "**",
            soon.clone(),
            "waivers.toml:4:12",
            "matches any resource id",
        ),
        ("arn:*", soon.clone(), "waivers.toml:4:12", "every account"),
        (
            "arn:aws:*",
            soon.clone(),
            "waivers.toml:4:12",
            "every account",
        ),
        (
            "arn:aws:eks:*:123456789012:cluster/*",
            days_from_today(400),
            "waivers.toml:7:11",
            "more than a year after today",
        ),
    ];
    for (resource, expires, at, fragment) in &broad {
        std::fs::write(&config, waiver(resource, expires)).ok();
        let out = scan(&["--format", "json"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{resource} {expires}: {err}");
        assert!(
            err.contains(at) && err.contains(fragment),
            "{resource}: {err}"
        );
        assert!(err.contains("--allow-broad-waivers"), "{err}");
        let out = scan(&["--allow-broad-waivers", "--format", "json"]);
        assert_eq!(code(&out), 0, "{resource} allowed: {}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(doc["summary"]["waivers"], 1, "{resource}");
    }
    // A waiver that names resources, expiring within the year, needs no flag.
    std::fs::write(
        &config,
        waiver(
            "arn:aws:eks:*:123456789012:cluster/prod-*",
            &days_from_today(360),
        ),
    )
    .ok();
    let out = scan(&["--fail-on", "high", "--format", "json"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(doc["summary"]["waivers"], 1);
    assert!(
        doc["summary"]["waived"].as_u64().is_some_and(|n| n >= 1),
        "{}",
        doc["summary"]
    );
    // The count is in every format.
    for (format, text) in [
        ("table", "1 waiver(s) in force"),
        ("markdown", "| Waivers in force | 1 |"),
        ("sarif", "\"waivers\": 1"),
    ] {
        let out = scan(&["--format", format]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(text), "{format}: {stdout}");
    }
}

#[test]
fn an_implicit_config_is_announced_in_ci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = inventory(dir.path());
    std::fs::write(
        dir.path().join("cloudscan.toml"),
        waiver(
            "arn:aws:eks:*:123456789012:cluster/prod-*",
            &days_from_today(10),
        ),
    )
    .ok();
    let args = ["scan", "--inventory", inv.to_str().unwrap_or_default()];
    let notice = "loaded 1 waiver(s) from ./cloudscan.toml";
    for (ci, announced) in [
        (Some("true"), true),
        (Some("1"), true),
        (Some("false"), false),
        (Some(""), false),
        (None, false),
    ] {
        let mut cmd = command(&args, dir.path());
        if let Some(v) = ci {
            cmd.env("CI", v);
        }
        let out = cmd.output().expect("run cloudscan");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(
            stderr(&out).contains(notice),
            announced,
            "CI={ci:?}: {}",
            stderr(&out)
        );
    }
    // Named with --config, it is the user's choice: no notice.
    let out = command(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap_or_default(),
            "--config",
            "cloudscan.toml",
        ],
        dir.path(),
    )
    .env("CI", "true")
    .output()
    .expect("run cloudscan");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains(notice), "{}", stderr(&out));
}

#[test]
fn a_pod_without_workload_identity_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "aws",
            &["--region", "us-east-1"],
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
        ("gcp", &["--project", "p"], "CLOUDSCAN_WORKLOAD_IDENTITY"),
        (
            "azure",
            &["--subscription", "s"],
            "AZURE_FEDERATED_TOKEN_FILE",
        ),
    ];
    for (cloud, scope, marker) in cases {
        let mut args = vec![cloud];
        args.extend_from_slice(scope);
        args.push("--no-progress");
        let out = command(&args, dir.path())
            .env("KUBERNETES_SERVICE_HOST", "10.96.0.1")
            .env_remove(marker)
            .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_PROFILE")
            .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
            .env_remove("AZURE_CLIENT_SECRET")
            .output()
            .expect("run cloudscan");
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{cloud}: {err}");
        assert!(
            err.contains("without workload identity") && err.contains(marker),
            "{cloud}: {err}"
        );
        // A replay is not a scan of anything: never refused.
        let replay = root().join(format!("mocks/{cloud}/insecure"));
        let out = command(
            &[
                cloud,
                "--replay",
                replay.to_str().unwrap_or_default(),
                "--no-progress",
            ],
            dir.path(),
        )
        .env("KUBERNETES_SERVICE_HOST", "10.96.0.1")
        .output()
        .expect("run cloudscan");
        assert!(
            !stderr(&out).contains("without workload identity"),
            "{cloud} replay: {}",
            stderr(&out)
        );
    }
    // --allow-node-identity gets past the guard (the scan then fails on the closed endpoint,
    // which is not this test's business).
    let out = command(
        &[
            "aws",
            "--region",
            "us-east-1",
            "--no-progress",
            "--allow-node-identity",
            "--max-attempts",
            "1",
            "--call-timeout",
            "2",
        ],
        dir.path(),
    )
    .env("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "example")
    .env_remove("AWS_ACCESS_KEY_ID")
    .output()
    .expect("run cloudscan");
    assert!(
        !stderr(&out).contains("without workload identity"),
        "{}",
        stderr(&out)
    );
}
