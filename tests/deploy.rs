//! The scheduled deployment (`deploy/`): the Kubernetes manifests run cloudscan with the hardened
//! settings of the 4Cs (non-root, RuntimeDefault seccomp, no privilege escalation, no
//! capabilities, read-only root filesystem with an emptyDir for temporary files, a dedicated
//! service account for workload identity, the history database on a volume), the container
//! build is a multi-stage static build on distroless `nonroot`, and the arguments the manifests
//! pass are accepted by the real binary: each cloud's scan is run against its bundled replay
//! scenario, followed by the rendering steps, with the manifests' paths mapped into a temp dir.

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every YAML document of every `*.yaml` file in `dir` (not recursive), with its file name.
fn documents(dir: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", file.display()));
            if !value.is_null() {
                out.push((file.display().to_string(), value));
            }
        }
    }
    out
}

fn manifests() -> Vec<(String, Value)> {
    documents(&root().join("deploy/kubernetes"))
}

fn of_kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn cronjob(docs: &[(String, Value)]) -> &Value {
    let jobs = of_kind(docs, "CronJob");
    assert_eq!(jobs.len(), 1, "exactly one CronJob");
    jobs[0]
}

fn pod_spec(cronjob: &Value) -> &Value {
    &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
}

/// Every container of the pod: init containers first, in order.
fn all_containers(pod: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for key in ["initContainers", "containers"] {
        if let Some(list) = pod[key].as_sequence() {
            out.extend(list.iter());
        }
    }
    out
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|v| v.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The volume mounted at `path` in `container`.
fn volume_at<'a>(pod: &'a Value, container: &Value, path: &str) -> Option<&'a Value> {
    let mount = container["volumeMounts"]
        .as_sequence()?
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(path))?;
    let name = mount["name"].as_str()?;
    pod["volumes"]
        .as_sequence()?
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
}

