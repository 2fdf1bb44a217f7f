//! Organization scans: read the organization, pick the accounts, assume the member role in each,
//! scan them concurrently (a limit of accounts in flight, and the scan-wide API call limit), and
//! merge everything into one inventory.
//!
//! Record and replay: the same request made in two accounts is the same request on the wire, so
//! every member account has its own recording, in `accounts/<id>/` under the recording directory;
//! the caller's own account and the Organizations and STS calls stay at the top.

use crate::collect::{call, Limiter};
use crate::error::CollectError;
use crate::{
    fixture, iam_region, org, scan_account, AccountTarget, AwsError, OrgOptions, ScanOptions,
    Session,
};
use aws_config::Region;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use cloudscan_collect::coverage::CoverageLog;
use cloudscan_collect::scan::{quiet, Progress, ProgressFn};
use cloudscan_inventory::{CoverageStatus, Inventory, Provider};
use futures::stream::{self, StreamExt};
use std::path::Path;

/// The sub-directory of a recording that holds one recording per member account.
pub const ACCOUNTS_DIR: &str = "accounts";

/// The session name of every assumed member role: CloudTrail in the member shows cloudscan.
pub const SESSION_NAME: &str = "cloudscan-scan";

/// Removes the member recordings of an earlier recording in `dir` (only folders that are
/// recordings), so a new recording does not keep accounts it no longer scanned.
pub fn clear_member_recordings(dir: &Path) -> Result<(), AwsError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path
            .join(cloudscan_collect::fixture::SCENARIO_FILE)
            .is_file()
        {
            std::fs::remove_dir_all(&path).map_err(|source| {
                cloudscan_collect::fixture::FixtureError::Io {
                    path: path.clone(),
                    source,
                }
            })?;
        }
    }
    Ok(())
}

/// The result of one account.
struct AccountResult {
    account: String,
    inventory: Option<Inventory>,
    /// Why the account could not be scanned.
    failure: Option<String>,
    recorder: Option<fixture::Recorder>,
}

async fn assume(
    sts: &aws_sdk_sts::Client,
    limiter: &Limiter,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<Credentials, CollectError> {
    let out = call!(
        limiter,
        "sts:AssumeRole",
        sts.assume_role()
            .role_arn(role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(external_id.map(str::to_string))
            .send()
    )
    .map_err(|mut e| {
        e.target = role_arn.to_string();
        e.with_permission(Some("sts:AssumeRole"))
    })?;
    let c = out.credentials().ok_or_else(|| {
        CollectError::malformed(
            "sts:AssumeRole",
            role_arn,
            "the response has no Credentials",
        )
    })?;
    // No expiry is attached: the session lasts an hour, longer than an account scan takes, and
    // a replayed session (whose recorded expiry has passed) must still be usable.
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "cloudscan-member-role",
    ))
}

