//! cloudscan's GCP adapter: collects GKE, IAM, Resource Manager and Compute facts over the
//! Google REST APIs (reqwest, bearer tokens from google-cloud-auth Application Default
//! Credentials), live, recorded or replayed, and normalizes them into the cloud-neutral inventory.
//!
//! Only read-only calls are made: `clusters.list`, `projects.get`, `projects.search`,
//! `projects.getIamPolicy`, `serviceAccounts.list`, `serviceAccounts.getIamPolicy`,
//! `roles.get`, `disks.aggregatedList`; with `--organization` / `--folder` also `folders.list` and
//! `projects.list` (the tree below, see [`estate`]).
//!
//! Base URLs can be overridden for local servers: `CLOUDSCAN_GCP_BASE_URL` (every service under
//! `{base}/{service}`), or per service `CLOUDSCAN_GCP_CONTAINER_URL`, `CLOUDSCAN_GCP_CRM_URL`,
//! `CLOUDSCAN_GCP_IAM_URL`, `CLOUDSCAN_GCP_COMPUTE_URL` (each replacing `https://SERVICE.googleapis.com`).

pub mod client;
pub mod collect;
pub mod error;
pub mod estate;
pub mod fixture;
pub mod normalize;
pub mod operations;
pub mod schema;

use client::{Api, Endpoints, Google, Service, TokenSource};
use cloudscan_collect::coverage::CoverageLog;
use cloudscan_collect::error::one_line;
use cloudscan_collect::fixture::Recorder;
use cloudscan_collect::rest::{ReplayServer, RestClient, RetryPolicy};
use cloudscan_inventory::{Coverage, CoverageStatus};
use collect::RoleCache;
use futures::future::join_all;
use normalize::{ProjectScan, RawScan};
use std::collections::BTreeSet;
use std::sync::Arc;

pub use cloudscan_collect::scan::{CollectOptions, Progress, ProgressFn, ScanOutput};
pub use error::{CollectError, FailureKind, GcpError};

/// How to run a GCP scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Projects to scan (`--project`, repeatable).
    pub projects: Vec<String>,
    /// Scan every active project the credentials can see (`projects.search`).
    pub all_projects: bool,
    /// Scan every ACTIVE project below these organizations (`--organization`, `ID` or
    /// `organizations/ID`), recursively through their folders.
    pub organizations: Vec<String>,
    /// Scan every ACTIVE project below these folders (`--folder`, `ID` or `folders/ID`).
    pub folders: Vec<String>,
    /// Never scan these projects (`--exclude-projects`), however they were found.
    pub exclude_projects: Vec<String>,
    /// Replay or record, limits.
    pub collect: CollectOptions,
}

/// The identity used to sign tokens in replay; its key is generated per run and never stored.
pub const REPLAY_CLIENT_EMAIL: &str = "cloudscan-replay@cloudscan-replay.iam.gserviceaccount.com";

struct Session {
    api: Api,
    caller: Option<String>,
    recorder: Option<Recorder>,
    scenario: Option<fixture::GcpScenario>,
    // Keeps the replay server alive for the whole scan.
    _server: Option<ReplayServer>,
}

/// A throw-away service-account key (RSA 2048, PKCS#8 PEM) so that replay (and tests) run the real
/// google-cloud-auth service-account flow, which signs its JWT locally.
pub fn throwaway_service_account_key(token_uri: &str) -> Result<serde_json::Value, GcpError> {
    // One key per process: RSA key generation is slow in debug builds, and a process replaying
    // many scans (the tests) needs no new key for each.
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pem = match PEM.get() {
        Some(pem) => pem.clone(),
        None => {
            let pem = generate_pem()?;
            PEM.get_or_init(|| pem).clone()
        }
    };
    Ok(serde_json::json!({
        "type": "service_account",
        "project_id": "cloudscan-replay",
        "private_key_id": "cloudscan-replay",
        "private_key": pem,
        "client_email": REPLAY_CLIENT_EMAIL,
        "client_id": "0",
        "token_uri": token_uri,
    }))
}

