//! cloudscan's Azure adapter: collects AKS, Azure RBAC, managed identity and diagnostic-settings
//! facts over Azure Resource Manager (reqwest, bearer tokens from client credentials, workload
//! identity or the Azure CLI), live, recorded or replayed, and normalizes them into the
//! cloud-neutral inventory.
//!
//! Only read-only calls are made (GET), plus the OAuth2 token POST: `subscriptions.list`,
//! `managementGroups.getDescendants` and `subscriptions.get` (`--management-group`),
//! `managedClusters.list`, `roleAssignments.list`, `roleDefinitions.get`,
//! `userAssignedIdentities.list`, `federatedIdentityCredentials.list`, `diagnosticSettings.list`
//! (each cluster and the subscription's activity log) and `diskEncryptionSets.get`.
//!
//! `CLOUDSCAN_AZURE_ARM_URL` overrides the ARM base URL; `AZURE_AUTHORITY_HOST` the token
//! endpoint's host.

pub mod auth;
pub mod client;
pub mod collect;
pub mod error;
pub mod estate;
pub mod fixture;
pub mod normalize;
pub mod operations;

use auth::{Credential, TokenSource};
use client::{Arm, RetryPolicy};
use cloudscan_collect::coverage::CoverageLog;
use cloudscan_collect::fixture::Recorder;
use cloudscan_inventory::{Coverage, CoverageStatus};
use futures::future::join_all;
use normalize::SubscriptionScan;
use std::collections::{BTreeMap, BTreeSet};

pub use cloudscan_collect::scan::{CollectOptions, Progress, ProgressFn, ScanOutput};
pub use error::{AzureError, CollectError, FailureKind};

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Subscriptions to scan (`--subscription`, repeatable).
    pub subscriptions: Vec<String>,
    /// Scan every enabled subscription the credentials can see.
    pub all_subscriptions: bool,
    /// Scan every enabled subscription below these management groups, at any depth
    /// (`--management-group`, names or `/providers/Microsoft.Management/managementGroups/NAME`).
    pub management_groups: Vec<String>,
    /// Replay (the token exchange included) or record, limits.
    pub collect: CollectOptions,
}

/// Where ARM calls and tokens go.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub arm: String,
    pub credential: Credential,
}

impl Endpoints {
    /// From `CLOUDSCAN_AZURE_ARM_URL` and the `AZURE_*` credential variables.
    pub fn from_env(progress: &ProgressFn) -> Result<Self, AzureError> {
        let arm = cloudscan_collect::endpoint::from_env(client::ARM_URL_ENV, progress)?
            .unwrap_or_else(|| client::ARM_URL.to_string());
        // A client secret or assertion goes to the authority host.
        cloudscan_collect::endpoint::from_env("AZURE_AUTHORITY_HOST", progress)?;
        let credential = Credential::from_env();
        Ok(Endpoints { arm, credential })
    }

    /// The fake principal of a replay, against `base` for both tokens and ARM.
    pub fn replay(base: &str) -> Self {
        Endpoints {
            arm: base.to_string(),
            credential: Credential::ClientSecret {
                authority: base.to_string(),
                tenant: fixture::REPLAY_TENANT.to_string(),
                client_id: fixture::REPLAY_CLIENT_ID.to_string(),
                secret: fixture::REPLAY_SECRET.to_string(),
            },
        }
    }
}

