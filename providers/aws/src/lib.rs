//! cloudscan's AWS adapter: collects with the real AWS SDK clients (live, recorded or replayed)
//! and normalizes into the cloud-neutral inventory.
//!
//! Only read-only calls are made (`Describe*`, `List*`, `Get*`); `policies/aws/cloudscan-readonly.json`
//! lists every one of them.

pub mod collect;
pub mod error;
pub mod fixture;
pub mod normalize;
pub mod org;
mod organization;
pub mod resources;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use cloudscan_collect::coverage::CoverageLog;
use cloudscan_inventory::Inventory;
use collect::Limiter;
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub use cloudscan_collect::scan::{CollectOptions, Progress, ProgressFn, ScanOutput};
pub use error::{AwsError, CollectError, FailureKind};

/// How to run an AWS scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// A named profile from the shared config files (`--profile`).
    pub profile: Option<String>,
    /// Regions to scan; empty = every region enabled for the account.
    pub regions: Vec<String>,
    /// Replay or record, limits.
    pub collect: CollectOptions,
    /// Scan every account of the caller's AWS organization (`--organization`); None: the
    /// caller's account only.
    pub organization: Option<OrgOptions>,
}

/// How an organization scan reaches its member accounts.
#[derive(Debug, Clone, Default)]
pub struct OrgOptions {
    /// The role assumed in every member account (`--member-role`).
    pub member_role: String,
    /// The external id the member role's trust policy requires, if any (`--external-id`).
    pub external_id: Option<String>,
    /// Only these accounts (`--accounts`); empty: every account.
    pub accounts: Vec<String>,
    /// Never these accounts (`--exclude-accounts`).
    pub exclude_accounts: Vec<String>,
    /// How many accounts are scanned at once (`--max-accounts`; 0 = 4). Every account's calls
    /// also share the scan-wide API call limit (`--concurrency`).
    pub max_accounts: usize,
}

impl OrgOptions {
    pub const DEFAULT_MAX_ACCOUNTS: usize = 4;

    pub fn max_accounts(&self) -> usize {
        if self.max_accounts == 0 {
            Self::DEFAULT_MAX_ACCOUNTS
        } else {
            self.max_accounts
        }
    }
}

/// The variables that point the AWS SDK at another endpoint (the SDK reads them itself; a
/// session token or a signature goes there).
fn endpoint_overrides() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k == "AWS_ENDPOINT_URL" || k.starts_with("AWS_ENDPOINT_URL_"))
        .collect();
    names.sort();
    names
}

/// A time-out for each SDK operation (retries included) and for each attempt, so a server that
/// never answers cannot hold the scan.
fn timeouts(opts: &CollectOptions, replay: bool) -> TimeoutConfig {
    let attempt = if replay {
        opts.call_timeout.unwrap_or(Duration::from_secs(30))
    } else {
        opts.call_timeout()
    };
    let attempts = u32::max(opts.attempts(), 1);
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(attempt)
        .operation_timeout(
            attempt
                .saturating_mul(attempts)
                .saturating_add(Duration::from_secs(60)),
        )
        .build()
}

struct Session {
    config: SdkConfig,
    home_region: String,
    recorder: Option<fixture::Recorder>,
    /// The real HTTP client under the recorder (member accounts get their own recorder on it).
    recording_inner: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
    scenario: Option<fixture::AwsScenario>,
}