/// The value following `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn the_cronjob_runs_every_container_hardened() {
    let docs = manifests();
    let job = cronjob(&docs);
    let pod = pod_spec(job);

    // Pod level.
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"].as_bool(), Some(true));
    assert!(psc["runAsUser"].as_u64().is_some_and(|u| u > 0));
    assert!(psc["runAsGroup"].as_u64().is_some_and(|g| g > 0));
    assert!(
        psc["fsGroup"].as_u64().is_some_and(|g| g > 0),
        "fsGroup makes the PVC writable"
    );
    assert_eq!(
        psc["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    assert_eq!(pod["hostNetwork"].as_bool(), None);
    assert_eq!(pod["hostPID"].as_bool(), None);

    let containers = all_containers(pod);
    assert!(containers.len() >= 2);
    assert!(
        pod["initContainers"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty()),
        "the scan runs as an init container"
    );
    let pvc_names: Vec<&str> = of_kind(&docs, "PersistentVolumeClaim")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    for c in &containers {
        let name = c["name"].as_str().expect("container name");
        let sc = &c["securityContext"];
        // Container settings, or the pod's where the field is pod-level too.
        let non_root = sc["runAsNonRoot"]
            .as_bool()
            .or(psc["runAsNonRoot"].as_bool());
        assert_eq!(non_root, Some(true), "{name}: runAsNonRoot");
        if let Some(uid) = sc["runAsUser"].as_u64() {
            assert!(uid > 0, "{name}: runAsUser");
        }
        let seccomp = sc["seccompProfile"]["type"]
            .as_str()
            .or(psc["seccompProfile"]["type"].as_str());
        assert_eq!(seccomp, Some("RuntimeDefault"), "{name}: seccompProfile");
        assert_eq!(
            sc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}: allowPrivilegeEscalation"
        );
        assert_ne!(sc["privileged"].as_bool(), Some(true), "{name}: privileged");
        assert_eq!(
            strings(&sc["capabilities"]["drop"]),
            vec!["ALL"],
            "{name}: capabilities.drop"
        );
        assert!(
            sc["capabilities"]["add"].is_null(),
            "{name}: capabilities.add"
        );
        assert_eq!(
            sc["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{name}: readOnlyRootFilesystem"
        );

        // Temporary files on an emptyDir at /tmp, and TMPDIR pointing there.
        let tmp = volume_at(pod, c, "/tmp").unwrap_or_else(|| panic!("{name}: nothing at /tmp"));
        assert!(
            tmp["emptyDir"].is_mapping(),
            "{name}: /tmp is not an emptyDir"
        );
        let env: BTreeMap<&str, &str> = c["env"]
            .as_sequence()
            .map(|e| {
                e.iter()
                    .filter_map(|v| Some((v["name"].as_str()?, v["value"].as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(env.get("TMPDIR").copied(), Some("/tmp"), "{name}: TMPDIR");

        // The history database on the PVC.
        let args = strings(&c["args"]);
        let store = flag(&args, "--store").unwrap_or_else(|| panic!("{name}: no --store"));
        let dir = Path::new(store).parent().expect("store dir");
        let volume = volume_at(pod, c, dir.to_str().expect("utf-8"))
            .unwrap_or_else(|| panic!("{name}: nothing mounted at {}", dir.display()));
        let claim = volume["persistentVolumeClaim"]["claimName"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {} is not a PVC", dir.display()));
        assert!(pvc_names.contains(&claim), "{name}: no PVC named {claim}");
        // Reports are written next to the database (a read-only root filesystem elsewhere).
        if let Some(out) = flag(&args, "-o").or(flag(&args, "--output")) {
            assert!(Path::new(out).starts_with(dir), "{name}: -o {out}");
        }

        // A pinned image.
        let image = c["image"].as_str().expect("image");
        let last = image.rsplit('/').next().unwrap_or(image);
        let tag = last.split_once(':').map(|(_, t)| t);
        assert!(
            image.contains('@') || tag.is_some_and(|t| t != "latest"),
            "{name}: image {image} is not pinned"
        );
        assert!(
            c["resources"]["limits"]["memory"].is_string(),
            "{name}: memory limit"
        );
        assert!(
            c["resources"]["requests"]["cpu"].is_string(),
            "{name}: cpu request"
        );
    }

    // The first step scans (a cloud subcommand) and keeps the scan in the history database;
    // the others render it.
    let steps: Vec<Vec<String>> = containers.iter().map(|c| strings(&c["args"])).collect();
    assert!(["aws", "gcp", "azure"].contains(&steps[0][0].as_str()));
    assert!(!steps[0]
        .iter()
        .any(|a| a == "--allow-incomplete" || a == "--fail-on"));
    assert!(steps[1..].iter().all(|s| s[0] == "report"));
}

#[test]
fn the_cronjob_is_scheduled_safely_under_a_dedicated_identity() {
    let docs = manifests();
    let job = cronjob(&docs);
    let spec = &job["spec"];
    assert!(spec["schedule"].is_string());
    assert_eq!(spec["concurrencyPolicy"].as_str(), Some("Forbid"));
    for field in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        assert!(spec[field].as_u64().is_some(), "{field}");
    }
    let job_spec = &spec["jobTemplate"]["spec"];
    assert!(job_spec["backoffLimit"].as_u64().is_some());
    assert!(job_spec["activeDeadlineSeconds"]
        .as_u64()
        .is_some_and(|s| s > 0));

    let template = &job_spec["template"];
    let pod = &template["spec"];
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(
        template["metadata"]["labels"]["azure.workload.identity/use"].as_str(),
        Some("true")
    );

    // The service account: the pod's, in the same namespace, with the three annotations.
    let namespace = job["metadata"]["namespace"].as_str().expect("namespace");
    assert!(of_kind(&docs, "Namespace")
        .iter()
        .any(|n| n["metadata"]["name"].as_str() == Some(namespace)));
    let sa_name = pod["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    assert_ne!(sa_name, "default");
    let sa = of_kind(&docs, "ServiceAccount")
        .into_iter()
        .find(|s| {
            s["metadata"]["name"].as_str() == Some(sa_name)
                && s["metadata"]["namespace"].as_str() == Some(namespace)
        })
        .unwrap_or_else(|| panic!("no ServiceAccount {namespace}/{sa_name}"));
    for annotation in [
        "eks.amazonaws.com/role-arn",
        "iam.gke.io/gcp-service-account",
        "azure.workload.identity/client-id",
    ] {
        assert!(
            sa["metadata"]["annotations"][annotation]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{annotation}"
        );
    }
    // Every namespaced object lives in the namespace.
    for (file, doc) in &docs {
        let kind = doc["kind"].as_str().unwrap_or("");
        if !["Namespace", "Kustomization"].contains(&kind) {
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some(namespace),
                "{file}: {kind}"
            );
        }
    }

    // The waivers come from the ConfigMap, mounted where --config points.
    let scan = &pod["initContainers"][0];
    let args = strings(&scan["args"]);
    let config = flag(&args, "--config").expect("--config");
    let dir = Path::new(config).parent().expect("config dir");
    let volume = volume_at(pod, scan, dir.to_str().expect("utf-8")).expect("config volume");
    let cm_name = volume["configMap"]["name"].as_str().expect("a ConfigMap");
    let cm = of_kind(&docs, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"].as_str() == Some(cm_name))
        .expect("the ConfigMap");
    let file = Path::new(config).file_name().and_then(|f| f.to_str());
    assert!(cm["data"][file.expect("file name")].is_string());
}

// ---------------------------------------------------------------------------------------------
// The container build

struct Stage {
    from: String,
    lines: Vec<String>,
}

/// The Dockerfile's stages, with continuation lines joined and comments dropped.
fn stages() -> Vec<Stage> {
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).expect("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let args: BTreeMap<String, String> = logical
        .iter()
        .filter_map(|l| l.strip_prefix("ARG "))
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut out: Vec<Stage> = Vec::new();
    for line in logical {
        if line.to_ascii_uppercase().starts_with("FROM ") {
            let mut image = line[5..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            for (k, v) in &args {
                image = image.replace(&format!("${{{k}}}"), v);
            }
            out.push(Stage {
                from: image,
                lines: Vec::new(),
            });
        } else if let Some(stage) = out.last_mut() {
            stage.lines.push(line);
        }
    }
    out
}

#[test]
fn the_image_is_a_static_binary_on_distroless_nonroot() {
    let stages = stages();
    assert!(stages.len() >= 2, "a multi-stage build");
    let builder = &stages[0];
    let runtime = stages.last().expect("final stage");

    // Builder: the project's toolchain or newer, the musl target, a locked release build.
    let image_version = builder
        .from
        .strip_prefix("rust:")
        .and_then(|t| t.split('-').next())
        .expect("a rust:<version> builder");
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("rust-version");
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    assert!(
        parse(image_version) >= parse(&rust_version),
        "builder {image_version} older than rust-version {rust_version}"
    );
    let builder_text = builder.lines.join("\n");
    assert!(builder_text.contains("x86_64-unknown-linux-musl"));
    assert!(builder_text.contains("musl-tools"));
    let build = builder
        .lines
        .iter()
        .find(|l| l.contains("cargo build"))
        .expect("cargo build");
    for flag in ["--release", "--locked", "--target"] {
        assert!(build.contains(flag), "cargo build without {flag}");
    }

    // Runtime: distroless static, nonroot, the binary as entrypoint.
    let runtime_ref = runtime.from.split('@').next().unwrap_or("");
    assert!(
        runtime_ref.starts_with("gcr.io/distroless/static") && runtime_ref.ends_with(":nonroot"),
        "{}",
        runtime.from
    );
    let user = runtime
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("USER in the final stage")
        .trim()
        .to_string();
    let uid = user.split(':').next().unwrap_or("");
    assert!(!["", "0", "root"].contains(&uid), "USER {user} is root");
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.starts_with("COPY --from=builder")));
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/cloudscan\"]")));
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.contains("org.opencontainers.image.source")
            || l.contains("org.opencontainers.image.title")));

    // The build context leaves out what must not be sent to the daemon.
    let ignore =
        std::fs::read_to_string(root().join("deploy/Dockerfile.dockerignore")).expect("ignore");
    for entry in ["target", ".git", "node_modules"] {
        assert!(
            ignore.lines().any(|l| l.trim_matches('/').ends_with(entry)),
            "{entry} is not ignored"
        );
    }
    // A static musl build needs no OpenSSL: TLS is rustls everywhere.
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    assert!(!lock.contains("name = \"openssl-sys\""));
    assert!(!lock.contains("name = \"native-tls\""));
}

// ---------------------------------------------------------------------------------------------
// The manifests' arguments, run by the real binary

/// The scan arguments of the base manifests (AWS) and of each overlay, by cloud.
fn scan_args() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let docs = manifests();
    let base = strings(&pod_spec(cronjob(&docs))["initContainers"][0]["args"]);
    out.insert(format!("base:{}", base[0]), base);
    let overlays = root().join("deploy/overlays");
    for entry in std::fs::read_dir(&overlays).expect("overlays") {
        let dir = entry.expect("entry").path();
        for (file, doc) in documents(&dir) {
            for patch in doc["patches"].as_sequence().into_iter().flatten() {
                let ops: Value =
                    serde_yaml::from_str(patch["patch"].as_str().expect("inline patch"))
                        .unwrap_or_else(|e| panic!("{file}: {e}"));
                for op in ops.as_sequence().into_iter().flatten() {
                    if op["path"].as_str()
                        == Some("/spec/jobTemplate/spec/template/spec/initContainers/0/args")
                    {
                        let args = strings(&op["value"]);
                        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        assert_eq!(args[0], name, "{file}: overlay {name} scans {}", args[0]);
                        out.insert(format!("overlay:{name}"), args);
                    }
                }
            }
        }
    }
    out
}

