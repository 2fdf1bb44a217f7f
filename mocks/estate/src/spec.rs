//! The estate's shape: sizes and a seed. Every fact is computed from (seed, indexes) when a
//! response needs it, so a 200-account estate costs no memory until it is asked for.

/// The 17 AWS commercial regions the estate spreads clusters over (in this order).
pub const AWS_REGIONS: [&str; 17] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "us-east-2",
    "us-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "sa-east-1",
];

/// Azure locations for clusters and identities.
pub const AZURE_LOCATIONS: [&str; 4] = ["westeurope", "eastus", "northeurope", "westus2"];

/// The sizes of a synthetic estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub seed: u64,
    /// AWS accounts (account 0 is the organization's management account and the default caller).
    pub accounts: u32,
    /// IAM roles per account.
    pub roles: u32,
    /// Enabled regions per account (1..=17).
    pub regions: u32,
    /// EKS clusters per account, spread round-robin over the regions.
    pub clusters: u32,
    /// Managed node groups per cluster.
    pub nodegroups: u32,
    /// EC2 instances per node group (each with one root volume).
    pub nodes: u32,
    /// Azure subscriptions.
    pub subscriptions: u32,
    /// AKS clusters per subscription.
    pub aks_clusters: u32,
    /// User-assigned managed identities per subscription (besides each cluster's kubelet identity).
    pub identities: u32,
    /// GCP projects (under the organization, or in its folders).
    pub projects: u32,
    /// GKE clusters per project.
    pub gke_clusters: u32,
    /// User-managed service accounts per project (besides the default compute and node ones).
    pub service_accounts: u32,
    /// Top-level GCP folders under the organization; each has one subfolder.
    pub folders: u32,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 1,
            accounts: 1,
            roles: 50,
            regions: 2,
            clusters: 2,
            nodegroups: 2,
            nodes: 2,
            subscriptions: 2,
            aks_clusters: 2,
            identities: 4,
            projects: 2,
            gke_clusters: 2,
            service_accounts: 4,
            folders: 2,
        }
    }
}

/// splitmix64: a stable mix of the seed and indexes (the same estate on every platform).
pub fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        x = x.wrapping_add(*p).wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

impl Spec {
    pub fn region_count(&self) -> u32 {
        self.regions.clamp(1, AWS_REGIONS.len() as u32)
    }