async fn session(opts: &ScanOptions, progress: &ProgressFn) -> Result<Session, AwsError> {
    let collect = &opts.collect;
    collect.check().map_err(AwsError::Usage)?;
    if let Some(dir) = &collect.replay {
        let (client, scenario, home_region) = fixture::ReplayClient::load(dir)?;
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(home_region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDREPLAYREPLAY",
                "replay",
                None,
                None,
                "cloudscan-replay",
            )))
            .http_client(fixture::BodyCap::new(client))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(collect.attempts())
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(20)),
            )
            .timeout_config(timeouts(collect, true))
            .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .build();
        return Ok(Session {
            config,
            home_region,
            recorder: None,
            recording_inner: None,
            scenario: Some(scenario),
        });
    }
    // The SDK reads these itself: check each (plain http only to loopback) and announce it.
    for variable in endpoint_overrides() {
        cloudscan_collect::endpoint::from_env(&variable, progress)?;
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(collect.attempts()))
        .timeout_config(timeouts(collect, false));
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    let mut config = loader.load().await;
    let home_region = config
        .region()
        .map(|r| r.as_ref().to_string())
        .or_else(|| opts.regions.first().cloned())
        .unwrap_or_else(|| "us-east-1".to_string());
    if config.region().is_none() {
        config = config
            .into_builder()
            .region(Region::new(home_region.clone()))
            .build();
    }
    // The SDK resolves its default client lazily; build the same one explicitly to wrap it in
    // the body cap (and the recorder).
    let inner = match config.http_client() {
        Some(client) => client,
        None => {
            use aws_smithy_http_client::tls;
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .build_https()
        }
    };
    let capped = fixture::BodyCap::new(inner);
    let mut recorder = None;
    let mut recording_inner = None;
    if collect.record.is_some() {
        let capped = aws_smithy_runtime_api::client::http::SharedHttpClient::new(capped);
        let r = fixture::Recorder::new(capped.clone());
        config = config.into_builder().http_client(r.clone()).build();
        recorder = Some(r);
        recording_inner = Some(capped);
    } else {
        config = config.into_builder().http_client(capped).build();
    }
    Ok(Session {
        config,
        home_region,
        recorder,
        recording_inner,
        scenario: None,
    })
}

/// The region IAM is signed for in the partition of `home_region`.
fn iam_region(home_region: &str) -> &'static str {
    if home_region.starts_with("cn-") {
        "cn-north-1"
    } else if home_region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    }
}

fn partition_of(arn: &str) -> String {
    arn.split(':').nth(1).unwrap_or("aws").to_string()
}

/// Everything collected in one region.
#[derive(Default)]
struct RegionData {
    clusters: Vec<collect::RawCluster>,
    pod_identities: HashMap<String, Option<Vec<collect::RawPodIdentity>>>,
    access_entries: HashMap<String, Option<Vec<collect::RawAccessEntry>>>,
    instances: Vec<collect::RawInstance>,
    volumes: Vec<collect::RawVolume>,
    ebs_default: Option<bool>,
    launch_templates: Vec<collect::RawLaunchTemplateVersion>,
    keys: Vec<collect::RawKey>,
    trails: Vec<collect::RawTrail>,
    /// (service, errors, partial)
    coverage: Vec<(String, Vec<CollectError>, bool)>,
}

