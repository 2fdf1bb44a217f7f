//! Collectors: read-only AWS API calls through the real SDK clients, reduced at once to small raw
//! records (no SDK type leaves this module). Every list call is paginated.

use crate::error::{classify, CollectError};
use aws_sdk_ec2::types::Filter;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use cloudscan_collect::PageGuard;
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Bounds how many API calls run at once across the whole scan, and spaces them by the
/// per-service token buckets of [`cloudscan_collect::ratelimit`] (`--max-rps`, adaptive backoff).
/// A member account of an organization scan has buckets of its own ([`Limiter::for_account`]):
/// AWS's limits are per account (and Region), so accounts scanned at once do not share one.
#[derive(Clone)]
pub struct Limiter(Arc<Semaphore>, Option<Arc<str>>);

impl Limiter {
    pub fn new(n: usize) -> Self {
        Limiter(Arc::new(Semaphore::new(n.max(1))), None)
    }

    /// The same scan-wide call slots, with the token buckets of `account`.
    pub fn for_account(&self, account: &str) -> Self {
        Limiter(self.0.clone(), Some(Arc::from(account)))
    }

    fn key(&self, op: &str) -> String {
        let key = cloudscan_collect::ratelimit::aws_key(op);
        match &self.1 {
            Some(account) => format!("{key}/{account}"),
            None => key,
        }
    }

    /// Waits for the bucket of `op`'s service (`iam:GetPolicy` -> `aws:iam`), then for a slot.
    pub(crate) async fn permit(&self, op: &str) -> Option<tokio::sync::SemaphorePermit<'_>> {
        cloudscan_collect::ratelimit::global()
            .acquire(&self.key(op))
            .await;
        self.0.acquire().await.ok()
    }

    /// Feeds an answer back to `op`'s bucket: a throttling error (after the SDK's own retries)
    /// lowers its rate, a success raises it slowly.
    pub(crate) fn observe(&self, op: &str, error: Option<&CollectError>) {
        let limits = cloudscan_collect::ratelimit::global();
        let key = self.key(op);
        match error {
            Some(e) if e.kind == cloudscan_collect::FailureKind::Throttled => {
                limits.throttled(&key)
            }
            Some(_) => {}
            None => limits.succeeded(&key),
        }
    }
}

/// Per-item fan-out inside one collector (describe calls for each listed item).
pub(crate) const FAN_OUT: usize = 8;

macro_rules! call {
    ($limiter:expr, $op:expr, $fut:expr) => {{
        let _permit = $limiter.permit($op).await;
        let result = $fut.await.map_err(|e| $crate::error::classify($op, &e));
        $limiter.observe($op, result.as_ref().err());
        result
    }};
}
pub(crate) use call;