#[allow(clippy::too_many_arguments)]
async fn scan_member(
    session: &Session,
    opts: &ScanOptions,
    org_opts: &OrgOptions,
    caller: &AccountTarget<'_>,
    sts: &aws_sdk_sts::Client,
    regions: &[String],
    limiter: &Limiter,
    account: String,
    caller_coverage: Option<CoverageLog>,
) -> AccountResult {
    let silent = quiet();
    if account == caller.account {
        // The caller's own account, with the caller's credentials (and the main recording).
        let coverage = caller_coverage.unwrap_or_else(|| CoverageLog::new(&account));
        let inventory = scan_account(caller, regions, limiter, &silent, true, coverage).await;
        return AccountResult {
            account,
            inventory: Some(inventory),
            failure: None,
            recorder: None,
        };
    }
    let role_arn = format!(
        "arn:{}:iam::{account}:role/{}",
        caller.partition, org_opts.member_role
    );
    let credentials = match assume(sts, limiter, &role_arn, org_opts.external_id.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            return AccountResult {
                account,
                inventory: None,
                failure: Some(format!("cannot assume the member role: {e}")),
                recorder: None,
            }
        }
    };
    let mut builder = session
        .config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials));
    let mut recorder = None;
    if let Some(dir) = &opts.collect.replay {
        let member_dir = dir.join(ACCOUNTS_DIR).join(&account);
        match fixture::ReplayClient::load(&member_dir) {
            Ok((client, _, _)) => builder = builder.http_client(fixture::BodyCap::new(client)),
            Err(e) => {
                return AccountResult {
                    account,
                    inventory: None,
                    failure: Some(format!("no recording of this account to replay: {e}")),
                    recorder: None,
                }
            }
        }
    } else if let Some(inner) = &session.recording_inner {
        let r = fixture::Recorder::new(inner.clone());
        builder = builder.http_client(r.clone());
        recorder = Some(r);
    }
    let config = builder.build();
    let target = AccountTarget {
        config: &config,
        account: account.clone(),
        partition: caller.partition.clone(),
        caller: caller.caller.clone(),
        home_region: caller.home_region,
    };
    // The member's own token buckets: AWS limits calls per account.
    let inventory = scan_account(
        &target,
        regions,
        &limiter.for_account(&account),
        &silent,
        true,
        CoverageLog::new(&account),
    )
    .await;
    AccountResult {
        account,
        inventory: Some(inventory),
        failure: None,
        recorder,
    }
}

/// Appends one account's inventory to the merged one.
fn merge(into: &mut Inventory, from: Inventory) {
    into.scopes.extend(from.scopes);
    into.clusters.extend(from.clusters);
    into.identities.extend(from.identities);
    into.oidc_providers.extend(from.oidc_providers);
    into.encryption_defaults.extend(from.encryption_defaults);
    into.volumes.extend(from.volumes);
    into.audit_trails.extend(from.audit_trails);
    into.coverage.extend(from.coverage);
    into.role_definitions.extend(from.role_definitions);
    into.resource_policies.extend(from.resource_policies);
    into.account_public_access_blocks
        .extend(from.account_public_access_blocks);
}

