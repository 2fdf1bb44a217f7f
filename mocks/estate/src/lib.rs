//! A synthetic cloud estate for cloudscan's scale tests and benchmarks.
//!
//! [`Spec`] sizes an estate (AWS accounts with IAM roles, EKS clusters, node groups, instances,
//! volumes, trails and an organization; Azure subscriptions with AKS clusters, managed
//! identities and role assignments; GCP projects in an organization's folders with GKE clusters,
//! node pools, service accounts and allow policies). Every fact is a pure function of the seed and its indexes.
//! [`Server`] serves the estate on 127.0.0.1 in the protocols the adapters speak, so the real AWS
//! SDK and the real REST clients run unchanged; it can add latency and throttle.
//! [`minimum`] counts the API calls the collected facts need at the least.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod http;
pub mod server;
pub mod spec;

pub use server::{Behaviour, Server, Stats};
pub use spec::Spec;

use std::collections::BTreeMap;

fn ceil_div(n: u64, d: u64) -> u64 {
    n.div_ceil(d.max(1))
}

/// The fewest AWS calls that read every fact of the estate that cloudscan collects, per
/// operation, for one scan of `accounts` accounts (largest page sizes the APIs allow).
pub fn minimum_aws(spec: &Spec, accounts: u32) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: &str, n: u64| *m.entry(k.to_string()).or_insert(0) += n;
    let accounts = u64::from(accounts.max(1));
    let regions = u64::from(spec.region_count());
    let clusters = u64::from(spec.clusters);
    let ngs = u64::from(spec.nodegroups);
    add("sts:GetCallerIdentity", 1);
    // The enabled regions are read once, in the caller's account.
    add("ec2:DescribeRegions", 1);
    if accounts > 1 {
        // An organization scan: the management account reads the organization, then assumes a
        // role in every member account.
        for (op, n) in minimum_organization(accounts) {
            add(op, n);
        }
        add("sts:AssumeRole", accounts - 1);
        // Resource policies (organization scans only): the buckets and the account's Block
        // Public Access, the KMS keys and secrets of every region (none listed by the estate
        // beyond one page).
        add("s3:ListBuckets", accounts);
        add("s3:GetPublicAccessBlock", accounts);
        add("kms:ListKeys", accounts * regions);
        add("secretsmanager:ListSecrets", accounts * regions);
    }
    // GAAD: 1,000 items a page at most (roles and customer-managed policies).
    add(
        "iam:GetAccountAuthorizationDetails",
        accounts * ceil_div(u64::from(spec.roles + spec.local_policies()), 1000),
    );
    // Each AWS-managed policy the roles attach: its default version id, then the document.
    let used = used_aws_managed(spec);
    add("iam:GetPolicy", accounts * used);
    add("iam:GetPolicyVersion", accounts * used);
    add("iam:ListOpenIDConnectProviders", accounts);
    add("iam:GetOpenIDConnectProvider", accounts * clusters);
    let mut eks_list = 0;
    let mut instances = 0;
    let mut volumes = 0;
    for r in 0..spec.region_count() {
        let n = spec.clusters_in_region(r).count() as u64;
        eks_list += ceil_div(n, 100).max(1);
        let nodes = n * ngs * u64::from(spec.nodes);
        instances += ceil_div(nodes, 1000).max(1);
        // DescribeVolumes: 500 a page at most; none when the region has no node.
        volumes += ceil_div(nodes, 500);
    }
    add("eks:ListClusters", accounts * eks_list);
    add("eks:DescribeCluster", accounts * clusters);
    add("eks:ListNodegroups", accounts * clusters);
    add("eks:DescribeNodegroup", accounts * clusters * ngs);
    add("eks:ListPodIdentityAssociations", accounts * clusters);
    let pods = (0..spec.clusters)
        .filter(|c| Spec::has_pod_identity(*c))
        .count() as u64;
    add("eks:DescribePodIdentityAssociation", accounts * pods);
    add("eks:ListAccessEntries", accounts * clusters);
    add("eks:DescribeAccessEntry", accounts * clusters);
    add("ec2:DescribeInstances", accounts * instances);
    add("ec2:DescribeVolumes", accounts * volumes);
    add("ec2:GetEbsEncryptionByDefault", accounts * regions);
    let lts = (0..spec.nodegroups)
        .filter(|g| Spec::has_launch_template(*g))
        .count() as u64;
    add(
        "ec2:DescribeLaunchTemplateVersions",
        accounts * clusters * lts,
    );
    let mut keys = 0;
    let mut trails = 0;
    for a in 0..accounts as u32 {
        keys += (0..spec.clusters)
            .filter(|c| spec.cluster_kms(a, *c))
            .count() as u64;
        if aws::has_trail(spec, a) {
            trails += 1;
        }
    }
    add("kms:DescribeKey", keys);
    add("cloudtrail:DescribeTrails", accounts * regions);
    add("cloudtrail:GetTrailStatus", trails);
    add("cloudtrail:GetEventSelectors", trails);
    m
}