async fn scan_region(
    config: &SdkConfig,
    region: &str,
    limiter: &Limiter,
    progress: &ProgressFn,
) -> RegionData {
    let region_config = config
        .to_builder()
        .region(Region::new(region.to_string()))
        .build();
    let eks = aws_sdk_eks::Client::new(&region_config);
    let ec2 = aws_sdk_ec2::Client::new(&region_config);
    let kms = aws_sdk_kms::Client::new(&region_config);
    let trail = aws_sdk_cloudtrail::Client::new(&region_config);
    let done = |task: &str, ok: bool| {
        progress(Progress::Done {
            task: format!("{task} {region}"),
            ok,
        })
    };
    let mut data = RegionData::default();

    let (eks_result, instances, ebs, trails) = tokio::join!(
        collect::eks_clusters(&eks, limiter, region),
        collect::instances(&ec2, limiter, region),
        collect::ebs_encryption_default(&ec2, limiter),
        collect::trails(&trail, limiter),
    );

    let (clusters, eks_errors) = eks_result;
    done("eks", eks_errors.is_empty());
    data.coverage
        .push(("eks".to_string(), eks_errors, !clusters.is_empty()));
    data.clusters = clusters;

    let mut ec2_errors = Vec::new();
    match instances {
        Ok(i) => data.instances = i,
        Err(e) => ec2_errors.push(e),
    }
    match ebs {
        Ok(enabled) => {
            data.ebs_default = enabled;
            data.coverage
                .push(("ec2/ebs-default".to_string(), vec![], false));
        }
        Err(e) => data
            .coverage
            .push(("ec2/ebs-default".to_string(), vec![e], false)),
    }
    match trails {
        Ok(t) => {
            done("cloudtrail", true);
            data.trails = t;
            data.coverage
                .push(("cloudtrail".to_string(), vec![], false));
        }
        Err(e) => {
            done("cloudtrail", false);
            data.coverage
                .push(("cloudtrail".to_string(), vec![e], false));
        }
    }

    // Second phase: what depends on the clusters and instances.
    let clusters = data.clusters.clone();
    let per_cluster = join_all(clusters.iter().map(|c| {
        let eks = &eks;
        async move {
            let (pods, entries) = tokio::join!(
                collect::pod_identities(eks, limiter, &c.name),
                collect::access_entries(eks, limiter, &c.name),
            );
            (c.arn.clone(), pods, entries)
        }
    }))
    .await;
    let mut pod_errors = Vec::new();
    let mut entry_errors = Vec::new();
    for (arn, pods, entries) in per_cluster {
        match pods {
            Ok(p) => {
                data.pod_identities.insert(arn.clone(), Some(p));
            }
            Err(e) => {
                data.pod_identities.insert(arn.clone(), None);
                pod_errors.push(e);
            }
        }
        match entries {
            Ok(e) => {
                data.access_entries.insert(arn, Some(e));
            }
            Err(e) => {
                data.access_entries.insert(arn, None);
                entry_errors.push(e);
            }
        }
    }
    dedup_errors(&mut pod_errors);
    dedup_errors(&mut entry_errors);
    done("eks/pod-identity", pod_errors.is_empty());
    let pod_ok = data.pod_identities.values().any(Option::is_some);
    data.coverage
        .push(("eks/pod-identity".to_string(), pod_errors, pod_ok));
    let entries_ok = data.access_entries.values().any(Option::is_some);
    data.coverage
        .push(("eks/access-entries".to_string(), entry_errors, entries_ok));

    // Launch templates of node groups.
    let mut refs: BTreeSet<collect::LaunchTemplateRef> = BTreeSet::new();
    for c in &clusters {
        for ng in &c.nodegroups {
            if let Some(r) = &ng.launch_template {
                refs.insert(r.clone());
            }
        }
    }
    let node_ids: Vec<String> = data
        .instances
        .iter()
        .filter(|i| normalize::instance_cluster(i).is_some())
        .map(|i| i.id.clone())
        .collect();
    let keys: BTreeSet<String> = clusters
        .iter()
        .flat_map(|c| c.encryption.iter().filter_map(|(_, k)| k.clone()))
        .collect();
    let (lts, vols, key_results) = tokio::join!(
        join_all(
            refs.iter()
                .map(|r| collect::launch_template_version(&ec2, limiter, region, r))
        ),
        async {
            if node_ids.is_empty() {
                Ok(Vec::new())
            } else {
                collect::volumes(&ec2, limiter, region, &node_ids).await
            }
        },
        join_all(keys.iter().map(|k| collect::kms_key(&kms, limiter, k))),
    );
    for lt in lts {
        match lt {
            Ok(Some(v)) => data.launch_templates.push(v),
            Ok(None) => {}
            Err(e) => ec2_errors.push(e),
        }
    }
    match vols {
        Ok(v) => data.volumes = v,
        Err(e) => ec2_errors.push(e),
    }
    let mut kms_errors = Vec::new();
    for k in key_results {
        match k {
            Ok(k) => data.keys.push(k),
            Err(e) => kms_errors.push(e),
        }
    }
    done("ec2", ec2_errors.is_empty());
    let ec2_partial = !data.instances.is_empty();
    data.coverage
        .push(("ec2".to_string(), ec2_errors, ec2_partial));
    let kms_partial = !data.keys.is_empty();
    data.coverage
        .push(("kms".to_string(), kms_errors, kms_partial));
    data
}

fn dedup_errors(errors: &mut Vec<CollectError>) {
    let mut seen = BTreeSet::new();
    errors.retain(|e| seen.insert(e.to_string()));
}