/// The organization scan. Returns the merged inventory and the recorders of the member accounts
/// (when recording), by account.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn scan(
    session: &Session,
    opts: &ScanOptions,
    org_opts: &OrgOptions,
    caller: &AccountTarget<'_>,
    sts: &aws_sdk_sts::Client,
    regions: &[String],
    limiter: &Limiter,
    progress: &ProgressFn,
    caller_coverage: CoverageLog,
) -> Result<(Inventory, Vec<(String, fixture::Recorder)>), AwsError> {
    if org_opts.member_role.trim().is_empty() {
        return Err(AwsError::Usage(
            "--organization needs --member-role NAME (the role to assume in every member account)"
                .to_string(),
        ));
    }
    let org_config = session
        .config
        .to_builder()
        .region(Region::new(iam_region(caller.home_region)))
        .build();
    let client = aws_sdk_organizations::Client::new(&org_config);
    let mut org_coverage = CoverageLog::new(&caller.account);

    let filter = org::AccountFilter {
        only: org_opts.accounts.clone(),
        exclude: org_opts.exclude_accounts.clone(),
        shard: opts.collect.shard,
    };
    let (mut organization, selection) = match org::collect(&client, limiter).await {
        Ok((raw, mut errors)) => {
            let (organization, decode_errors) = org::build(&raw);
            errors.extend(decode_errors);
            org_coverage.record("organizations", "global", &errors, true);
            let selection = org::select(&organization.accounts, &filter);
            (Some(organization), selection)
        }
        Err(e) => {
            org_coverage.record_with_notes(
                "organizations",
                "global",
                &[{
                    // The call that failed names its own permission (org.rs); the first call
                    // otherwise.
                    let permission = e.permission.or(Some("organizations:DescribeOrganization"));
                    e.with_permission(permission)
                }],
                false,
                &["the organization's guardrails (SCPs, RCPs) are unknown; only the caller's own account is scanned".to_string()],
            );
            (
                None,
                org::Selection {
                    scan: vec![caller.account.clone()],
                    ..Default::default()
                },
            )
        }
    };
    let mut skipped_coverage = Vec::new();
    for (account, reason, incomplete) in &selection.skipped {
        if *incomplete {
            let mut log = CoverageLog::new(account);
            log.push(
                "account",
                "global",
                CoverageStatus::Failed,
                Some(format!("not scanned: {reason}")),
            );
            skipped_coverage.extend(log.into_entries());
        }
    }
    for account in &selection.unknown {
        let mut log = CoverageLog::new(account);
        log.push(
            "account",
            "global",
            CoverageStatus::Failed,
            Some(format!(
                "not scanned: --accounts names it, but the organization {} does not list it",
                organization.as_ref().map(|o| o.id.as_str()).unwrap_or("")
            )),
        );
        skipped_coverage.extend(log.into_entries());
    }

    progress(Progress::Plan {
        unit: "account",
        scopes: selection.scan.clone(),
        tasks: selection.scan.len(),
    });
    let mut caller_coverage = Some(caller_coverage);
    let jobs: Vec<(String, Option<CoverageLog>)> = selection
        .scan
        .iter()
        .map(|a| {
            let cov = if *a == caller.account {
                caller_coverage.take()
            } else {
                None
            };
            (a.clone(), cov)
        })
        .collect();
    let mut results: Vec<AccountResult> = stream::iter(jobs)
        .map(|(account, cov)| async move {
            let result = scan_member(
                session, opts, org_opts, caller, sts, regions, limiter, account, cov,
            )
            .await;
            let ok = result.failure.is_none()
                && result.inventory.as_ref().is_some_and(|i| i.all_complete());
            progress(Progress::Done {
                task: format!("account {}", result.account),
                ok,
            });
            result
        })
        .buffer_unordered(org_opts.max_accounts())
        .collect()
        .await;
    results.sort_by(|a, b| a.account.cmp(&b.account));

    let mut inventory = Inventory::new(Provider::Aws);
    inventory.caller = Some(caller.caller.clone()).filter(|c| !c.is_empty());
    inventory.regions = regions.to_vec();
    // Region discovery failed in the caller's account, which is not scanned: keep its entry.
    if let Some(log) = caller_coverage {
        inventory.coverage.extend(log.into_entries());
    }
    let mut recorders = Vec::new();
    for result in results {
        if let Some(org) = organization.as_mut() {
            if let Some(a) = org.accounts.iter_mut().find(|a| a.id == result.account) {
                a.scanned = result.failure.is_none();
                a.not_scanned_reason = result.failure.clone();
            }
        }
        match (result.inventory, result.failure) {
            (Some(inv), _) => merge(&mut inventory, inv),
            (None, failure) => {
                let mut log = CoverageLog::new(&result.account);
                log.push(
                    "account",
                    "global",
                    CoverageStatus::Failed,
                    Some(format!(
                        "not scanned: {}",
                        failure.unwrap_or_else(|| "unknown failure".to_string())
                    )),
                );
                inventory.coverage.extend(log.into_entries());
            }
        }
        if let Some(r) = result.recorder {
            recorders.push((result.account, r));
        }
    }
    if let Some(org) = organization.as_mut() {
        for (account, reason, _) in &selection.skipped {
            if let Some(a) = org.accounts.iter_mut().find(|a| &a.id == account) {
                a.scanned = false;
                a.not_scanned_reason = Some(reason.clone());
            }
        }
    }
    // Scopes carry the account names the organization gives them.
    if let Some(org) = &organization {
        for scope in &mut inventory.scopes {
            if scope.name.is_none() {
                scope.name = org.account(&scope.id).and_then(|a| a.name.clone());
            }
        }
    }
    inventory.coverage.extend(skipped_coverage);
    inventory.coverage.extend(org_coverage.into_entries());
    inventory.organization = organization;
    Ok((inventory, recorders))
}
