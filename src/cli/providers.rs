//! One function per cloud: the command-line arguments mapped onto the adapter's own
//! `ScanOptions`, and the adapter's `scan` call with the progress display wired in. This is the
//! only place that knows an adapter's option type; re-point it here when the type changes.

use super::{AwsArgs, AzureArgs, CollectArgs, GcpArgs};
use crate::assess::{Collected, ScanFn};
use std::sync::Arc;

/// The collection options every provider shares.
fn collect_options(args: &CollectArgs) -> cloudscan_collect::scan::CollectOptions {
    cloudscan_collect::scan::CollectOptions {
        replay: args.replay.clone(),
        record: args.record.clone(),
        concurrency: usize::from(args.concurrency),
        max_attempts: args.max_attempts,
        call_timeout: Some(std::time::Duration::from_secs(args.call_timeout)),
        shard: args.shard,
    }
}

/// Turns the per-service rate limits on for live scans (a replay has no service to spare).
fn rate_limits(args: &CollectArgs) {
    cloudscan_collect::ratelimit::global().configure(args.replay.is_none(), args.max_rps);
}

/// `cloudscan aws`.
pub(super) fn aws(args: &AwsArgs) -> ScanFn<'static> {
    let opts = cloudscan_aws::ScanOptions {
        profile: args.profile.clone(),
        regions: args.regions.clone(),
        collect: collect_options(&args.collect),
        organization: args.organization.then(|| cloudscan_aws::OrgOptions {
            member_role: args.member_role.clone().unwrap_or_default(),
            external_id: args.external_id.clone(),
            accounts: args.accounts.clone(),
            exclude_accounts: args.exclude_accounts.clone(),
            max_accounts: usize::from(args.max_accounts),
        }),
    };
    rate_limits(&args.collect);
    Box::new(move |rt, progress| {
        let callback = Arc::new(move |e| progress.event(e)) as cloudscan_aws::ProgressFn;
        rt.block_on(cloudscan_aws::scan(&opts, callback))
            .map(|o| Collected {
                inventory: o.inventory,
                recorded: o.recorded,
            })
            .map_err(|e| e.to_string())
    })
}

/// `cloudscan gcp`.
pub(super) fn gcp(args: &GcpArgs) -> ScanFn<'static> {
    let opts = cloudscan_gcp::ScanOptions {
        projects: args.projects.clone(),
        all_projects: args.all_projects,
        organizations: args.organizations.clone(),
        folders: args.folders.clone(),
        exclude_projects: args.exclude_projects.clone(),
        collect: collect_options(&args.collect),
    };
    rate_limits(&args.collect);
    Box::new(move |rt, progress| {
        let callback = Arc::new(move |e| progress.event(e)) as cloudscan_gcp::ProgressFn;
        rt.block_on(cloudscan_gcp::scan(&opts, callback))
            .map(|o| Collected {
                inventory: o.inventory,
                recorded: o.recorded,
            })
            .map_err(|e| e.to_string())
    })
}

/// `cloudscan azure`.
pub(super) fn azure(args: &AzureArgs) -> ScanFn<'static> {
    let opts = cloudscan_azure::ScanOptions {
        subscriptions: args.subscriptions.clone(),
        all_subscriptions: args.all_subscriptions,
        management_groups: args.management_groups.clone(),
        collect: collect_options(&args.collect),
    };
    rate_limits(&args.collect);
    Box::new(move |rt, progress| {
        let callback = Arc::new(move |e| progress.event(e)) as cloudscan_azure::ProgressFn;
        rt.block_on(cloudscan_azure::scan(&opts, callback))
            .map(|o| Collected {
                inventory: o.inventory,
                recorded: o.recorded,
            })
            .map_err(|e| e.to_string())
    })
}