/// Turns a failed sts:GetCallerIdentity into the one clear line a user needs.
fn credentials_error(opts: &ScanOptions, e: CollectError) -> AwsError {
    if e.kind != FailureKind::Credentials {
        return AwsError::CallerIdentity(e);
    }
    // An API answer such as InvalidClientTokenId means credentials were found but rejected.
    if e.code.is_some() {
        return AwsError::BadCredentials(e.to_string());
    }
    if let Some(profile) = &opts.profile {
        let files = profile_files();
        let defined = files.iter().any(|(path, is_config)| {
            std::fs::read_to_string(path).is_ok_and(|text| {
                text.lines().any(|line| {
                    let l = line.trim();
                    l == format!("[{profile}]")
                        || (*is_config && l == format!("[profile {profile}]"))
                })
            })
        });
        if !defined {
            return AwsError::UnknownProfile {
                profile: profile.clone(),
                files: files
                    .iter()
                    .map(|(p, _)| format!("`{}`", p.display()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
        }
    }
    AwsError::NoCredentials {
        hint: opts
            .profile
            .as_ref()
            .map(|p| format!(" for profile `{p}`"))
            .unwrap_or_default(),
    }
}

/// The shared config and credentials files aws-config reads: (path, is the config file).
fn profile_files() -> Vec<(PathBuf, bool)> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/config"));
    let credentials = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/credentials"));
    vec![(config, true), (credentials, false)]
}

/// Runs a whole AWS scan and normalizes it.
/// Who one account scan runs as and for.
struct AccountTarget<'a> {
    config: &'a SdkConfig,
    account: String,
    partition: String,
    caller: String,
    home_region: &'a str,
}

/// Scans one account (IAM, every region, and in organization scans its resource policies) and
/// normalizes it. `coverage` may already hold entries of this account (region discovery).
async fn scan_account(
    target: &AccountTarget<'_>,
    regions: &[String],
    limiter: &Limiter,
    progress: &ProgressFn,
    resource_policies: bool,
    mut coverage: CoverageLog,
) -> Inventory {
    let config = target.config;
    let iam_config = config
        .to_builder()
        .region(Region::new(iam_region(target.home_region)))
        .build();
    let iam = aws_sdk_iam::Client::new(&iam_config);
    let iam_task = async {
        let (raw, errors) = collect::iam(&iam, limiter).await;
        progress(Progress::Done {
            task: "iam".into(),
            ok: errors.is_empty(),
        });
        let (oidc, oidc_errors) = collect::oidc_providers(&iam, limiter).await;
        progress(Progress::Done {
            task: "iam/oidc".into(),
            ok: oidc_errors.is_empty(),
        });
        (raw, errors, oidc, oidc_errors)
    };
    let regions_task = join_all(
        regions
            .iter()
            .map(|r| scan_region(config, r, limiter, progress)),
    );
    let resources_task = async {
        if resource_policies {
            Some(
                resources::collect(
                    config,
                    &target.account,
                    target.home_region,
                    regions,
                    limiter,
                )
                .await,
            )
        } else {
            None
        }
    };
    let ((raw_iam, iam_errors, oidc, oidc_errors), region_data, resource_data) =
        tokio::join!(iam_task, regions_task, resources_task);

    let iam_failed_outright = !iam_errors.is_empty() && raw_iam.roles.is_empty();
    coverage.record("iam", "global", &iam_errors, !raw_iam.roles.is_empty());
    let oidc_failed = oidc_errors
        .iter()
        .any(|e| e.operation == "iam:ListOpenIDConnectProviders");
    coverage.record("iam/oidc", "global", &oidc_errors, !oidc.is_empty());

    let mut raw = normalize::RawScan {
        account: target.account.clone(),
        partition: target.partition.clone(),
        caller: target.caller.clone(),
        regions: regions.to_vec(),
        iam: if iam_failed_outright {
            None
        } else {
            Some(raw_iam)
        },
        oidc: if oidc_failed { None } else { Some(oidc) },
        ..Default::default()
    };
    let mut by_service: BTreeMap<(String, String), (Vec<CollectError>, bool)> = BTreeMap::new();
    // Trail ARN -> (trail, region to read its status and selectors in).
    let mut trails: BTreeMap<String, (collect::RawTrail, String)> = BTreeMap::new();
    for (region, data) in regions.iter().zip(region_data) {
        for t in &data.trails {
            // A multi-region trail shows up in every region; read it once, in its home region
            // when that was scanned, else in the first region it was seen in.
            let read_in = t
                .home_region
                .clone()
                .filter(|h| regions.contains(h))
                .unwrap_or_else(|| region.clone());
            trails
                .entry(t.arn.clone())
                .or_insert_with(|| (t.clone(), read_in));
        }
        raw.clusters.extend(data.clusters);
        raw.pod_identities.extend(data.pod_identities);
        raw.access_entries.extend(data.access_entries);
        raw.instances.extend(data.instances);
        raw.volumes.extend(data.volumes);
        raw.ebs_defaults.push((region.clone(), data.ebs_default));
        raw.launch_templates.extend(data.launch_templates);
        raw.keys.extend(data.keys);
        for (service, errors, partial) in data.coverage {
            by_service.insert((service, region.clone()), (errors, partial));
        }
    }
    // Trail status and selectors, once per trail, in the region it is read from.
    let details = join_all(trails.into_values().map(|(trail, read_in)| {
        let client = aws_sdk_cloudtrail::Client::new(
            &config
                .to_builder()
                .region(Region::new(read_in.clone()))
                .build(),
        );
        async move {
            (
                read_in,
                collect::trail_details(&client, limiter, trail).await,
            )
        }
    }))
    .await;
    for (read_in, (trail, errors)) in details {
        if !errors.is_empty() {
            let entry = by_service
                .entry(("cloudtrail".to_string(), read_in))
                .or_default();
            entry.0.extend(errors);
            entry.1 = true;
        }
        raw.trails.push(trail);
    }
    for ((service, region), (errors, partial)) in by_service {
        coverage.record(&service, &region, &errors, partial);
    }
    if let Some(data) = &resource_data {
        for (service, region, errors, partial) in &data.coverage {
            coverage.record(service, region, errors, *partial);
        }
    }
    raw.coverage = coverage.into_entries();
    let mut inventory = normalize::normalize(raw);
    if let Some(data) = resource_data {
        inventory.resource_policies = data.policies;
        inventory
            .account_public_access_blocks
            .extend(data.account_public_access_block);
    }
    inventory
}

/// Runs a whole AWS scan and normalizes it: the caller's account, or with
/// [`ScanOptions::organization`] every selected account of the organization.
pub async fn scan(opts: &ScanOptions, progress: ProgressFn) -> Result<ScanOutput, AwsError> {
    let session = session(opts, &progress).await?;
    let limiter = Limiter::new(opts.collect.concurrency());
    let config = &session.config;

    let sts = aws_sdk_sts::Client::new(config);
    let identity = collect::caller_identity(&sts, &limiter)
        .await
        .map_err(|e| credentials_error(opts, e))?;
    progress(Progress::Authenticated {
        cloud: "aws",
        principal: Some(identity.arn.clone()),
        method: None,
    });
    let mut coverage = CoverageLog::new(&identity.account);

    let recorded_regions = session
        .scenario
        .as_ref()
        .and_then(|s| s.params.regions.clone());
    let regions: Vec<String> = if !opts.regions.is_empty() {
        opts.regions.clone()
    } else if let Some(regions) = recorded_regions {
        regions
    } else {
        let ec2 = aws_sdk_ec2::Client::new(config);
        match collect::enabled_regions(&ec2, &limiter).await {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => vec![session.home_region.clone()],
            Err(e) => {
                coverage.record("ec2/regions", "global", &[e], false);
                vec![session.home_region.clone()]
            }
        }
    };
    let caller = AccountTarget {
        config,
        account: identity.account.clone(),
        partition: partition_of(&identity.arn),
        caller: identity.arn.clone(),
        home_region: &session.home_region,
    };

    let (inventory, members) = match &opts.organization {
        None => {
            progress(Progress::Plan {
                unit: "region",
                scopes: regions.clone(),
                tasks: 2 + regions.len() * 4,
            });
            let inventory =
                scan_account(&caller, &regions, &limiter, &progress, false, coverage).await;
            (inventory, Vec::new())
        }
        Some(org) => {
            organization::scan(
                &session, opts, org, &caller, &sts, &regions, &limiter, &progress, coverage,
            )
            .await?
        }
    };

    let recorded = match (&session.recorder, &opts.collect.record) {
        (Some(recorder), Some(dir)) => {
            let params = |home_region: &str| fixture::AwsParams {
                home_region: Some(home_region.to_string()),
                regions: (!opts.regions.is_empty()).then(|| opts.regions.clone()),
            };
            let scenario = fixture::AwsScenario::recorded(
                format!("recorded scan of account {} by cloudscan", identity.account),
                params(&session.home_region),
            );
            let mut written = recorder.write(dir, &scenario)?;
            if opts.organization.is_some() {
                let accounts_dir = dir.join(organization::ACCOUNTS_DIR);
                organization::clear_member_recordings(&accounts_dir)?;
                for (account, member) in &members {
                    let scenario = fixture::AwsScenario::recorded(
                        format!(
                            "account {account} of the organization scan by {}, through the member role",
                            identity.account
                        ),
                        params(&session.home_region),
                    );
                    written += member.write(&accounts_dir.join(account), &scenario)?;
                }
            }
            Some(written)
        }
        _ => None,
    };
    Ok(ScanOutput {
        inventory,
        recorded,
    })
}