/// Reads every page of an SDK paginator under the limiter. Returns the pages read and the error
/// that ended the listing early: a failed call, or a continuation token seen before / too many
/// pages (the SDK's own duplicate check only compares a token with the one before it, and stops
/// silently).
pub(crate) async fn all_pages<T, E, R>(
    mut pages: PaginationStream<Result<T, SdkError<E, R>>>,
    limiter: &Limiter,
    op: &str,
    next_token: impl Fn(&T) -> Option<&str>,
) -> (Vec<T>, Option<CollectError>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + crate::error::HasStatus + 'static,
{
    let mut guard = PageGuard::new(op, "");
    let mut out = Vec::new();
    loop {
        let page = {
            let _permit = limiter.permit(op).await;
            pages.next().await
        };
        match page {
            None => return (out, None),
            Some(Err(e)) => {
                let e = classify(op, &e);
                limiter.observe(op, Some(&e));
                return (out, Some(e));
            }
            Some(Ok(page)) => {
                limiter.observe(op, None);
                let next = guard.next(next_token(&page));
                out.push(page);
                if let Err(e) = next {
                    return (out, Some(e));
                }
            }
        }
    }
}

/// [`all_pages`] for a listing that is useless unless complete: the pages, or the error that
/// ended it.
pub(crate) async fn every_page<T, E, R>(
    pages: PaginationStream<Result<T, SdkError<E, R>>>,
    limiter: &Limiter,
    op: &str,
    next_token: impl Fn(&T) -> Option<&str>,
) -> Result<Vec<T>, CollectError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + crate::error::HasStatus + 'static,
{
    match all_pages(pages, limiter, op, next_token).await {
        (_, Some(e)) => Err(e),
        (pages, None) => Ok(pages),
    }
}

// ---------------------------------------------------------------------------------------------
// STS

pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

pub async fn caller_identity(
    client: &aws_sdk_sts::Client,
    limiter: &Limiter,
) -> Result<CallerIdentity, CollectError> {
    let out = call!(
        limiter,
        "sts:GetCallerIdentity",
        client.get_caller_identity().send()
    )?;
    let account = out.account().unwrap_or_default().to_string();
    if account.is_empty() {
        return Err(CollectError::malformed(
            "sts:GetCallerIdentity",
            "",
            "the response has no Account",
        ));
    }
    Ok(CallerIdentity {
        account,
        arn: out.arn().unwrap_or_default().to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// EC2 regions

pub async fn enabled_regions(
    client: &aws_sdk_ec2::Client,
    limiter: &Limiter,
) -> Result<Vec<String>, CollectError> {
    let out = call!(
        limiter,
        "ec2:DescribeRegions",
        client.describe_regions().send()
    )?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

// ---------------------------------------------------------------------------------------------
// IAM

#[derive(Debug, Clone, Default)]
pub struct RawRole {
    pub arn: String,
    pub name: String,
    pub trust: Option<String>,
    pub inline: Vec<(String, String)>,
    /// (name, arn)
    pub managed: Vec<(String, String)>,
    pub boundary: Option<String>,
    pub instance_profiles: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub arn: String,
    pub name: String,
    pub default_version: Option<String>,
    pub document: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawIam {
    pub roles: Vec<RawRole>,
    pub policies: BTreeMap<String, RawPolicy>,
}

/// Roles and customer-managed policies through GetAccountAuthorizationDetails, then the
/// AWS-managed policies those roles use (GetPolicy + GetPolicyVersion: the unfiltered call would
/// return every AWS-managed policy in existence).
pub async fn iam(client: &aws_sdk_iam::Client, limiter: &Limiter) -> (RawIam, Vec<CollectError>) {
    use aws_sdk_iam::types::EntityType;
    let mut raw = RawIam::default();
    let mut errors = Vec::new();
    let mut marker: Option<String> = None;
    let op = "iam:GetAccountAuthorizationDetails";
    let mut guard = PageGuard::new(op, "");
    loop {
        let request = client
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .set_marker(marker.clone());
        let page = match call!(limiter, op, request.send()) {
            Ok(page) => page,
            Err(e) => {
                errors.push(e);
                break;
            }
        };
        for role in page.role_detail_list() {
            let Some(arn) = role.arn() else {
                errors.push(CollectError::malformed(
                    op,
                    "",
                    "a role without Arn was left out",
                ));
                continue;
            };
            raw.roles.push(RawRole {
                arn: arn.to_string(),
                name: role.role_name().unwrap_or_default().to_string(),
                trust: role.assume_role_policy_document().map(str::to_string),
                inline: role
                    .role_policy_list()
                    .iter()
                    .map(|p| {
                        (
                            p.policy_name().unwrap_or_default().to_string(),
                            p.policy_document().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                managed: role
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|p| {
                        let arn = p.policy_arn()?.to_string();
                        let name = p
                            .policy_name()
                            .map(str::to_string)
                            .unwrap_or_else(|| name_from_arn(&arn));
                        Some((name, arn))
                    })
                    .collect(),
                boundary: role
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                instance_profiles: role
                    .instance_profile_list()
                    .iter()
                    .map(|p| p.arn().to_string())
                    .collect(),
            });
        }
        for policy in page.policies() {
            let Some(arn) = policy.arn() else {
                errors.push(CollectError::malformed(
                    op,
                    "",
                    "a managed policy without Arn was left out",
                ));
                continue;
            };
            let default_version = policy.default_version_id().map(str::to_string);
            let document = policy
                .policy_version_list()
                .iter()
                .find(|v| {
                    v.is_default_version()
                        || (default_version.is_some()
                            && v.version_id() == default_version.as_deref())
                })
                .and_then(|v| v.document())
                .map(str::to_string);
            raw.policies.insert(
                arn.to_string(),
                RawPolicy {
                    arn: arn.to_string(),
                    // moto omits PolicyName; the ARN always ends with it.
                    name: policy
                        .policy_name()
                        .map(str::to_string)
                        .unwrap_or_else(|| name_from_arn(arn)),
                    default_version,
                    document,
                },
            );
        }
        if page.is_truncated() {
            match page.marker() {
                // A Marker seen before would make the listing loop forever.
                Some(m) if !m.is_empty() => match guard.next(Some(m)) {
                    Ok(_) => marker = Some(m.to_string()),
                    Err(e) => {
                        errors.push(e);
                        break;
                    }
                },
                _ => {
                    errors.push(CollectError::malformed(
                        op,
                        "",
                        "a page says IsTruncated=true but carries no Marker; later pages could not be read",
                    ));
                    break;
                }
            }
        } else {
            break;
        }
    }

    // Managed policies referenced by roles (as attachments or boundaries) but not returned above:
    // AWS-managed ones.
    let mut wanted: Vec<String> = raw
        .roles
        .iter()
        .flat_map(|r| {
            r.managed
                .iter()
                .map(|(_, arn)| arn.clone())
                .chain(r.boundary.clone())
        })
        .filter(|arn| !raw.policies.contains_key(arn))
        .collect();
    wanted.sort();
    wanted.dedup();
    let fetched: Vec<Result<RawPolicy, CollectError>> = stream::iter(wanted)
        .map(|arn| async move { managed_policy(client, limiter, &arn).await })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    for result in fetched {
        match result {
            Ok(policy) => {
                raw.policies.insert(policy.arn.clone(), policy);
            }
            Err(e) => errors.push(e),
        }
    }
    raw.roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    (raw, errors)
}

async fn managed_policy(
    client: &aws_sdk_iam::Client,
    limiter: &Limiter,
    arn: &str,
) -> Result<RawPolicy, CollectError> {
    let out = call!(
        limiter,
        "iam:GetPolicy",
        client.get_policy().policy_arn(arn).send()
    )?;
    let policy = out.policy();
    let default_version = policy
        .and_then(|p| p.default_version_id())
        .map(str::to_string);
    let name = policy
        .and_then(|p| p.policy_name())
        .map(str::to_string)
        .unwrap_or_else(|| name_from_arn(arn));
    let Some(version) = default_version.clone() else {
        return Err(CollectError::malformed(
            "iam:GetPolicy",
            "",
            format!("policy `{arn}` has no DefaultVersionId"),
        ));
    };
    let out = call!(
        limiter,
        "iam:GetPolicyVersion",
        client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
    )?;
    let Some(document) = out.policy_version().and_then(|v| v.document()) else {
        return Err(CollectError::malformed(
            "iam:GetPolicyVersion",
            "",
            format!("policy `{arn}` version {version} has no Document"),
        ));
    };
    Ok(RawPolicy {
        arn: arn.to_string(),
        name,
        default_version,
        document: Some(document.to_string()),
    })
}

fn name_from_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

#[derive(Debug, Clone)]
pub struct RawOidc {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
}

pub async fn oidc_providers(
    client: &aws_sdk_iam::Client,
    limiter: &Limiter,
) -> (Vec<RawOidc>, Vec<CollectError>) {
    let list = match call!(
        limiter,
        "iam:ListOpenIDConnectProviders",
        client.list_open_id_connect_providers().send()
    ) {
        Ok(list) => list,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let arns: Vec<String> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect();
    let mut unnamed = Vec::new();
    if arns.len() < list.open_id_connect_provider_list().len() {
        unnamed.push(CollectError::malformed(
            "iam:ListOpenIDConnectProviders",
            "",
            "a provider without Arn was left out",
        ));
    }
    let results: Vec<Result<RawOidc, CollectError>> = stream::iter(arns)
        .map(|arn| async move {
            let out = call!(
                limiter,
                "iam:GetOpenIDConnectProvider",
                client
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(&arn)
                    .send()
            )?;
            Ok(RawOidc {
                url: out
                    .url()
                    .map(|u| u.trim_start_matches("https://").to_string())
                    .unwrap_or_else(|| {
                        arn.split_once(":oidc-provider/")
                            .map(|(_, u)| u.to_string())
                            .unwrap_or_default()
                    }),
                client_ids: out.client_id_list().to_vec(),
                arn,
            })
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let (ok, mut errors) = split_results(results);
    errors.extend(unnamed);
    (ok, errors)
}

pub(crate) fn split_results<T>(
    results: Vec<Result<T, CollectError>>,
) -> (Vec<T>, Vec<CollectError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

// ---------------------------------------------------------------------------------------------
// EKS

#[derive(Debug, Clone, Default)]
pub struct RawCluster {
    pub region: String,
    pub name: String,
    pub arn: String,
    pub version: Option<String>,
    pub public_access: Option<bool>,
    pub private_access: Option<bool>,
    pub public_cidrs: Vec<String>,
    pub vpc_config_present: bool,
    /// (resources, key ARN)
    pub encryption: Vec<(Vec<String>, Option<String>)>,
    /// (types, enabled); None when the response has no `logging`.
    pub logging: Option<Vec<(Vec<String>, Option<bool>)>>,
    pub issuer: Option<String>,
    pub auth_mode: Option<String>,
    pub tags: Vec<(String, String)>,
    pub nodegroups: Vec<RawNodegroup>,
    /// The API server URL (`cluster.endpoint`).
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawNodegroup {
    pub cluster: String,
    pub name: String,
    pub arn: Option<String>,
    pub node_role: Option<String>,
    /// (id or name, version)
    pub launch_template: Option<LaunchTemplateRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaunchTemplateRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RawPodIdentity {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: Option<String>,
    pub target_role_arn: Option<String>,
    /// The association's session policy, as the API returns it (a JSON string).
    pub policy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RawAccessEntry {
    pub cluster: String,
    pub principal: String,
    pub kind: Option<String>,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

/// Lists and describes every cluster in the region, with its node groups.
pub async fn eks_clusters(
    client: &aws_sdk_eks::Client,
    limiter: &Limiter,
    region: &str,
) -> (Vec<RawCluster>, Vec<CollectError>) {
    let mut names = Vec::new();
    let mut errors = Vec::new();
    let (pages, error) = all_pages(
        client.list_clusters().into_paginator().send(),
        limiter,
        "eks:ListClusters",
        |p| p.next_token(),
    )
    .await;
    errors.extend(error);
    for page in pages {
        names.extend(page.clusters().iter().cloned());
    }
    let results: Vec<(Option<RawCluster>, Vec<CollectError>)> = stream::iter(names)
        .map(|name| async move { eks_cluster(client, limiter, region, &name).await })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let mut clusters = Vec::new();
    for (cluster, errs) in results {
        clusters.extend(cluster);
        errors.extend(errs);
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    (clusters, errors)
}

async fn eks_cluster(
    client: &aws_sdk_eks::Client,
    limiter: &Limiter,
    region: &str,
    name: &str,
) -> (Option<RawCluster>, Vec<CollectError>) {
    let mut errors = Vec::new();
    let out = match call!(
        limiter,
        "eks:DescribeCluster",
        client.describe_cluster().name(name).send()
    ) {
        Ok(out) => out,
        Err(e) => return (None, vec![e]),
    };
    let Some(c) = out.cluster() else {
        return (
            None,
            vec![CollectError::malformed(
                "eks:DescribeCluster",
                "",
                format!("the response for `{name}` has no cluster"),
            )],
        );
    };
    let vpc = c.resources_vpc_config();
    let mut raw = RawCluster {
        region: region.to_string(),
        name: c.name().unwrap_or(name).to_string(),
        arn: c.arn().unwrap_or_default().to_string(),
        endpoint: c.endpoint().map(str::to_string),
        version: c.version().map(str::to_string),
        // The SDK reads an absent flag as false; EKS always sends both.
        public_access: vpc.map(|v| v.endpoint_public_access()),
        private_access: vpc.map(|v| v.endpoint_private_access()),
        public_cidrs: vpc
            .map(|v| v.public_access_cidrs().to_vec())
            .unwrap_or_default(),
        vpc_config_present: vpc.is_some(),
        // `resources` is deprecated in the model but still returned; `secrets` is its one value.
        #[allow(deprecated)]
        encryption: c
            .encryption_config()
            .iter()
            .map(|e| {
                (
                    e.resources().to_vec(),
                    e.provider().and_then(|p| p.key_arn()).map(str::to_string),
                )
            })
            .collect(),
        logging: c.logging().map(|l| {
            l.cluster_logging()
                .iter()
                .map(|setup| {
                    (
                        setup
                            .types()
                            .iter()
                            .map(|t| t.as_str().to_string())
                            .collect(),
                        setup.enabled(),
                    )
                })
                .collect()
        }),
        issuer: c
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .map(str::to_string),
        auth_mode: c
            .access_config()
            .and_then(|a| a.authentication_mode())
            .map(|m| m.as_str().to_string()),
        tags: c
            .tags()
            .map(|t| {
                let mut v: Vec<(String, String)> =
                    t.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                v.sort();
                v
            })
            .unwrap_or_default(),
        nodegroups: Vec::new(),
    };
    if raw.arn.is_empty() {
        errors.push(CollectError::malformed(
            "eks:DescribeCluster",
            "",
            format!("cluster `{name}` has no arn"),
        ));
    }

    let mut ng_names = Vec::new();
    let (pages, error) = all_pages(
        client
            .list_nodegroups()
            .cluster_name(name)
            .into_paginator()
            .send(),
        limiter,
        "eks:ListNodegroups",
        |p| p.next_token(),
    )
    .await;
    errors.extend(error);
    for page in pages {
        ng_names.extend(page.nodegroups().iter().cloned());
    }
    let results: Vec<Result<RawNodegroup, CollectError>> = stream::iter(ng_names)
        .map(|ng| async move {
            let out = call!(
                limiter,
                "eks:DescribeNodegroup",
                client
                    .describe_nodegroup()
                    .cluster_name(name)
                    .nodegroup_name(&ng)
                    .send()
            )?;
            let g = out.nodegroup().ok_or_else(|| {
                CollectError::malformed(
                    "eks:DescribeNodegroup",
                    "",
                    format!("the response for `{ng}` has no nodegroup"),
                )
            })?;
            Ok(RawNodegroup {
                cluster: name.to_string(),
                name: g.nodegroup_name().unwrap_or(&ng).to_string(),
                arn: g.nodegroup_arn().map(str::to_string),
                node_role: g.node_role().map(str::to_string),
                launch_template: g.launch_template().map(|lt| LaunchTemplateRef {
                    id: lt.id().map(str::to_string),
                    name: lt.name().map(str::to_string),
                    version: lt.version().map(str::to_string),
                }),
            })
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let (mut nodegroups, errs) = split_results(results);
    nodegroups.sort_by(|a, b| a.name.cmp(&b.name));
    raw.nodegroups = nodegroups;
    errors.extend(errs);
    (Some(raw), errors)
}

/// Pod Identity associations of one cluster (with the role each one grants).
pub async fn pod_identities(
    client: &aws_sdk_eks::Client,
    limiter: &Limiter,
    cluster: &str,
) -> Result<Vec<RawPodIdentity>, CollectError> {
    let mut ids = Vec::new();
    let pages = every_page(
        client
            .list_pod_identity_associations()
            .cluster_name(cluster)
            .into_paginator()
            .send(),
        limiter,
        "eks:ListPodIdentityAssociations",
        |p| p.next_token(),
    )
    .await?;
    for page in pages {
        ids.extend(
            page.associations()
                .iter()
                .filter_map(|a| a.association_id().map(str::to_string)),
        );
    }
    let results: Vec<Result<RawPodIdentity, CollectError>> = stream::iter(ids)
        .map(|id| async move {
            let out = call!(
                limiter,
                "eks:DescribePodIdentityAssociation",
                client
                    .describe_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(&id)
                    .send()
            )?;
            let a = out.association().ok_or_else(|| {
                CollectError::malformed(
                    "eks:DescribePodIdentityAssociation",
                    "",
                    format!("the response for `{id}` has no association"),
                )
            })?;
            Ok(RawPodIdentity {
                cluster: cluster.to_string(),
                namespace: a.namespace().unwrap_or_default().to_string(),
                service_account: a.service_account().unwrap_or_default().to_string(),
                role_arn: a.role_arn().map(str::to_string),
                target_role_arn: a.target_role_arn().map(str::to_string),
                policy: a.policy().map(str::to_string),
            })
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let (mut ok, errors) = split_results(results);
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    ok.sort_by(|a, b| (&a.namespace, &a.service_account).cmp(&(&b.namespace, &b.service_account)));
    Ok(ok)
}

/// Access entries of one cluster.
pub async fn access_entries(
    client: &aws_sdk_eks::Client,
    limiter: &Limiter,
    cluster: &str,
) -> Result<Vec<RawAccessEntry>, CollectError> {
    let mut principals = Vec::new();
    let pages = every_page(
        client
            .list_access_entries()
            .cluster_name(cluster)
            .into_paginator()
            .send(),
        limiter,
        "eks:ListAccessEntries",
        |p| p.next_token(),
    )
    .await?;
    for page in pages {
        principals.extend(page.access_entries().iter().cloned());
    }
    let results: Vec<Result<RawAccessEntry, CollectError>> = stream::iter(principals)
        .map(|principal| async move {
            let out = call!(
                limiter,
                "eks:DescribeAccessEntry",
                client
                    .describe_access_entry()
                    .cluster_name(cluster)
                    .principal_arn(&principal)
                    .send()
            )?;
            let Some(entry) = out.access_entry() else {
                return Err(CollectError::malformed(
                    "eks:DescribeAccessEntry",
                    "",
                    format!("the response for `{principal}` has no accessEntry"),
                ));
            };
            let e = Some(entry);
            Ok(RawAccessEntry {
                cluster: cluster.to_string(),
                kind: e.and_then(|e| e.r#type()).map(str::to_string),
                username: e.and_then(|e| e.username()).map(str::to_string),
                groups: e
                    .map(|e| e.kubernetes_groups().to_vec())
                    .unwrap_or_default(),
                principal,
            })
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let (mut ok, errors) = split_results(results);
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    ok.sort_by(|a, b| a.principal.cmp(&b.principal));
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// EC2

#[derive(Debug, Clone, Default)]
pub struct RawInstance {
    pub region: String,
    pub id: String,
    pub state: Option<String>,
    pub profile_arn: Option<String>,
    pub http_tokens: Option<String>,
    pub hop_limit: Option<i32>,
    pub http_endpoint: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// Every instance in the region that is not terminated; cluster nodes are picked out by tags
/// during normalization.
pub async fn instances(
    client: &aws_sdk_ec2::Client,
    limiter: &Limiter,
    region: &str,
) -> Result<Vec<RawInstance>, CollectError> {
    let mut out = Vec::new();
    let pages = every_page(
        client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .values("stopping")
                    .values("stopped")
                    .build(),
            )
            .into_paginator()
            .send(),
        limiter,
        "ec2:DescribeInstances",
        |p| p.next_token(),
    )
    .await?;
    for page in pages {
        for reservation in page.reservations() {
            for i in reservation.instances() {
                let Some(id) = i.instance_id() else {
                    return Err(CollectError::malformed(
                        "ec2:DescribeInstances",
                        region,
                        "an instance without instanceId",
                    ));
                };
                let md = i.metadata_options();
                out.push(RawInstance {
                    region: region.to_string(),
                    id: id.to_string(),
                    state: i
                        .state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_string()),
                    profile_arn: i
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                    http_tokens: md
                        .and_then(|m| m.http_tokens())
                        .map(|t| t.as_str().to_string()),
                    hop_limit: md.and_then(|m| m.http_put_response_hop_limit()),
                    http_endpoint: md
                        .and_then(|m| m.http_endpoint())
                        .map(|t| t.as_str().to_string()),
                    tags: i
                        .tags()
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.key()?.to_string(),
                                t.value().unwrap_or_default().to_string(),
                            ))
                        })
                        .collect(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct RawVolume {
    pub region: String,
    pub id: String,
    pub encrypted: Option<bool>,
    pub kms_key: Option<String>,
    pub attached_to: Vec<String>,
}

/// The volumes attached to the given instances (queried in chunks by attachment filter).
pub async fn volumes(
    client: &aws_sdk_ec2::Client,
    limiter: &Limiter,
    region: &str,
    instance_ids: &[String],
) -> Result<Vec<RawVolume>, CollectError> {
    let mut out = Vec::new();
    for chunk in instance_ids.chunks(100) {
        let mut filter = Filter::builder().name("attachment.instance-id");
        for id in chunk {
            filter = filter.values(id);
        }
        let pages = every_page(
            client
                .describe_volumes()
                .filters(filter.build())
                .into_paginator()
                .send(),
            limiter,
            "ec2:DescribeVolumes",
            |p| p.next_token(),
        )
        .await?;
        for page in pages {
            for v in page.volumes() {
                let Some(id) = v.volume_id() else {
                    return Err(CollectError::malformed(
                        "ec2:DescribeVolumes",
                        region,
                        "a volume without volumeId",
                    ));
                };
                out.push(RawVolume {
                    region: region.to_string(),
                    id: id.to_string(),
                    encrypted: v.encrypted(),
                    kms_key: v.kms_key_id().map(str::to_string),
                    attached_to: v
                        .attachments()
                        .iter()
                        .filter_map(|a| a.instance_id().map(str::to_string))
                        .collect(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

pub async fn ebs_encryption_default(
    client: &aws_sdk_ec2::Client,
    limiter: &Limiter,
) -> Result<Option<bool>, CollectError> {
    let out = call!(
        limiter,
        "ec2:GetEbsEncryptionByDefault",
        client.get_ebs_encryption_by_default().send()
    )?;
    match out.ebs_encryption_by_default() {
        Some(enabled) => Ok(Some(enabled)),
        None => Err(CollectError::malformed(
            "ec2:GetEbsEncryptionByDefault",
            "",
            "the response has no EbsEncryptionByDefault",
        )),
    }
}

#[derive(Debug, Clone, Default)]
pub struct RawLaunchTemplateVersion {
    pub region: String,
    pub id: String,
    pub name: Option<String>,
    pub version: Option<i64>,
    pub http_tokens: Option<String>,
    pub hop_limit: Option<i32>,
    pub http_endpoint: Option<String>,
    pub profile_arn: Option<String>,
    /// The reference this version was fetched for (to map it back to node groups).
    pub requested: LaunchTemplateRef,
}

pub async fn launch_template_version(
    client: &aws_sdk_ec2::Client,
    limiter: &Limiter,
    region: &str,
    reference: &LaunchTemplateRef,
) -> Result<Option<RawLaunchTemplateVersion>, CollectError> {
    let version = reference
        .version
        .clone()
        .unwrap_or_else(|| "$Default".to_string());
    let request = client
        .describe_launch_template_versions()
        .set_launch_template_id(reference.id.clone())
        .set_launch_template_name(if reference.id.is_some() {
            None
        } else {
            reference.name.clone()
        })
        .versions(version);
    let out = call!(
        limiter,
        "ec2:DescribeLaunchTemplateVersions",
        request.send()
    )?;
    if out.launch_template_versions.is_none() {
        return Err(CollectError::malformed(
            "ec2:DescribeLaunchTemplateVersions",
            region,
            "the response has no launchTemplateVersionSet",
        ));
    }
    let Some(v) = out.launch_template_versions().first() else {
        return Ok(None);
    };
    let data = v.launch_template_data();
    let md = data.and_then(|d| d.metadata_options());
    Ok(Some(RawLaunchTemplateVersion {
        region: region.to_string(),
        id: v
            .launch_template_id()
            .map(str::to_string)
            .or_else(|| reference.id.clone())
            .unwrap_or_default(),
        name: v.launch_template_name().map(str::to_string),
        version: v.version_number(),
        http_tokens: md
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str().to_string()),
        hop_limit: md.and_then(|m| m.http_put_response_hop_limit()),
        http_endpoint: md
            .and_then(|m| m.http_endpoint())
            .map(|t| t.as_str().to_string()),
        profile_arn: data
            .and_then(|d| d.iam_instance_profile())
            .and_then(|p| p.arn())
            .map(str::to_string),
        requested: reference.clone(),
    }))
}

// ---------------------------------------------------------------------------------------------
// KMS

#[derive(Debug, Clone)]
pub struct RawKey {
    pub requested: String,
    pub arn: Option<String>,
    pub state: Option<String>,
}

pub async fn kms_key(
    client: &aws_sdk_kms::Client,
    limiter: &Limiter,
    key: &str,
) -> Result<RawKey, CollectError> {
    let out = call!(
        limiter,
        "kms:DescribeKey",
        client.describe_key().key_id(key).send()
    )?;
    let Some(md) = out.key_metadata() else {
        return Err(CollectError::malformed(
            "kms:DescribeKey",
            key,
            "the response has no KeyMetadata",
        ));
    };
    let md = Some(md);
    Ok(RawKey {
        requested: key.to_string(),
        arn: md.and_then(|m| m.arn()).map(str::to_string),
        state: md
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_string()),
    })
}

// ---------------------------------------------------------------------------------------------
// CloudTrail

#[derive(Debug, Clone, Default)]
pub struct RawTrail {
    pub arn: String,
    pub name: String,
    pub home_region: Option<String>,
    pub multi_region: Option<bool>,
    pub organization: Option<bool>,
    pub kms_key: Option<String>,
    pub logging: Option<bool>,
    /// (read_write_type, include_management_events) per classic selector.
    pub selectors: Option<Vec<(Option<String>, Option<bool>)>>,
    /// Advanced selectors: the `eventCategory` values they select.
    pub advanced_categories: Option<Vec<Vec<String>>>,
    pub readonly_filters: Vec<String>,
}

/// Trails visible from the region, including shadow copies of multi-region and organization
/// trails (their status and selectors are read once per trail, with [`trail_details`]).
pub async fn trails(
    client: &aws_sdk_cloudtrail::Client,
    limiter: &Limiter,
) -> Result<Vec<RawTrail>, CollectError> {
    let out = call!(
        limiter,
        "cloudtrail:DescribeTrails",
        client.describe_trails().include_shadow_trails(true).send()
    )?;
    if out.trail_list.is_none() {
        return Err(CollectError::malformed(
            "cloudtrail:DescribeTrails",
            "",
            "the response has no trailList",
        ));
    }
    let mut trails: Vec<RawTrail> = out
        .trail_list()
        .iter()
        .filter_map(|t| {
            let arn = t.trail_arn()?.to_string();
            Some(RawTrail {
                name: t.name().unwrap_or_default().to_string(),
                home_region: t.home_region().map(str::to_string),
                multi_region: t.is_multi_region_trail(),
                organization: t.is_organization_trail(),
                kms_key: t.kms_key_id().map(str::to_string),
                arn,
                ..Default::default()
            })
        })
        .collect();
    trails.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(trails)
}

/// Status and event selectors of one trail; `client` should be in the trail's home region.
pub async fn trail_details(
    client: &aws_sdk_cloudtrail::Client,
    limiter: &Limiter,
    mut trail: RawTrail,
) -> (RawTrail, Vec<CollectError>) {
    let mut errors = Vec::new();
    match call!(
        limiter,
        "cloudtrail:GetTrailStatus",
        client.get_trail_status().name(&trail.arn).send()
    ) {
        Ok(status) if status.is_logging().is_none() => errors.push(CollectError::malformed(
            "cloudtrail:GetTrailStatus",
            &trail.arn,
            "the response has no IsLogging",
        )),
        Ok(status) => trail.logging = status.is_logging(),
        Err(e) => errors.push(e),
    }
    match call!(
        limiter,
        "cloudtrail:GetEventSelectors",
        client.get_event_selectors().trail_name(&trail.arn).send()
    ) {
        Ok(sel) if sel.event_selectors.is_none() && sel.advanced_event_selectors.is_none() => {
            errors.push(CollectError::malformed(
                "cloudtrail:GetEventSelectors",
                &trail.arn,
                "the response has neither EventSelectors nor AdvancedEventSelectors",
            ))
        }
        Ok(sel) => {
            if !sel.advanced_event_selectors().is_empty() {
                let mut categories = Vec::new();
                for adv in sel.advanced_event_selectors() {
                    let mut cats = Vec::new();
                    for f in adv.field_selectors() {
                        if f.field() == "eventCategory" {
                            cats.extend(f.equals().iter().cloned());
                        }
                        if f.field() == "readOnly" {
                            trail.readonly_filters.extend(f.equals().iter().cloned());
                        }
                    }
                    categories.push(cats);
                }
                trail.advanced_categories = Some(categories);
            } else {
                trail.selectors = Some(
                    sel.event_selectors()
                        .iter()
                        .map(|s| {
                            (
                                s.read_write_type().map(|r| r.as_str().to_string()),
                                s.include_management_events(),
                            )
                        })
                        .collect(),
                );
            }
        }
        Err(e) => errors.push(e),
    }
    (trail, errors)
}