/// Runs cloudscan with an empty environment: no ambient credentials, profiles or endpoints.
fn cloudscan(args: &[String], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .output()
        .expect("run cloudscan")
}

/// The manifests' arguments with their in-pod paths mapped into `work` and the placeholder scope
/// (`--project`, `--subscription`, `--region`) replaced by the replay scenario's.
fn localize(args: &[String], work: &Path, scenario: &Json) -> Vec<String> {
    let state = work.join("state");
    let config = work.join("config");
    let mut out: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("/var/lib/cloudscan", state.to_str().expect("utf-8"))
                .replace("/etc/cloudscan", config.to_str().expect("utf-8"))
        })
        .collect();
    let scope = |key: &str| -> String {
        scenario[key]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    for (flag, key) in [
        ("--project", "projects"),
        ("--subscription", "subscriptions"),
        ("--region", "regions"),
    ] {
        if let Some(i) = out.iter().position(|a| a == flag) {
            let value = scope(key);
            assert!(!value.is_empty(), "the scenario has no {key}");
            out[i + 1] = value;
        }
    }
    out
}

#[test]
fn the_manifests_arguments_run_against_each_clouds_replay() {
    let docs = manifests();
    let pod = pod_spec(cronjob(&docs));
    let renders: Vec<Vec<String>> = all_containers(pod)[1..]
        .iter()
        .map(|c| strings(&c["args"]))
        .collect();
    let toml = of_kind(&docs, "ConfigMap")[0]["data"]["cloudscan.toml"]
        .as_str()
        .expect("cloudscan.toml")
        .to_string();
    let all = scan_args();
    for cloud in ["aws", "gcp", "azure"] {
        assert!(
            all.keys().any(|k| k.ends_with(&format!(":{cloud}"))),
            "no scan arguments for {cloud}"
        );
    }

    for (variant, args) in &all {
        let cloud = args[0].clone();
        let scenario_dir = root().join("mocks").join(&cloud).join("insecure");
        let scenario: Json = serde_json::from_str(
            &std::fs::read_to_string(scenario_dir.join("scenario.json")).expect("scenario"),
        )
        .expect("json");
        let work = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(work.path().join("state")).expect("state dir");
        std::fs::create_dir_all(work.path().join("config")).expect("config dir");
        std::fs::write(work.path().join("config/cloudscan.toml"), &toml).expect("config");

        let mut scan = localize(args, work.path(), &scenario);
        scan.splice(
            1..1,
            [
                "--replay".to_string(),
                scenario_dir.to_str().expect("utf-8").to_string(),
            ],
        );
        // Two scheduled runs: the second one is compared with the first in the history.
        for run in 1..=2 {
            let out = cloudscan(&scan, work.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{variant} run {run}: {scan:?}\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        let state = work.path().join("state");
        assert!(state.join("history.db").is_file(), "{variant}: no history");
        let report: Json = serde_json::from_str(
            &std::fs::read_to_string(state.join("latest.json")).expect("latest.json"),
        )
        .expect("the JSON report");
        assert!(report.is_object(), "{variant}");
        assert!(
            report.to_string().contains("\"findings\""),
            "{variant}: no findings in the report"
        );

        let history = cloudscan(
            &[
                "history".to_string(),
                "--store".to_string(),
                state
                    .join("history.db")
                    .to_str()
                    .expect("utf-8")
                    .to_string(),
                "--format".to_string(),
                "json".to_string(),
            ],
            work.path(),
        );
        assert_eq!(history.status.code(), Some(0), "{variant}: history");
        let scans: Json = serde_json::from_slice(&history.stdout).expect("history json");
        assert_eq!(
            scans.as_array().map(Vec::len),
            Some(2),
            "{variant}: {scans}"
        );

        // The rendering steps, from the stored scan.
        for render in &renders {
            let render = localize(render, work.path(), &scenario);
            let out = cloudscan(&render, work.path());
            assert_eq!(
                out.status.code(),
                Some(0),
                "{variant}: {render:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let file = flag(&render, "-o").expect("-o");
            assert!(Path::new(file).is_file(), "{variant}: {file} not written");
            if render.iter().any(|a| a == "sarif") {
                let text = std::fs::read_to_string(file).expect("sarif");
                serde_json::from_str::<Json>(&text).expect("SARIF is JSON");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 15: egress policy, images pinned by digest, the workload-identity marker

/// `sha256:` and 64 lower-case hex digits.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Whether the CIDR block `cidr` contains `addr`.
fn contains(cidr: &str, addr: &str) -> bool {
    use std::net::IpAddr;
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(bits), Ok(addr)) = (
        net.parse::<IpAddr>(),
        bits.parse::<u32>(),
        addr.parse::<IpAddr>(),
    ) else {
        return false;
    };
    let mask = |width: u32| -> u128 {
        if bits == 0 {
            0
        } else {
            (!0u128 << (width - bits.min(width))) & (!0u128 >> (128 - width))
        }
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = mask(32);
            (u128::from(u32::from(n)) & m) == (u128::from(u32::from(a)) & m)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = mask(128);
            (u128::from(n) & m) == (u128::from(a) & m)
        }
        _ => false,
    }
}

#[test]
fn cidr_containment_is_right() {
    assert!(contains("169.254.0.0/16", "169.254.169.254"));
    assert!(contains("0.0.0.0/0", "8.8.8.8"));
    assert!(!contains("10.0.0.0/8", "11.0.0.1"));
    assert!(contains("fc00::/7", "fd00:ec2::254"));
    assert!(contains("::/0", "2600::1"));
    assert!(!contains("fe80::/10", "fd00:ec2::254"));
    assert!(!contains("10.0.0.0/8", "fd00::1"));
}

/// Whether the egress rules let the pod reach `addr` on TCP `port`.
fn egress_allows(policies: &[&Value], addr: &str, port: u64) -> bool {
    policies.iter().any(|p| {
        p["spec"]["egress"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|rule| {
                let port_ok = rule["ports"].as_sequence().is_none_or(|ports| {
                    ports.iter().any(|q| {
                        q["port"].as_u64() == Some(port) && q["protocol"].as_str() != Some("UDP")
                    })
                });
                let peer_ok = rule["to"].as_sequence().is_none_or(|peers| {
                    peers.iter().any(|peer| {
                        let block = &peer["ipBlock"];
                        block["cidr"].as_str().is_some_and(|c| contains(c, addr))
                            && !block["except"]
                                .as_sequence()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .any(|e| contains(e, addr))
                    })
                });
                port_ok && peer_ok
            })
    })
}

/// What a NetworkPolicy's egress rules allow, by kind of rule.
struct EgressShape {
    /// UDP/TCP 53 to kube-dns in kube-system.
    dns: bool,
    /// Rules allowing TCP 443 to `0.0.0.0/0` / `::/0` (minus exceptions).
    https: usize,
    /// Single addresses (`/32`, `/128`, no exceptions) with their one TCP port.
    endpoints: BTreeSet<(String, u64)>,
}

/// Sorts every egress rule of `policy` into DNS, public HTTPS or credential endpoints, and
/// fails on any other rule (another port, a range that is not the whole internet, a rule
/// without ports or peers, which would allow everything).
fn egress_shape(policy: &Value) -> EgressShape {
    let mut shape = EgressShape {
        dns: false,
        https: 0,
        endpoints: BTreeSet::new(),
    };
    let rules = policy["spec"]["egress"]
        .as_sequence()
        .expect("egress rules");
    for rule in rules {
        let ports: Vec<(String, u64)> = rule["ports"]
            .as_sequence()
            .expect("every rule names its ports")
            .iter()
            .map(|p| {
                assert!(p["endPort"].is_null(), "no port ranges: {p:?}");
                (
                    p["protocol"].as_str().unwrap_or("TCP").to_string(),
                    p["port"].as_u64().expect("a numeric port"),
                )
            })
            .collect();
        let peers = rule["to"]
            .as_sequence()
            .expect("every rule names its peers");
        assert!(!peers.is_empty(), "an empty `to` allows every destination");
        if ports.iter().all(|(_, port)| *port == 53) {
            let to = &rule["to"][0];
            assert_eq!(peers.len(), 1);
            assert_eq!(
                to["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                "kube-system"
            );
            assert_eq!(to["podSelector"]["matchLabels"]["k8s-app"], "kube-dns");
            shape.dns = true;
            continue;
        }
        assert!(
            peers.iter().all(|p| p["ipBlock"]["cidr"].is_string()
                && p["podSelector"].is_null()
                && p["namespaceSelector"].is_null()),
            "only DNS goes to pods: {rule:?}"
        );
        let cidrs: Vec<&str> = peers
            .iter()
            .filter_map(|p| p["ipBlock"]["cidr"].as_str())
            .collect();
        if cidrs.iter().all(|c| *c == "0.0.0.0/0" || *c == "::/0") {
            assert_eq!(
                ports,
                vec![("TCP".to_string(), 443)],
                "the public internet on HTTPS only"
            );
            shape.https += 1;
            continue;
        }
        // Credential endpoints: single addresses, one TCP port.
        assert_eq!(ports.len(), 1, "one port per credential endpoint: {rule:?}");
        let (protocol, port) = &ports[0];
        assert_eq!(protocol, "TCP");
        for peer in peers {
            let block = &peer["ipBlock"];
            assert!(block["except"].is_null(), "{block:?}");
            let cidr = block["cidr"].as_str().unwrap_or_default();
            let (addr, bits) = cidr.split_once('/').expect("a CIDR");
            let single = if addr.contains(':') { "128" } else { "32" };
            assert_eq!(bits, single, "{cidr}: a credential endpoint is one address");
            shape.endpoints.insert((addr.to_string(), *port));
        }
    }
    shape
}

#[test]
fn an_egress_policy_confines_the_scanner_to_dns_and_the_cloud_apis() {
    let docs = manifests();
    let policies = of_kind(&docs, "NetworkPolicy");
    assert_eq!(policies.len(), 1, "one NetworkPolicy in the base");
    let policy = policies[0];
    // It selects the scan pod.
    let job = cronjob(&docs);
    let pod_labels = &job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"];
    let selector = policy["spec"]["podSelector"]["matchLabels"]
        .as_mapping()
        .expect("podSelector.matchLabels");
    assert!(
        !selector.is_empty(),
        "an empty selector would select every pod"
    );
    for (k, v) in selector {
        assert_eq!(&pod_labels[k], v, "the pod lacks the selected label {k:?}");
    }
    assert_eq!(
        policy["metadata"]["namespace"],
        job["metadata"]["namespace"]
    );
    let types = strings(&policy["spec"]["policyTypes"]);
    assert!(types.contains(&"Egress".to_string()), "{types:?}");
    assert!(types.contains(&"Ingress".to_string()), "{types:?}");
    assert!(
        policy["spec"]["ingress"]
            .as_sequence()
            .is_none_or(|s| s.is_empty()),
        "no ingress"
    );

    // Every egress rule is one of three kinds: DNS to kube-dns, HTTPS to the public internet,
    // or one credential endpoint (single addresses, one port). The base allows exactly the EKS
    // Pod Identity Agent (IPv4 and IPv6, HTTP on 80) as a credential endpoint.
    let shape = egress_shape(policy);
    assert!(shape.dns, "DNS to kube-dns is allowed");
    assert!(shape.https >= 1, "HTTPS to the cloud APIs is allowed");
    assert_eq!(
        shape.endpoints,
        BTreeSet::from([
            ("169.254.170.23".to_string(), 80),
            ("fd00:ec2::23".to_string(), 80),
        ]),
        "the base's credential endpoints are the EKS Pod Identity Agent's"
    );
    assert!(egress_allows(&[policy], "169.254.170.23", 80));
    assert!(egress_allows(&[policy], "fd00:ec2::23", 80));
    // Its port only, and not its neighbours (the ECS task credentials endpoint, IMDS).
    assert!(!egress_allows(&[policy], "169.254.170.23", 443));
    assert!(!egress_allows(&[policy], "169.254.170.23", 2703));
    assert!(!egress_allows(&[policy], "169.254.170.2", 80));
    assert!(!egress_allows(&[policy], "169.254.169.254", 80));
    assert!(!egress_allows(&[policy], "fd00:ec2::254", 80));

    // Public addresses on 443: yes. Metadata, link-local, private, loopback: no, on any port.
    for public in [
        "52.94.236.248",
        "142.250.74.42",
        "20.190.151.7",
        "2600:1f18::1",
    ] {
        assert!(egress_allows(&[policy], public, 443), "{public}:443");
        assert!(!egress_allows(&[policy], public, 80), "{public}:80");
    }
    for blocked in [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.23",
        "fe80::1",
        "10.0.0.1",
        "172.20.0.10",
        "192.168.1.1",
        "100.64.0.1",
        "127.0.0.1",
        "::1",
    ] {
        assert!(
            !egress_allows(&[policy], blocked, 443),
            "{blocked} is reachable"
        );
    }

    // The GKE overlay adds the GKE metadata server (Workload Identity tokens), port 80/988 only.
    let gke = documents(&root().join("deploy/overlays/gcp"));
    let gke_policies = of_kind(&gke, "NetworkPolicy");
    assert_eq!(gke_policies.len(), 1);
    let gke_shape = egress_shape(gke_policies[0]);
    assert!(
        !gke_shape.dns && gke_shape.https == 0,
        "the overlay only adds endpoints"
    );
    assert_eq!(
        gke_shape.endpoints,
        BTreeSet::from([
            ("169.254.169.254".to_string(), 80),
            ("169.254.169.252".to_string(), 988),
        ])
    );
    let mut all = vec![policy];
    all.extend(gke_policies.iter().copied());
    assert!(egress_allows(&all, "169.254.169.254", 80));
    assert!(egress_allows(&all, "169.254.169.252", 988));
    assert!(!egress_allows(&all, "169.254.169.254", 443));
    assert!(!egress_allows(&all, "10.0.0.1", 80));

    // Every manifest a kustomization lists exists, the policy included.
    for dir in [
        root().join("deploy/kubernetes"),
        root().join("deploy/overlays/gcp"),
    ] {
        let kust = documents(&dir)
            .into_iter()
            .find(|(_, d)| d["kind"] == "Kustomization")
            .expect("kustomization")
            .1;
        let resources = strings(&kust["resources"]);
        for r in &resources {
            assert!(dir.join(r).exists(), "{}: {r} is missing", dir.display());
        }
        if dir.ends_with("kubernetes") {
            assert!(resources.contains(&"networkpolicy.yaml".to_string()));
        }
    }
}

#[test]
fn images_are_pinned_by_digest() {
    // The Dockerfile: every base image by digest, none `latest`.
    for stage in stages() {
        let (reference, digest) = stage
            .from
            .split_once('@')
            .unwrap_or_else(|| panic!("FROM {} is not pinned by digest", stage.from));
        assert!(is_digest(digest), "FROM {}: bad digest", stage.from);
        let last = reference.rsplit('/').next().unwrap_or(reference);
        assert!(
            last.split_once(':').is_some_and(|(_, tag)| tag != "latest"),
            "FROM {reference}: a tag for people to read, and not `latest`"
        );
    }
    // The kustomization: the image by digest (a placeholder to replace, in the documented
    // format), with a tag that is not `latest`.
    let kust = documents(&root().join("deploy/kubernetes"))
        .into_iter()
        .find(|(_, d)| d["kind"] == "Kustomization")
        .expect("kustomization")
        .1;
    let images = kust["images"].as_sequence().expect("images");
    let containers_images: Vec<String> = all_containers(pod_spec(cronjob(&manifests())))
        .iter()
        .map(|c| c["image"].as_str().expect("image").to_string())
        .collect();
    for c in &containers_images {
        let name = c.split('@').next().unwrap_or(c);
        let name = name.rsplit_once(':').map(|(n, _)| n).unwrap_or(name);
        let entry = images
            .iter()
            .find(|i| i["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("image {c} is not under images: (so not pinned)"));
        let digest = entry["digest"].as_str().expect("a digest");
        assert!(is_digest(digest), "{digest}");
        assert_ne!(entry["newTag"].as_str(), Some("latest"));
    }
    // No manifest anywhere under deploy/ uses a `latest` tag.
    for dir in [
        "deploy/kubernetes",
        "deploy/overlays/aws",
        "deploy/overlays/gcp",
        "deploy/overlays/azure",
    ] {
        for (file, doc) in documents(&root().join(dir)) {
            let text = serde_yaml::to_string(&doc).unwrap_or_default();
            assert!(!text.contains(":latest"), "{file} uses a latest tag");
            assert!(!text.contains("newTag: latest"), "{file}");
        }
    }
}

#[test]
fn workload_identity_is_declared_where_it_cannot_be_detected() {
    // GKE: the overlay sets the marker cloudscan's node-identity guard reads.
    let gke = documents(&root().join("deploy/overlays/gcp"));
    let kust = gke
        .iter()
        .find(|(_, d)| d["kind"] == "Kustomization")
        .expect("kustomization");
    let mut marker = false;
    for patch in kust.1["patches"].as_sequence().into_iter().flatten() {
        let ops: Value =
            serde_yaml::from_str(patch["patch"].as_str().unwrap_or("")).expect("patch");
        for op in ops.as_sequence().into_iter().flatten() {
            if op["path"].as_str()
                == Some("/spec/jobTemplate/spec/template/spec/initContainers/0/env/-")
                && op["value"]["name"] == "CLOUDSCAN_WORKLOAD_IDENTITY"
            {
                marker = true;
            }
        }
    }
    assert!(marker, "the GKE overlay declares Workload Identity");
    // The base (AWS) and the Azure overlay rely on what the webhooks inject, never on the
    // marker, and nothing passes --allow-node-identity.
    let base = manifests();
    let scan = &pod_spec(cronjob(&base))["initContainers"][0];
    let env: Vec<&str> = scan["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(!env.contains(&"CLOUDSCAN_WORKLOAD_IDENTITY"), "{env:?}");
    assert!(!env.contains(&"CLOUDSCAN_ALLOW_NODE_IDENTITY"), "{env:?}");
    for (variant, args) in scan_args() {
        assert!(
            !args.contains(&"--allow-node-identity".to_string()),
            "{variant}"
        );
        // Retention keeps the history volume from filling.
        assert!(
            flag(&args, "--keep").is_some_and(|n| n.parse::<u32>().is_ok()),
            "{variant}: no --keep"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every image reference under deploy/, as each kustomization builds it

/// Every string value of an `image` key anywhere in `value`.
fn image_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                if k.as_str() == Some("image") {
                    if let Some(image) = v.as_str() {
                        out.push(image.to_string());
                    }
                }
                image_refs(v, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| image_refs(v, out)),
        Value::Tagged(tagged) => image_refs(&tagged.value, out),
        _ => {}
    }
}

/// `images:` entries of kustomizations: (name, digest), the digest None when one sets none.
type ImageEntries = Vec<(String, Option<String>)>;

/// A manifest file a kustomization builds: its path, its YAML documents, and the `images:`
/// entries that apply to it.
type Built = (PathBuf, Vec<Value>, ImageEntries);

/// The `images:` entries of a kustomization.
fn kustomize_images(kust: &Value) -> ImageEntries {
    kust["images"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or_default().to_string(),
                i["digest"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The manifest files the kustomization in `dir` builds (following directory resources, i.e.
/// bases), each with the `images:` entries that apply to it: its own kustomization's and those
/// of every kustomization that includes it on the way up to `dir`. Also every inline patch, as
/// a manifest of the kustomization that holds it.
fn kustomize_build(dir: &Path) -> Vec<Built> {
    let kust = documents(dir)
        .into_iter()
        .find(|(_, d)| d["kind"] == "Kustomization")
        .unwrap_or_else(|| panic!("{}: no kustomization", dir.display()))
        .1;
    let own = kustomize_images(&kust);
    let mut out = Vec::new();
    for r in strings(&kust["resources"]) {
        let path = dir.join(&r);
        if path.is_dir() {
            for (file, docs, mut images) in kustomize_build(&path) {
                images.extend(own.iter().cloned());
                out.push((file, docs, images));
            }
        } else {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
                .map(|d| Value::deserialize(d).expect("YAML"))
                .collect();
            let file = std::fs::canonicalize(&path).expect("canonical path");
            out.push((file, docs, own.clone()));
        }
    }
    let patches: Vec<Value> = kust["patches"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|p| p["patch"].as_str())
        .map(|text| serde_yaml::from_str(text).expect("an inline patch is YAML"))
        .collect();
    if !patches.is_empty() {
        let file = std::fs::canonicalize(dir.join("kustomization.yaml")).expect("path");
        out.push((file, patches, own));
    }
    out
}

/// Every folder under `dir` holding a `kustomization.yaml`, and every `*.yaml` file.
fn deploy_tree(dir: &Path, kustomizations: &mut Vec<PathBuf>, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            deploy_tree(&path, kustomizations, files);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
                kustomizations.push(dir.to_path_buf());
            }
            files.push(std::fs::canonicalize(&path).expect("canonical path"));
        }
    }
}

#[test]
fn every_image_reference_under_deploy_is_pinned_by_a_sha256_digest() {
    let mut kustomizations = Vec::new();
    let mut files = Vec::new();
    deploy_tree(&root().join("deploy"), &mut kustomizations, &mut files);
    kustomizations.sort();
    assert!(kustomizations.len() >= 5, "{kustomizations:?}");

    let mut built = BTreeSet::new();
    let mut checked = 0;
    for dir in &kustomizations {
        for (file, docs, images) in kustomize_build(dir) {
            built.insert(file.clone());
            let mut refs = Vec::new();
            docs.iter().for_each(|d| image_refs(d, &mut refs));
            for image in refs {
                checked += 1;
                let pinned = match image.split_once('@') {
                    // Pinned in the manifest itself.
                    Some((_, digest)) => is_digest(digest),
                    // Pinned by an `images:` entry of a kustomization that builds the file (the
                    // last one applied wins; each must pin it, so any is enough to check all).
                    None => {
                        let name = image.rsplit_once(':').map_or(image.as_str(), |(n, t)| {
                            if t.contains('/') {
                                image.as_str()
                            } else {
                                n
                            }
                        });
                        let entries: Vec<&Option<String>> = images
                            .iter()
                            .filter(|(n, _)| n == name)
                            .map(|(_, d)| d)
                            .collect();
                        !entries.is_empty()
                            && entries.iter().all(|d| d.as_deref().is_some_and(is_digest))
                    }
                };
                assert!(
                    pinned,
                    "`kubectl apply -k {}` deploys {image} from {} without a sha256 digest \
                     (name it with @sha256:<64 hex digits>, or under `images:` with `digest:` in \
                     a kustomization that builds the file)",
                    dir.display(),
                    file.display()
                );
            }
        }
    }
    assert!(checked >= 5, "only {checked} image references found");

    // No manifest with an image is left out of every kustomization (it would be deployed with
    // `kubectl apply -f`, unpinned).
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let mut refs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            image_refs(&Value::deserialize(doc).expect("YAML"), &mut refs);
        }
        let literal = refs
            .iter()
            .all(|r| r.split_once('@').is_some_and(|(_, d)| is_digest(d)));
        assert!(
            literal || built.contains(file),
            "{}: images {refs:?} are pinned by no kustomization",
            file.display()
        );
    }
}