/// Runs a scan.
pub async fn scan(opts: &ScanOptions, progress: ProgressFn) -> Result<ScanOutput, AzureError> {
    let collect = &opts.collect;
    collect.check().map_err(AzureError::Usage)?;
    let attempts = collect.attempts();
    let mut server = None;
    let mut scenario = None;
    let (endpoints, retry, http) = match &collect.replay {
        Some(dir) => {
            let (s, sc) = fixture::serve(dir).await?;
            let endpoints = Endpoints::replay(s.base_url());
            server = Some(s);
            scenario = Some(sc);
            let http = reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| AzureError::Http(e.to_string()))?;
            (endpoints, RetryPolicy::replay(attempts), http)
        }
        None => {
            let http = reqwest::Client::builder()
                .timeout(collect.call_timeout())
                .connect_timeout(std::time::Duration::from_secs(10))
                .user_agent(concat!("cloudscan/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| AzureError::Http(e.to_string()))?;
            (
                Endpoints::from_env(&progress)?,
                RetryPolicy::live(attempts),
                http,
            )
        }
    };
    let output = scan_with(
        opts,
        &endpoints,
        http,
        retry,
        collect.concurrency(),
        scenario,
        progress,
    )
    .await;
    drop(server);
    output
}

/// Runs a scan against explicit endpoints (a live scan, a replay, or a test server).
pub async fn scan_with(
    opts: &ScanOptions,
    endpoints: &Endpoints,
    http: reqwest::Client,
    retry: RetryPolicy,
    concurrency: usize,
    scenario: Option<fixture::AzureScenario>,
    progress: ProgressFn,
) -> Result<ScanOutput, AzureError> {
    let tokens = TokenSource::new(endpoints.credential.clone(), http.clone());
    // Fail fast, with one clear line, when no token can be had.
    tokens.token().await.map_err(AzureError::Credentials)?;
    progress(Progress::Authenticated {
        cloud: "azure",
        method: Some(endpoints.credential.describe().to_string()),
        principal: endpoints.credential.principal(),
    });
    let recorder = opts
        .collect
        .record
        .as_ref()
        .map(|_| Recorder::new(fixture::PATHS));
    let timeout = if opts.collect.replay.is_some() {
        opts.collect
            .call_timeout
            .unwrap_or(std::time::Duration::from_secs(30))
    } else {
        opts.collect.call_timeout()
    };
    let arm = Arm::new(
        http,
        tokens,
        &endpoints.arm,
        concurrency,
        retry,
        timeout,
        recorder.clone(),
    );

    let mut coverage: Vec<Coverage> = Vec::new();
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut wanted: Vec<String> = opts.subscriptions.clone();
    let mut groups: Vec<String> = opts.management_groups.clone();
    if groups.is_empty() && wanted.is_empty() && !opts.all_subscriptions {
        if let Some(list) = scenario
            .as_ref()
            .and_then(|s| s.params.management_groups.clone())
        {
            groups = list;
        }
    }
    if !groups.is_empty() && (!wanted.is_empty() || opts.all_subscriptions) {
        return Err(AzureError::Usage(
            "--management-group cannot be combined with --subscription or --all-subscriptions"
                .to_string(),
        ));
    }
    let groups = groups
        .iter()
        .map(|g| {
            collect::group_name(g).ok_or_else(|| {
                AzureError::Usage(format!(
                    "--management-group `{g}`: not a management group name (letters, digits, -, _, (, ), .) or id (/providers/Microsoft.Management/managementGroups/NAME)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !groups.is_empty() {
        let below = estate::below_groups(&arm, &groups, opts.collect.shard, &progress).await;
        coverage.extend(below.coverage);
        names.extend(below.names);
        wanted = below.scan;
    }
    if wanted.is_empty() && groups.is_empty() && !opts.all_subscriptions {
        if let Some(list) = scenario
            .as_ref()
            .and_then(|s| s.params.subscriptions.clone())
        {
            wanted = list;
        }
    }
    let discover = wanted.is_empty()
        && groups.is_empty()
        && (opts.all_subscriptions
            || scenario
                .as_ref()
                .is_some_and(|s| s.params.subscriptions.is_none()));
    if discover {
        let (subs, errors) = collect::subscriptions(&arm)
            .await
            .map_err(AzureError::Subscriptions)?;
        let mut tenant = CoverageLog::new("tenant");
        for e in &errors {
            tenant.push(
                "resources",
                "global",
                CoverageStatus::Partial,
                Some(e.to_string()),
            );
        }
        coverage.extend(tenant.into_entries());
        for s in subs {
            let enabled = s
                .state
                .as_deref()
                .is_none_or(|st| st.eq_ignore_ascii_case("Enabled"));
            if enabled && !s.subscription_id.is_empty() {
                names.insert(s.subscription_id.clone(), s.display_name.clone());
                wanted.push(s.subscription_id);
            }
        }
    }
    let mut seen = BTreeSet::new();
    wanted.retain(|s| seen.insert(s.to_lowercase()));
    // Below management groups, no subscription (or none readable) is an empty scan whose
    // coverage says why.
    if wanted.is_empty() && groups.is_empty() {
        return Err(AzureError::NoSubscriptions);
    }
    // `--shard I/N`: only this shard's subscriptions (possibly none: an empty inventory). Below
    // management groups the shard was applied before the subscriptions' states were read.
    if let Some(shard) = opts.collect.shard.filter(|_| groups.is_empty()) {
        wanted.retain(|s| shard.selects(s));
    }
    progress(Progress::Plan {
        unit: "subscription",
        scopes: wanted.clone(),
        tasks: wanted.len() * 5,
    });

    let scans = join_all(wanted.iter().map(|sub| {
        let name = names.get(sub).cloned().flatten();
        scan_subscription(&arm, sub, name, &progress)
    }))
    .await;
    let mut subs = Vec::new();
    let mut auth = Vec::new();
    for (scan, cov, state) in scans {
        subs.push(scan);
        auth.push(state);
        coverage.extend(cov);
    }
    let principals = scanned_principals(&subs);
    let read = join_all(
        subs.iter_mut()
            .zip(auth)
            .map(|(scan, state)| definitions(&arm, scan, &principals, state, &progress)),
    )
    .await;
    coverage.extend(read.into_iter().flatten());
    let mut inventory = normalize::normalize(subs, endpoints.credential.principal());
    // The normalizer's gaps (answers it could not decide) after the collection's.
    let gaps = std::mem::take(&mut inventory.coverage);
    inventory.coverage = coverage;
    inventory.coverage.extend(gaps);

    let recorded = match (&opts.collect.record, &recorder) {
        (Some(dir), Some(rec)) => {
            let scenario = fixture::AzureScenario::recorded(
                "recorded with cloudscan azure --record".to_string(),
                fixture::AzureParams {
                    subscriptions: (groups.is_empty()
                        && (!opts.all_subscriptions || !opts.subscriptions.is_empty()))
                    .then(|| wanted.clone()),
                    management_groups: (!groups.is_empty()).then(|| groups.clone()),
                },
            );
            Some(rec.write(dir, &scenario)?)
        }
        _ => None,
    };
    Ok(ScanOutput {
        inventory,
        recorded,
    })
}

/// Collects one subscription: the lists concurrently, then what they reference.
async fn scan_subscription(
    arm: &Arm,
    sub: &str,
    name: Option<String>,
    progress: &ProgressFn,
) -> (SubscriptionScan, Vec<Coverage>, AuthState) {
    let done = |task: &str, ok: bool| {
        progress(Progress::Done {
            task: format!("{task} {sub}"),
            ok,
        })
    };
    let mut scan = SubscriptionScan {
        id: sub.to_string(),
        name,
        ..Default::default()
    };
    let mut coverage = CoverageLog::new(sub);
    let sub_scope = format!("/subscriptions/{sub}");
    let (clusters, assignments, denies, identities, activity) = tokio::join!(
        collect::clusters(arm, sub),
        collect::role_assignments(arm, sub),
        collect::deny_assignments(arm, sub),
        collect::identities(arm, sub),
        collect::diagnostic_settings(arm, &sub_scope),
    );

    // AKS.
    match clusters {
        Ok((list, errors)) => {
            done("containerservice", errors.is_empty());
            coverage.record("containerservice", "global", &errors, true);
            scan.clusters = Some(list);
        }
        Err(e) => {
            done("containerservice", false);
            coverage.record("containerservice", "global", &[e], false);
        }
    }
    let clusters = scan.clusters.clone().unwrap_or_default();

    // Managed identities, then their federated credentials.
    let mut msi_errors = Vec::new();
    let mut msi_partial = true;
    match identities {
        Ok((list, errors)) => {
            msi_errors.extend(errors);
            let creds = join_all(list.iter().map(|mi| async move {
                (
                    mi.id.to_lowercase(),
                    collect::federated_credentials(arm, &mi.id).await,
                )
            }))
            .await;
            for (id, result) in creds {
                match result {
                    Ok((fics, errors)) => {
                        msi_errors.extend(errors);
                        scan.federated.insert(id, fics);
                    }
                    Err(e) => msi_errors.push(e),
                }
            }
            scan.identities = Some(list);
        }
        Err(e) => {
            msi_partial = false;
            msi_errors.push(e);
        }
    }
    done("managedidentity", msi_errors.is_empty());
    coverage.record("managedidentity", "global", &msi_errors, msi_partial);

    // Role and deny assignments; the role definitions are read once every subscription is
    // listed (an identity of one subscription may hold roles in another): `definitions`.
    let mut auth_errors = Vec::new();
    let mut auth_partial = true;
    match assignments {
        Ok((list, errors)) => {
            auth_errors.extend(errors);
            scan.role_assignments = Some(list);
        }
        Err(e) => {
            auth_partial = false;
            auth_errors.push(e);
        }
    }
    match denies {
        Ok((list, errors)) => {
            auth_errors.extend(errors);
            scan.deny_assignments = Some(list);
        }
        Err(e) => auth_errors.push(e),
    }
    let auth = AuthState {
        errors: auth_errors,
        partial: auth_partial,
    };

    // Diagnostic settings: each cluster's, and the activity log's.
    let diags = join_all(clusters.iter().map(|c| async move {
        (
            c.id.to_lowercase(),
            collect::diagnostic_settings(arm, &c.id).await,
        )
    }))
    .await;
    let mut insights_errors = Vec::new();
    let mut insights_read = false;
    for (id, result) in diags {
        match result {
            Ok((settings, errors)) if errors.is_empty() => {
                insights_read = true;
                scan.cluster_diagnostics.insert(id, Ok(settings));
            }
            Ok((_, errors)) => {
                // Some settings could not be decoded: whether audit is on is not known.
                let text = errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                scan.cluster_diagnostics.insert(id, Err(text));
                insights_errors.extend(errors);
            }
            Err(e) => {
                scan.cluster_diagnostics.insert(id, Err(e.to_string()));
                insights_errors.push(e);
            }
        }
    }
    match activity {
        Ok((settings, errors)) if errors.is_empty() => {
            insights_read = true;
            scan.activity_log = Some(settings);
        }
        Ok((_, errors)) => insights_errors.extend(errors),
        Err(e) => insights_errors.push(e),
    }
    done("insights", insights_errors.is_empty());
    coverage.record("insights", "global", &insights_errors, insights_read);

    // Disk encryption sets the clusters reference.
    let sets: BTreeSet<String> = clusters
        .iter()
        .filter_map(|c| c.properties.disk_encryption_set_id.clone())
        .collect();
    if !sets.is_empty() {
        let read = join_all(sets.iter().map(|id| async move {
            (
                id.to_lowercase(),
                collect::disk_encryption_set(arm, id).await,
            )
        }))
        .await;
        let mut errors = Vec::new();
        for (id, result) in read {
            match result {
                Ok(set) => {
                    scan.disk_encryption_sets.insert(id, Ok(set));
                }
                Err(e) => {
                    scan.disk_encryption_sets.insert(id, Err(e.to_string()));
                    errors.push(e);
                }
            }
        }
        let some = errors.len() < sets.len();
        done("compute", errors.is_empty());
        coverage.record("compute", "global", &errors, some);
    }
    (scan, coverage.into_entries(), auth)
}

/// What the authorization lists of one subscription left to report.
struct AuthState {
    errors: Vec<CollectError>,
    /// Something was listed.
    partial: bool,
}

/// The principal (object) ids of every identity the scan found: user-assigned identities and
/// kubelet identities, in every subscription.
fn scanned_principals(subs: &[SubscriptionScan]) -> BTreeSet<String> {
    let mut principals = BTreeSet::new();
    for scan in subs {
        for mi in scan.identities.iter().flatten() {
            principals.extend(mi.properties.principal_id.as_deref().map(str::to_lowercase));
        }
        for c in scan.clusters.iter().flatten() {
            let kubelet = c
                .properties
                .identity_profile
                .as_ref()
                .and_then(|m| m.get("kubeletidentity"))
                .and_then(|k| k.object_id.as_deref());
            principals.extend(kubelet.map(str::to_lowercase));
        }
    }
    principals
}

/// Reads the role definitions that the assignments of scanned identities in `scan` use, and
/// records the subscription's authorization coverage.
async fn definitions(
    arm: &Arm,
    scan: &mut SubscriptionScan,
    principals: &BTreeSet<String>,
    mut auth: AuthState,
    progress: &ProgressFn,
) -> Vec<Coverage> {
    let wanted: BTreeSet<String> = scan
        .role_assignments
        .iter()
        .flatten()
        .filter(|ra| principals.contains(&ra.properties.principal_id.to_lowercase()))
        .map(|ra| ra.properties.role_definition_id.clone())
        .filter(|id| !id.is_empty())
        .collect();
    let defs = join_all(
        wanted
            .iter()
            .map(|id| async move { (id.to_lowercase(), collect::role_definition(arm, id).await) }),
    )
    .await;
    for (id, result) in defs {
        match result {
            Ok(def) => {
                scan.role_definitions.insert(id, Ok(def));
            }
            Err(e) => {
                scan.role_definitions.insert(id, Err(e.to_string()));
                auth.errors.push(e);
            }
        }
    }
    progress(Progress::Done {
        task: format!("authorization {}", scan.id),
        ok: auth.errors.is_empty(),
    });
    let mut coverage = CoverageLog::new(&scan.id);
    coverage.record("authorization", "global", &auth.errors, auth.partial);
    coverage.into_entries()
}