/// The fewest Organizations calls that read what an organization scan collects: every account
/// with its parent, the OU names, and the service and resource control policies attached to the
/// root, every OU and every account, with their documents. The cheapest route lists the tree
/// (`ListOrganizationalUnitsForParent` on the root, `ListAccountsForParent` on the root and each
/// OU, 20 accounts a page, which also gives each account's parent and makes `ListAccounts`,
/// `ListParents` and `DescribeOrganizationalUnit` unnecessary) and each policy's targets
/// (`ListPolicies` per enabled policy type, `ListTargetsForPolicy` per policy; the estate enables
/// only service control policies), then `DescribePolicy` per policy.
pub fn minimum_organization(accounts: u64) -> Vec<(&'static str, u64)> {
    let ous = u64::from(aws::OUS);
    let mut per_ou = vec![0u64; aws::OUS as usize];
    for a in 0..accounts {
        if let Some(n) = per_ou.get_mut((a % ous) as usize) {
            *n += 1;
        }
    }
    // The root holds no account directly; asking still takes one call.
    let account_pages: u64 = 1 + per_ou.iter().map(|n| ceil_div(*n, 20).max(1)).sum::<u64>();
    let policies = aws::ORG_POLICIES.len() as u64;
    vec![
        ("organizations:DescribeOrganization", 1),
        ("organizations:ListRoots", 1),
        ("organizations:ListOrganizationalUnitsForParent", 1 + ous),
        ("organizations:ListAccountsForParent", account_pages),
        ("organizations:ListPolicies", 1),
        ("organizations:ListTargetsForPolicy", policies),
        ("organizations:DescribePolicy", policies),
    ]
}

fn used_aws_managed(spec: &Spec) -> u64 {
    let mut used = [false; aws::AWS_MANAGED.len()];
    for i in 0..spec.roles {
        for p in aws::role(spec, 0, i).aws_managed {
            if let Some(u) = used.get_mut(p) {
                *u = true;
            }
        }
    }
    used.iter().filter(|u| **u).count() as u64
}

/// The fewest Azure calls for a scan of every subscription (discovered with
/// `subscriptions.list` when `discover`).
pub fn minimum_azure(spec: &Spec, subscriptions: u32, discover: bool) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: &str, n: u64| *m.entry(k.to_string()).or_insert(0) += n;
    let subs = u64::from(subscriptions);
    let page = azure::PAGE as u64;
    add("azure:token", 1);
    if discover {
        add(
            "azure:subscriptions.list",
            ceil_div(u64::from(spec.subscriptions), page).max(1),
        );
    }
    let k = u64::from(spec.aks_clusters);
    let ids = u64::from(spec.identities);
    add(
        "azure:managedClusters.list",
        subs * ceil_div(k, page).max(1),
    );
    add(
        "azure:userAssignedIdentities.list",
        subs * ceil_div(k + ids, page).max(1),
    );
    add(
        "azure:roleAssignments.list",
        subs * ceil_div(k + ids, page).max(1),
    );
    add("azure:denyAssignments.list", subs);
    add("azure:federatedIdentityCredentials.list", subs * (k + ids));
    add("azure:diagnosticSettings.list", subs * (1 + k));
    let des = (0..spec.aks_clusters).filter(|k| k % 3 == 1).count() as u64;
    add("azure:diskEncryptionSets.get", subs * des);
    // Each built-in role assigned, once per subscription it is assigned in.
    let mut roles = std::collections::BTreeSet::new();
    for c in 0..spec.aks_clusters {
        roles.insert(if c % 4 == 0 { 0 } else { 4 });
    }
    for i in 0..spec.identities {
        roles.insert(match i % 5 {
            0 => 3,
            1 => 2,
            _ => 1,
        });
    }
    add("azure:roleDefinitions.get", subs * roles.len() as u64);
    m
}

/// The fewest GCP calls for a scan of every project, discovered with `projects.search`
/// (largest page sizes; each folder's and the organization's policy read once, however many
/// projects sit under them).
pub fn minimum_gcp(spec: &Spec) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: &str, n: u64| *m.entry(k.to_string()).or_insert(0) += n;
    let projects = u64::from(spec.projects);
    add(
        "gcp:projects.search",
        ceil_div(projects, gcp::CRM_PAGE_MAX as u64).max(1),
    );
    if projects == 0 {
        return m;
    }
    add("gcp:projects.getIamPolicy", projects);
    let folders = gcp::used_folders(spec);
    add("gcp:folders.get", folders);
    add("gcp:folders.getIamPolicy", folders);
    add("gcp:organizations.getIamPolicy", 1);
    add("gcp:clusters.list", projects);
    let sas = gcp::service_accounts_per_project(spec);
    add(
        "gcp:serviceAccounts.list",
        projects * ceil_div(sas, gcp::SA_PAGE_MAX as u64).max(1),
    );
    add("gcp:serviceAccounts.getIamPolicy", projects * sas);
    let (predefined, custom) = gcp::bound_roles(spec);
    add("gcp:roles.get", predefined);
    add("gcp:projects.roles.get", custom);
    add(
        "gcp:disks.aggregatedList",
        projects * ceil_div(gcp::disks_per_project(spec), gcp::DISK_PAGE_MAX as u64).max(1),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_and_minimum_counts_the_estate() {
        let spec = Spec {
            accounts: 3,
            roles: 250,
            regions: 4,
            clusters: 6,
            ..Default::default()
        }
        .normalized();
        for a in 0..3 {
            assert_eq!(spec.account_index(&spec.account_id(a)), Some(a));
        }
        assert_eq!(spec.account_index("123456789012"), None);
        let id = spec.instance_id(2, 5, 1, 3);
        assert_eq!(aws::parse_instance(&id), Some((2, 5, 1, 3)));
        let m = minimum_aws(&spec, 1);
        // 250 roles + 2 customer-managed policies: one 1,000-item page.
        assert_eq!(m.get("iam:GetAccountAuthorizationDetails"), Some(&1));
        assert_eq!(m.get("eks:DescribeCluster"), Some(&6));
        assert_eq!(m.get("eks:ListClusters"), Some(&4));
        assert_eq!(m.get("ec2:DescribeLaunchTemplateVersions"), Some(&6));
        let az = minimum_azure(&spec, 2, true);
        assert_eq!(az.get("azure:subscriptions.list"), Some(&1));
        assert_eq!(az.get("azure:diagnosticSettings.list"), Some(&(2 * 3)));
    }
}