/// A fresh RSA 2048 key, PKCS#8 PEM.
fn generate_pem() -> Result<String, GcpError> {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| GcpError::Credentials("cannot generate the replay signing key".into()))?;
    let der = pair
        .as_der()
        .map_err(|_| GcpError::Credentials("cannot encode the replay signing key".into()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

/// The service account email of the ADC file, when it is a service-account key.
fn adc_principal() -> Option<String> {
    let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")?;
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    if value.get("type").and_then(|t| t.as_str()) != Some("service_account") {
        return None;
    }
    value
        .get("client_email")
        .and_then(|e| e.as_str())
        .map(str::to_string)
}

async fn session(opts: &ScanOptions, progress: &ProgressFn) -> Result<Session, GcpError> {
    let collect = &opts.collect;
    collect.check().map_err(GcpError::Usage)?;
    if let Some(dir) = &collect.replay {
        let (server, scenario) = fixture::serve(dir).await?;
        let key = throwaway_service_account_key(&format!("{}/oauth2/token", server.base_url()))?;
        let creds = google_cloud_auth::credentials::service_account::Builder::new(key)
            .build_access_token_credentials()
            .map_err(|e| GcpError::Credentials(one_line(&e.to_string())))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| GcpError::Http(e.to_string()))?;
        let rest = RestClient::new(
            http,
            Arc::new(TokenSource::new(creds)),
            Google,
            collect.concurrency(),
            RetryPolicy::replay(collect.attempts()),
            collect
                .call_timeout
                .unwrap_or(std::time::Duration::from_secs(30)),
            None,
        );
        return Ok(Session {
            api: Api::new(rest, Endpoints::under(server.base_url())),
            caller: Some(REPLAY_CLIENT_EMAIL.to_string()),
            recorder: None,
            scenario: Some(scenario),
            _server: Some(server),
        });
    }
    let endpoints = Endpoints::from_env(progress)?;
    let creds = google_cloud_auth::credentials::Builder::default()
        .build_access_token_credentials()
        .map_err(|e| GcpError::Credentials(one_line(&e.to_string())))?;
    let tokens = TokenSource::new(creds);
    // Fail fast, with one clear line, when no token can be had.
    tokens.token().await.map_err(GcpError::Credentials)?;
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("cloudscan/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GcpError::Http(e.to_string()))?;
    let recorder = collect
        .record
        .as_ref()
        .map(|_| Recorder::new(fixture::PATHS));
    let rest = RestClient::new(
        http,
        Arc::new(tokens),
        Google,
        collect.concurrency(),
        RetryPolicy::live(collect.attempts()),
        collect.call_timeout(),
        recorder.clone(),
    );
    Ok(Session {
        api: Api::new(rest, endpoints),
        caller: adc_principal(),
        recorder,
        scenario: None,
        _server: None,
    })
}

/// Collects one project: every collector runs concurrently, then the roles its policies bind.
/// The most folders a project can sit under (Resource Manager allows 10 levels of folders).
const MAX_ANCESTRY: usize = 12;

/// What a run reads of one ancestor (a folder or the organization): its allow policy and, for a
/// folder, the folder itself (for its parent). A failure is kept as a failure.
#[derive(Debug, Clone)]
struct AncestorRead {
    policy: Result<collect::Policy, CollectError>,
    /// `folders.get`; None for an organization (the top of the tree).
    folder: Option<Result<collect::RawFolder, CollectError>>,
}

type AncestorCell = Arc<tokio::sync::OnceCell<AncestorRead>>;

/// The ancestors read so far in this run. Projects share their folders and organization, so
/// each is read once, however many projects sit below it and however many of them walk their
/// ancestry at once (the first reader fetches; the others wait for its answer). A failed read is
/// cached too: every project below reports the same gap, and nothing is read twice.
#[derive(Debug, Clone, Default)]
struct AncestorCache {
    cells: Arc<std::sync::Mutex<std::collections::HashMap<String, AncestorCell>>>,
}

impl AncestorCache {
    async fn get(&self, api: &Api, resource: &str) -> AncestorRead {
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cells.entry(resource.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            if resource.starts_with("folders/") {
                let (policy, folder) = tokio::join!(
                    collect::ancestor_policy(api, resource),
                    collect::folder(api, resource)
                );
                AncestorRead {
                    policy,
                    folder: Some(folder),
                }
            } else {
                AncestorRead {
                    policy: collect::ancestor_policy(api, resource).await,
                    folder: None,
                }
            }
        })
        .await
        .clone()
    }
}

/// The project's ancestors, nearest first, each with its IAM policy (or why it could not be
/// read); whether the walk reached the organization (or a folder with no parent) without a
/// failure; and the failures, for coverage. Each ancestor comes from `cache` (read once a run).
async fn ancestry(
    api: &Api,
    cache: &AncestorCache,
    parent: Option<&str>,
) -> (Vec<normalize::Ancestor>, bool, Vec<CollectError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut next = parent.filter(|p| !p.is_empty()).map(str::to_string);
    let mut complete = true;
    while let Some(resource) = next.take() {
        if out.len() >= MAX_ANCESTRY
            || out
                .iter()
                .any(|a: &normalize::Ancestor| a.resource == resource)
        {
            complete = false;
            break;
        }
        if !collect::is_ancestor_name(&resource) {
            complete = false;
            errors.push(CollectError::new(
                "cloudresourcemanager projects.get",
                &resource,
                FailureKind::Other,
                "the parent is neither folders/ID nor organizations/ID",
            ));
            break;
        }
        let read = cache.get(api, &resource).await;
        let parent = match read.folder {
            Some(Ok(f)) => f.parent.filter(|p| !p.is_empty()),
            Some(Err(e)) => {
                complete = false;
                errors.push(e);
                None
            }
            None => None,
        };
        let (policy, error) = match read.policy {
            Ok(p) => (Some(p), None),
            Err(e) => {
                complete = false;
                let message = e.to_string();
                errors.push(e);
                (None, Some(message))
            }
        };
        out.push(normalize::Ancestor {
            resource,
            policy,
            error,
        });
        next = parent;
    }
    (out, complete, errors)
}

async fn scan_project(
    api: &Api,
    project: &str,
    known: Option<collect::RawProject>,
    roles: &RoleCache,
    ancestors: &AncestorCache,
    progress: &ProgressFn,
) -> (ProjectScan, Vec<Coverage>) {
    let done = |task: &str, ok: bool| {
        progress(Progress::Done {
            task: format!("{task} {project}"),
            ok,
        })
    };
    let mut coverage = CoverageLog::new(project);
    let mut scan = ProjectScan {
        id: project.to_string(),
        ..Default::default()
    };
    let crm = async {
        let meta = match known {
            Some(p) => Ok(p),
            None => collect::project(api, project).await,
        };
        let policy = collect::project_policy(api, project).await;
        let ancestry = match &meta {
            Ok(p) => ancestry(api, ancestors, p.parent.as_deref()).await,
            Err(_) => (Vec::new(), false, Vec::new()),
        };
        (meta, policy, ancestry)
    };
    let iam = async {
        let (sas, mut errors) = collect::service_accounts(api, project).await;
        let policies = join_all(sas.iter().map(|sa| async move {
            (
                sa.email.clone(),
                collect::service_account_policy(api, project, &sa.email).await,
            )
        }))
        .await;
        let mut read = Vec::new();
        for (email, result) in policies {
            match result {
                Ok(p) => read.push((email, p)),
                Err(e) => errors.push(e),
            }
        }
        (sas, read, errors)
    };
    let (
        (meta, policy, (ancestors, ancestry_complete, ancestry_errors)),
        clusters,
        (sas, sa_policies, mut iam_errors),
        disks,
    ) = tokio::join!(
        crm,
        collect::clusters(api, project),
        iam,
        collect::disks(api, project),
    );

    // Resource Manager.
    let mut crm_errors = Vec::new();
    match meta {
        Ok(p) => scan.project = Some(p),
        Err(e) => crm_errors.push(e),
    }
    match policy {
        Ok(p) => scan.policy = Some(p),
        Err(e) => crm_errors.push(e),
    }
    scan.ancestors = ancestors;
    scan.ancestry_complete = ancestry_complete && scan.project.is_some();
    crm_errors.extend(ancestry_errors);
    let crm_partial = scan.project.is_some() || scan.policy.is_some();
    done("cloudresourcemanager", crm_errors.is_empty());
    coverage.record("cloudresourcemanager", "global", &crm_errors, crm_partial);

    // GKE.
    match clusters {
        Ok((list, missing, errors)) => {
            done("container", errors.is_empty() && missing.is_empty());
            let mut all_errors = errors;
            if !missing.is_empty() {
                all_errors.push(CollectError::new(
                    "container projects.locations.clusters.list",
                    &format!("projects/{project}"),
                    FailureKind::Other,
                    format!(
                        "missingZones {}: clusters in these zones were not listed",
                        missing.join(", ")
                    ),
                ));
            }
            coverage.record("container", "global", &all_errors, true);
            for zone in &missing {
                coverage.push(
                    "container",
                    zone,
                    CoverageStatus::Failed,
                    Some(format!(
                        "container projects.locations.clusters.list (projects/{project}): the zone did not answer (missingZones)"
                    )),
                );
            }
            scan.clusters = Some(list);
        }
        Err(e) => {
            done("container", false);
            coverage.record("container", "global", &[e], false);
        }
    }

    // Compute.
    let (disk_list, unreachable, compute_errors) = disks;
    let listed_some = compute_errors.is_empty()
        || compute_errors
            .iter()
            .any(|e| e.kind == FailureKind::Malformed)
        || !disk_list.is_empty();
    let mut all_compute_errors = compute_errors.clone();
    if !unreachable.is_empty() {
        all_compute_errors.push(CollectError::new(
            "compute disks.aggregatedList",
            &format!("projects/{project}"),
            FailureKind::Other,
            format!("unreachable scopes {}", unreachable.join(", ")),
        ));
    }
    done("compute", all_compute_errors.is_empty());
    coverage.record("compute", "global", &all_compute_errors, listed_some);
    for scope in &unreachable {
        let location = scope.split(' ').next().unwrap_or(scope);
        let location = location.rsplit('/').next().unwrap_or(location);
        coverage.push(
            "compute",
            location,
            CoverageStatus::Failed,
            Some(format!(
                "compute disks.aggregatedList (projects/{project}): {scope} unreachable"
            )),
        );
    }
    // Without a hard failure of the list call itself, the disks that were read are usable.
    let list_failed = compute_errors
        .iter()
        .any(|e| e.kind != FailureKind::Malformed)
        && disk_list.is_empty();
    if !list_failed {
        scan.disks = Some(disk_list);
    }

    // IAM: service accounts, their policies, then every bound role.
    let sa_list_failed = iam_errors
        .iter()
        .any(|e| e.operation == "iam projects.serviceAccounts.list")
        && sas.is_empty();
    if !sa_list_failed {
        scan.service_accounts = Some(sas);
    }
    scan.sa_policies = sa_policies.into_iter().collect();
    let mut bound: BTreeSet<String> = BTreeSet::new();
    if let Some(p) = &scan.policy {
        bound.extend(p.bindings.iter().map(|b| b.role.clone()));
    }
    for p in scan.sa_policies.values() {
        bound.extend(p.bindings.iter().map(|b| b.role.clone()));
    }
    for a in &scan.ancestors {
        bound.extend(
            a.policy
                .iter()
                .flat_map(|p| p.bindings.iter().map(|b| b.role.clone())),
        );
    }
    bound.retain(|r| !r.is_empty());
    let role_results = join_all(bound.iter().map(|r| roles.get(api, r))).await;
    let roles_read = role_results.iter().filter(|r| r.is_ok()).count();
    iam_errors.extend(role_results.into_iter().filter_map(Result::err));
    let iam_partial = scan.service_accounts.is_some() || roles_read > 0;
    done("iam", iam_errors.is_empty());
    coverage.record("iam", "global", &iam_errors, iam_partial);

    (scan, coverage.into_entries())
}

/// Runs a whole GCP scan and normalizes it.
pub async fn scan(opts: &ScanOptions, progress: ProgressFn) -> Result<ScanOutput, GcpError> {
    let session = session(opts, &progress).await?;
    progress(Progress::Authenticated {
        cloud: "gcp",
        principal: session.caller.clone(),
        method: None,
    });
    let api = &session.api;
    let mut coverage: Vec<Coverage> = Vec::new();

    // Which projects.
    let mut known: Vec<(String, Option<collect::RawProject>)> = Vec::new();
    let recorded_projects = session
        .scenario
        .as_ref()
        .and_then(|s| s.params.projects.clone());
    let tree = tree_roots(opts, session.scenario.as_ref())?;
    let mut organization = None;
    if !tree.is_empty() {
        let (found, org, entries) = walk_tree(api, &tree, opts, &progress).await;
        coverage.extend(entries);
        organization = Some(org);
        known.extend(found.into_iter().map(|p| (p.project_id.clone(), Some(p))));
    } else if opts.all_projects {
        let (found, errors) = collect::search_projects(api).await;
        progress(Progress::Done {
            task: "cloudresourcemanager projects.search".to_string(),
            ok: errors.is_empty(),
        });
        if found.is_empty() {
            if let Some(e) = errors.into_iter().next() {
                return Err(GcpError::ProjectSearch(e));
            }
        } else {
            let mut log = CoverageLog::new("*");
            log.record("cloudresourcemanager/search", "global", &errors, true);
            coverage.extend(log.into_entries());
        }
        known.extend(found.into_iter().map(|p| (p.project_id.clone(), Some(p))));
    } else if !opts.projects.is_empty() {
        known.extend(opts.projects.iter().map(|p| (p.clone(), None)));
    } else if let Some(projects) = recorded_projects {
        known.extend(projects.into_iter().map(|p| (p, None)));
    }
    let mut seen = BTreeSet::new();
    known.retain(|(p, _)| !p.trim().is_empty() && seen.insert(p.clone()));
    known.retain(|(p, _)| !opts.exclude_projects.iter().any(|x| x.trim() == p));
    if known.is_empty() && tree.is_empty() {
        return Err(GcpError::NoProjects);
    }
    // `--shard I/N`: only this shard's projects (possibly none: an empty inventory).
    if let Some(shard) = opts.collect.shard {
        known.retain(|(p, _)| shard.selects(p));
    }
    let projects: Vec<String> = known.iter().map(|(p, _)| p.clone()).collect();
    progress(Progress::Plan {
        unit: "project",
        scopes: projects.clone(),
        tasks: projects.len() * 4,
    });

    let roles = RoleCache::default();
    let ancestors = AncestorCache::default();
    let results = join_all(known.into_iter().map(|(p, meta)| {
        let roles = &roles;
        let ancestors = &ancestors;
        let progress = &progress;
        async move { scan_project(api, &p, meta, roles, ancestors, progress).await }
    }))
    .await;
    let mut raw = RawScan {
        caller: session.caller.clone(),
        ..Default::default()
    };
    for (scan, entries) in results {
        raw.projects.push(scan);
        coverage.extend(entries);
    }
    raw.roles = roles
        .snapshot()
        .into_iter()
        .map(|(k, v)| (k, v.map_err(|e| e.to_string())))
        .collect();
    raw.coverage = coverage;
    let mut inventory = normalize::normalize(raw);
    inventory.organization = organization;

    let recorded = match (&session.recorder, &opts.collect.record) {
        (Some(recorder), Some(dir)) => {
            let scenario = fixture::GcpScenario::recorded(
                if tree.is_empty() {
                    format!(
                        "recorded scan of project(s) {} by cloudscan",
                        projects.join(", ")
                    )
                } else {
                    format!(
                        "recorded scan of every project below {} by cloudscan",
                        tree.join(", ")
                    )
                },
                fixture::GcpParams {
                    projects: (!opts.all_projects && tree.is_empty()).then(|| projects.clone()),
                    organizations: tree
                        .iter()
                        .filter(|r| r.starts_with("organizations/"))
                        .cloned()
                        .collect(),
                    folders: tree
                        .iter()
                        .filter(|r| r.starts_with("folders/"))
                        .cloned()
                        .collect(),
                },
            );
            Some(recorder.write(dir, &scenario)?)
        }
        _ => None,
    };
    Ok(ScanOutput {
        inventory,
        recorded,
    })
}

/// The organizations and folders to walk: `--organization` / `--folder`, or in a replay without
/// a scope on the command line, the ones the recording walked.
fn tree_roots(
    opts: &ScanOptions,
    scenario: Option<&fixture::GcpScenario>,
) -> Result<Vec<String>, GcpError> {
    let mut roots = Vec::new();
    for id in opts.organizations.iter().filter(|i| !i.trim().is_empty()) {
        roots.push(estate::root_name("organizations", id).map_err(GcpError::Usage)?);
    }
    for id in opts.folders.iter().filter(|i| !i.trim().is_empty()) {
        roots.push(estate::root_name("folders", id).map_err(GcpError::Usage)?);
    }
    if !roots.is_empty() && (opts.all_projects || !opts.projects.is_empty()) {
        return Err(GcpError::Usage(
            "--organization / --folder choose the projects: they cannot be combined with \
             --project or --all-projects"
                .to_string(),
        ));
    }
    if roots.is_empty() && !opts.all_projects && opts.projects.is_empty() {
        if let Some(s) = scenario {
            roots.extend(s.params.organizations.iter().cloned());
            roots.extend(s.params.folders.iter().cloned());
        }
    }
    let mut seen = BTreeSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    Ok(roots)
}

/// Walks the tree below `roots`: the ACTIVE, not excluded projects to scan (with the metadata
/// the listing returned, so no `projects.get` is needed), the tree for the inventory (every
/// project found, each with its path and whether it is scanned), and a failed coverage entry
/// for each node that could not be listed.
async fn walk_tree(
    api: &Api,
    roots: &[String],
    opts: &ScanOptions,
    progress: &ProgressFn,
) -> (
    Vec<collect::RawProject>,
    cloudscan_inventory::Organization,
    Vec<Coverage>,
) {
    let list = |node: String| -> futures::future::BoxFuture<'_, collect::Children> {
        Box::pin(async move { collect::children(api, &node).await })
    };
    let walk = estate::walk(roots, &list).await;
    progress(Progress::Done {
        task: format!(
            "cloudresourcemanager folders.list/projects.list below {}",
            roots.join(", ")
        ),
        ok: walk.failures.is_empty(),
    });
    let mut coverage = Vec::new();
    for failure in &walk.failures {
        let mut log = CoverageLog::new(&failure.node);
        log.record(
            "cloudresourcemanager/tree",
            "global",
            &failure.errors,
            false,
        );
        coverage.extend(log.into_entries());
    }
    let mut scan = Vec::new();
    let mut accounts = Vec::new();
    for found in walk.projects {
        let active = found.active();
        let p = found.project;
        let excluded = opts
            .exclude_projects
            .iter()
            .any(|x| x.trim() == p.project_id);
        let reason = if !active {
            let state = p.state.clone().unwrap_or_default();
            progress(Progress::Warning(format!(
                "project {} is {state}, not ACTIVE: not scanned",
                p.project_id
            )));
            Some(format!("the project is {state}, not ACTIVE"))
        } else if excluded {
            Some("excluded with --exclude-projects".to_string())
        } else {
            None
        };
        let mut path: Vec<cloudscan_inventory::OrgNode> = found
            .path
            .iter()
            .map(|n| cloudscan_inventory::OrgNode {
                id: n.name.clone(),
                name: n.display_name.clone(),
                kind: n
                    .name
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('s')
                    .to_string(),
            })
            .collect();
        path.push(cloudscan_inventory::OrgNode {
            id: p.project_id.clone(),
            name: p.display_name.clone(),
            kind: "project".to_string(),
        });
        accounts.push(cloudscan_inventory::OrgAccount {
            id: p.project_id.clone(),
            name: p.display_name.clone(),
            status: p.state.clone(),
            path,
            scps: None,
            rcps: None,
            scanned: reason.is_none(),
            not_scanned_reason: reason.clone(),
        });
        if reason.is_none() {
            scan.push(p);
        }
    }
    let organization = cloudscan_inventory::Organization {
        id: roots.join(","),
        accounts,
        ..Default::default()
    };
    (scan, organization, coverage)
}

/// The services a scan covers, for documentation and progress displays.
pub fn services() -> Vec<&'static str> {
    Service::ALL.iter().map(|s| s.name()).collect()
}