    pub fn region_names(&self) -> &'static [&'static str] {
        &AWS_REGIONS[..self.region_count() as usize]
    }

    /// The region index of a region name, when the estate has it.
    pub fn region_index(&self, name: &str) -> Option<u32> {
        self.region_names()
            .iter()
            .position(|r| *r == name)
            .map(|i| i as u32)
    }

    /// The 12-digit id of account `a`.
    pub fn account_id(&self, a: u32) -> String {
        format!(
            "{:012}",
            210_000_000_000u64 + u64::from(a) * 1_009 + self.seed % 1_000
        )
    }

    /// The account index of a 12-digit id.
    pub fn account_index(&self, id: &str) -> Option<u32> {
        let n: u64 = id.parse().ok()?;
        let base = 210_000_000_000u64 + self.seed % 1_000;
        let off = n.checked_sub(base)?;
        if off % 1_009 != 0 {
            return None;
        }
        let a = u32::try_from(off / 1_009).ok()?;
        (a < self.accounts.max(1)).then_some(a)
    }

    /// The clusters of an account in one region: cluster `c` lives in region `c % regions`.
    pub fn clusters_in_region(&self, region: u32) -> impl Iterator<Item = u32> + '_ {
        let r = self.region_count();
        (0..self.clusters).filter(move |c| c % r == region)
    }

    pub fn cluster_region(&self, c: u32) -> u32 {
        c % self.region_count()
    }

    pub fn cluster_name(c: u32) -> String {
        format!("eks-{c:04}")
    }

    pub fn cluster_index(name: &str) -> Option<u32> {
        name.strip_prefix("eks-")?.parse().ok()
    }

    /// Whether a cluster's secrets are encrypted with a KMS key (two clusters in three).
    pub fn cluster_kms(&self, a: u32, c: u32) -> bool {
        !mix(self.seed, &[1, u64::from(a), u64::from(c)]).is_multiple_of(3)
    }

    /// The OIDC issuer id of a cluster.
    pub fn oidc_id(&self, a: u32, c: u32) -> String {
        format!(
            "{:016X}{:016X}",
            mix(self.seed, &[3, u64::from(a), u64::from(c)]),
            mix(self.seed, &[4, u64::from(a), u64::from(c)])
        )
    }

    /// Instance ids carry their indexes (`i-` + account, cluster, group, node in hex).
    pub fn instance_id(&self, a: u32, c: u32, g: u32, n: u32) -> String {
        format!("i-{a:05x}{c:05x}{g:03x}{n:04x}")
    }

    pub fn volume_id(&self, a: u32, c: u32, g: u32, n: u32) -> String {
        format!("vol-{a:05x}{c:05x}{g:03x}{n:04x}")
    }

    pub fn launch_template_id(&self, a: u32, c: u32, g: u32) -> String {
        format!("lt-{a:05x}{c:05x}{g:03x}0000")
    }

    /// Node group `g` of a cluster uses a launch template when `g` is odd.
    pub fn has_launch_template(g: u32) -> bool {
        g % 2 == 1
    }

    /// A cluster has a Pod Identity association when its index is even.
    pub fn has_pod_identity(c: u32) -> bool {
        c.is_multiple_of(2)
    }

    /// Customer-managed policies per account.
    pub fn local_policies(&self) -> u32 {
        (self.roles / 100).max(1)
    }

    // --- Azure ---

    pub fn subscription_id(&self, s: u32) -> String {
        let h = mix(self.seed, &[20, u64::from(s)]);
        format!("{:08x}-0000-4000-8000-{:012x}", s, h & 0xffff_ffff_ffff)
    }

    pub fn subscription_index(&self, id: &str) -> Option<u32> {
        (0..self.subscriptions).find(|s| self.subscription_id(*s).eq_ignore_ascii_case(id))
    }

    /// A principal (object) id: kind 1 = kubelet identity of cluster `i`, 2 = user identity `i`.
    pub fn principal_id(&self, s: u32, kind: u32, i: u32) -> String {
        let h = mix(
            self.seed,
            &[21, u64::from(s), u64::from(kind), u64::from(i)],
        );
        format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            s,
            kind,
            (h & 0xffff_ffff) << 16 | u64::from(i)
        )
    }

    pub fn client_id(&self, s: u32, kind: u32, i: u32) -> String {
        let h = mix(
            self.seed,
            &[22, u64::from(s), u64::from(kind), u64::from(i)],
        );
        format!(
            "{:08x}-{:04x}-4000-9000-{:012x}",
            s,
            kind,
            (h & 0xffff_ffff) << 16 | u64::from(i)
        )
    }

    pub fn aks_location(&self, k: u32) -> &'static str {
        AZURE_LOCATIONS[k as usize % AZURE_LOCATIONS.len()]
    }

    // --- GCP ---

    /// The organization's number.
    pub fn gcp_org(&self) -> String {
        format!("{}", 700_000_000_000u64 + self.seed % 1_000)
    }

    fn gcp_base(&self, kind: u64) -> u64 {
        kind * 100_000_000_000 + (self.seed % 1_000) * 1_000_000
    }

    /// Every folder: `2 * folders` (folder `f < folders` sits under the organization, folder
    /// `folders + f` under folder `f`).
    pub fn folder_count(&self) -> u32 {
        self.folders * 2
    }

    pub fn folder_id(&self, f: u32) -> String {
        format!("{}", self.gcp_base(4) + u64::from(f))
    }

    pub fn folder_index(&self, id: &str) -> Option<u32> {
        let n: u64 = id.parse().ok()?;
        let f = u32::try_from(n.checked_sub(self.gcp_base(4))?).ok()?;
        (f < self.folder_count() && self.folder_id(f) == id).then_some(f)
    }

    /// `organizations/N` or `folders/N`: where folder `f` sits.
    pub fn folder_parent(&self, f: u32) -> String {
        if f < self.folders {
            format!("organizations/{}", self.gcp_org())
        } else {
            format!("folders/{}", self.folder_id(f - self.folders))
        }
    }

    /// The project id of project `p`.
    pub fn project_id(&self, p: u32) -> String {
        format!("estate-p{p:06}")
    }

    pub fn project_number(&self, p: u32) -> String {
        format!("{}", self.gcp_base(5) + u64::from(p))
    }

    /// The project index of a project id or number.
    pub fn project_index(&self, id_or_number: &str) -> Option<u32> {
        let p = if let Some(n) = id_or_number.strip_prefix("estate-p") {
            n.parse::<u32>().ok()?
        } else {
            let n: u64 = id_or_number.parse().ok()?;
            u32::try_from(n.checked_sub(self.gcp_base(5))?).ok()?
        };
        let back = (self.project_id(p) == id_or_number || self.project_number(p) == id_or_number)
            && p < self.projects;
        back.then_some(p)
    }

    /// Where project `p` sits: one project in four directly under the organization, the rest
    /// round-robin over every folder (top-level and subfolders).
    pub fn project_parent(&self, p: u32) -> String {
        if self.folders == 0 || p.is_multiple_of(4) {
            format!("organizations/{}", self.gcp_org())
        } else {
            format!("folders/{}", self.folder_id(p % self.folder_count()))
        }
    }
}

impl Spec {
    /// Sizes the estate can serve: at least one account, region and role per cluster node and
    /// IRSA role (roles `1..=2*clusters` are those), 17 regions at most, indexes within the
    /// widths of the generated ids.
    pub fn normalized(mut self) -> Spec {
        self.accounts = self.accounts.clamp(1, 0xfffff);
        self.regions = self.regions.clamp(1, AWS_REGIONS.len() as u32);
        self.clusters = self.clusters.min(0xfffff);
        self.nodegroups = self.nodegroups.min(0xfff);
        self.nodes = self.nodes.min(0xffff);
        self.roles = self.roles.max(2 * self.clusters + 1);
        self.projects = self.projects.min(999_999);
        self.gke_clusters = self.gke_clusters.min(999);
        self.service_accounts = self.service_accounts.min(9_999);
        self.folders = self.folders.min(499_999);
        self
    }
}
